// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {IAuthorisations} from "./IAuthorisations.sol";
import {ICollateralRegistry} from "./ICollateralRegistry.sol";
import {IConsortium} from "./IConsortium.sol";
import {FacilityKind, ICreditFacilities} from "./ICreditFacilities.sol";
import {ROLE_ATTESTER, ROLE_FINANCIER, ROLE_REGULATOR} from "./Common.sol";

/// @title CreditFacilities
/// @notice Facilities banks grant enterprises, and joint credit agreements whose limit binds.
/// @dev The acting party is `_msgSender()` (ERC-2771): the caller, or the signer of a request
/// relayed by the chain's Forwarder.
contract CreditFacilities is ICreditFacilities, EIP712, ERC2771Context {
    bytes32 private constant _ACCEPT_TYPEHASH = keccak256(
        "AcceptAgreement(uint32 agreement,bytes32 subject,address lead,uint64 jointLimit,uint256 deadline)"
    );
    uint16 private constant _ALL_BPS = 10_000;
    uint256 private constant _MAX_PARTICIPANTS = 16;

    IConsortium private immutable _consortium;
    ICollateralRegistry private immutable _collateral;
    IAuthorisations private immutable _authorisations;

    uint32 private _agreementCount;
    mapping(bytes32 facilityId => Facility facility) private _facilities;
    mapping(bytes32 subject => Exposure exposure) private _exposures;
    mapping(uint32 agreement => Agreement terms) private _agreements;
    mapping(bytes32 participationKey => Participation participation) private _participations;
    /// @dev The banks of each agreement, in proposal order: read once, when it comes into force.
    mapping(uint32 agreement => address[] banks) private _participantsOf;
    /// @dev What each lender has outstanding with each enterprise across its facilities. A joint
    /// agreement starts from its participants' balances: without this, a balance drawn before the
    /// agreement (or on a facility not drawn since) would escape the joint limit.
    mapping(bytes32 lendingKey => uint64 outstanding) private _lent;

    /// @param consortium_ The consortium contract that says who may act.
    /// @param collateral_ The collateral registry a facility's pledges are checked in.
    /// @param authorisations_ The authorisations contract whose consent lets a member read exposure.
    /// @param forwarder_ The Forwarder (IForwarder.sol) whose relayed requests act for their signer.
    constructor(
        IConsortium consortium_,
        ICollateralRegistry collateral_,
        IAuthorisations authorisations_,
        address forwarder_
    ) EIP712("YRD Credit Facilities", "1") ERC2771Context(forwarder_) {
        _consortium = consortium_;
        _collateral = collateral_;
        _authorisations = authorisations_;
    }

    /// @inheritdoc ICreditFacilities
    function registerFacility(
        bytes32 subject,
        bytes32 contractHash,
        FacilityKind kind,
        uint64 limit,
        uint40 expiry,
        bytes32[] calldata pledgeIds
    ) external returns (bytes32 id) {
        address lender = _msgSender();
        _consortium.requireRole(lender, ROLE_FINANCIER);
        if (_consortium.accountOf(subject) == address(0)) revert FacilityUnknownSubject(subject);
        if (kind == FacilityKind.None) revert FacilityInvalidKind(uint8(kind));
        if (limit == 0) revert FacilityInvalidAmount(limit, type(uint64).max);
        if (expiry <= block.timestamp) revert FacilityInvalidExpiry(expiry, block.timestamp);
        id = _facilityId(subject, lender, contractHash);
        Facility storage f = _facilities[id];
        if (f.status != FacilityStatus.None) revert FacilityExists(id);
        for (uint256 i; i < pledgeIds.length; ++i) {
            ICollateralRegistry.PledgeView memory p = _collateral.pledgeOf(pledgeIds[i]);
            if (!p.inForce || p.pledgee != lender) revert FacilityCollateralNotHeld(pledgeIds[i], lender);
        }
        _facilities[id] = Facility({limit: limit, drawn: 0, expiry: expiry, kind: kind, status: FacilityStatus.Open});
        emit FacilityRegistered(id, subject, lender, contractHash, kind, limit, expiry, pledgeIds);
    }

    /// @inheritdoc ICreditFacilities
    function draw(bytes32 subject, bytes32 contractHash, uint64 amount) external {
        address lender = _msgSender();
        _consortium.requireRole(lender, ROLE_FINANCIER);
        bytes32 id = _facilityId(subject, lender, contractHash);
        Facility memory f = _open(id);
        if (block.timestamp >= f.expiry) revert FacilityExpired(id, f.expiry);
        if (amount == 0) revert FacilityInvalidAmount(amount, f.limit - f.drawn);
        uint64 drawn = f.drawn + amount;
        if (drawn > f.limit) revert FacilityLimitExceeded(id, f.limit, drawn);
        Exposure memory e = _exposures[subject];
        uint32 no = e.agreement;
        if (no != 0 && _participations[_participationKey(no, lender)].shareBps != 0) {
            if (e.flagged) revert JointAgreementOnHold(no, subject);
            // Every participant balance already counts (from the agreement's start): add the draw.
            uint64 joint = e.joint + amount;
            if (joint > e.jointLimit) revert JointLimitExceeded(subject, e.jointLimit, joint);
            e.joint = joint;
        }
        e.total += amount;
        f.drawn = drawn;
        _facilities[id] = f;
        _exposures[subject] = e;
        _lent[_lendingKey(subject, lender)] += amount;
        emit FacilityDrawn(id, subject, lender, amount, drawn, e.total, e.joint);
    }

    /// @inheritdoc ICreditFacilities
    function repay(bytes32 subject, bytes32 contractHash, uint64 amount) external {
        address lender = _msgSender();
        bytes32 id = _facilityId(subject, lender, contractHash);
        Facility memory f = _open(id);
        if (amount == 0 || amount > f.drawn) revert FacilityInvalidAmount(amount, f.drawn);
        Exposure memory e = _exposures[subject];
        uint32 no = e.agreement;
        // The joint figure is the participants' balances: a participant's repayment lowers it.
        if (no != 0 && _participations[_participationKey(no, lender)].shareBps != 0) e.joint -= amount;
        e.total -= amount;
        f.drawn -= amount;
        _facilities[id] = f;
        _exposures[subject] = e;
        _lent[_lendingKey(subject, lender)] -= amount;
        emit FacilityRepaid(id, subject, lender, amount, f.drawn, e.total, e.joint);
    }

    /// @inheritdoc ICreditFacilities
    function amend(bytes32 subject, bytes32 contractHash, uint64 limit, uint40 expiry) external {
        address lender = _msgSender();
        _consortium.requireRole(lender, ROLE_FINANCIER);
        bytes32 id = _facilityId(subject, lender, contractHash);
        Facility storage f = _facilities[id];
        _open(id);
        uint64 drawn = f.drawn;
        if (limit == 0 || limit < drawn) revert FacilityInvalidAmount(limit, drawn);
        if (expiry <= block.timestamp) revert FacilityInvalidExpiry(expiry, block.timestamp);
        f.limit = limit;
        f.expiry = expiry;
        emit FacilityAmended(id, lender, limit, expiry);
    }

    /// @inheritdoc ICreditFacilities
    function close(bytes32 subject, bytes32 contractHash) external {
        address lender = _msgSender();
        bytes32 id = _facilityId(subject, lender, contractHash);
        Facility storage f = _facilities[id];
        _open(id);
        uint64 drawn = f.drawn;
        if (drawn != 0) revert FacilityOutstanding(id, drawn);
        f.status = FacilityStatus.Closed;
        emit FacilityClosed(id, subject, lender);
    }

    /// @inheritdoc ICreditFacilities
    function reportOverdue(bytes32 subject, bytes32 contractHash, uint64 amount, uint32 daysOverdue) external {
        address lender = _msgSender();
        _consortium.requireRole(lender, ROLE_FINANCIER);
        bytes32 id = _facilityId(subject, lender, contractHash);
        Facility storage f = _facilities[id];
        if (f.status == FacilityStatus.None) revert FacilityUnknown(id);
        if (amount == 0 || amount > f.drawn) revert FacilityInvalidAmount(amount, f.drawn);
        emit FacilityOverdueReported(id, subject, lender, amount, daysOverdue);
        Exposure storage e = _exposures[subject];
        uint32 no = e.agreement;
        if (no != 0 && _participations[_participationKey(no, lender)].shareBps != 0 && !e.flagged) {
            e.flagged = true;
            emit JointAgreementFlagged(no, subject, lender);
        }
    }

    /// @inheritdoc ICreditFacilities
    function proposeAgreement(
        bytes32 subject,
        uint64 jointLimit,
        address[] calldata participants,
        uint16[] calldata sharesBps
    ) external returns (uint32 no) {
        address lead = _msgSender();
        _consortium.requireRole(lead, ROLE_FINANCIER);
        if (_consortium.accountOf(subject) == address(0)) revert FacilityUnknownSubject(subject);
        if (jointLimit == 0) revert FacilityInvalidAmount(jointLimit, type(uint64).max);
        uint256 count = participants.length;
        if (count < 2 || count > _MAX_PARTICIPANTS || sharesBps.length != count) {
            revert JointAgreementInvalidParticipants(count, 0);
        }
        no = ++_agreementCount;
        uint256 total = 0;
        bool leadListed = false;
        for (uint256 i; i < count; ++i) {
            address bank = participants[i];
            uint16 share = sharesBps[i];
            _consortium.requireRole(bank, ROLE_FINANCIER);
            Participation storage p = _participations[_participationKey(no, bank)];
            if (share == 0 || p.shareBps != 0) revert JointAgreementInvalidParticipants(count, total);
            p.shareBps = share;
            total += share;
            if (bank == lead) {
                p.joined = true;
                leadListed = true;
            }
        }
        if (!leadListed || total != _ALL_BPS) revert JointAgreementInvalidParticipants(count, total);
        _participantsOf[no] = participants;
        _agreements[no] = Agreement({
            subject: subject,
            lead: lead,
            jointLimit: jointLimit,
            participants: uint8(count),
            joined: 1,
            accepted: false,
            status: AgreementStatus.Proposed
        });
        emit JointAgreementProposed(no, subject, lead, jointLimit, participants, sharesBps);
    }

    /// @inheritdoc ICreditFacilities
    function joinAgreement(uint32 no) external {
        Agreement storage a = _proposed(no);
        address bank = _msgSender();
        _consortium.requireRole(bank, ROLE_FINANCIER);
        Participation storage p = _participations[_participationKey(no, bank)];
        if (p.shareBps == 0) revert JointAgreementNotParticipant(no, bank);
        if (p.joined) revert JointAgreementAlreadyJoined(no, bank);
        p.joined = true;
        a.joined += 1;
        emit JointAgreementJoined(no, bank);
        _activateIfComplete(no, a);
    }

    /// @inheritdoc ICreditFacilities
    function acceptAgreementBySig(uint32 no, uint256 deadline, bytes calldata signature) external {
        Agreement storage a = _proposed(no);
        bytes32 subject = a.subject;
        address enterprise = _consortium.accountOf(subject);
        if (a.accepted) revert JointAgreementAlreadyJoined(no, enterprise);
        if (block.timestamp > deadline) revert JointAgreementSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(_ACCEPT_TYPEHASH, no, subject, a.lead, a.jointLimit, deadline))
        );
        address signer = ECDSA.recoverCalldata(digest, signature);
        if (signer != enterprise) revert JointAgreementWrongSigner(enterprise, signer);
        a.accepted = true;
        emit JointAgreementAccepted(no, subject, enterprise);
        _activateIfComplete(no, a);
    }

    /// @inheritdoc ICreditFacilities
    function clearFlag(uint32 no) external {
        Agreement storage a = _activeByLead(no);
        Exposure storage e = _exposures[a.subject];
        if (!e.flagged) revert JointAgreementWrongStatus(no, AgreementStatus.Active);
        e.flagged = false;
        emit JointAgreementFlagCleared(no, a.subject, a.lead);
    }

    /// @inheritdoc ICreditFacilities
    function endAgreement(uint32 no) external {
        Agreement storage a = _activeByLead(no);
        bytes32 subject = a.subject;
        Exposure storage e = _exposures[subject];
        // Ending a flagged agreement would lift the hold without the lead clearing it in the open.
        if (e.flagged) revert JointAgreementOnHold(no, subject);
        a.status = AgreementStatus.Ended;
        e.agreement = 0;
        e.joint = 0;
        e.jointLimit = 0;
        emit JointAgreementEnded(no, subject, a.lead);
    }

    /// @inheritdoc ICreditFacilities
    function facility(bytes32 id) external view returns (Facility memory) {
        return _facilities[id];
    }

    /// @inheritdoc ICreditFacilities
    function facilityId(bytes32 subject, address lender, bytes32 contractHash) external pure returns (bytes32) {
        return _facilityId(subject, lender, contractHash);
    }

    /// @inheritdoc ICreditFacilities
    function agreement(uint32 no) external view returns (Agreement memory) {
        return _agreements[no];
    }

    /// @inheritdoc ICreditFacilities
    function participation(uint32 no, address bank) external view returns (Participation memory) {
        return _participations[_participationKey(no, bank)];
    }

    /// @inheritdoc ICreditFacilities
    function agreementCount() external view returns (uint256) {
        return _agreementCount;
    }

    /// @inheritdoc ICreditFacilities
    function exposure(bytes32 subject, bytes32 authId) external view returns (Exposure memory) {
        address reader = _msgSender();
        if (!_consortium.hasRole(reader, ROLE_REGULATOR)) {
            // The same consent a credit query needs: the enterprise's authorisation of this
            // member, neither withdrawn nor lapsed, held by a querier in good standing.
            IAuthorisations.Authorisation memory a = _authorisations.authorisation(authId);
            if (
                a.subject != subject || a.member != reader || a.withdrawnAt != 0 || a.expiry <= block.timestamp
                    || !(_consortium.hasRole(reader, ROLE_FINANCIER) || _consortium.hasRole(reader, ROLE_ATTESTER))
            ) revert FacilityExposureNotAuthorised(subject, reader);
        }
        return _exposures[subject];
    }

    /// @inheritdoc ICreditFacilities
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc ICreditFacilities
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc ICreditFacilities
    function collateral() external view returns (address) {
        return address(_collateral);
    }

    /// @inheritdoc ICreditFacilities
    function authorisations() external view returns (address) {
        return address(_authorisations);
    }

    /// @dev Activate a proposed agreement once every participant joined and the enterprise accepted.
    function _activateIfComplete(uint32 no, Agreement storage a) private {
        if (!a.accepted || a.joined != a.participants) return;
        bytes32 subject = a.subject;
        Exposure storage e = _exposures[subject];
        uint32 existing = e.agreement;
        if (existing != 0) revert JointAgreementExists(subject, existing);
        a.status = AgreementStatus.Active;
        uint64 jointLimit = a.jointLimit;
        // What the participants already lent the enterprise counts from the start: a limit
        // that began at zero would let balances drawn before it sit outside it.
        address[] storage banks = _participantsOf[no];
        uint64 joint = 0;
        for (uint256 i; i < banks.length; ++i) {
            joint += _lent[_lendingKey(subject, banks[i])];
        }
        e.agreement = no;
        e.jointLimit = jointLimit;
        e.joint = joint;
        e.flagged = false;
        emit JointAgreementActivated(no, subject, jointLimit, joint);
    }

    function _proposed(uint32 no) private view returns (Agreement storage a) {
        a = _agreements[no];
        AgreementStatus status = a.status;
        if (status == AgreementStatus.None) revert JointAgreementUnknown(no);
        if (status != AgreementStatus.Proposed) revert JointAgreementWrongStatus(no, status);
    }

    function _activeByLead(uint32 no) private view returns (Agreement storage a) {
        a = _agreements[no];
        AgreementStatus status = a.status;
        if (status == AgreementStatus.None) revert JointAgreementUnknown(no);
        address sender = _msgSender();
        if (sender != a.lead) revert JointAgreementNotLead(no, sender);
        if (status != AgreementStatus.Active) revert JointAgreementWrongStatus(no, status);
    }

    /// @dev The facility `id`, open; reverts when unknown or closed.
    function _open(bytes32 id) private view returns (Facility memory f) {
        f = _facilities[id];
        if (f.status == FacilityStatus.None) revert FacilityUnknown(id);
        if (f.status != FacilityStatus.Open) revert FacilityNotOpen(id);
    }

    function _facilityId(bytes32 subject, address lender, bytes32 contractHash) private pure returns (bytes32) {
        return keccak256(abi.encode(subject, lender, contractHash));
    }

    function _lendingKey(bytes32 subject, address lender) private pure returns (bytes32) {
        return keccak256(abi.encode(subject, lender));
    }

    function _participationKey(uint32 no, address bank) private pure returns (bytes32) {
        return keccak256(abi.encode(no, bank));
    }
}

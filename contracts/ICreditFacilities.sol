// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Kinds of credit facility (授信品种). Python mirror: ledger_client.lending.FacilityKind.
enum FacilityKind {
    None, // no such facility
    Loan, // 贷款
    Guarantee, // 保函 / 担保
    BillAcceptance, // 银行承兑汇票
    LetterOfCredit, // 信用证
    Factoring // 保理
}

/// @title Credit facilities and joint credit agreements
/// @notice A bank records the facilities it grants an enterprise (授信), with their draws,
/// repayments, amendments and closure. Several banks of the five cities join a joint credit
/// agreement for one enterprise (联合授信 / 银团贷款): the lead bank proposes it, the
/// participants join, the enterprise accepts it by signature, and from then on the chain
/// refuses any participant's draw that would push the participants' joint exposure past the
/// joint limit. An overdue any participant reports flags the agreement and stops the
/// participants' draws until the lead bank clears the flag.
/// @dev A facility is identified by keccak256(abi.encode(subject, lender, contractHash)): the
/// lender is the caller of every write on it, so the id needs no lender stored and a facility
/// is one slot. An enterprise's exposure and its joint agreement's state are one slot too,
/// which is what a draw reads and writes. What each lender has outstanding with an enterprise
/// is kept beside it, so a joint agreement opens at its participants' balances: a balance
/// drawn before the agreement counts against the joint limit from the start.
/// Exposure is readable (`exposure`) by regulators and by members holding an authorisation in
/// force from the enterprise (IAuthorisations), as the API and the client read it.
interface ICreditFacilities {
    /// @notice Where a facility stands.
    enum FacilityStatus {
        None, // no such facility
        Open, // may be drawn (before its expiry) and repaid
        Closed // closed by its lender with nothing outstanding
    }

    /// @notice Where a joint agreement stands.
    enum AgreementStatus {
        None, // no such agreement
        Proposed, // waiting for participants and the enterprise
        Active, // in force: its joint limit binds every participant's draws
        Ended // ended by the lead bank
    }

    /// @notice What is stored for a facility: one slot.
    struct Facility {
        uint64 limit; // fen that may be outstanding at once
        uint64 drawn; // fen outstanding
        uint40 expiry; // UNIX seconds: no draw from this second on
        FacilityKind kind; // what it is
        FacilityStatus status; // where it stands
    }

    /// @notice What is stored for an enterprise: one slot.
    struct Exposure {
        uint64 total; // fen outstanding across every lender's facilities
        uint64 joint; // fen outstanding counted under the joint agreement in force
        uint64 jointLimit; // the agreement's joint limit in fen; 0 when none in force
        uint32 agreement; // the joint agreement in force; 0 when none
        bool flagged; // an overdue was reported by a participant and not cleared
    }

    /// @notice What is stored for a joint agreement: two slots.
    struct Agreement {
        bytes32 subject; // the enterprise
        address lead; // the lead bank
        uint64 jointLimit; // fen
        uint8 participants; // banks in it, the lead included
        uint8 joined; // banks that joined, the lead included
        bool accepted; // the enterprise signed
        AgreementStatus status; // where it stands
    }

    /// @notice A bank's place in a joint agreement: one slot.
    struct Participation {
        uint16 shareBps; // its share of the joint limit in basis points; 0 when not a participant
        bool joined; // it joined
    }

    /// @notice A bank recorded a facility it granted an enterprise, secured by `pledgeIds`.
    event FacilityRegistered(
        bytes32 indexed facilityId,
        bytes32 indexed subject,
        address indexed lender,
        bytes32 contractHash,
        FacilityKind kind,
        uint64 limit,
        uint40 expiry,
        bytes32[] pledgeIds
    );
    /// @notice The lender recorded a draw; `drawn` and `total` are the balances after it.
    event FacilityDrawn(
        bytes32 indexed facilityId,
        bytes32 indexed subject,
        address indexed lender,
        uint64 amount,
        uint64 drawn,
        uint64 total,
        uint64 joint
    );
    /// @notice The lender recorded a repayment; `drawn` and `total` are the balances after it.
    event FacilityRepaid(
        bytes32 indexed facilityId,
        bytes32 indexed subject,
        address indexed lender,
        uint64 amount,
        uint64 drawn,
        uint64 total,
        uint64 joint
    );
    /// @notice The lender amended a facility's limit and expiry.
    event FacilityAmended(bytes32 indexed facilityId, address indexed lender, uint64 limit, uint40 expiry);
    /// @notice The lender closed a facility with nothing outstanding.
    event FacilityClosed(bytes32 indexed facilityId, bytes32 indexed subject, address indexed lender);
    /// @notice A lender reported an overdue on its facility.
    event FacilityOverdueReported(
        bytes32 indexed facilityId, bytes32 indexed subject, address indexed lender, uint64 amount, uint32 daysOverdue
    );
    /// @notice A lead bank proposed a joint agreement.
    event JointAgreementProposed(
        uint32 indexed agreement,
        bytes32 indexed subject,
        address indexed lead,
        uint64 jointLimit,
        address[] participants,
        uint16[] sharesBps
    );
    /// @notice A participant joined.
    event JointAgreementJoined(uint32 indexed agreement, address indexed participant);
    /// @notice The enterprise accepted the agreement by signature.
    event JointAgreementAccepted(uint32 indexed agreement, bytes32 indexed subject, address enterprise);
    /// @notice Everyone joined: the joint limit binds the participants' draws from this block on.
    /// `joint` is what the participants already had outstanding with the enterprise, on any of
    /// their facilities: it counts against the limit from the start.
    event JointAgreementActivated(
        uint32 indexed agreement, bytes32 indexed subject, uint64 jointLimit, uint64 joint
    );
    /// @notice A participant's overdue flagged the agreement: participants' draws stop.
    event JointAgreementFlagged(uint32 indexed agreement, bytes32 indexed subject, address indexed reporter);
    /// @notice The lead bank cleared the flag.
    event JointAgreementFlagCleared(uint32 indexed agreement, bytes32 indexed subject, address indexed lead);
    /// @notice The lead bank ended the agreement: its limit no longer binds.
    event JointAgreementEnded(uint32 indexed agreement, bytes32 indexed subject, address indexed lead);

    /// @notice A draw would push the participants' joint exposure past the joint limit.
    /// @custom:kind conflict
    error JointLimitExceeded(bytes32 subject, uint64 limit, uint64 exposure);
    /// @notice The agreement is flagged by an overdue: participants may not draw (nor end it).
    /// @custom:kind conflict
    error JointAgreementOnHold(uint32 agreement, bytes32 subject);
    /// @notice No joint agreement has this number.
    /// @custom:kind not_found
    error JointAgreementUnknown(uint32 agreement);
    /// @notice The agreement's status does not allow this.
    /// @custom:kind conflict
    error JointAgreementWrongStatus(uint32 agreement, AgreementStatus status);
    /// @notice Only the lead bank may do this.
    /// @custom:kind forbidden
    error JointAgreementNotLead(uint32 agreement, address account);
    /// @notice The account is not a participant of the agreement.
    /// @custom:kind forbidden
    error JointAgreementNotParticipant(uint32 agreement, address account);
    /// @notice The participant joined already (or the enterprise accepted already).
    /// @custom:kind conflict
    error JointAgreementAlreadyJoined(uint32 agreement, address account);
    /// @notice Participants: 2 to 16 distinct banks, the lead among them, shares adding up to 10,000.
    /// @custom:kind invalid
    error JointAgreementInvalidParticipants(uint256 count, uint256 sharesTotal);
    /// @notice The enterprise has another joint agreement in force.
    /// @custom:kind conflict
    error JointAgreementExists(bytes32 subject, uint32 agreement);
    /// @notice The enterprise's signature is past its deadline.
    /// @custom:kind conflict
    error JointAgreementSignatureExpired(uint256 deadline, uint256 now);
    /// @notice The acceptance was not signed by the enterprise's bound account.
    /// @custom:kind forbidden
    error JointAgreementWrongSigner(address enterprise, address signer);
    /// @notice No facility has this id (for this lender, subject and contract hash).
    /// @custom:kind not_found
    error FacilityUnknown(bytes32 facilityId);
    /// @notice A facility with this id exists already.
    /// @custom:kind conflict
    error FacilityExists(bytes32 facilityId);
    /// @notice The facility is closed.
    /// @custom:kind conflict
    error FacilityNotOpen(bytes32 facilityId);
    /// @notice The facility expired at `expiry`: no draw.
    /// @custom:kind conflict
    error FacilityExpired(bytes32 facilityId, uint40 expiry);
    /// @notice A draw would take the facility past its limit.
    /// @custom:kind conflict
    error FacilityLimitExceeded(bytes32 facilityId, uint64 limit, uint64 drawn);
    /// @notice The amount is zero or above `bound` (fen).
    /// @custom:kind invalid
    error FacilityInvalidAmount(uint64 amount, uint64 bound);
    /// @notice The kind is not a facility kind.
    /// @custom:kind invalid
    error FacilityInvalidKind(uint8 code);
    /// @notice The expiry is not in the future.
    /// @custom:kind invalid
    error FacilityInvalidExpiry(uint40 expiry, uint256 now);
    /// @notice The subject id is not bound to an enterprise.
    /// @custom:kind not_found
    error FacilityUnknownSubject(bytes32 subject);
    /// @notice Something is still outstanding: the facility cannot close.
    /// @custom:kind conflict
    error FacilityOutstanding(bytes32 facilityId, uint64 drawn);
    /// @notice The pledge is not in force with the lender as pledgee.
    /// @custom:kind forbidden
    error FacilityCollateralNotHeld(bytes32 pledgeId, address lender);
    /// @notice The reader is neither a regulator nor authorised by the enterprise.
    /// @custom:kind forbidden
    error FacilityExposureNotAuthorised(bytes32 subject, address reader);

    /// @notice Record a facility the caller (a bank: financier role) grants an enterprise.
    /// @param subject The enterprise's subject id (bound).
    /// @param contractHash keccak256 of the credit contract: with the subject and lender, the id.
    /// @param kind What it is (not None).
    /// @param limit Fen that may be outstanding at once; more than 0.
    /// @param expiry UNIX seconds: the last draw is before it; in the future.
    /// @param pledgeIds Pledges securing it, each in force with the caller as pledgee.
    /// @return facilityId keccak256(abi.encode(subject, lender, contractHash)).
    function registerFacility(
        bytes32 subject,
        bytes32 contractHash,
        FacilityKind kind,
        uint64 limit,
        uint40 expiry,
        bytes32[] calldata pledgeIds
    ) external returns (bytes32 facilityId);

    /// @notice Record a draw on the caller's open, unexpired facility, within its limit.
    /// @dev When the enterprise has a joint agreement in force and the caller is a participant,
    /// the draw is refused while the agreement is flagged, and refused with JointLimitExceeded
    /// when the participants' joint exposure would pass the joint limit.
    function draw(bytes32 subject, bytes32 contractHash, uint64 amount) external;

    /// @notice Record a repayment of at most what is drawn on the caller's facility.
    function repay(bytes32 subject, bytes32 contractHash, uint64 amount) external;

    /// @notice Amend the caller's open facility: a limit of at least what is drawn, a new expiry.
    function amend(bytes32 subject, bytes32 contractHash, uint64 limit, uint40 expiry) external;

    /// @notice Close the caller's open facility once nothing is outstanding.
    function close(bytes32 subject, bytes32 contractHash) external;

    /// @notice Report an overdue on the caller's facility; when the caller participates in the
    /// enterprise's joint agreement in force, the agreement is flagged.
    function reportOverdue(bytes32 subject, bytes32 contractHash, uint64 amount, uint32 daysOverdue) external;

    /// @notice Propose a joint agreement (the caller, a bank, is the lead and joins at once).
    /// @param participants 2 to 16 distinct banks (financier role), the lead among them.
    /// @param sharesBps Each participant's share of the joint limit; they add up to 10,000.
    /// @return agreement The agreement's number.
    function proposeAgreement(
        bytes32 subject,
        uint64 jointLimit,
        address[] calldata participants,
        uint16[] calldata sharesBps
    ) external returns (uint32 agreement);

    /// @notice Join a proposed agreement (a participant).
    function joinAgreement(uint32 agreement) external;

    /// @notice Accept a proposed agreement for the enterprise, which signed EIP-712
    /// `AcceptAgreement(uint32 agreement,bytes32 subject,address lead,uint64 jointLimit,uint256 deadline)`.
    /// Anyone may submit it.
    function acceptAgreementBySig(uint32 agreement, uint256 deadline, bytes calldata signature) external;

    /// @notice Clear the agreement's overdue flag (the lead bank).
    function clearFlag(uint32 agreement) external;

    /// @notice End an active, unflagged agreement (the lead bank): its limit no longer binds.
    function endAgreement(uint32 agreement) external;

    /// @notice A facility (status None when unknown).
    function facility(bytes32 facilityId) external view returns (Facility memory);

    /// @notice The id of the facility of `lender` to `subject` under `contractHash`.
    function facilityId(bytes32 subject, address lender, bytes32 contractHash) external pure returns (bytes32);

    /// @notice A joint agreement (status None when unknown).
    function agreement(uint32 agreement) external view returns (Agreement memory);

    /// @notice A bank's place in a joint agreement (share 0 when not a participant).
    function participation(uint32 agreement, address bank) external view returns (Participation memory);

    /// @notice How many joint agreements were proposed.
    function agreementCount() external view returns (uint256);

    /// @notice An enterprise's exposure, for a regulator (authId ignored) or for a member
    /// holding the enterprise's authorisation `authId`, in force (the caller is the reader).
    function exposure(bytes32 subject, bytes32 authId) external view returns (Exposure memory);

    /// @notice The EIP-712 domain separator enterprises sign acceptances under.
    function domainSeparator() external view returns (bytes32);

    /// @notice The consortium contract that says who may act.
    function consortium() external view returns (address);

    /// @notice The collateral registry facilities' pledges are checked in.
    function collateral() external view returns (address);

    /// @notice The authorisations contract whose consent lets a member read exposure.
    function authorisations() external view returns (address);
}

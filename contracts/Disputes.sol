// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {IAttestations} from "./IAttestations.sol";
import {IConsortium} from "./IConsortium.sol";
import {DISPUTE_RESOLUTION_PERIOD, IDisputes} from "./IDisputes.sol";
import {ROLE_ATTESTER, ROLE_REGULATOR} from "./Common.sol";

/// @title Disputes
/// @notice Disputes (异议) over attestations, with the 20-day deadline of art. 25, and the
/// complaints (投诉) to a regulator that follow a rejection or an overdue silence (art. 26).
/// @dev The acting party is `_msgSender()` (ERC-2771): the caller, or the signer of a request
/// relayed by the chain's Forwarder.
contract Disputes is IDisputes, EIP712, ERC2771Context {
    bytes32 private constant _RAISE_TYPEHASH = keccak256(
        "RaiseDispute(bytes32 uid,bytes32 reasonHash,address enterprise,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _COMPLAINT_TYPEHASH = keccak256(
        "FileComplaint(uint256 disputeId,bytes32 reasonHash,address enterprise,uint256 nonce,uint256 deadline)"
    );

    IConsortium private immutable _consortium;
    IAttestations private immutable _attestations;
    uint256 private _disputeCount;
    mapping(uint256 disputeId => Dispute dispute) private _disputes;
    /// @dev A record's dispute, kept once answered: its status says whether it is open
    /// (DisputesAlreadyOpen) or was rejected (DisputesAlreadyAnswered).
    mapping(bytes32 uid => uint256 disputeId) private _recordDisputes;
    uint256 private _complaintCount;
    mapping(uint256 complaintId => Complaint complaint) private _complaints;
    mapping(address enterprise => mapping(uint256 word => uint256 bits)) private _nonces;

    /// @param consortium_ The consortium contract that says who may act.
    /// @param attestations_ The attestations disputed; a regulator must name this contract
    /// there (IAttestations.setDisputesContract) before the first dispute.
    /// @param forwarder_ The Forwarder (IForwarder.sol) whose relayed requests act for their signer.
    constructor(IConsortium consortium_, IAttestations attestations_, address forwarder_)
        EIP712("YRD Credit Disputes", "1")
        ERC2771Context(forwarder_)
    {
        _consortium = consortium_;
        _attestations = attestations_;
    }

    /// @inheritdoc IDisputes
    function raiseDispute(bytes32 uid, IAttestations.Fields calldata fields, bytes32 reasonHash)
        external
        returns (uint256)
    {
        return _raise(uid, fields, reasonHash, _msgSender());
    }

    /// @inheritdoc IDisputes
    function raiseDisputeBySig(
        bytes32 uid,
        IAttestations.Fields calldata fields,
        bytes32 reasonHash,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256) {
        if (block.timestamp > deadline) revert DisputesSignatureExpired(deadline, block.timestamp);
        _checkRaiseSignature(uid, reasonHash, enterprise, nonce, deadline, signature);
        return _raise(uid, fields, reasonHash, enterprise);
    }

    /// @inheritdoc IDisputes
    function raiseBatchRecordDispute(
        bytes32 batchId,
        IAttestations.BatchRecord calldata rec,
        bytes32[] calldata proof,
        bytes32 reasonHash
    ) external returns (uint256) {
        (bytes32 recordId, address attester, bytes32 subject) = _attestations.batchRecord(batchId, rec, proof);
        return _raiseBatchRecord(recordId, attester, subject, reasonHash, _msgSender());
    }

    /// @inheritdoc IDisputes
    function raiseBatchRecordDisputeBySig(
        bytes32 batchId,
        IAttestations.BatchRecord calldata rec,
        bytes32[] calldata proof,
        bytes32 reasonHash,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256) {
        if (block.timestamp > deadline) revert DisputesSignatureExpired(deadline, block.timestamp);
        (bytes32 recordId, address attester, bytes32 subject) = _attestations.batchRecord(batchId, rec, proof);
        _checkRaiseSignature(recordId, reasonHash, enterprise, nonce, deadline, signature);
        return _raiseBatchRecord(recordId, attester, subject, reasonHash, enterprise);
    }

    /// @inheritdoc IDisputes
    function rejectDispute(uint256 disputeId, bytes32 reasonHash) external {
        if (reasonHash == bytes32(0)) revert DisputesInvalidReason(reasonHash);
        (Dispute storage d, address resolver) = _openForResolver(disputeId);
        bytes32 uid = d.uid;
        // A rejection says the record stands; one corrected since it was disputed does not.
        IAttestations.AttestationView memory a = _attestations.attestation(uid);
        if (a.revokedAt != 0 || a.replacedBy != bytes32(0)) revert DisputesAlreadyCorrected(disputeId, uid);
        bool late = _close(d, uid, DisputeStatus.Rejected);
        emit DisputeRejected(disputeId, uid, resolver, reasonHash, late);
    }

    /// @inheritdoc IDisputes
    function upholdDispute(uint256 disputeId, bytes32 replyHash) external {
        (Dispute storage d, address resolver) = _openForResolver(disputeId);
        bytes32 uid = d.uid;
        IAttestations.AttestationView memory a = _attestations.attestation(uid);
        if (a.revokedAt == 0 && a.replacedBy == bytes32(0)) revert DisputesNotCorrected(disputeId, uid);
        bool late = _close(d, uid, DisputeStatus.Upheld);
        emit DisputeUpheld(disputeId, uid, resolver, a.replacedBy, replyHash, late);
    }

    /// @inheritdoc IDisputes
    function fileComplaint(uint256 disputeId, bytes32 reasonHash) external returns (uint256) {
        return _file(disputeId, reasonHash, _msgSender());
    }

    /// @inheritdoc IDisputes
    function fileComplaintBySig(
        uint256 disputeId,
        bytes32 reasonHash,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256) {
        if (block.timestamp > deadline) revert DisputesSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(_COMPLAINT_TYPEHASH, disputeId, reasonHash, enterprise, nonce, deadline))
        );
        address signer = ECDSA.recoverCalldata(digest, signature);
        if (signer != enterprise) revert DisputesWrongSigner(enterprise, signer);
        _useNonce(enterprise, nonce);
        return _file(disputeId, reasonHash, enterprise);
    }

    /// @inheritdoc IDisputes
    function resolveComplaint(uint256 complaintId, bool upheld, bytes32 replyHash) external {
        address regulator = _msgSender();
        if (!_consortium.hasRole(regulator, ROLE_REGULATOR)) revert DisputesNotRegulator(complaintId, regulator);
        Complaint storage c = _complaints[complaintId];
        ComplaintStatus status = c.status;
        if (status == ComplaintStatus.None) revert DisputesUnknownComplaint(complaintId);
        if (status != ComplaintStatus.Open) revert DisputesComplaintNotOpen(complaintId, status);
        if (replyHash == bytes32(0)) revert DisputesInvalidReason(replyHash);
        uint256 disputeId = c.disputeId;
        Dispute storage d = _disputes[disputeId];
        bytes32 uid = d.uid;
        (bool corrected, bytes32 replacedBy) = _corrected(uid);
        if (upheld && !corrected) revert DisputesNotCorrected(disputeId, uid);
        if (!upheld && corrected) revert DisputesAlreadyCorrected(disputeId, uid);
        c.status = upheld ? ComplaintStatus.Upheld : ComplaintStatus.Rejected;
        c.resolvedAt = uint40(block.timestamp);
        // A complaint of an overdue silence: the regulator's reply answers the dispute too.
        if (d.status == DisputeStatus.Open) {
            if (upheld) {
                bool late = _close(d, uid, DisputeStatus.Upheld);
                emit DisputeUpheld(disputeId, uid, regulator, replacedBy, replyHash, late);
            } else {
                bool late = _close(d, uid, DisputeStatus.Rejected);
                emit DisputeRejected(disputeId, uid, regulator, replyHash, late);
            }
        }
        emit ComplaintResolved(complaintId, disputeId, regulator, upheld, replyHash);
    }

    /// @inheritdoc IDisputes
    function dispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IDisputes
    function openDispute(bytes32 uid) external view returns (uint256) {
        uint256 disputeId = _recordDisputes[uid];
        // A status compared, not a balance or a time (slither taints the packed slot).
        // slither-disable-next-line incorrect-equality
        return _disputes[disputeId].status == DisputeStatus.Open ? disputeId : 0;
    }

    /// @inheritdoc IDisputes
    function disputeCount() external view returns (uint256) {
        return _disputeCount;
    }

    /// @inheritdoc IDisputes
    function overdueDisputes(address attester, uint256 fromId, uint256 toId)
        external
        view
        returns (uint256[] memory disputeIds)
    {
        uint256 end = _disputeCount + 1;
        if (toId > end) toId = end;
        if (fromId == 0) fromId = 1;
        disputeIds = new uint256[](toId > fromId ? toId - fromId : 0);
        uint256 found = 0;
        for (uint256 id = fromId; id < toId; ++id) {
            Dispute storage d = _disputes[id];
            if (
                d.status == DisputeStatus.Open && block.timestamp >= d.deadline
                    && (attester == address(0) || d.attester == attester)
            ) {
                disputeIds[found++] = id;
            }
        }
        assembly ("memory-safe") {
            mstore(disputeIds, found) // shrink to what was found
        }
    }

    /// @inheritdoc IDisputes
    function complaint(uint256 complaintId) external view returns (Complaint memory) {
        return _complaints[complaintId];
    }

    /// @inheritdoc IDisputes
    function complaintCount() external view returns (uint256) {
        return _complaintCount;
    }

    /// @inheritdoc IDisputes
    function openComplaints(uint256 fromId, uint256 toId) external view returns (uint256[] memory complaintIds) {
        uint256 end = _complaintCount + 1;
        if (toId > end) toId = end;
        if (fromId == 0) fromId = 1;
        complaintIds = new uint256[](toId > fromId ? toId - fromId : 0);
        uint256 found = 0;
        for (uint256 id = fromId; id < toId; ++id) {
            // A status compared, not a balance or a time (slither taints the packed slot).
            // slither-disable-next-line incorrect-equality
            if (_complaints[id].status == ComplaintStatus.Open) complaintIds[found++] = id;
        }
        assembly ("memory-safe") {
            mstore(complaintIds, found) // shrink to what was found
        }
    }

    /// @inheritdoc IDisputes
    function nonceUsed(address enterprise, uint256 nonce) external view returns (bool) {
        return _nonces[enterprise][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IDisputes
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IDisputes
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IDisputes
    function attestations() external view returns (address) {
        return address(_attestations);
    }

    function _raise(bytes32 uid, IAttestations.Fields calldata fields, bytes32 reasonHash, address raiser)
        private
        returns (uint256)
    {
        if (reasonHash == bytes32(0)) revert DisputesInvalidReason(reasonHash);
        _requireNotDisputedBefore(uid);
        IAttestations.AttestationView memory a = _attestations.attestation(uid);
        if (a.attester == address(0)) revert DisputesUnknownAttestation(uid);
        if (a.revokedAt != 0) revert DisputesNotDisputable(uid, IAttestations.Validity.Revoked);
        if (a.replacedBy != bytes32(0)) revert DisputesNotDisputable(uid, IAttestations.Validity.Replaced);
        if (!_attestations.matches(uid, fields)) revert DisputesFieldsMismatch(uid);
        bytes32 subject = fields.subject;
        // Only the subject's bound account: one bound to another subject, an unbound account
        // and a member institution are all refused by the same name.
        if (_consortium.accountOf(subject) != raiser) revert DisputesNotSubject(uid, raiser);
        return _open(uid, a.attester, subject, reasonHash, raiser);
    }

    function _file(uint256 disputeId, bytes32 reasonHash, address filer) private returns (uint256 complaintId) {
        if (reasonHash == bytes32(0)) revert DisputesInvalidReason(reasonHash);
        Dispute storage d = _disputes[disputeId];
        DisputeStatus status = d.status;
        if (status == DisputeStatus.None) revert DisputesUnknown(disputeId);
        bytes32 uid = d.uid;
        bytes32 subject = d.subject;
        if (_consortium.accountOf(subject) != filer) revert DisputesNotSubject(uid, filer);
        // A rejection (on time or late) or an overdue silence may be complained of.
        if (status == DisputeStatus.Upheld || (status == DisputeStatus.Open && block.timestamp < d.deadline)) {
            revert DisputesNotComplainable(disputeId, status);
        }
        if (d.complained) revert DisputesComplaintExists(disputeId);
        d.complained = true;
        complaintId = ++_complaintCount;
        // Dispute ids fit in 64 bits: each one is a transaction of its own.
        _complaints[complaintId] = Complaint({
            disputeId: uint64(disputeId),
            filedAt: uint40(block.timestamp),
            resolvedAt: 0,
            status: ComplaintStatus.Open
        });
        emit ComplaintFiled(complaintId, disputeId, uid, subject, reasonHash, filer);
    }

    /// @dev Whether the record `uid` was revoked or replaced, and its replacement if any.
    function _corrected(bytes32 uid) private view returns (bool corrected, bytes32 replacedBy) {
        IAttestations.AttestationView memory a = _attestations.attestation(uid);
        return (a.revokedAt != 0 || a.replacedBy != bytes32(0), a.replacedBy);
    }

    /// @dev _raise for a batch record, whose id, attester and subject IAttestations.batchRecord
    /// computed from its ingredients: the same checks in the same order, then the same opening.
    function _raiseBatchRecord(
        bytes32 recordId,
        address attester,
        bytes32 subject,
        bytes32 reasonHash,
        address raiser
    ) private returns (uint256) {
        if (reasonHash == bytes32(0)) revert DisputesInvalidReason(reasonHash);
        _requireNotDisputedBefore(recordId);
        IAttestations.AttestationView memory a = _attestations.attestation(recordId);
        if (a.revokedAt != 0) revert DisputesNotDisputable(recordId, IAttestations.Validity.Revoked);
        if (a.replacedBy != bytes32(0)) revert DisputesNotDisputable(recordId, IAttestations.Validity.Replaced);
        if (_consortium.accountOf(subject) != raiser) revert DisputesNotSubject(recordId, raiser);
        return _open(recordId, attester, subject, reasonHash, raiser);
    }

    /// @dev One dispute per record (art. 25): open, or answered and then a matter for a
    /// complaint. An upheld one falls through: its record is revoked or replaced, so the
    /// caller's next check finds it not disputable.
    function _requireNotDisputedBefore(bytes32 uid) private view {
        uint256 earlier = _recordDisputes[uid];
        if (earlier != 0) {
            // A status compared, not a balance or a time (slither taints the packed slot).
            DisputeStatus was = _disputes[earlier].status;
            // slither-disable-next-line incorrect-equality
            if (was == DisputeStatus.Open) revert DisputesAlreadyOpen(uid, earlier);
            // slither-disable-next-line incorrect-equality
            if (was == DisputeStatus.Rejected) revert DisputesAlreadyAnswered(uid, earlier);
        }
    }

    /// @dev Open a dispute of `uid` (an attestation or a batch record) answerable by `attester`.
    function _open(bytes32 uid, address attester, bytes32 subject, bytes32 reasonHash, address raiser)
        private
        returns (uint256 disputeId)
    {
        uint40 deadline = uint40(block.timestamp) + DISPUTE_RESOLUTION_PERIOD;
        disputeId = ++_disputeCount;
        _disputes[disputeId] = Dispute({
            uid: uid,
            attester: attester,
            deadline: deadline,
            resolvedAt: 0,
            status: DisputeStatus.Open,
            complained: false,
            subject: subject
        });
        _recordDisputes[uid] = disputeId;
        _attestations.setDisputeDeadline(uid, deadline);
        emit DisputeRaised(disputeId, uid, attester, subject, reasonHash, deadline, raiser);
    }

    /// @dev Reverts unless `signature` is `enterprise`'s EIP-712 RaiseDispute of `uid`; spends the nonce.
    function _checkRaiseSignature(
        bytes32 uid,
        bytes32 reasonHash,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) private {
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(_RAISE_TYPEHASH, uid, reasonHash, enterprise, nonce, deadline)));
        address signer = ECDSA.recoverCalldata(digest, signature);
        if (signer != enterprise) revert DisputesWrongSigner(enterprise, signer);
        _useNonce(enterprise, nonce);
    }

    /// @dev The open dispute `disputeId` and its resolver, after checking that the caller may resolve it.
    function _openForResolver(uint256 disputeId) private view returns (Dispute storage d, address resolver) {
        d = _disputes[disputeId];
        DisputeStatus status = d.status;
        if (status == DisputeStatus.None) revert DisputesUnknown(disputeId);
        if (status != DisputeStatus.Open) revert DisputesNotOpen(disputeId, status);
        address attester = d.attester;
        resolver = _msgSender();
        if (resolver == attester) {
            _consortium.requireRole(resolver, ROLE_ATTESTER);
        } else if (!_consortium.hasRole(resolver, ROLE_REGULATOR)) {
            revert DisputesNotResolver(disputeId, resolver, attester);
        }
    }

    /// @dev Close an open dispute; returns whether it was resolved past its deadline.
    function _close(Dispute storage d, bytes32 uid, DisputeStatus status) private returns (bool late) {
        d.status = status;
        d.resolvedAt = uint40(block.timestamp);
        _attestations.setDisputeDeadline(uid, 0);
        return block.timestamp >= d.deadline;
    }

    function _useNonce(address enterprise, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonces[enterprise][nonce >> 8];
        if (bits & bit != 0) revert DisputesNonceUsed(enterprise, nonce);
        _nonces[enterprise][nonce >> 8] = bits | bit;
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAttestations} from "./IAttestations.sol";

/// @dev Art. 25 of the credit-reporting regulation (《征信业管理条例》): a dispute is to be
/// checked and answered within 20 days of its receipt. The deadline is raisedAt + 20 days,
/// the first second at which the dispute is overdue.
uint40 constant DISPUTE_RESOLUTION_PERIOD = 20 days;

/// @title Disputes (异议) over credit attestations, and complaints (投诉) about their answers
/// @notice The subject of an attestation disputes it (a reason hash; the reasons stay off
/// chain). The attester, or a regulator, resolves the dispute within 20 days: upheld, after
/// the attester revoked or replaced the record, or rejected with a reason hash. While the
/// dispute is open the record's `validity` in IAttestations says Disputed, and
/// DisputeOverdue once the deadline has passed.
///
/// A record is disputed once (art. 25): after a rejection, on time or late, the subject's
/// remedy is a complaint to the regulator (art. 26), not another dispute of the same record
/// (DisputesAlreadyAnswered); an upheld dispute leaves the record revoked or replaced, and a
/// replacement is a new UID that may be disputed anew. A complaint is filed once per dispute
/// that was rejected, or is open past its deadline unanswered; only a regulator resolves it,
/// upheld (after the record was revoked or replaced) or rejected (the record standing), with
/// a written reply. Resolving a complaint whose dispute is still open answers that dispute
/// the same way. A complaint does not change the record's validity. There is no time limit
/// on filing a complaint.
interface IDisputes {
    /// @notice Where a dispute stands.
    enum DisputeStatus {
        None, // no such dispute
        Open, // raised, not yet resolved
        Rejected, // the attester (or a regulator) kept the record and answered why
        Upheld // the record was revoked or replaced
    }

    /// @notice Where a complaint stands.
    enum ComplaintStatus {
        None, // no such complaint
        Open, // filed, not yet resolved by a regulator
        Rejected, // the regulator found the record stands and answered why
        Upheld // the record was revoked or replaced
    }

    /// @notice A dispute as stored: three slots. It was raised at deadline - 20 days; who
    /// raised it and why are in its DisputeRaised event.
    struct Dispute {
        bytes32 uid; // the disputed attestation
        address attester; // the attestation's attester, who answers for it
        uint40 deadline; // raised at + 20 days: the first overdue second (UNIX seconds)
        uint40 resolvedAt; // UNIX seconds; 0 while open
        DisputeStatus status; // Open, Rejected or Upheld
        bool complained; // true once its subject filed a complaint about it (one per dispute)
        bytes32 subject; // the record's subject, whose bound account alone may complain
    }

    /// @notice A complaint as stored: one slot. Who filed it and why are in its
    /// ComplaintFiled event, the regulator's reply in its ComplaintResolved event.
    struct Complaint {
        uint64 disputeId; // the dispute whose answer (or silence) it complains of
        uint40 filedAt; // UNIX seconds
        uint40 resolvedAt; // UNIX seconds; 0 while open
        ComplaintStatus status; // Open, Rejected or Upheld
    }

    /// @notice An enterprise disputed an attestation about it.
    event DisputeRaised(
        uint256 indexed disputeId,
        bytes32 indexed uid,
        address indexed attester,
        bytes32 subject,
        bytes32 reasonHash,
        uint40 deadline,
        address raisedBy
    );
    /// @notice The dispute was rejected: the record stands.
    event DisputeRejected(
        uint256 indexed disputeId, bytes32 indexed uid, address indexed resolver, bytes32 reasonHash, bool late
    );
    /// @notice The dispute was upheld: the record was revoked (replacedBy 0) or replaced.
    event DisputeUpheld(
        uint256 indexed disputeId,
        bytes32 indexed uid,
        address indexed resolver,
        bytes32 replacedBy,
        bytes32 replyHash,
        bool late
    );

    /// @notice The subject complained to the regulator (投诉, art. 26) of a dispute's answer,
    /// or of its silence past the deadline.
    event ComplaintFiled(
        uint256 indexed complaintId,
        uint256 indexed disputeId,
        bytes32 indexed uid,
        bytes32 subject,
        bytes32 reasonHash,
        address filedBy
    );
    /// @notice A regulator resolved a complaint: upheld (the record revoked or replaced) or
    /// rejected (the record stands).
    event ComplaintResolved(
        uint256 indexed complaintId,
        uint256 indexed disputeId,
        address indexed regulator,
        bool upheld,
        bytes32 replyHash
    );

    /// @notice No attestation has this UID.
    /// @custom:kind not_found
    error DisputesUnknownAttestation(bytes32 uid);
    /// @notice The fields supplied are not the ones the UID commits to.
    /// @custom:kind invalid
    error DisputesFieldsMismatch(bytes32 uid);
    /// @notice Only the attestation's subject (its bound account) may dispute it, or complain
    /// of its dispute's answer: an account bound to another subject, an unbound account and a
    /// member institution are all refused by this name.
    /// @custom:kind forbidden
    error DisputesNotSubject(bytes32 uid, address caller);
    /// @notice A revoked or replaced record cannot be disputed.
    /// @custom:kind conflict
    error DisputesNotDisputable(bytes32 uid, IAttestations.Validity validity);
    /// @notice The record already has an open dispute.
    /// @custom:kind conflict
    error DisputesAlreadyOpen(bytes32 uid, uint256 disputeId);
    /// @notice The record's dispute was answered (rejected): the subject's remedy is a complaint
    /// to the regulator (fileComplaint), not another dispute of the same record.
    /// @custom:kind conflict
    error DisputesAlreadyAnswered(bytes32 uid, uint256 disputeId);
    /// @notice A dispute, a rejection, a complaint or a complaint's resolution needs a
    /// non-zero reason (or reply) hash.
    /// @custom:kind invalid
    error DisputesInvalidReason(bytes32 reasonHash);
    /// @notice No dispute has this id.
    /// @custom:kind not_found
    error DisputesUnknown(uint256 disputeId);
    /// @notice The dispute is already resolved.
    /// @custom:kind conflict
    error DisputesNotOpen(uint256 disputeId, DisputeStatus status);
    /// @notice Only the attestation's attester or a regulator may resolve its dispute.
    /// @custom:kind forbidden
    error DisputesNotResolver(uint256 disputeId, address caller, address attester);
    /// @notice Upholding (a dispute, or a complaint about it) needs the record revoked or
    /// replaced first (in IAttestations).
    /// @custom:kind conflict
    error DisputesNotCorrected(uint256 disputeId, bytes32 uid);
    /// @notice A record revoked or replaced since it was disputed no longer stands, so its
    /// dispute (or a complaint about it) cannot be rejected: uphold it, which links the correction.
    /// @custom:kind conflict
    error DisputesAlreadyCorrected(uint256 disputeId, bytes32 uid);
    /// @notice The signed message's deadline has passed.
    /// @custom:kind invalid
    error DisputesSignatureExpired(uint256 deadline, uint256 now);
    /// @notice The signature was not made by the named enterprise account.
    /// @custom:kind forbidden
    error DisputesWrongSigner(address enterprise, address signer);
    /// @notice The enterprise already used this nonce: the signature was replayed.
    /// @custom:kind conflict
    error DisputesNonceUsed(address enterprise, uint256 nonce);

    /// @notice The dispute cannot be complained of: it is upheld, or open and not yet overdue.
    /// @custom:kind conflict
    error DisputesNotComplainable(uint256 disputeId, DisputeStatus status);
    /// @notice The subject already complained of this dispute.
    /// @custom:kind conflict
    error DisputesComplaintExists(uint256 disputeId);
    /// @notice No complaint has this id.
    /// @custom:kind not_found
    error DisputesUnknownComplaint(uint256 complaintId);
    /// @notice The complaint is already resolved.
    /// @custom:kind conflict
    error DisputesComplaintNotOpen(uint256 complaintId, ComplaintStatus status);
    /// @notice Only a regulator in good standing resolves a complaint.
    /// @custom:kind forbidden
    error DisputesNotRegulator(uint256 complaintId, address caller);

    /// @notice Dispute an attestation (the caller is its subject's bound account).
    /// @param fields The fields the UID commits to; their subject must be the caller's.
    /// @param reasonHash keccak256 of the off-chain statement of the dispute.
    /// @return disputeId The dispute's number (1, 2, ...).
    function raiseDispute(bytes32 uid, IAttestations.Fields calldata fields, bytes32 reasonHash)
        external
        returns (uint256 disputeId);

    /// @notice Relay a dispute signed off chain by the subject's bound account (EIP-712
    /// `RaiseDispute(bytes32 uid,bytes32 reasonHash,address enterprise,uint256 nonce,uint256 deadline)`).
    /// Anyone may relay it.
    /// @param nonce Any number the enterprise has not used (nonces are not sequential).
    function raiseDisputeBySig(
        bytes32 uid,
        IAttestations.Fields calldata fields,
        bytes32 reasonHash,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 disputeId);

    /// @notice Dispute a record of a batch (the caller is its subject's bound account). The
    /// dispute's uid is the record's id (IAttestations.batchRecord) and its attester the
    /// record's: the signer for a signed batch, never the relayer that anchored it.
    /// @param rec The record's ingredients; proof its inclusion proof in the batch.
    function raiseBatchRecordDispute(
        bytes32 batchId,
        IAttestations.BatchRecord calldata rec,
        bytes32[] calldata proof,
        bytes32 reasonHash
    ) external returns (uint256 disputeId);

    /// @notice Relay a dispute of a batch record signed off chain by its subject's bound
    /// account: the same EIP-712 `RaiseDispute` as raiseDisputeBySig, with uid = the record's id.
    function raiseBatchRecordDisputeBySig(
        bytes32 batchId,
        IAttestations.BatchRecord calldata rec,
        bytes32[] calldata proof,
        bytes32 reasonHash,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 disputeId);

    /// @notice Reject a dispute: the record stands (its attester in good standing, or a regulator).
    /// @param reasonHash keccak256 of the written answer to the enterprise.
    function rejectDispute(uint256 disputeId, bytes32 reasonHash) external;

    /// @notice Uphold a dispute after revoking or replacing the record in IAttestations
    /// (its attester in good standing, or a regulator).
    /// @param replyHash keccak256 of the written answer to the enterprise, or 0.
    function upholdDispute(uint256 disputeId, bytes32 replyHash) external;

    /// @notice Complain to the regulator (投诉, art. 26) of a dispute's rejection, or of its
    /// silence once overdue (the caller is the record's subject's bound account). Once per dispute.
    /// @param reasonHash keccak256 of the off-chain statement of the complaint.
    /// @return complaintId The complaint's number (1, 2, ...).
    function fileComplaint(uint256 disputeId, bytes32 reasonHash) external returns (uint256 complaintId);

    /// @notice Relay a complaint signed off chain by the subject's bound account (EIP-712
    /// `FileComplaint(uint256 disputeId,bytes32 reasonHash,address enterprise,uint256 nonce,uint256 deadline)`).
    /// Anyone may relay it.
    /// @param nonce Any number the enterprise has not used, for a dispute or a complaint.
    /// @param signature 65-byte ECDSA signature; high-s forms are refused.
    function fileComplaintBySig(
        uint256 disputeId,
        bytes32 reasonHash,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 complaintId);

    /// @notice Resolve a complaint (a regulator in good standing only). Upholding needs the
    /// record revoked or replaced first (the regulator may revoke it in IAttestations);
    /// rejecting needs it to stand. A dispute still open is answered the same way, late.
    /// @param replyHash keccak256 of the regulator's written reply to the enterprise.
    function resolveComplaint(uint256 complaintId, bool upheld, bytes32 replyHash) external;

    /// @notice A dispute (status None when unknown).
    function dispute(uint256 disputeId) external view returns (Dispute memory);

    /// @notice The open dispute of a record; 0 when none is open.
    /// @dev A record's dispute id stays stored after it is answered: that is what refuses a re-raise.
    function openDispute(bytes32 uid) external view returns (uint256 disputeId);

    /// @notice How many disputes were ever raised; ids run 1..disputeCount.
    function disputeCount() external view returns (uint256);

    /// @notice The ids in [fromId, toId) of disputes that are open past their deadline and
    /// answerable by `attester` (any attester when 0): the regulator's overdue list, paged.
    function overdueDisputes(address attester, uint256 fromId, uint256 toId)
        external
        view
        returns (uint256[] memory disputeIds);

    /// @notice A complaint (status None when unknown).
    function complaint(uint256 complaintId) external view returns (Complaint memory);

    /// @notice How many complaints were ever filed; ids run 1..complaintCount.
    function complaintCount() external view returns (uint256);

    /// @notice The ids in [fromId, toId) of complaints still open: the regulator's list, paged.
    function openComplaints(uint256 fromId, uint256 toId) external view returns (uint256[] memory complaintIds);

    /// @notice True when `enterprise` has used `nonce` for a signed dispute or complaint.
    function nonceUsed(address enterprise, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator of signed disputes.
    function domainSeparator() external view returns (bytes32);

    /// @notice The consortium contract that says who may act.
    function consortium() external view returns (address);

    /// @notice The attestation contract whose records are disputed.
    function attestations() external view returns (address);
}

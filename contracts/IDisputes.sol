// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAttestations} from "./IAttestations.sol";

/// @dev Art. 25 of the credit-reporting regulation (《征信业管理条例》): a dispute is to be
/// checked and answered within 20 days of its receipt. The deadline is raisedAt + 20 days,
/// the first second at which the dispute is overdue.
uint40 constant DISPUTE_RESOLUTION_PERIOD = 20 days;

/// @title Disputes (异议) over credit attestations
/// @notice The subject of an attestation disputes it (a reason hash; the reasons stay off
/// chain). The attester, or a regulator, resolves the dispute within 20 days: upheld, after
/// the attester revoked or replaced the record, or rejected with a reason hash. While the
/// dispute is open the record's `validity` in IAttestations says Disputed, and
/// DisputeOverdue once the deadline has passed.
interface IDisputes {
    /// @notice Where a dispute stands.
    enum DisputeStatus {
        None, // no such dispute
        Open, // raised, not yet resolved
        Rejected, // the attester (or a regulator) kept the record and answered why
        Upheld // the record was revoked or replaced
    }

    /// @notice A dispute as stored: two slots. It was raised at deadline - 20 days; who
    /// raised it and why are in its DisputeRaised event.
    struct Dispute {
        bytes32 uid; // the disputed attestation
        address attester; // the attestation's attester, who answers for it
        uint40 deadline; // raised at + 20 days: the first overdue second (UNIX seconds)
        uint40 resolvedAt; // UNIX seconds; 0 while open
        DisputeStatus status; // Open, Rejected or Upheld
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

    /// @notice No attestation has this UID.
    /// @custom:kind not_found
    error DisputesUnknownAttestation(bytes32 uid);
    /// @notice The fields supplied are not the ones the UID commits to.
    /// @custom:kind invalid
    error DisputesFieldsMismatch(bytes32 uid);
    /// @notice Only the attestation's subject (its bound account) may dispute it.
    /// @custom:kind forbidden
    error DisputesNotSubject(bytes32 uid, address caller);
    /// @notice A revoked or replaced record cannot be disputed.
    /// @custom:kind conflict
    error DisputesNotDisputable(bytes32 uid, IAttestations.Validity validity);
    /// @notice The record already has an open dispute.
    /// @custom:kind conflict
    error DisputesAlreadyOpen(bytes32 uid, uint256 disputeId);
    /// @notice A dispute or a rejection needs a non-zero reason hash.
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
    /// @notice Upholding needs the record revoked or replaced first (in IAttestations).
    /// @custom:kind conflict
    error DisputesNotCorrected(uint256 disputeId, bytes32 uid);
    /// @notice A record revoked or replaced since it was disputed no longer stands, so its
    /// dispute cannot be rejected: uphold it, which links the correction.
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

    /// @notice A dispute (status None when unknown).
    function dispute(uint256 disputeId) external view returns (Dispute memory);

    /// @notice The open dispute of a record; 0 when none is open.
    function openDispute(bytes32 uid) external view returns (uint256 disputeId);

    /// @notice How many disputes were ever raised; ids run 1..disputeCount.
    function disputeCount() external view returns (uint256);

    /// @notice The ids in [fromId, toId) of disputes that are open past their deadline and
    /// answerable by `attester` (any attester when 0): the regulator's overdue list, paged.
    function overdueDisputes(address attester, uint256 fromId, uint256 toId)
        external
        view
        returns (uint256[] memory disputeIds);

    /// @notice True when `enterprise` has used `nonce` for a signed dispute.
    function nonceUsed(address enterprise, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator of signed disputes.
    function domainSeparator() external view returns (bytes32);
}

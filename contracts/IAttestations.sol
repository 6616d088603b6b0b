// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ISchemaRegistry} from "./ISchemaRegistry.sol";

/// @title Credit attestations
/// @notice A member institution states a fact about an enterprise (a repayment, an
/// overdue record, a tax credit grade, ...): the chain holds a commitment to the
/// off-chain record, never the record. One storage slot per attestation keeps the
/// attester, the time, the expiry and the schema; the UID commits to everything else
/// (subject, record hash, reference), which the Attested event carries.
/// Many records can be anchored at once as a Merkle root.
interface IAttestations is ISchemaRegistry {
    /// @notice What `validity` answers.
    enum Validity {
        Unknown, // no such attestation, or a proof that does not hold
        Valid, // attested, in force
        Revoked, // revoked by its attester or a regulator
        Expired, // past its expiry
        Replaced, // superseded by a newer attestation that points back to it
        Disputed, // its subject raised a dispute (异议) that is open and not yet due
        DisputeOverdue // a dispute is open past its 20-day deadline (art. 25 of the regulation)
    }

    /// @notice What is stored for an attestation or a batch: one slot.
    struct Record {
        address attester; // the member that made it
        uint40 attestedAt; // UNIX seconds (block time)
        uint40 expiry; // UNIX seconds; 0 for no expiry
        uint16 schemaIndex; // the schema's 1-based index
    }

    /// @notice An attestation as the contract reports it.
    struct AttestationView {
        address attester; // the member that made it
        uint40 attestedAt; // UNIX seconds
        uint40 expiry; // UNIX seconds; 0 for none
        uint40 revokedAt; // UNIX seconds; 0 while not revoked
        bytes32 schema; // schema id
        bytes32 replacedBy; // UID of the replacement; 0 while not replaced
    }

    /// @notice An anchored batch as the contract reports it.
    struct BatchView {
        address attester; // the member that anchored it (the relayer, for a signed batch)
        uint40 anchoredAt; // UNIX seconds
        uint40 expiry; // UNIX seconds; 0 for none
        uint32 count; // records in the batch
        bool signed; // true when each leaf commits to its own attester's signature
        bytes32 schema; // schema id of every record
        bytes32 root; // Merkle root (OpenZeppelin MerkleProof layout, double-hashed leaves)
    }

    /// @notice What is stored about a batch beside its record: one slot.
    struct BatchMeta {
        uint32 count; // records in the batch
        bool signed; // leaves commit to (subject, dataHash, signer, keccak256(signature))
    }

    /// @notice What an attester signs for a delegated attestation (EIP-712 `Attest`).
    struct AttestRequest {
        bytes32 schema; // schema id
        bytes32 subject; // the enterprise's subject id
        bytes32 dataHash; // keccak256 of the canonical off-chain record
        uint40 expiry; // UNIX seconds; 0 for none
        bytes32 refUID; // an attestation this one refers to, or 0
    }

    /// @notice The fields of an existing attestation that its UID commits to, supplied
    /// by a caller so the contract can check them against the UID.
    struct Fields {
        bytes32 subject; // the enterprise's subject id
        bytes32 dataHash; // keccak256 of the canonical off-chain record
        bytes32 refUID; // the reference it was made with, or 0
    }

    /// @notice An attestation was made.
    event Attested(
        bytes32 indexed uid,
        bytes32 indexed schema,
        bytes32 indexed subject,
        address attester,
        bytes32 dataHash,
        uint40 expiry,
        bytes32 refUID
    );
    /// @notice An attestation was revoked.
    event Revoked(bytes32 indexed uid, address indexed revoker, bytes32 reason);
    /// @notice An attestation was replaced by a new one.
    event Replaced(bytes32 indexed oldUid, bytes32 indexed newUid, address indexed attester);
    /// @notice A batch of records was anchored as one Merkle root.
    event BatchAnchored(
        bytes32 indexed batchId,
        bytes32 indexed schema,
        address indexed attester,
        bytes32 root,
        uint32 count,
        uint40 expiry
    );
    /// @notice A relayer anchored a batch of records each signed by its own attester
    /// (emitted with BatchAnchored, whose attester is the relayer).
    event SignedBatchAnchored(bytes32 indexed batchId, address indexed relayer);
    /// @notice One record of a batch was revoked.
    event BatchRecordRevoked(
        bytes32 indexed batchId, bytes32 indexed leaf, address indexed revoker, bytes32 reason
    );

    /// @notice The subject or the record hash is zero.
    /// @custom:kind invalid
    error AttestationsInvalidRecord(bytes32 subject, bytes32 dataHash);
    /// @notice The expiry is not in the future.
    /// @custom:kind invalid
    error AttestationsInvalidExpiry(uint40 expiry, uint256 now);
    /// @notice The same attester attested the same record in the same second.
    /// @custom:kind conflict
    error AttestationsDuplicate(bytes32 uid);
    /// @notice No attestation has this UID.
    /// @custom:kind not_found
    error AttestationsUnknown(bytes32 uid);
    /// @notice The reference names no attestation.
    /// @custom:kind not_found
    error AttestationsUnknownReference(bytes32 refUID);
    /// @notice The schema's records cannot be revoked.
    /// @custom:kind conflict
    error AttestationsNotRevocable(bytes32 uid, bytes32 schema);
    /// @notice Only the attester (or a regulator, for revocation) may do this.
    /// @custom:kind forbidden
    error AttestationsNotAttester(bytes32 uid, address caller, address attester);
    /// @notice The attestation is already revoked.
    /// @custom:kind conflict
    error AttestationsAlreadyRevoked(bytes32 uid, uint40 revokedAt);
    /// @notice The attestation is already replaced.
    /// @custom:kind conflict
    error AttestationsAlreadyReplaced(bytes32 uid, bytes32 replacedBy);
    /// @notice The fields supplied are not the ones the UID commits to.
    /// @custom:kind invalid
    error AttestationsFieldsMismatch(bytes32 uid);
    /// @notice The signed request's deadline has passed.
    /// @custom:kind invalid
    error AttestationsSignatureExpired(uint256 deadline, uint256 now);
    /// @notice The signature was not made by the named attester.
    /// @custom:kind forbidden
    error AttestationsWrongSigner(address attester, address signer);
    /// @notice The attester already used this nonce.
    /// @custom:kind conflict
    error AttestationsNonceUsed(address attester, uint256 nonce);
    /// @notice A batch needs a non-zero root and at least one record.
    /// @custom:kind invalid
    error AttestationsInvalidBatch(bytes32 root, uint32 count);
    /// @notice No batch has this id.
    /// @custom:kind not_found
    error AttestationsUnknownBatch(bytes32 batchId);
    /// @notice The leaf is not in the batch (the proof does not hold).
    /// @custom:kind invalid
    error AttestationsNotInBatch(bytes32 batchId, bytes32 leaf);
    /// @notice That record of the batch is already revoked.
    /// @custom:kind conflict
    error AttestationsRecordAlreadyRevoked(bytes32 batchId, bytes32 leaf, uint40 revokedAt);

    /// @notice Attest to a record about a subject (attester role).
    /// @param schema A registered schema id.
    /// @param subject The enterprise's subject id.
    /// @param dataHash keccak256 of the canonical off-chain record.
    /// @param expiry UNIX seconds after which the record is no longer in force; 0 for never.
    /// @param refUID An existing attestation this one refers to, or 0.
    /// @return uid keccak256(abi.encode(schema, subject, dataHash, refUID, attester, block.timestamp, expiry)).
    function attest(bytes32 schema, bytes32 subject, bytes32 dataHash, uint40 expiry, bytes32 refUID)
        external
        returns (bytes32 uid);

    /// @notice Relay an attestation signed off chain by `attester` (EIP-712), who is recorded
    /// as its attester. Anyone may relay; the attester must hold the attester role.
    /// @param nonce Any unused number of the attester's (nonces are not sequential).
    /// @param deadline UNIX seconds after which the signature is void.
    /// @param signature 65-byte ECDSA signature; high-s forms are refused.
    function attestBySig(
        AttestRequest calldata request,
        address attester,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 uid);

    /// @notice Revoke an attestation (its attester, or a regulator).
    /// @param reason A reason code or the hash of the decision behind it.
    function revoke(bytes32 uid, bytes32 reason) external;

    /// @notice Replace an attestation with a corrected one of the same schema and subject
    /// (its attester only). The old one then reports Replaced and points to the new one.
    /// @param old The fields the old UID commits to (checked).
    /// @param dataHash The corrected record's hash.
    /// @param expiry The new attestation's expiry; 0 for never.
    /// @return newUid The replacement, whose refUID is `oldUid`.
    function replace(bytes32 oldUid, Fields calldata old, bytes32 dataHash, uint40 expiry)
        external
        returns (bytes32 newUid);

    /// @notice Anchor many records of one schema as one Merkle root (attester role).
    /// @return batchId keccak256(abi.encode(schema, root, count, attester, block.timestamp, expiry)).
    function anchorBatch(bytes32 schema, bytes32 root, uint32 count, uint40 expiry)
        external
        returns (bytes32 batchId);

    /// @notice Anchor, as a relayer, many records each signed off chain by its own attester
    /// (relayer role). Each leaf is keccak256(keccak256(abi.encode(subject, dataHash, signer,
    /// keccak256(signature)))), where the signature is the signer's EIP-712 `Attest` of the
    /// record with this batch's schema and expiry and refUID 0. The chain cannot see the
    /// leaves: a verifier checks each record's signature and its signer's attester role at
    /// the anchoring block, which is what keeps authorship provable record by record.
    function anchorSignedBatch(bytes32 schema, bytes32 root, uint32 count, uint40 expiry)
        external
        returns (bytes32 batchId);

    /// @notice Revoke one record of a batch (the batch's attester, or a regulator),
    /// leaving the others in force.
    function revokeBatchRecord(bytes32 batchId, bytes32 leaf, bytes32[] calldata proof, bytes32 reason)
        external;

    /// @notice Whether an attestation is in force, and if not, why.
    function validity(bytes32 uid) external view returns (Validity);

    /// @notice Whether a record of a batch is in force: Unknown when the proof does not hold.
    function batchRecordValidity(bytes32 batchId, bytes32 leaf, bytes32[] calldata proof)
        external
        view
        returns (Validity);

    /// @notice The stored facts of an attestation (attester 0 when unknown).
    function attestation(bytes32 uid) external view returns (AttestationView memory);

    /// @notice The stored facts of a batch (attester 0 when unknown).
    function batch(bytes32 batchId) external view returns (BatchView memory);

    /// @notice True when `uid` is an attestation that commits to these fields.
    function matches(bytes32 uid, Fields calldata fields) external view returns (bool);

    /// @notice True when `attester` has used `nonce`.
    function nonceUsed(address attester, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator of delegated attestations.
    function domainSeparator() external view returns (bytes32);

    // -- disputes hook -------------------------------------------------------------------
    // The Disputes contract (IDisputes.sol) owns disputes; it tells this contract only the
    // deadline of a record's open dispute, so that `validity` can answer Disputed or
    // DisputeOverdue without a call out. `attest` touches none of this.

    /// @notice Only the Disputes contract may mark or clear a record's open dispute.
    /// @custom:kind forbidden
    error AttestationsNotDisputes(address caller);

    /// @notice Mark `uid` as under an open dispute due at `deadline` (UNIX seconds; the
    /// first overdue second), or clear the mark with 0. Disputes contract only.
    function setDisputeDeadline(bytes32 uid, uint40 deadline) external;

    /// @notice The deadline of `uid`'s open dispute; 0 when none is open.
    function disputeDeadline(bytes32 uid) external view returns (uint40);

    // -- wiring: what this contract was built with, for whoever attaches to a deployment --

    /// @notice The consortium contract that says who may act (and may register schemas).
    function consortium() external view returns (address);

    /// @notice The Disputes contract (IDisputes.sol), the only caller of setDisputeDeadline.
    function disputes() external view returns (address);
}

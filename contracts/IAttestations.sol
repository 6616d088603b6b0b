// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ISchemaRegistry} from "./ISchemaRegistry.sol";

/// @dev The most records one signed batch may hold: the chain builds its tree in memory.
uint256 constant MAX_SIGNED_BATCH = 4096;
/// @dev The most records one (unsigned) batch may hold: a tree of depth 16, so a record's proof
/// is at most 16 hashes whatever the batch.
uint256 constant MAX_BATCH = 65_536;

/// @title Credit attestations
/// @notice A member institution states a fact about an enterprise (a repayment, an
/// overdue record, a tax credit grade, ...): the chain holds a commitment to the
/// off-chain record, never the record. One storage slot per attestation keeps the
/// attester, the time, the expiry and the schema; the UID commits to everything else
/// (subject, record hash, reference), which the Attested event carries.
/// Many records can be anchored at once as a Merkle root, in one storage slot keyed by the batch's
/// id, keccak256(abi.encode(root, anchorer)); the root and count are in the BatchAnchored event
/// only. The id binds the anchorer: a member that copies a rival's root from the pool anchors a
/// batch of its own under another id and cannot block the rival's. A record of a batch is known by
/// its ingredients (BatchRecord), from which the contract computes its leaf: a leaf is never
/// taken as given, so no inner node of a tree passes for a record.
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

    /// @notice An anchored batch as the contract reports it: what is stored. Its root and count
    /// are in its BatchAnchored event (its id is keccak256(abi.encode(root, anchorer))).
    struct BatchView {
        address anchorer; // who anchored it: the records' attester for an unsigned batch; for a
        // signed batch the relayer, who is no record's attester (each record's is its signer)
        uint40 anchoredAt; // UNIX seconds
        uint40 expiry; // UNIX seconds; 0 for none
        bool signed; // true when each leaf commits to its own attester's signature
        bytes32 schema; // schema id of every record
    }

    /// @notice The ingredients of one record of a batch, from which the contract computes its
    /// leaf. For an unsigned batch the leaf is keccak256(keccak256(abi.encode(subject, dataHash)))
    /// and the other fields are ignored; for a signed batch it is
    /// keccak256(keccak256(abi.encode(recordHash, claim))) with recordHash and claim as in
    /// anchorSignedBatch, and the signature must be `attester`'s EIP-712 `Attest` of the record.
    /// A record's id is keccak256(abi.encode(batchId, leaf)), disjoint from attestation UIDs.
    struct BatchRecord {
        bytes32 subject; // the enterprise's subject id
        bytes32 dataHash; // keccak256 of the canonical off-chain record
        address attester; // signed batch: the signer; unsigned batch: ignored
        uint256 nonce; // signed batch: the signature's nonce (< 2^56); unsigned: ignored
        uint256 deadline; // signed batch: the signature's deadline, UNIX seconds (< 2^40)
        bytes signature; // signed batch: 65-byte low-s ECDSA signature; unsigned: empty
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
    /// @notice A batch of records was anchored as one Merkle root by `anchorer`: the records'
    /// attester for an unsigned batch, the relayer (no record's attester) for a signed one.
    /// The batch's id is keccak256(abi.encode(root, anchorer)), left for readers to compute:
    /// a word more in the event would cost 256 gas a batch. Only the root is a topic (each
    /// costs 375 gas, more than the same word as data), so a batch is found by its root.
    event BatchAnchored(bytes32 indexed root, bytes32 schema, address anchorer, uint32 count, uint40 expiry);
    /// @notice A relayer anchored a batch of records each signed by its own attester (emitted
    /// after BatchAnchored): the leaves' ingredients as the chain checked them, in tree order.
    event SignedBatchAnchored(
        bytes32 indexed batchId, address indexed relayer, bytes32[] recordHashes, uint256[] claims
    );
    /// @notice One record of a batch was revoked (`recordId` = keccak256(abi.encode(batchId, leaf))).
    event BatchRecordRevoked(
        bytes32 indexed batchId, bytes32 indexed recordId, address indexed revoker, bytes32 reason
    );

    /// @notice The subject or the record hash is zero.
    /// @custom:kind invalid
    error AttestationsInvalidRecord(bytes32 subject, bytes32 dataHash);
    /// @notice The expiry is not in the future.
    /// @custom:kind invalid
    error AttestationsInvalidExpiry(uint40 expiry, uint256 now);
    /// @notice The same attester attested the same record in the same second, or the same
    /// account anchored the batch's root already (`uid` is then the batch's id).
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
    /// @notice A signed batch gives one claim per record hash.
    /// @custom:kind invalid
    error AttestationsBatchLengthMismatch(uint256 recordHashes, uint256 claims);
    /// @notice A batch holds at most `max` records (MAX_BATCH; MAX_SIGNED_BATCH when signed).
    /// @custom:kind invalid
    error AttestationsBatchTooLarge(uint256 count, uint256 max);
    /// @notice No batch has this id.
    /// @custom:kind not_found
    error AttestationsUnknownBatch(bytes32 batchId);
    /// @notice The record is not in the batch: the leaf computed from its ingredients is not
    /// under the root, or (signed batch) its signature is not its attester's (leaf 0 then).
    /// @custom:kind invalid
    error AttestationsNotInBatch(bytes32 batchId, bytes32 leaf);

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

    /// @notice Anchor many records of one schema as one Merkle root (attester role), at most
    /// MAX_BATCH (65,536) of them, in one storage slot keyed by the batch's id; the event carries
    /// the root and the count. A root the same account already anchored is refused
    /// (AttestationsDuplicate); another account's anchor of the same root is another batch.
    /// @return batchId keccak256(abi.encode(root, msg sender)).
    function anchorBatch(bytes32 schema, bytes32 root, uint32 count, uint40 expiry)
        external
        returns (bytes32 batchId);

    /// @notice Anchor, as a relayer, many records each signed off chain by its own attester
    /// (relayer role); the chain builds the Merkle root itself. Record i is given as
    /// recordHashes[i] = keccak256(abi.encode(subject, dataHash, keccak256(signature))) and
    /// claims[i] = uint256(uint160(signer)) << 96 | deadline << 56 | nonce (deadline < 2^40,
    /// nonce < 2^56), where the signature is the signer's EIP-712 `Attest` of the record with
    /// this batch's schema and expiry, refUID 0, that nonce and that deadline. For each record
    /// the chain refuses a passed deadline (AttestationsSignatureExpired), a signer not an
    /// attester in good standing (the consortium's error), and a nonce the signer already used
    /// here or in attestBySig (AttestationsNonceUsed), and spends the nonce: a signed record is
    /// anchored at most once, in any form, before its deadline. Leaf i is
    /// keccak256(keccak256(abi.encode(recordHashes[i], claims[i]))); nodes pair (2k, 2k+1) with
    /// OpenZeppelin's commutative keccak256, an odd last node is promoted unchanged.
    /// A relayer can spend a signer's nonce with a record hash the signer never signed; that
    /// record then never verifies (its signature does not recover), so this only denies service.
    /// @return batchId keccak256(abi.encode(root, relayer)) for the root the chain built
    /// (refused when this relayer already anchored it, as anchorBatch).
    function anchorSignedBatch(
        bytes32 schema,
        uint40 expiry,
        bytes32[] calldata recordHashes,
        uint256[] calldata claims
    ) external returns (bytes32 batchId);

    /// @notice Revoke one record of a batch, leaving the others in force: its attester (the
    /// batch's anchorer for an unsigned batch, the record's signer for a signed one) in good
    /// standing, or a regulator. The relayer of a signed batch has no power over its records.
    function revokeBatchRecord(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof, bytes32 reason)
        external;

    /// @notice Correct one record of a batch (its attester only): a new attestation of the
    /// batch's schema about the record's subject, whose refUID is the record's id. The record
    /// then reports Replaced and points to it (Replaced(recordId, newUid, attester)).
    function replaceBatchRecord(
        bytes32 batchId,
        BatchRecord calldata rec,
        bytes32[] calldata proof,
        bytes32 dataHash,
        uint40 expiry
    ) external returns (bytes32 newUid);

    /// @notice Whether an attestation is in force, and if not, why.
    function validity(bytes32 uid) external view returns (Validity);

    /// @notice Whether a record of a batch is in force: Unknown when its leaf, computed from its
    /// ingredients (and, for a signed batch, its signature), is not under the batch's root.
    function batchRecordValidity(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof)
        external
        view
        returns (Validity);

    /// @notice A record of a batch: its id, its attester (the signer for a signed batch) and
    /// its subject. Reverts AttestationsUnknownBatch or AttestationsNotInBatch.
    function batchRecord(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof)
        external
        view
        returns (bytes32 recordId, address attester, bytes32 subject);

    /// @notice The stored facts of an attestation (attester 0 when unknown). For a batch
    /// record's id only revokedAt and replacedBy are filled: one status view for both.
    function attestation(bytes32 uid) external view returns (AttestationView memory);

    /// @notice The stored facts of a batch (anchorer 0 when unknown); its root and count are in
    /// its BatchAnchored event.
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

    /// @notice Mark `uid` (an attestation UID or a batch record's id) as under an open dispute due at `deadline` (UNIX seconds; the
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

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {IAttestations, MAX_BATCH, MAX_SIGNED_BATCH} from "./IAttestations.sol";
import {IConsortium} from "./IConsortium.sol";
import {SchemaRegistry} from "./SchemaRegistry.sol";
import {ROLE_ATTESTER, ROLE_REGULATOR, ROLE_RELAYER} from "./Common.sol";

/// @title Attestations
/// @notice Credit attestations, delegated (signed) attestations and Merkle batches.
/// @dev Every acting party is `_msgSender()` (ERC-2771): the caller, or the signer of a request
/// relayed by the chain's Forwarder. Only the Disputes hook checks `msg.sender` itself.
contract Attestations is IAttestations, SchemaRegistry, EIP712, ERC2771Context {
    bytes32 private constant _ATTEST_TYPEHASH = keccak256(
        "Attest(bytes32 schema,bytes32 subject,bytes32 dataHash,uint40 expiry,bytes32 refUID,"
        "address attester,uint256 nonce,uint256 deadline)"
    );

    uint256 private constant _MASK40 = (1 << 40) - 1; // a claim's deadline field
    uint256 private constant _MASK56 = (1 << 56) - 1; // a claim's nonce field

    mapping(bytes32 uid => Record record) private _records;
    // Keyed by an attestation's UID or a batch record's id (keccak256(abi.encode(batchId, leaf))).
    mapping(bytes32 uid => uint40 revokedAt) private _revokedAt;
    mapping(bytes32 uid => bytes32 newUid) private _replacedBy;
    // One slot per batch, keyed by its id, keccak256(abi.encode(root, anchorer)): the anchorer, the time,
    // the expiry and the schema; attestedAt's top bit (_SIGNED) marks a signed batch, as block
    // times stay below 2^39 (the year 19,391). The count is in BatchAnchored only.
    mapping(bytes32 batchId => Record record) private _batches;
    uint40 private constant _SIGNED = 1 << 39;
    mapping(address attester => mapping(uint256 word => uint256 bits)) private _nonces;
    // Disputes hook: written only by the Disputes contract, read only by `validity`.
    // The Disputes contract's address is kept as a word, not an `address`: comparing it with
    // msg.sender then needs no 160-bit mask, and one more mask in this contract tips solc's
    // constant optimiser into computing every mask (PUSH1 1 PUSH1 160 SHL SUB) instead of
    // pushing it, which alone makes `attest` 48 gas dearer.
    uint256 private immutable _disputesWord;
    mapping(bytes32 uid => uint40 deadline) private _disputeDeadlines;

    /// @param consortium_ The consortium contract that says who may act.
    /// @param disputes_ The Disputes contract (IDisputes.sol), the only caller of
    /// setDisputeDeadline; 0 for a deployment without disputes. Deploy it next, at the
    /// address predicted from the deployer's nonce: it takes this contract's address.
    /// @param forwarder_ The Forwarder (IForwarder.sol) whose relayed requests act for their signer.
    constructor(IConsortium consortium_, address disputes_, address forwarder_)
        SchemaRegistry(consortium_)
        EIP712("YRD Credit Attestations", "1")
        ERC2771Context(forwarder_)
    {
        _disputesWord = uint256(uint160(disputes_));
    }

    /// @inheritdoc IAttestations
    function attest(bytes32 schema_, bytes32 subject, bytes32 dataHash, uint40 expiry, bytes32 refUID)
        external
        returns (bytes32 uid)
    {
        address attester = _msgSender();
        _consortium.requireRole(attester, ROLE_ATTESTER);
        return _attest(schema_, subject, dataHash, expiry, refUID, attester, true);
    }

    /// @inheritdoc IAttestations
    function attestBySig(
        AttestRequest calldata request,
        address attester,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 uid) {
        if (block.timestamp > deadline) revert AttestationsSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _ATTEST_TYPEHASH,
                    request.schema,
                    request.subject,
                    request.dataHash,
                    request.expiry,
                    request.refUID,
                    attester,
                    nonce,
                    deadline
                )
            )
        );
        address signer = ECDSA.recover(digest, signature);
        if (signer != attester) revert AttestationsWrongSigner(attester, signer);
        _useNonce(attester, nonce);
        _consortium.requireRole(attester, ROLE_ATTESTER);
        return _attest(
            request.schema, request.subject, request.dataHash, request.expiry, request.refUID, attester, true
        );
    }

    /// @inheritdoc IAttestations
    function revoke(bytes32 uid, bytes32 reason) external {
        Record storage r = _records[uid];
        address attester = r.attester;
        if (attester == address(0)) revert AttestationsUnknown(uid);
        if (!_revocable(r.schemaIndex)) revert AttestationsNotRevocable(uid, _schemaIdAt(r.schemaIndex));
        address revoker = _requireRevoker(uid, attester);
        uint40 revokedAt = _revokedAt[uid];
        if (revokedAt != 0) revert AttestationsAlreadyRevoked(uid, revokedAt);
        _revokedAt[uid] = uint40(block.timestamp);
        emit Revoked(uid, revoker, reason);
    }

    /// @inheritdoc IAttestations
    function replace(bytes32 oldUid, Fields calldata old, bytes32 dataHash, uint40 expiry)
        external
        returns (bytes32 newUid)
    {
        Record memory r = _records[oldUid];
        if (r.attester == address(0)) revert AttestationsUnknown(oldUid);
        address sender = _msgSender();
        if (sender != r.attester) revert AttestationsNotAttester(oldUid, sender, r.attester);
        _consortium.requireRole(sender, ROLE_ATTESTER);
        if (_uid(r, old) != oldUid) revert AttestationsFieldsMismatch(oldUid);
        uint40 revokedAt = _revokedAt[oldUid];
        if (revokedAt != 0) revert AttestationsAlreadyRevoked(oldUid, revokedAt);
        bytes32 replacedBy = _replacedBy[oldUid];
        if (replacedBy != bytes32(0)) revert AttestationsAlreadyReplaced(oldUid, replacedBy);
        newUid = _attest(_schemaIdAt(r.schemaIndex), old.subject, dataHash, expiry, oldUid, sender, false);
        _replacedBy[oldUid] = newUid;
        emit Replaced(oldUid, newUid, sender);
    }

    /// @inheritdoc IAttestations
    function anchorBatch(bytes32 schema_, bytes32 root, uint32 count, uint40 expiry)
        external
        returns (bytes32 batchId)
    {
        if (count > MAX_BATCH) revert AttestationsBatchTooLarge(count, MAX_BATCH);
        address attester = _msgSender();
        _consortium.requireRole(attester, ROLE_ATTESTER);
        return _anchor(schema_, root, count, expiry, false, attester);
    }

    /// @inheritdoc IAttestations
    function anchorSignedBatch(
        bytes32 schema_,
        uint40 expiry,
        bytes32[] calldata recordHashes,
        uint256[] calldata claims
    ) external returns (bytes32 batchId) {
        address relayer = _msgSender();
        _consortium.requireRole(relayer, ROLE_RELAYER);
        uint256 count = recordHashes.length;
        if (count != claims.length) revert AttestationsBatchLengthMismatch(count, claims.length);
        if (count == 0) revert AttestationsInvalidBatch(bytes32(0), 0);
        if (count > MAX_SIGNED_BATCH) revert AttestationsBatchTooLarge(count, MAX_SIGNED_BATCH);
        _spendClaims(claims);
        bytes32 root = _signedRoot(recordHashes, claims);
        batchId = _anchor(schema_, root, uint32(count), expiry, true, relayer);
        emit SignedBatchAnchored(batchId, relayer, recordHashes, claims);
    }

    /// @dev Checks every record's deadline, signer and nonce, and spends the nonces.
    function _spendClaims(uint256[] calldata claims) private {
        address checked = address(0); // the last signer found in good standing: one call per run
        address wordOwner = address(0); // whose nonce word `bits` holds, written back when the run ends
        uint256 wordIndex = 0;
        uint256 bits = 0;
        for (uint256 i = 0; i < claims.length; ++i) {
            uint256 claim = claims[i];
            address signer = address(uint160(claim >> 96));
            if (block.timestamp > (claim >> 56) & _MASK40) {
                revert AttestationsSignatureExpired((claim >> 56) & _MASK40, block.timestamp);
            }
            if (signer != checked) {
                _consortium.requireRole(signer, ROLE_ATTESTER);
                checked = signer;
            }
            uint256 word = (claim & _MASK56) >> 8;
            if (signer != wordOwner || word != wordIndex) {
                if (wordOwner != address(0)) _nonces[wordOwner][wordIndex] = bits;
                wordOwner = signer;
                wordIndex = word;
                bits = _nonces[signer][word];
            }
            uint256 bit = 1 << (claim & 0xff);
            if (bits & bit != 0) revert AttestationsNonceUsed(signer, claim & _MASK56);
            bits |= bit;
        }
        _nonces[wordOwner][wordIndex] = bits;
    }

    /// @dev The root of the tree over leaf i = keccak256(keccak256(abi.encode(recordHashes[i],
    /// claims[i]))): pairs (2k, 2k+1) level by level, in place; an odd last node moves up unchanged.
    function _signedRoot(bytes32[] calldata recordHashes, uint256[] calldata claims)
        private
        pure
        returns (bytes32)
    {
        uint256 n = recordHashes.length;
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 recordHash = recordHashes[i];
            uint256 claim = claims[i];
            bytes32 leaf;
            assembly ("memory-safe") {
                mstore(0x00, recordHash)
                mstore(0x20, claim)
                mstore(0x00, keccak256(0x00, 0x40))
                leaf := keccak256(0x00, 0x20)
            }
            level[i] = leaf;
        }
        while (n > 1) {
            uint256 half = n >> 1;
            for (uint256 j = 0; j < half; ++j) {
                level[j] = Hashes.commutativeKeccak256(level[2 * j], level[2 * j + 1]);
            }
            if (n & 1 == 1) {
                level[half] = level[n - 1];
                n = half + 1;
            } else {
                n = half;
            }
        }
        return level[0];
    }

    function _anchor(bytes32 schema_, bytes32 root, uint32 count, uint40 expiry, bool signed_, address anchorer)
        private
        returns (bytes32 batchId)
    {
        if (root == bytes32(0) || count == 0) revert AttestationsInvalidBatch(root, count);
        uint16 index = _schemaIndex(schema_);
        _checkExpiry(expiry);
        // The id binds the anchorer: keyed by the root alone, a member copying a rival's pending
        // root from the pool would take the slot and have the rival's anchor refused.
        batchId = _batchId(root, anchorer);
        Record storage b = _batches[batchId];
        if (b.attester != address(0)) revert AttestationsDuplicate(batchId);
        uint256 anchoredAt = signed_ ? block.timestamp | _SIGNED : block.timestamp;
        // The whole Record in one SSTORE (solc writes it field by field, each a read-modify-
        // write of the slot: about 160 gas more). Layout as solc packs the struct: attester |
        // attestedAt << 160 | expiry << 200 | schemaIndex << 240.
        assembly ("memory-safe") {
            sstore(b.slot, or(or(anchorer, shl(160, anchoredAt)), or(shl(200, expiry), shl(240, index))))
        }
        emit BatchAnchored(root, schema_, anchorer, count, expiry);
    }

    /// @inheritdoc IAttestations
    function revokeBatchRecord(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof, bytes32 reason)
        external
    {
        (Record storage b, bytes32 recordId, address attester) = _requireBatchRecord(batchId, rec, proof);
        if (!_revocable(b.schemaIndex)) revert AttestationsNotRevocable(recordId, _schemaIdAt(b.schemaIndex));
        address revoker = _requireRevoker(recordId, attester);
        uint40 revokedAt = _revokedAt[recordId];
        if (revokedAt != 0) revert AttestationsAlreadyRevoked(recordId, revokedAt);
        _revokedAt[recordId] = uint40(block.timestamp);
        emit BatchRecordRevoked(batchId, recordId, revoker, reason);
    }

    /// @inheritdoc IAttestations
    function replaceBatchRecord(
        bytes32 batchId,
        BatchRecord calldata rec,
        bytes32[] calldata proof,
        bytes32 dataHash,
        uint40 expiry
    ) external returns (bytes32 newUid) {
        (Record storage b, bytes32 recordId, address attester) = _requireBatchRecord(batchId, rec, proof);
        address sender = _msgSender();
        if (sender != attester) revert AttestationsNotAttester(recordId, sender, attester);
        _consortium.requireRole(sender, ROLE_ATTESTER);
        uint40 revokedAt = _revokedAt[recordId];
        if (revokedAt != 0) revert AttestationsAlreadyRevoked(recordId, revokedAt);
        bytes32 replacedBy = _replacedBy[recordId];
        if (replacedBy != bytes32(0)) revert AttestationsAlreadyReplaced(recordId, replacedBy);
        newUid = _attest(_schemaIdAt(b.schemaIndex), rec.subject, dataHash, expiry, recordId, sender, false);
        _replacedBy[recordId] = newUid;
        emit Replaced(recordId, newUid, sender);
    }

    /// @inheritdoc IAttestations
    function validity(bytes32 uid) external view returns (Validity) {
        Record storage r = _records[uid];
        if (r.attester == address(0)) return Validity.Unknown;
        if (_revokedAt[uid] != 0) return Validity.Revoked;
        if (_replacedBy[uid] != bytes32(0)) return Validity.Replaced;
        uint40 disputeDue = _disputeDeadlines[uid];
        if (disputeDue != 0) return block.timestamp < disputeDue ? Validity.Disputed : Validity.DisputeOverdue;
        if (_expired(r.expiry)) return Validity.Expired;
        return Validity.Valid;
    }

    /// @inheritdoc IAttestations
    function batchRecordValidity(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof)
        external
        view
        returns (Validity)
    {
        (Record storage b, bytes32 leaf, address attester) = _batchRecord(batchId, rec, proof);
        if (attester == address(0)) return Validity.Unknown;
        bytes32 recordId = keccak256(abi.encode(batchId, leaf));
        if (_revokedAt[recordId] != 0) return Validity.Revoked;
        if (_replacedBy[recordId] != bytes32(0)) return Validity.Replaced;
        uint40 disputeDue = _disputeDeadlines[recordId];
        if (disputeDue != 0) return block.timestamp < disputeDue ? Validity.Disputed : Validity.DisputeOverdue;
        if (_expired(b.expiry)) return Validity.Expired;
        return Validity.Valid;
    }

    /// @inheritdoc IAttestations
    function batchRecord(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof)
        external
        view
        returns (bytes32 recordId, address attester, bytes32 subject)
    {
        (, recordId, attester) = _requireBatchRecord(batchId, rec, proof);
        subject = rec.subject;
    }

    /// @inheritdoc IAttestations
    function attestation(bytes32 uid) external view returns (AttestationView memory v) {
        Record storage r = _records[uid];
        if (r.attester == address(0)) {
            // A batch record's id: its status only (both stay 0 for an unknown key).
            v.revokedAt = _revokedAt[uid];
            v.replacedBy = _replacedBy[uid];
            return v;
        }
        v = AttestationView({
            attester: r.attester,
            attestedAt: r.attestedAt,
            expiry: r.expiry,
            revokedAt: _revokedAt[uid],
            schema: _schemaIdAt(r.schemaIndex),
            replacedBy: _replacedBy[uid]
        });
    }

    /// @inheritdoc IAttestations
    function batch(bytes32 batchId) external view returns (BatchView memory v) {
        Record storage b = _batches[batchId];
        if (b.attester == address(0)) return v;
        v = BatchView({
            anchorer: b.attester,
            anchoredAt: b.attestedAt & ~_SIGNED,
            expiry: b.expiry,
            signed: b.attestedAt & _SIGNED != 0,
            schema: _schemaIdAt(b.schemaIndex)
        });
    }

    /// @inheritdoc IAttestations
    function matches(bytes32 uid, Fields calldata fields) external view returns (bool) {
        Record memory r = _records[uid];
        // A zero attester means "no such record", and uid is a hash recomputed from the fields:
        // identity tests on keys, not on a balance or a time, so strict equality is the right test.
        // slither-disable-next-line incorrect-equality
        return r.attester != address(0) && _uid(r, fields) == uid;
    }

    /// @inheritdoc IAttestations
    function nonceUsed(address attester, uint256 nonce) external view returns (bool) {
        return _nonces[attester][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IAttestations
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // -- disputes hook -------------------------------------------------------------------

    /// @inheritdoc IAttestations
    function setDisputeDeadline(bytes32 uid, uint40 deadline) external {
        // No event: the Disputes contract reports every dispute it opens and closes.
        if (uint256(uint160(msg.sender)) != _disputesWord) revert AttestationsNotDisputes(msg.sender);
        _disputeDeadlines[uid] = deadline;
    }

    /// @inheritdoc IAttestations
    function disputeDeadline(bytes32 uid) external view returns (uint40) {
        return _disputeDeadlines[uid];
    }

    function _attest(
        bytes32 schema_,
        bytes32 subject,
        bytes32 dataHash,
        uint40 expiry,
        bytes32 refUID,
        address attester,
        bool checkReference
    ) private returns (bytes32 uid) {
        if (subject == bytes32(0) || dataHash == bytes32(0)) revert AttestationsInvalidRecord(subject, dataHash);
        uint16 index = _schemaIndex(schema_);
        _checkExpiry(expiry);
        // A replacement refers to what it replaces, checked by its caller (an attestation, or a
        // batch record whose id is no attestation's); a new attestation only to an attestation.
        if (checkReference && refUID != bytes32(0) && _records[refUID].attester == address(0)) {
            revert AttestationsUnknownReference(refUID);
        }
        uid = keccak256(abi.encode(schema_, subject, dataHash, refUID, attester, block.timestamp, expiry));
        Record storage r = _records[uid];
        if (r.attester != address(0)) revert AttestationsDuplicate(uid);
        r.attester = attester;
        r.attestedAt = uint40(block.timestamp);
        r.expiry = expiry;
        r.schemaIndex = index;
        emit Attested(uid, schema_, subject, attester, dataHash, expiry, refUID);
    }

    function _uid(Record memory r, Fields calldata f) private view returns (bytes32) {
        return keccak256(
            abi.encode(_schemaIdAt(r.schemaIndex), f.subject, f.dataHash, f.refUID, r.attester, r.attestedAt, r.expiry)
        );
    }

    /// @dev The batch, the leaf computed from the record's ingredients and the record's
    /// attester; the attester is 0 when the batch is unknown, the signature is not the named
    /// signer's (leaf 0 then) or the root the proof gives the leaf does not, with the anchorer,
    /// make the batch's id.
    function _batchRecord(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof)
        private
        view
        returns (Record storage b, bytes32 leaf, address attester)
    {
        b = _batches[batchId];
        if (b.attester == address(0)) return (b, bytes32(0), address(0));
        if (b.attestedAt & _SIGNED != 0) {
            (bytes32 signedLeaf, address signer) = _signedLeaf(b, rec);
            if (signer == address(0)) return (b, bytes32(0), address(0));
            (leaf, attester) = (signedLeaf, signer);
        } else {
            leaf = keccak256(bytes.concat(keccak256(abi.encode(rec.subject, rec.dataHash))));
            attester = b.attester;
        }
        if (_batchId(MerkleProof.processProofCalldata(proof, leaf), b.attester) != batchId) attester = address(0);
    }

    /// @dev The leaf of a signed batch's record and its signer; signer 0 when the signature is
    /// not `rec.attester`'s EIP-712 `Attest` of the record (high-s and malformed forms refused)
    /// or the nonce or deadline does not fit its claim.
    function _signedLeaf(Record storage b, BatchRecord calldata rec)
        private
        view
        returns (bytes32 leaf, address signer)
    {
        uint256 nonce = rec.nonce;
        uint256 deadline = rec.deadline;
        if (nonce >> 56 != 0 || deadline >> 40 != 0) return (bytes32(0), address(0));
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _ATTEST_TYPEHASH,
                    _schemaIdAt(b.schemaIndex),
                    rec.subject,
                    rec.dataHash,
                    b.expiry,
                    bytes32(0),
                    rec.attester,
                    nonce,
                    deadline
                )
            )
        );
        // The third value only details the error, which a view answering Unknown does not report.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, rec.signature);
        if (err != ECDSA.RecoverError.NoError || recovered != rec.attester) return (bytes32(0), address(0));
        bytes32 recordHash = keccak256(abi.encode(rec.subject, rec.dataHash, keccak256(rec.signature)));
        uint256 claim = uint256(uint160(recovered)) << 96 | deadline << 56 | nonce;
        leaf = keccak256(bytes.concat(keccak256(abi.encode(recordHash, claim))));
        signer = recovered;
    }

    /// @dev A batch's id: keccak256(abi.encode(root, anchorer)), hashed in scratch space.
    function _batchId(bytes32 root, address anchorer) private pure returns (bytes32 id) {
        assembly ("memory-safe") {
            mstore(0x00, root)
            // Masked: inline assembly may not assume an address's upper bits are clean.
            mstore(0x20, and(anchorer, 0xffffffffffffffffffffffffffffffffffffffff))
            id := keccak256(0x00, 0x40)
        }
    }

    /// @dev As _batchRecord, reverting by name when the record is not in the batch; returns its id.
    function _requireBatchRecord(bytes32 batchId, BatchRecord calldata rec, bytes32[] calldata proof)
        private
        view
        returns (Record storage b, bytes32 recordId, address attester)
    {
        bytes32 leaf;
        (b, leaf, attester) = _batchRecord(batchId, rec, proof);
        if (b.attester == address(0)) revert AttestationsUnknownBatch(batchId);
        if (attester == address(0)) revert AttestationsNotInBatch(batchId, leaf);
        recordId = keccak256(abi.encode(batchId, leaf));
    }

    /// @dev Reverts unless the caller is the attester (in good standing) or a regulator; returns it.
    function _requireRevoker(bytes32 uid, address attester) private view returns (address revoker) {
        revoker = _msgSender();
        if (revoker == attester) {
            _consortium.requireRole(revoker, ROLE_ATTESTER);
        } else if (!_consortium.hasRole(revoker, ROLE_REGULATOR)) {
            revert AttestationsNotAttester(uid, revoker, attester);
        }
    }

    function _useNonce(address attester, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonces[attester][nonce >> 8];
        if (bits & bit != 0) revert AttestationsNonceUsed(attester, nonce);
        _nonces[attester][nonce >> 8] = bits | bit;
    }

    function _checkExpiry(uint40 expiry) private view {
        if (expiry != 0 && expiry <= block.timestamp) revert AttestationsInvalidExpiry(expiry, block.timestamp);
    }

    function _expired(uint40 expiry) private view returns (bool) {
        return expiry != 0 && expiry <= block.timestamp;
    }

    // -- wiring --------------------------------------------------------------------------

    /// @inheritdoc IAttestations
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IAttestations
    function disputes() external view returns (address) {
        return address(uint160(_disputesWord));
    }
}

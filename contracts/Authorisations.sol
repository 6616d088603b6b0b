// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {IAuthorisations, PURPOSE_MAX} from "./IAuthorisations.sol";
import {IConsortium} from "./IConsortium.sol";
import {ROLE_ATTESTER, ROLE_FINANCIER} from "./Common.sol";

/// @title Authorisations
/// @notice Query authorisations, the query trail and shared-report records.
/// @dev The acting party is `_msgSender()` (ERC-2771): the caller, or the signer of a request
/// relayed by the chain's Forwarder.
contract Authorisations is IAuthorisations, EIP712, ERC2771Context {
    bytes32 private constant _AUTHORISE_TYPEHASH = keccak256(
        "Authorise(address member,uint8 purpose,uint40 expiry,bytes32[] schemas,"
        "address enterprise,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant _WITHDRAW_TYPEHASH = keccak256("Withdraw(bytes32 authId,uint256 deadline)");
    /// @dev More schemas than this in one limit is a mistake, not a need (8 are shipped).
    uint256 private constant _MAX_SCHEMAS = 32;

    IConsortium private immutable _consortium;
    // The authorisation id is keccak256(enterprise, nonce), so an existing record is also
    // the nonce's "used" bit: no separate nonce bitmap to write.
    mapping(bytes32 authId => Authorisation authorisation) private _authorisations;
    mapping(bytes32 authSchemaKey => bool listed) private _schemaListed;
    mapping(bytes32 queryId => bytes32 authId) private _queries;
    mapping(bytes32 shareKey => ReportShare share) private _shares;

    /// @param consortium_ The consortium contract that says who may act.
    /// @param forwarder_ The Forwarder (IForwarder.sol) whose relayed requests act for their signer.
    constructor(IConsortium consortium_, address forwarder_)
        EIP712("YRD Credit Authorisations", "1")
        ERC2771Context(forwarder_)
    {
        _consortium = consortium_;
    }

    /// @inheritdoc IAuthorisations
    function authoriseBySig(
        AuthorisationRequest calldata request,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 authId) {
        _checkAuthoriseSignature(request, enterprise, nonce, deadline, signature);
        authId = keccak256(abi.encode(enterprise, nonce));
        if (_authorisations[authId].member != address(0)) revert AuthorisationsNonceUsed(enterprise, nonce);
        _grant(authId, request, enterprise);
    }

    /// @inheritdoc IAuthorisations
    function withdraw(bytes32 authId) external {
        _withdraw(authId, _msgSender());
    }

    /// @inheritdoc IAuthorisations
    function withdrawBySig(bytes32 authId, address enterprise, uint256 deadline, bytes calldata signature)
        external
    {
        if (block.timestamp > deadline) revert AuthorisationsSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(_WITHDRAW_TYPEHASH, authId, deadline)));
        address signer = ECDSA.recoverCalldata(digest, signature);
        if (signer != enterprise) revert AuthorisationsWrongSigner(enterprise, signer);
        _withdraw(authId, enterprise);
    }

    /// @inheritdoc IAuthorisations
    function logQuery(bytes32 authId, uint8 purpose, bytes32 queryHash, bytes32 schema)
        external
        returns (bytes32 queryId)
    {
        Authorisation storage a = _authorisations[authId];
        address member = a.member;
        if (member == address(0)) revert AuthorisationsUnknown(authId);
        address sender = _msgSender();
        if (sender != member) revert AuthorisationsNotGrantee(authId, sender, member);
        _requireQuerier(sender);
        _requireInForce(authId, a);
        if (purpose != a.purpose) revert AuthorisationsWrongPurpose(authId, purpose, a.purpose);
        if (a.schemaLimited && !_schemaListed[keccak256(abi.encode(authId, schema))]) {
            revert AuthorisationsSchemaNotAuthorised(authId, schema);
        }
        if (queryHash == bytes32(0)) revert AuthorisationsInvalidQuery(queryHash);
        queryId = keccak256(abi.encode(authId, queryHash));
        if (_queries[queryId] != bytes32(0)) revert AuthorisationsDuplicateQuery(queryId);
        _queries[queryId] = authId;
        emit QueryLogged(a.subject, sender, authId, queryId, purpose, schema, queryHash);
    }

    /// @inheritdoc IAuthorisations
    function recordReportShare(bytes32 queryId, address recipient, bytes32 ciphertextHash) external {
        bytes32 authId = _queries[queryId];
        if (authId == bytes32(0)) revert AuthorisationsUnknownQuery(queryId);
        address sender = _msgSender();
        _consortium.requireRole(sender, ROLE_ATTESTER);
        Authorisation storage a = _authorisations[authId];
        if (recipient != a.member) revert AuthorisationsRecipientNotQuerier(queryId, recipient, a.member);
        IConsortium.Member memory m = _consortium.member(recipient);
        if (m.suspended) revert IConsortium.ConsortiumMemberSuspended(recipient);
        if (m.encryptionKey == bytes32(0)) revert AuthorisationsNoEncryptionKey(recipient);
        _requireInForce(authId, a);
        if (ciphertextHash == bytes32(0)) revert AuthorisationsInvalidShare(ciphertextHash);
        ReportShare storage s = _shares[keccak256(abi.encode(queryId, ciphertextHash))];
        if (s.sender != address(0)) revert AuthorisationsDuplicateShare(queryId, ciphertextHash);
        s.sender = sender;
        s.sharedAt = uint40(block.timestamp);
        emit ReportShared(queryId, sender, recipient, a.subject, ciphertextHash, m.encryptionKey);
    }

    /// @inheritdoc IAuthorisations
    function authorisation(bytes32 authId) external view returns (Authorisation memory) {
        return _authorisations[authId];
    }

    /// @inheritdoc IAuthorisations
    function schemaAuthorised(bytes32 authId, bytes32 schema) external view returns (bool) {
        return _schemaListed[keccak256(abi.encode(authId, schema))];
    }

    /// @inheritdoc IAuthorisations
    function queryAuthorisation(bytes32 queryId) external view returns (bytes32) {
        return _queries[queryId];
    }

    /// @inheritdoc IAuthorisations
    function reportShare(bytes32 queryId, bytes32 ciphertextHash) external view returns (ReportShare memory) {
        return _shares[keccak256(abi.encode(queryId, ciphertextHash))];
    }

    /// @inheritdoc IAuthorisations
    function nonceUsed(address enterprise, uint256 nonce) external view returns (bool) {
        return _authorisations[keccak256(abi.encode(enterprise, nonce))].member != address(0);
    }

    /// @inheritdoc IAuthorisations
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IAuthorisations
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    function _grant(bytes32 authId, AuthorisationRequest calldata request, address enterprise) private {
        bytes32 subject = _consortium.requireEnterprise(enterprise);
        uint8 purpose = request.purpose;
        if (purpose == 0 || purpose > PURPOSE_MAX) revert AuthorisationsInvalidPurpose(purpose);
        uint40 expiry = request.expiry;
        if (expiry <= block.timestamp) revert AuthorisationsInvalidExpiry(expiry, block.timestamp);
        address member = request.member;
        _requireQuerier(member);
        Authorisation storage a = _authorisations[authId];
        a.subject = subject;
        a.member = member;
        a.expiry = expiry;
        a.purpose = purpose;
        a.schemaLimited = _listSchemas(authId, request.schemas);
        emit Authorised(authId, subject, member, purpose, expiry, request.schemas, enterprise);
    }

    /// @dev Record a schema limit; returns whether there is one.
    function _listSchemas(bytes32 authId, bytes32[] calldata schemas) private returns (bool) {
        uint256 count = schemas.length;
        if (count > _MAX_SCHEMAS) revert AuthorisationsInvalidSchemas(count);
        for (uint256 i = 0; i < count; ++i) {
            bytes32 schema = schemas[i];
            if (schema == bytes32(0)) revert AuthorisationsInvalidSchemas(count);
            _schemaListed[keccak256(abi.encode(authId, schema))] = true;
        }
        return count != 0;
    }

    function _checkAuthoriseSignature(
        AuthorisationRequest calldata request,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (block.timestamp > deadline) revert AuthorisationsSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _AUTHORISE_TYPEHASH,
                    request.member,
                    request.purpose,
                    request.expiry,
                    keccak256(abi.encodePacked(request.schemas)),
                    enterprise,
                    nonce,
                    deadline
                )
            )
        );
        address signer = ECDSA.recoverCalldata(digest, signature);
        if (signer != enterprise) revert AuthorisationsWrongSigner(enterprise, signer);
    }

    function _withdraw(bytes32 authId, address enterprise) private {
        Authorisation storage a = _authorisations[authId];
        if (a.member == address(0)) revert AuthorisationsUnknown(authId);
        // The subject's current account: after a rebind, the new key can withdraw what
        // the old one granted, and the old key can withdraw nothing.
        bytes32 subject = a.subject;
        if (_consortium.accountOf(subject) != enterprise) revert AuthorisationsNotEnterprise(authId, enterprise);
        uint40 withdrawnAt = a.withdrawnAt;
        if (withdrawnAt != 0) revert AuthorisationsAlreadyWithdrawn(authId, withdrawnAt);
        a.withdrawnAt = uint40(block.timestamp);
        emit AuthorisationWithdrawn(authId, subject, a.member);
    }

    /// @dev A member in good standing (the consortium's own errors) with a querying role.
    function _requireQuerier(address account) private view {
        if (_consortium.hasRole(account, ROLE_FINANCIER)) return; // a bank: one call
        _consortium.requireRole(account, 0); // a non-member or a suspended member, by name
        if (!_consortium.hasRole(account, ROLE_ATTESTER)) revert AuthorisationsNotQuerier(account);
    }

    function _requireInForce(bytes32 authId, Authorisation storage a) private view {
        uint40 withdrawnAt = a.withdrawnAt;
        if (withdrawnAt != 0) revert AuthorisationsWithdrawn(authId, withdrawnAt);
        uint40 expiry = a.expiry;
        if (expiry <= block.timestamp) revert AuthorisationsExpired(authId, expiry, block.timestamp);
    }
}

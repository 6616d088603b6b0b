// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "./IConsortium.sol";
import {ISchemaRegistry} from "./ISchemaRegistry.sol";
import {ROLE_REGULATOR} from "./Common.sol";

/// @title SchemaRegistry
/// @notice The schemas of credit records. Kept in the attestation contract's own storage
/// (as an abstract base) rather than a contract of its own, so that checking a schema
/// on every attestation costs one storage read instead of an external call.
abstract contract SchemaRegistry is ISchemaRegistry {
    IConsortium internal immutable _consortium;
    mapping(bytes32 schemaId => Schema schema) private _schemas;
    bytes32[] private _schemaIds;

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @inheritdoc ISchemaRegistry
    function registerSchema(string calldata name, string calldata layout, bool revocable)
        external
        returns (bytes32 schemaId)
    {
        _consortium.requireRole(msg.sender, ROLE_REGULATOR);
        if (bytes(name).length == 0 || bytes(layout).length == 0) {
            revert SchemaRegistryInvalidSchema(name, layout);
        }
        schemaId = keccak256(abi.encode(name, layout, revocable));
        if (_schemas[schemaId].index != 0) revert SchemaRegistryAlreadyRegistered(schemaId);
        if (_schemaIds.length >= type(uint16).max) revert SchemaRegistryFull(_schemaIds.length);
        _schemaIds.push(schemaId);
        _schemas[schemaId] = Schema({
            revocable: revocable,
            index: uint16(_schemaIds.length),
            registeredAt: uint40(block.timestamp),
            regulator: msg.sender,
            name: name,
            layout: layout
        });
        emit SchemaRegistered(schemaId, name, layout, revocable, msg.sender);
    }

    /// @inheritdoc ISchemaRegistry
    function schema(bytes32 schemaId) external view returns (Schema memory) {
        return _schemas[schemaId];
    }

    /// @inheritdoc ISchemaRegistry
    function schemaCount() external view returns (uint256) {
        return _schemaIds.length;
    }

    /// @inheritdoc ISchemaRegistry
    function schemaAt(uint256 index) external view returns (bytes32) {
        return _schemaIds[index - 1];
    }

    /// @dev The 1-based index of a registered schema; reverts when unknown.
    function _schemaIndex(bytes32 schemaId) internal view returns (uint16 index) {
        index = _schemas[schemaId].index;
        // Index 0 means "never registered" (indexes start at 1), not a balance or a time: exact is right.
        // slither-disable-next-line incorrect-equality
        if (index == 0) revert SchemaRegistryUnknownSchema(schemaId);
    }

    /// @dev The id of the schema at a 1-based index.
    function _schemaIdAt(uint16 index) internal view returns (bytes32) {
        return _schemaIds[index - 1];
    }

    /// @dev Whether the schema at a 1-based index allows revocation.
    function _revocable(uint16 index) internal view returns (bool) {
        return _schemas[_schemaIds[index - 1]].revocable;
    }
}

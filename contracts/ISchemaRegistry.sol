// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Credit record schemas
/// @notice The regulator registers the schemas credit records follow (loan repayment,
/// overdue record, tax credit grade, ...): a name, the off-chain record's field layout,
/// and whether records of it may be revoked.
interface ISchemaRegistry {
    /// @notice A registered schema.
    struct Schema {
        bool revocable; // whether records of this schema may be revoked
        uint16 index; // 1-based position in registration order; 0 when unknown
        uint40 registeredAt; // UNIX seconds
        address regulator; // who registered it
        string name; // e.g. "loan-repayment"
        string layout; // canonical field layout, e.g. "bytes32 subject,fen amountFen,date dueDate"
    }

    /// @notice A regulator registered a schema.
    event SchemaRegistered(
        bytes32 indexed schema, string name, string layout, bool revocable, address indexed regulator
    );

    /// @notice The schema is already registered.
    /// @custom:kind conflict
    error SchemaRegistryAlreadyRegistered(bytes32 schema);
    /// @notice A schema needs a name and a layout.
    /// @custom:kind invalid
    error SchemaRegistryInvalidSchema(string name, string layout);
    /// @notice No schema has this id.
    /// @custom:kind not_found
    error SchemaRegistryUnknownSchema(bytes32 schema);
    /// @notice The registry is full (65,535 schemas).
    /// @custom:kind conflict
    error SchemaRegistryFull(uint256 count);

    /// @notice Register a schema (regulator only).
    /// @return schema The schema id: keccak256(abi.encode(name, layout, revocable)).
    function registerSchema(string calldata name, string calldata layout, bool revocable)
        external
        returns (bytes32 schema);

    /// @notice A schema by id (index 0 when unknown).
    function schema(bytes32 schemaId) external view returns (Schema memory);

    /// @notice How many schemas are registered.
    function schemaCount() external view returns (uint256);

    /// @notice The id of the schema registered `index`-th (1-based).
    function schemaAt(uint256 index) external view returns (bytes32);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Constants shared by every contract of the credit chain. Roles are bit flags
// rather than OpenZeppelin-style hashed role ids: one storage slot then answers
// "is this account a member, in good standing, with this role" in a single
// SLOAD, which keeps every role-checked write cheap.

/// @dev States credit facts (attestations) about enterprises.
uint8 constant ROLE_ATTESTER = 1 << 0;
/// @dev Finances receivables: a bank.
uint8 constant ROLE_FINANCIER = 1 << 1;
/// @dev Binds enterprise accounts to their pseudonymous subject ids.
uint8 constant ROLE_REGISTRAR = 1 << 2;
/// @dev Reads and verifies the whole ledger.
uint8 constant ROLE_AUDITOR = 1 << 3;
/// @dev Admits, suspends and reinstates members; registers schemas.
uint8 constant ROLE_REGULATOR = 1 << 4;
/// @dev Anchors other members' signed records in Merkle batches.
uint8 constant ROLE_RELAYER = 1 << 5;
/// @dev Every role bit the consortium knows.
uint8 constant ALL_ROLES = (1 << 6) - 1;

/// @dev The five cities of the Yangtze Delta sci-tech finance zones; 0 means "no member".
uint8 constant CITY_SHANGHAI = 1;
uint8 constant CITY_NANJING = 2;
uint8 constant CITY_HANGZHOU = 3;
uint8 constant CITY_HEFEI = 4;
uint8 constant CITY_JIAXING = 5;

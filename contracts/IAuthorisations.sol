// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

// Purposes of a credit query (查询用途). An enterprise authorises a member for one
// purpose; a query for another purpose is refused. Python mirror: types.QueryPurpose.

/// @dev 贷款审批: deciding on a loan application.
uint8 constant PURPOSE_LOAN_APPROVAL = 1;
/// @dev 贷后管理: monitoring a loan already granted.
uint8 constant PURPOSE_POST_LOAN_MANAGEMENT = 2;
/// @dev 担保资格审查: reviewing the enterprise as a guarantor.
uint8 constant PURPOSE_GUARANTEE_REVIEW = 3;
/// @dev 应收账款融资审查: reviewing a receivable or supply-chain financing request.
uint8 constant PURPOSE_RECEIVABLES_FINANCING = 4;
/// @dev 交易对手审查: reviewing the enterprise as a business counterparty.
uint8 constant PURPOSE_COUNTERPARTY_REVIEW = 5;
/// @dev The highest purpose code; codes run 1..PURPOSE_MAX.
uint8 constant PURPOSE_MAX = 5;

/// @title Query authorisation, the query trail and shared-report records
/// @notice An enterprise authorises a member institution to query its credit for a
/// purpose until an expiry, optionally only some schemas (授权查询). Enterprises hold no
/// gas: the authorisation is an EIP-712 message signed by the enterprise's bound account
/// and relayed by the member. Every query is then logged against an authorisation
/// (查询留痕), and a credit report shared off chain in answer to a query is recorded by
/// its ciphertext hash. No personal data goes on chain: subjects are subject ids,
/// queries and reports are hashes.
interface IAuthorisations {
    /// @notice What an enterprise signs (EIP-712 `Authorise`, with the enterprise, a nonce
    /// and a deadline).
    struct AuthorisationRequest {
        address member; // the member institution that may query
        uint8 purpose; // PURPOSE_* code
        uint40 expiry; // UNIX seconds; the authorisation lapses at this second
        bytes32[] schemas; // schema ids the member may query; empty for every schema
    }

    /// @notice What is stored for an authorisation: two slots.
    struct Authorisation {
        bytes32 subject; // the enterprise's subject id
        address member; // the member institution that may query
        uint40 expiry; // UNIX seconds; lapsed from this second on
        uint40 withdrawnAt; // UNIX seconds; 0 while not withdrawn
        uint8 purpose; // PURPOSE_* code
        bool schemaLimited; // true when only the listed schemas may be queried
    }

    /// @notice A report shared in answer to a query, as stored: one slot.
    struct ReportShare {
        address sender; // the member that sealed and sent the report
        uint40 sharedAt; // UNIX seconds
    }

    /// @notice A member relayed an enterprise's signed authorisation.
    event Authorised(
        bytes32 indexed authId,
        bytes32 indexed subject,
        address indexed member,
        uint8 purpose,
        uint40 expiry,
        bytes32[] schemas,
        address enterprise
    );
    /// @notice An enterprise withdrew an authorisation; from this block on it allows no query.
    event AuthorisationWithdrawn(bytes32 indexed authId, bytes32 indexed subject, address indexed member);
    /// @notice A member queried an enterprise's credit under an authorisation.
    event QueryLogged(
        bytes32 indexed subject,
        address indexed member,
        bytes32 indexed authId,
        bytes32 queryId,
        uint8 purpose,
        bytes32 schema,
        bytes32 queryHash
    );
    /// @notice A member sent another an encrypted credit report in answer to its query.
    event ReportShared(
        bytes32 indexed queryId,
        address indexed sender,
        address indexed recipient,
        bytes32 subject,
        bytes32 ciphertextHash,
        bytes32 recipientKey
    );

    /// @notice No authorisation has this id.
    /// @custom:kind not_found
    error AuthorisationsUnknown(bytes32 authId);
    /// @notice The authorisation lapsed at its expiry.
    /// @custom:kind forbidden
    error AuthorisationsExpired(bytes32 authId, uint40 expiry, uint256 now);
    /// @notice The enterprise withdrew the authorisation.
    /// @custom:kind forbidden
    error AuthorisationsWithdrawn(bytes32 authId, uint40 withdrawnAt);
    /// @notice The authorisation is for another purpose.
    /// @custom:kind forbidden
    error AuthorisationsWrongPurpose(bytes32 authId, uint8 purpose, uint8 authorised);
    /// @notice The authorisation was given to another member.
    /// @custom:kind forbidden
    error AuthorisationsNotGrantee(bytes32 authId, address caller, address member);
    /// @notice The authorisation does not cover this schema (0: a full report, which a
    /// schema-limited authorisation never covers).
    /// @custom:kind forbidden
    error AuthorisationsSchemaNotAuthorised(bytes32 authId, bytes32 schema);
    /// @notice Only a member holding the attester or the financier role may query credit.
    /// @custom:kind forbidden
    error AuthorisationsNotQuerier(address account);
    /// @notice The purpose code is not one of 1..PURPOSE_MAX.
    /// @custom:kind invalid
    error AuthorisationsInvalidPurpose(uint8 purpose);
    /// @notice The expiry is not in the future.
    /// @custom:kind invalid
    error AuthorisationsInvalidExpiry(uint40 expiry, uint256 now);
    /// @notice A schema limit lists a zero id or more than 32 schemas.
    /// @custom:kind invalid
    error AuthorisationsInvalidSchemas(uint256 count);
    /// @notice The signed message's deadline has passed.
    /// @custom:kind invalid
    error AuthorisationsSignatureExpired(uint256 deadline, uint256 now);
    /// @notice The signature was not made by the named enterprise account.
    /// @custom:kind forbidden
    error AuthorisationsWrongSigner(address enterprise, address signer);
    /// @notice The enterprise already used this nonce: the signature was replayed.
    /// @custom:kind conflict
    error AuthorisationsNonceUsed(address enterprise, uint256 nonce);
    /// @notice Only the account bound to the authorisation's subject may withdraw it.
    /// @custom:kind forbidden
    error AuthorisationsNotEnterprise(bytes32 authId, address caller);
    /// @notice The authorisation is already withdrawn.
    /// @custom:kind conflict
    error AuthorisationsAlreadyWithdrawn(bytes32 authId, uint40 withdrawnAt);
    /// @notice A query needs a non-zero query hash.
    /// @custom:kind invalid
    error AuthorisationsInvalidQuery(bytes32 queryHash);
    /// @notice This query (authorisation and query hash) is already logged.
    /// @custom:kind conflict
    error AuthorisationsDuplicateQuery(bytes32 queryId);
    /// @notice No query has this id.
    /// @custom:kind not_found
    error AuthorisationsUnknownQuery(bytes32 queryId);
    /// @notice A report answers a query only to the member that made it.
    /// @custom:kind forbidden
    error AuthorisationsRecipientNotQuerier(bytes32 queryId, address recipient, address member);
    /// @notice The recipient has published no encryption key to seal a report to.
    /// @custom:kind conflict
    error AuthorisationsNoEncryptionKey(address recipient);
    /// @notice A shared report needs a non-zero ciphertext hash.
    /// @custom:kind invalid
    error AuthorisationsInvalidShare(bytes32 ciphertextHash);
    /// @notice This ciphertext is already recorded for this query.
    /// @custom:kind conflict
    error AuthorisationsDuplicateShare(bytes32 queryId, bytes32 ciphertextHash);

    /// @notice Record an authorisation signed off chain by an enterprise's bound account
    /// (EIP-712 `Authorise`). Anyone may relay it; the member it names usually does.
    /// @dev The member must hold the attester or financier role in good standing; the
    /// signer must be bound to a subject (ConsortiumNotEnterprise otherwise).
    /// @param enterprise The enterprise account that signed.
    /// @param nonce Any number the enterprise has not used (nonces are not sequential).
    /// @param deadline UNIX seconds after which the signature is void.
    /// @param signature 65-byte ECDSA signature; high-s forms are refused.
    /// @return authId keccak256(abi.encode(enterprise, nonce)).
    function authoriseBySig(
        AuthorisationRequest calldata request,
        address enterprise,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 authId);

    /// @notice Withdraw an authorisation (the account bound to its subject).
    function withdraw(bytes32 authId) external;

    /// @notice Relay a withdrawal signed off chain by the account bound to the
    /// authorisation's subject (EIP-712 `Withdraw(bytes32 authId,uint256 deadline)`).
    /// A replay finds it already withdrawn.
    function withdrawBySig(bytes32 authId, address enterprise, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Log a credit query under an authorisation (查询留痕). Reverts unless the caller
    /// is the authorised member, in good standing with the attester or financier role, and
    /// the authorisation is neither withdrawn nor expired, is for `purpose`, and covers `schema`.
    /// @param purpose The purpose the member queries for (PURPOSE_*).
    /// @param queryHash keccak256 of the member's off-chain query record.
    /// @param schema The schema queried, or 0 for a full credit report.
    /// @return queryId keccak256(abi.encode(authId, queryHash)).
    function logQuery(bytes32 authId, uint8 purpose, bytes32 queryHash, bytes32 schema)
        external
        returns (bytes32 queryId);

    /// @notice Record that the caller sent `recipient` an encrypted credit report in answer
    /// to a logged query (the report itself travels off chain). The caller must hold the
    /// attester role in good standing; the recipient must be the member that made the query,
    /// in good standing, with a published encryption key; and the query's authorisation must
    /// still be in force.
    /// @param ciphertextHash keccak256 of the sealed envelope's bytes.
    function recordReportShare(bytes32 queryId, address recipient, bytes32 ciphertextHash) external;

    /// @notice An authorisation (member 0 when unknown).
    function authorisation(bytes32 authId) external view returns (Authorisation memory);

    /// @notice True when the authorisation lists `schema` (limits only; see schemaLimited).
    function schemaAuthorised(bytes32 authId, bytes32 schema) external view returns (bool);

    /// @notice The authorisation a logged query was made under (0 when unknown).
    function queryAuthorisation(bytes32 queryId) external view returns (bytes32 authId);

    /// @notice A shared report's record (sender 0 when not recorded).
    function reportShare(bytes32 queryId, bytes32 ciphertextHash) external view returns (ReportShare memory);

    /// @notice True when `enterprise` has used `nonce` for an authorisation.
    function nonceUsed(address enterprise, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator of signed authorisations and withdrawals.
    function domainSeparator() external view returns (bytes32);

    /// @notice The consortium contract that says who may act.
    function consortium() external view returns (address);
}

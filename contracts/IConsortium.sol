// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Consortium membership of the Yangtze Delta credit chain
/// @notice Member institutions (banks, credit bureaus, registrars, auditors,
/// regulators) of the five cities, their roles and standing, their published
/// encryption keys, and the binding of enterprise accounts to pseudonymous
/// subject ids. Every other contract of the chain asks this one who may act.
interface IConsortium {
    /// @notice A member institution.
    struct Member {
        uint8 city; // 1..5 (Common.sol CITY_*); 0 when the account is not a member
        uint8 roles; // bit flags (Common.sol ROLE_*)
        bool suspended; // true while a regulator has suspended the member
        uint40 admittedAt; // UNIX seconds of admission
        uint40 changedAt; // UNIX seconds of the last change of roles or standing
        bytes32 encryptionKey; // X25519 public key for shared credit reports; 0 until published
        string name; // the institution's public name
    }

    /// @notice An enterprise account bound to its subject id.
    struct Enterprise {
        bytes32 subject; // keyed hash of the enterprise's USCC; the code never goes on chain
        address registrar; // the member that made the binding
        uint40 boundAt; // UNIX seconds of the binding
    }

    /// @notice A regulator admitted a member institution.
    event MemberAdmitted(
        address indexed account, uint8 indexed city, uint8 roles, string name, address indexed regulator
    );
    /// @notice A regulator changed a member's roles.
    event MemberRolesChanged(address indexed account, uint8 roles, address indexed regulator);
    /// @notice A regulator suspended a member; from this block on it can do nothing that needs a role.
    event MemberSuspended(address indexed account, bytes32 reason, address indexed regulator);
    /// @notice A regulator reinstated a suspended member.
    event MemberReinstated(address indexed account, address indexed regulator);
    /// @notice A member published (or rotated) its X25519 encryption public key.
    event EncryptionKeyPublished(address indexed account, bytes32 key);
    /// @notice A registrar bound an enterprise account to a subject id.
    event EnterpriseBound(bytes32 indexed subject, address indexed account, address indexed registrar);
    /// @notice A registrar moved a subject to a new account (a lost or rotated key); the old one is unbound.
    event EnterpriseRebound(
        bytes32 indexed subject, address oldAccount, address indexed newAccount, address indexed registrar
    );

    /// @notice The account is not a member holding every role in `role`.
    /// @custom:kind forbidden
    error ConsortiumUnauthorized(address account, uint8 role);
    /// @notice The account is a member but suspended.
    /// @custom:kind forbidden
    error ConsortiumMemberSuspended(address account);
    /// @notice The account is already a member.
    /// @custom:kind conflict
    error ConsortiumAlreadyMember(address account);
    /// @notice The account is not a member.
    /// @custom:kind not_found
    error ConsortiumNotMember(address account);
    /// @notice The city is not one of the five (1..5).
    /// @custom:kind invalid
    error ConsortiumInvalidCity(uint8 city);
    /// @notice The roles are empty or have bits the consortium does not know.
    /// @custom:kind invalid
    error ConsortiumInvalidRoles(uint8 roles);
    /// @notice A member needs a name; an account needs to be non-zero.
    /// @custom:kind invalid
    error ConsortiumInvalidMember(address account);
    /// @notice The member is already suspended.
    /// @custom:kind conflict
    error ConsortiumAlreadySuspended(address account);
    /// @notice The member is not suspended.
    /// @custom:kind conflict
    error ConsortiumNotSuspended(address account);
    /// @notice A regulator may not suspend itself or take away its own regulator role,
    /// so the consortium always keeps one regulator in good standing.
    /// @custom:kind forbidden
    error ConsortiumSelfLockout(address regulator);
    /// @notice The subject id is zero.
    /// @custom:kind invalid
    error ConsortiumInvalidSubject(bytes32 subject);
    /// @notice The subject is already bound to an account.
    /// @custom:kind conflict
    error ConsortiumSubjectAlreadyBound(bytes32 subject, address account);
    /// @notice The account is already bound to a subject.
    /// @custom:kind conflict
    error ConsortiumAccountAlreadyBound(address account, bytes32 subject);
    /// @notice A member institution's account cannot also be an enterprise's.
    /// @custom:kind conflict
    error ConsortiumAccountIsMember(address account);
    /// @notice The subject is not bound to any account.
    /// @custom:kind not_found
    error ConsortiumSubjectNotBound(bytes32 subject);
    /// @notice The account is not bound to any enterprise.
    /// @custom:kind not_found
    error ConsortiumNotEnterprise(address account);
    /// @notice The lists of accounts and subjects differ in length.
    /// @custom:kind invalid
    error ConsortiumLengthMismatch(uint256 accounts, uint256 subjects);

    /// @notice Admit a member institution.
    /// @dev Regulator only. Reverts on a zero account or empty name, a bad city or roles,
    /// or an account that is already a member or bound to an enterprise.
    /// @param account The institution's signing account.
    /// @param name The institution's public name.
    /// @param city 1..5: Shanghai, Nanjing, Hangzhou, Hefei, Jiaxing.
    /// @param roles Bit flags of ROLE_* (Common.sol).
    function admitMember(address account, string calldata name, uint8 city, uint8 roles) external;

    /// @notice Replace a member's roles.
    /// @dev Regulator only; a regulator cannot drop its own regulator role.
    function setRoles(address account, uint8 roles) external;

    /// @notice Suspend a member: from this block on it can do nothing that needs a role.
    /// @dev Regulator only; not oneself.
    /// @param reason A reason code or the hash of the decision document.
    function suspendMember(address account, bytes32 reason) external;

    /// @notice Reinstate a suspended member.
    /// @dev Regulator only.
    function reinstateMember(address account) external;

    /// @notice Publish or rotate the caller's X25519 public key for shared reports.
    /// @dev Any member in good standing.
    function publishEncryptionKey(bytes32 key) external;

    /// @notice Bind an enterprise account to its subject id.
    /// @dev Registrar only. The subject and the account must both be unbound, and the account
    /// must not be a member institution's.
    function bindEnterprise(address account, bytes32 subject) external;

    /// @notice Bind many enterprise accounts at once (registrar only): the same rules as
    /// `bindEnterprise` for each pair; any refusal reverts the whole call.
    function bindEnterprises(address[] calldata accounts, bytes32[] calldata subjects) external;

    /// @notice Move a bound subject to a new account (the enterprise lost or rotated its key).
    /// @dev Registrar only. The old account is unbound in the same step.
    function rebindEnterprise(bytes32 subject, address newAccount) external;

    /// @notice Revert unless `account` is a member in good standing holding every role in `role`.
    /// @dev Other contracts of the chain call this so that a refusal carries the consortium's
    /// own named error. Reverts with ConsortiumUnauthorized or ConsortiumMemberSuspended.
    /// It returns nothing: a check, not a query (`member(account).city` gives the city).
    function requireRole(address account, uint8 role) external view;

    /// @notice Revert unless `account` is a bound enterprise account.
    /// @return subject The subject id bound to it.
    function requireEnterprise(address account) external view returns (bytes32 subject);

    /// @notice True when `account` is a member in good standing holding every role in `role`.
    function hasRole(address account, uint8 role) external view returns (bool);

    /// @notice The member record of `account` (city 0 when it is not a member).
    function member(address account) external view returns (Member memory);

    /// @notice How many members were ever admitted.
    function memberCount() external view returns (uint256);

    /// @notice The account of the `index`-th member admitted.
    function memberAt(uint256 index) external view returns (address);

    /// @notice The binding of an enterprise account (subject 0 when unbound).
    function enterprise(address account) external view returns (Enterprise memory);

    /// @notice The account a subject is bound to (0 when unbound).
    function accountOf(bytes32 subject) external view returns (address);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {IConsortium} from "./IConsortium.sol";
import {ALL_ROLES, CITY_JIAXING, CITY_SHANGHAI, ROLE_REGISTRAR, ROLE_REGULATOR} from "./Common.sol";

/// @title Consortium
/// @notice Membership, roles and standing of the credit chain's institutions, and enterprise bindings.
/// @dev The acting party is `_msgSender()` (ERC-2771): the caller, or the signer of a request the
/// trusted Forwarder relays, so a regulator admits members through the HTTP API with its own
/// signature and no gas of its own.
contract Consortium is IConsortium, ERC2771Context {
    mapping(address account => Member member) private _members;
    address[] private _memberAccounts;
    mapping(address account => Enterprise enterprise) private _enterprises;
    mapping(bytes32 subject => address account) private _subjectAccounts;

    /// @notice Deploy the consortium with the deployer as its first regulator.
    /// @param name The first regulator's public name.
    /// @param city The first regulator's city.
    /// @param forwarder_ The Forwarder trusted to relay signed requests (ERC-2771).
    constructor(string memory name, uint8 city, address forwarder_) ERC2771Context(forwarder_) {
        // The deployer itself, never a relayed signer: no request is relayed to a constructor.
        _admit(msg.sender, name, city, ROLE_REGULATOR, msg.sender);
    }

    modifier onlyRole(uint8 role) {
        _requireRole(_msgSender(), role);
        _;
    }

    /// @inheritdoc IConsortium
    function admitMember(address account, string calldata name, uint8 city, uint8 roles)
        external
        onlyRole(ROLE_REGULATOR)
    {
        _admit(account, name, city, roles, _msgSender());
    }

    /// @inheritdoc IConsortium
    function setRoles(address account, uint8 roles) external onlyRole(ROLE_REGULATOR) {
        Member storage m = _existing(account);
        _checkRoles(roles);
        address regulator = _msgSender();
        if (account == regulator && roles & ROLE_REGULATOR == 0) revert ConsortiumSelfLockout(regulator);
        m.roles = roles;
        m.changedAt = uint40(block.timestamp);
        emit MemberRolesChanged(account, roles, regulator);
    }

    /// @inheritdoc IConsortium
    function suspendMember(address account, bytes32 reason) external onlyRole(ROLE_REGULATOR) {
        Member storage m = _existing(account);
        address regulator = _msgSender();
        if (account == regulator) revert ConsortiumSelfLockout(regulator);
        if (m.suspended) revert ConsortiumAlreadySuspended(account);
        m.suspended = true;
        m.changedAt = uint40(block.timestamp);
        emit MemberSuspended(account, reason, regulator);
    }

    /// @inheritdoc IConsortium
    function reinstateMember(address account) external onlyRole(ROLE_REGULATOR) {
        Member storage m = _existing(account);
        if (!m.suspended) revert ConsortiumNotSuspended(account);
        m.suspended = false;
        m.changedAt = uint40(block.timestamp);
        emit MemberReinstated(account, _msgSender());
    }

    /// @inheritdoc IConsortium
    function publishEncryptionKey(bytes32 key) external {
        address sender = _msgSender();
        Member storage m = _members[sender];
        if (m.city == 0) revert ConsortiumNotMember(sender);
        if (m.suspended) revert ConsortiumMemberSuspended(sender);
        m.encryptionKey = key;
        emit EncryptionKeyPublished(sender, key);
    }

    /// @inheritdoc IConsortium
    function bindEnterprise(address account, bytes32 subject) external onlyRole(ROLE_REGISTRAR) {
        _bind(account, subject);
    }

    /// @inheritdoc IConsortium
    function bindEnterprises(address[] calldata accounts, bytes32[] calldata subjects)
        external
        onlyRole(ROLE_REGISTRAR)
    {
        if (accounts.length != subjects.length) {
            revert ConsortiumLengthMismatch(accounts.length, subjects.length);
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            _bind(accounts[i], subjects[i]);
        }
    }

    /// @inheritdoc IConsortium
    function rebindEnterprise(bytes32 subject, address newAccount) external onlyRole(ROLE_REGISTRAR) {
        address old = _subjectAccounts[subject];
        if (old == address(0)) revert ConsortiumSubjectNotBound(subject);
        _checkBindable(newAccount);
        delete _enterprises[old];
        address registrar = _msgSender();
        _enterprises[newAccount] = Enterprise(subject, registrar, uint40(block.timestamp));
        _subjectAccounts[subject] = newAccount;
        emit EnterpriseRebound(subject, old, newAccount, registrar);
    }

    /// @inheritdoc IConsortium
    function requireRole(address account, uint8 role) external view {
        _requireRole(account, role);
    }

    /// @inheritdoc IConsortium
    function requireEnterprise(address account) external view returns (bytes32 subject) {
        subject = _enterprises[account].subject;
        // A zero subject means "not bound" (binding refuses a zero subject), not a balance or a time.
        // slither-disable-next-line incorrect-equality
        if (subject == bytes32(0)) revert ConsortiumNotEnterprise(account);
    }

    /// @inheritdoc IConsortium
    function hasRole(address account, uint8 role) external view returns (bool) {
        Member storage m = _members[account];
        return m.city != 0 && !m.suspended && role != 0 && m.roles & role == role;
    }

    /// @inheritdoc IConsortium
    function member(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IConsortium
    function memberCount() external view returns (uint256) {
        return _memberAccounts.length;
    }

    /// @inheritdoc IConsortium
    function memberAt(uint256 index) external view returns (address) {
        return _memberAccounts[index];
    }

    /// @inheritdoc IConsortium
    function enterprise(address account) external view returns (Enterprise memory) {
        return _enterprises[account];
    }

    /// @inheritdoc IConsortium
    function accountOf(bytes32 subject) external view returns (address) {
        return _subjectAccounts[subject];
    }

    function _admit(address account, string memory name, uint8 city, uint8 roles, address regulator) private {
        if (account == address(0) || bytes(name).length == 0) revert ConsortiumInvalidMember(account);
        if (city < CITY_SHANGHAI || city > CITY_JIAXING) revert ConsortiumInvalidCity(city);
        _checkRoles(roles);
        if (_members[account].city != 0) revert ConsortiumAlreadyMember(account);
        bytes32 subject = _enterprises[account].subject;
        if (subject != bytes32(0)) revert ConsortiumAccountAlreadyBound(account, subject);
        _members[account] = Member({
            city: city,
            roles: roles,
            suspended: false,
            admittedAt: uint40(block.timestamp),
            changedAt: uint40(block.timestamp),
            encryptionKey: bytes32(0),
            name: name
        });
        _memberAccounts.push(account);
        emit MemberAdmitted(account, city, roles, name, regulator);
    }

    function _bind(address account, bytes32 subject) private {
        if (subject == bytes32(0)) revert ConsortiumInvalidSubject(subject);
        _checkBindable(account);
        address bound = _subjectAccounts[subject];
        if (bound != address(0)) revert ConsortiumSubjectAlreadyBound(subject, bound);
        address registrar = _msgSender();
        _enterprises[account] = Enterprise(subject, registrar, uint40(block.timestamp));
        _subjectAccounts[subject] = account;
        emit EnterpriseBound(subject, account, registrar);
    }

    function _requireRole(address account, uint8 role) private view {
        Member storage m = _members[account];
        // Read into locals first, in one basic block, so the optimiser loads the shared slot
        // once: read in the branches, it loads it once per field (200 gas more per check).
        (uint8 city, uint8 roles, bool suspended) = (m.city, m.roles, m.suspended);
        if (city == 0 || roles & role != role) revert ConsortiumUnauthorized(account, role);
        if (suspended) revert ConsortiumMemberSuspended(account);
    }

    function _existing(address account) private view returns (Member storage m) {
        m = _members[account];
        if (m.city == 0) revert ConsortiumNotMember(account);
    }

    function _checkRoles(uint8 roles) private pure {
        if (roles == 0 || roles & ~ALL_ROLES != 0) revert ConsortiumInvalidRoles(roles);
    }

    function _checkBindable(address account) private view {
        if (account == address(0)) revert ConsortiumInvalidMember(account);
        if (_members[account].city != 0) revert ConsortiumAccountIsMember(account);
        bytes32 subject = _enterprises[account].subject;
        if (subject != bytes32(0)) revert ConsortiumAccountAlreadyBound(account, subject);
    }
}

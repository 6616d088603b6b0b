// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {
    COLLATERAL_RANK_BITS, CollateralKind, ICollateralRegistry, collateralAssetId
} from "./ICollateralRegistry.sol";
import {IConsortium} from "./IConsortium.sol";
import {IReceivables} from "./IReceivables.sol";
import {ROLE_FINANCIER} from "./Common.sol";

/// @title CollateralRegistry
/// @notice One registry of pledges over receivables, patents, trademarks, equity and movables.
/// @dev The acting party is `_msgSender()` (ERC-2771): the caller, or the signer of a request
/// relayed by the chain's Forwarder.
contract CollateralRegistry is ICollateralRegistry, EIP712, ERC2771Context {
    bytes32 private constant _PLEDGE_TYPEHASH = keccak256(
        "Pledge(uint8 kind,bytes32 key,address pledgee,uint64 securedAmount,uint40 expiry,uint32 rank,"
        "uint256 deadline)"
    );
    uint256 private constant _RANK_MASK = (1 << COLLATERAL_RANK_BITS) - 1;

    IConsortium private immutable _consortium;
    IReceivables private immutable _receivables;

    mapping(bytes32 assetId => Asset asset) private _assets;
    mapping(bytes32 pledgeId => Pledge pledge) private _pledges;

    /// @param consortium_ The consortium contract that says who may act.
    /// @param receivables_ The receivables contract whose parts are pledged here (deployed next,
    /// at an address known in advance: it asks this registry too).
    /// @param forwarder_ The Forwarder (IForwarder.sol) whose relayed requests act for their signer.
    constructor(IConsortium consortium_, IReceivables receivables_, address forwarder_)
        EIP712("YRD Collateral Registry", "1")
        ERC2771Context(forwarder_)
    {
        _consortium = consortium_;
        _receivables = receivables_;
    }

    /// @inheritdoc ICollateralRegistry
    function pledge(PledgeTerms calldata terms, address pledgor, uint256 deadline, bytes calldata signature)
        external
        returns (bytes32 pledgeId)
    {
        address pledgee = _msgSender();
        _consortium.requireRole(pledgee, ROLE_FINANCIER);
        bytes32 id = _checkTerms(terms);
        uint32 rank = _nextRank(id, terms.kind);
        _checkConsent(terms, pledgee, rank, pledgor, deadline, signature);
        bytes32 pledgorSubject = _consortium.requireEnterprise(pledgor);
        if (terms.kind == CollateralKind.Receivable) _requirePledgeableReceivable(id, terms.key, pledgorSubject);
        pledgeId = _record(id, rank, terms, pledgee, pledgorSubject);
    }

    /// @inheritdoc ICollateralRegistry
    function amend(bytes32 pledgeId, uint64 securedAmount, uint40 expiry) external {
        Pledge storage p = _requirePledgee(pledgeId);
        _consortium.requireRole(p.pledgee, ROLE_FINANCIER);
        uint40 current = p.expiry;
        if (current <= block.timestamp) revert CollateralPledgeLapsed(pledgeId, current);
        if (securedAmount == 0) revert CollateralInvalidAmount(securedAmount);
        if (expiry <= block.timestamp) revert CollateralInvalidExpiry(expiry, block.timestamp);
        p.expiry = expiry;
        // In force and exclusive: it is the asset's latest registration, whose term the asset mirrors.
        Asset storage a = _assets[_assetOf(pledgeId)];
        if (a.kind != CollateralKind.Movable) a.expiry = expiry;
        emit PledgeAmended(pledgeId, p.pledgee, securedAmount, expiry);
    }

    /// @inheritdoc ICollateralRegistry
    function release(bytes32 pledgeId) external {
        Pledge storage p = _requirePledgee(pledgeId);
        p.released = true;
        bytes32 id = _assetOf(pledgeId);
        Asset storage a = _assets[id];
        // Only the latest registration of an exclusive kind can be the one the asset names.
        if (a.kind != CollateralKind.Movable && uint256(pledgeId) & _RANK_MASK == a.registrations - 1) {
            a.pledgee = address(0);
            a.expiry = 0;
        }
        emit PledgeReleased(pledgeId, id, p.pledgee);
    }

    /// @inheritdoc ICollateralRegistry
    function pledgeOf(bytes32 pledgeId) external view returns (PledgeView memory v) {
        Pledge memory p = _pledges[pledgeId];
        if (p.pledgee == address(0)) return v;
        bytes32 id = _assetOf(pledgeId);
        v = PledgeView({
            assetId: id,
            rank: uint32(uint256(pledgeId) & _RANK_MASK),
            kind: _assets[id].kind,
            pledgee: p.pledgee,
            expiry: p.expiry,
            released: p.released,
            inForce: !p.released && p.expiry > block.timestamp
        });
    }

    /// @inheritdoc ICollateralRegistry
    function asset(bytes32 assetId_) external view returns (Asset memory) {
        return _assets[assetId_];
    }

    /// @inheritdoc ICollateralRegistry
    function registrations(bytes32 assetId_, uint256 offset, uint256 limit)
        external
        view
        returns (bytes32[] memory ids)
    {
        uint256 count = _assets[assetId_].registrations;
        uint256 n = offset < count ? count - offset : 0;
        if (limit < n) n = limit;
        ids = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ids[i] = assetId_ | bytes32(offset + i);
        }
    }

    /// @inheritdoc ICollateralRegistry
    function activePledgee(bytes32 assetId_) external view returns (address) {
        Asset storage a = _assets[assetId_];
        return a.expiry > block.timestamp ? a.pledgee : address(0);
    }

    /// @inheritdoc ICollateralRegistry
    function assetId(CollateralKind kind, bytes32 key) external pure returns (bytes32) {
        return collateralAssetId(kind, key);
    }

    /// @inheritdoc ICollateralRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc ICollateralRegistry
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc ICollateralRegistry
    function receivables() external view returns (address) {
        return address(_receivables);
    }

    /// @dev The rank the next registration on an asset takes; refuses a second pledge in force
    /// on an asset of a kind that backs one at a time.
    function _nextRank(bytes32 id, CollateralKind kind) private view returns (uint32) {
        Asset memory a = _assets[id];
        if (kind != CollateralKind.Movable && a.pledgee != address(0) && a.expiry > block.timestamp) {
            revert CollateralAlreadyPledged(id, a.pledgee);
        }
        return a.registrations;
    }

    function _record(bytes32 id, uint32 rank, PledgeTerms calldata terms, address pledgee, bytes32 pledgorSubject)
        private
        returns (bytes32 pledgeId)
    {
        pledgeId = id | bytes32(uint256(rank));
        CollateralKind kind = terms.kind;
        uint40 expiry = terms.expiry;
        // Movables carry several pledges: the asset then names none of them.
        _assets[id] = kind == CollateralKind.Movable
            ? Asset({pledgee: address(0), expiry: 0, registrations: rank + 1, kind: kind})
            : Asset({pledgee: pledgee, expiry: expiry, registrations: rank + 1, kind: kind});
        _pledges[pledgeId] = Pledge({pledgee: pledgee, expiry: expiry, released: false});
        emit CollateralPledged(pledgeId, id, pledgorSubject, pledgee, kind, terms.key, terms.securedAmount, expiry);
    }

    /// @dev Refuse malformed terms; returns the asset's id.
    function _checkTerms(PledgeTerms calldata terms) private view returns (bytes32) {
        CollateralKind kind = terms.kind;
        if (kind == CollateralKind.None) revert CollateralInvalidKind(uint8(kind));
        bytes32 key = terms.key;
        if (key == bytes32(0)) revert CollateralInvalidKey(key);
        uint64 securedAmount = terms.securedAmount;
        if (securedAmount == 0) revert CollateralInvalidAmount(securedAmount);
        uint40 expiry = terms.expiry;
        if (expiry <= block.timestamp) revert CollateralInvalidExpiry(expiry, block.timestamp);
        return collateralAssetId(kind, key);
    }

    function _checkConsent(
        PledgeTerms calldata terms,
        address pledgee,
        uint32 rank,
        address pledgor,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (block.timestamp > deadline) revert CollateralSignatureExpired(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _PLEDGE_TYPEHASH,
                    terms.kind,
                    terms.key,
                    pledgee,
                    terms.securedAmount,
                    terms.expiry,
                    rank,
                    deadline
                )
            )
        );
        address signer = ECDSA.recoverCalldata(digest, signature);
        if (signer != pledgor) revert CollateralWrongSigner(pledgor, signer);
    }

    /// @dev A receivable part is pledgeable by its holder while Active and not financed.
    function _requirePledgeableReceivable(bytes32 id, bytes32 partId, bytes32 pledgorSubject) private view {
        (bytes32 holder, IReceivables.Status status, address financier) = _receivables.collateralState(partId);
        if (financier != address(0)) revert CollateralAlreadyPledged(id, financier);
        if (holder != pledgorSubject) revert CollateralNotHolder(id, pledgorSubject);
        if (status != IReceivables.Status.Active) revert CollateralNotPledgeable(id, uint8(status));
    }

    /// @dev The pledge `pledgeId`, not released, whose pledgee is the caller.
    function _requirePledgee(bytes32 pledgeId) private view returns (Pledge storage p) {
        p = _pledges[pledgeId];
        address pledgee = p.pledgee;
        if (pledgee == address(0)) revert CollateralUnknownPledge(pledgeId);
        address sender = _msgSender();
        if (sender != pledgee) revert CollateralNotPledgee(pledgeId, sender, pledgee);
        if (p.released) revert CollateralAlreadyReleased(pledgeId);
    }

    function _assetOf(bytes32 pledgeId) private pure returns (bytes32) {
        return pledgeId & ~bytes32(_RANK_MASK);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Kinds of collateral the registry takes. Python mirror: ledger_client.lending.CollateralKind.
enum CollateralKind {
    None, // no such asset
    Receivable, // a part of a receivable (Receivables.sol); key = the part id
    Patent, // key = keccak256(abi.encode(keccak256(authority), keccak256(registration number)))
    Trademark, // key as for a patent
    Equity, // key = keccak256(abi.encode(bytes32 company subject, bytes32 share reference))
    Movable // movable goods; key = keccak256 of the goods' description document
}

/// @dev How the low bits of a pledge id count the registrations on its asset.
uint256 constant COLLATERAL_RANK_BITS = 32;

/// @notice The registry's id of an asset: keccak256(abi.encode(kind, key)) with the low 32 bits
/// cleared, so that a pledge id is its asset id with its registration rank in those bits.
function collateralAssetId(CollateralKind kind, bytes32 key) pure returns (bytes32) {
    return bytes32(uint256(keccak256(abi.encode(kind, key))) >> COLLATERAL_RANK_BITS << COLLATERAL_RANK_BITS);
}

/// @title One collateral registry for receivables, IP, equity and movables
/// @notice A bank (the pledgee) registers a pledge on an asset with the pledgor's EIP-712
/// consent (动产融资统一登记, 知识产权质押, 股权质押). Registrations on an asset are ranked in the
/// order they were made (priority), have a term, and are amended or released by their pledgee
/// only. A receivable, patent, trademark or equity share backs one pledge in force at a time;
/// movable goods may carry several, ranked. The receivables contract asks this registry before
/// it finances or moves a part, and this registry asks it before it pledges one: a receivable
/// never backs a financing and a pledge at once. Anyone can search an asset's registrations.
/// @dev A pledge id is its asset id with its rank (0 for the first registration) in the low 32
/// bits: the registrations on an asset are enumerable without an index. Amounts secured are
/// carried in events only.
interface ICollateralRegistry {
    /// @notice What a pledgor consents to (with the pledgee, the asset's registration count and a
    /// deadline: EIP-712 `Pledge`).
    struct PledgeTerms {
        CollateralKind kind; // the asset's kind (not None)
        bytes32 key; // the asset's key (see CollateralKind); not zero
        uint64 securedAmount; // fen the pledge secures; more than 0 (carried in the event)
        uint40 expiry; // UNIX seconds the pledge lapses at; in the future
    }

    /// @notice What is stored for an asset: one slot.
    struct Asset {
        address pledgee; // exclusive kinds: the pledgee of the latest registration while not released
        uint40 expiry; // exclusive kinds: its term end, UNIX seconds
        uint32 registrations; // registrations ever made on the asset; the next one's rank
        CollateralKind kind; // the asset's kind; None until first registered
    }

    /// @notice What is stored for a pledge: one slot.
    struct Pledge {
        address pledgee; // the member bank the asset is pledged to; 0 when no such pledge
        uint40 expiry; // UNIX seconds: the pledge lapses at this second
        bool released; // true once the pledgee released it
    }

    /// @notice A pledge as the registry reports it.
    struct PledgeView {
        bytes32 assetId; // the asset pledged
        uint32 rank; // registration order on the asset: 0 ranks first
        CollateralKind kind; // the asset's kind
        address pledgee; // the pledgee; 0 when the pledge is unknown
        uint40 expiry; // UNIX seconds
        bool released; // released by the pledgee
        bool inForce; // registered, not released and not lapsed
    }

    /// @notice A pledgee registered a pledge with the pledgor's signed consent.
    event CollateralPledged(
        bytes32 indexed pledgeId,
        bytes32 indexed assetId,
        bytes32 indexed pledgor,
        address pledgee,
        CollateralKind kind,
        bytes32 key,
        uint64 securedAmount,
        uint40 expiry
    );
    /// @notice The pledgee amended a pledge's secured amount and term.
    event PledgeAmended(bytes32 indexed pledgeId, address indexed pledgee, uint64 securedAmount, uint40 expiry);
    /// @notice The pledgee released a pledge: the asset is free of it from this block on.
    event PledgeReleased(bytes32 indexed pledgeId, bytes32 indexed assetId, address indexed pledgee);

    /// @notice The kind is not one the registry takes.
    /// @custom:kind invalid
    error CollateralInvalidKind(uint8 code);
    /// @notice The asset key is zero.
    /// @custom:kind invalid
    error CollateralInvalidKey(bytes32 key);
    /// @notice The secured amount is zero.
    /// @custom:kind invalid
    error CollateralInvalidAmount(uint64 amount);
    /// @notice The term end is not in the future.
    /// @custom:kind invalid
    error CollateralInvalidExpiry(uint40 expiry, uint256 now);
    /// @notice The pledgor's signature is past its deadline.
    /// @custom:kind conflict
    error CollateralSignatureExpired(uint256 deadline, uint256 now);
    /// @notice The consent was not signed by the named pledgor.
    /// @custom:kind forbidden
    error CollateralWrongSigner(address pledgor, address signer);
    /// @notice The asset already backs a pledge (or, for a receivable, a financing) in force with `pledgee`.
    /// @custom:kind conflict
    error CollateralAlreadyPledged(bytes32 assetId, address pledgee);
    /// @notice The pledgor does not hold the receivable it would pledge.
    /// @custom:kind forbidden
    error CollateralNotHolder(bytes32 assetId, bytes32 pledgor);
    /// @notice The receivable is not active (pending, rejected, paid or overdue): it cannot be pledged.
    /// @custom:kind conflict
    error CollateralNotPledgeable(bytes32 assetId, uint8 status);
    /// @notice No pledge has this id.
    /// @custom:kind not_found
    error CollateralUnknownPledge(bytes32 pledgeId);
    /// @notice Only the pledgee may amend or release a pledge.
    /// @custom:kind forbidden
    error CollateralNotPledgee(bytes32 pledgeId, address account, address pledgee);
    /// @notice The pledge was released already.
    /// @custom:kind conflict
    error CollateralAlreadyReleased(bytes32 pledgeId);
    /// @notice The pledge lapsed at `expiry`: it can be released, not amended.
    /// @custom:kind conflict
    error CollateralPledgeLapsed(bytes32 pledgeId, uint40 expiry);

    /// @notice Register a pledge of an asset to the caller (a bank: financier role), with the
    /// pledgor's consent signed as EIP-712 `Pledge(uint8 kind,bytes32 key,address pledgee,
    /// uint64 securedAmount,uint40 expiry,uint32 rank,uint256 deadline)`, where `rank` is the
    /// asset's registration count when signed (so a consent registers once).
    /// @dev Refused with CollateralAlreadyPledged when the kind backs one pledge at a time and
    /// one is in force, or when the receivable is financed. A receivable must be Active and
    /// held by the pledgor.
    /// @param terms The asset and the pledge's amount and term.
    /// @param pledgor The pledgor's bound enterprise account, which signed the consent.
    /// @param deadline UNIX seconds after which the signature is refused.
    /// @return pledgeId The asset id with the registration's rank in its low 32 bits.
    function pledge(PledgeTerms calldata terms, address pledgor, uint256 deadline, bytes calldata signature)
        external
        returns (bytes32 pledgeId);

    /// @notice Amend a pledge in force (its pledgee only): the amount it secures and its term.
    /// @param expiry The new term end; in the future.
    function amend(bytes32 pledgeId, uint64 securedAmount, uint40 expiry) external;

    /// @notice Release a pledge (its pledgee only), in force or lapsed: the asset is free of it.
    function release(bytes32 pledgeId) external;

    /// @notice A pledge (pledgee 0 when unknown).
    function pledgeOf(bytes32 pledgeId) external view returns (PledgeView memory);

    /// @notice What is stored for an asset (kind None when never registered).
    function asset(bytes32 assetId) external view returns (Asset memory);

    /// @notice The pledge ids of up to `limit` registrations on an asset from the `offset`-th,
    /// in priority order; `asset(assetId).registrations` says how many there are.
    function registrations(bytes32 assetId, uint256 offset, uint256 limit) external view returns (bytes32[] memory);

    /// @notice The pledgee of the pledge in force on an asset of a kind that backs one at a
    /// time (0 when none, or for movables).
    function activePledgee(bytes32 assetId) external view returns (address);

    /// @notice The registry's id of the asset of this kind and key.
    function assetId(CollateralKind kind, bytes32 key) external pure returns (bytes32);

    /// @notice The EIP-712 domain separator pledgors sign under.
    function domainSeparator() external view returns (bytes32);

    /// @notice The consortium contract that says who may act.
    function consortium() external view returns (address);

    /// @notice The receivables contract whose parts are pledged here.
    function receivables() external view returns (address);
}

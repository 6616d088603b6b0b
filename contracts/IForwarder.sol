// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title The credit chain's ERC-2771 forwarder: any party's signed call, relayed by anyone
/// @notice A member or an enterprise signs a `ForwardRequest` (EIP-712) for a call to one
/// of the chain's contracts; anyone may relay it and pay the gas (the HTTP API does), and
/// the target contract sees the signer, not the relayer, as the caller (ERC-2771: the
/// signer's address is appended to the calldata, and the target trusts this forwarder).
/// So a relayer can neither forge a write nor change one: the signature covers the target,
/// the calldata, a nonce and a deadline.
///
/// Nonces are unordered (a bitmap per signer, as `attestBySig` has): a party may sign many
/// requests at once and have them relayed in any order, and a request that fails leaves no
/// gap that blocks the next. Nonces that share a 256-wide word share one storage slot, so
/// consecutive nonces are cheaper than random ones.
///
/// A failed call reverts the whole relay with the target's own error, unchanged, so a
/// refusal reaches the relayer by name (`ReceivablesAlreadyFinanced(id, financier)`), and
/// the nonce stays unused. That also makes a relayer's gas games pointless: a call starved
/// of gas reverts everything, so there is no `gas` field to sign.
///
/// `executeBatch` relays many requests in one transaction, each on its own: a refused one is
/// reported by `RequestRefused` with the same revert data, its effects undone and its nonce
/// unused, and the others go on. A request that fails without a reason (out of gas) stops the
/// whole batch (`ForwarderBatchOutOfGas`), so a relayer cannot make a request look refused by
/// starving it of gas.
interface IForwarder {
    /// @notice What a party signs (EIP-712 `ForwardRequest`).
    struct ForwardRequest {
        address from; // the signer: the caller the target sees
        address to; // the contract called; it must trust this forwarder
        uint256 nonce; // any number `from` has not used with this forwarder
        uint48 deadline; // UNIX seconds; the request is void after it
        bytes data; // the call's calldata (selector and arguments)
    }

    /// @notice The request's deadline has passed.
    /// @custom:kind invalid
    error ForwarderExpired(uint48 deadline, uint256 now);
    /// @notice The signature was not made by `claimed`, the request's `from` (a forgery, or a
    /// request altered after signing); `signer` is 0 for a malformed or high-s signature.
    /// @custom:kind forbidden
    error ForwarderWrongSigner(address claimed, address signer);
    /// @notice `signer` already used this nonce: the request was relayed before.
    /// @custom:kind conflict
    error ForwarderNonceUsed(address signer, uint256 nonce);
    /// @notice The target does not trust this forwarder (not a contract of the chain).
    /// @custom:kind invalid
    error ForwarderUntrustedTarget(address to);

    /// @notice An `executeBatch` was given `signatures` signatures for `requests` requests.
    /// @custom:kind invalid
    error ForwarderBatchLengthMismatch(uint256 requests, uint256 signatures);
    /// @notice Request `index` of an `executeBatch` failed without a reason: it ran out of gas,
    /// which the relayer controls, so the whole batch is undone rather than the request
    /// reported refused. Relay it alone, or the batch with more gas.
    /// @custom:kind invalid
    error ForwarderBatchOutOfGas(uint256 index);

    /// @notice Request `index` of an `executeBatch` was carried out. The logs after the
    /// previous request's `RequestForwarded` or `RequestRefused` (or the batch's start) and
    /// before this one are this request's own.
    event RequestForwarded(uint256 index);
    /// @notice Request `index` of an `executeBatch` was refused: `reason` is the revert data
    /// `execute` would have reverted with (the Forwarder's or the target's own error). Its
    /// effects are undone and its nonce stays unused.
    event RequestRefused(uint256 index, bytes reason);

    /// @notice Check the request and its signature, use its nonce, and call `request.to` with
    /// `request.data` followed by `request.from` (ERC-2771). A failed call reverts with the
    /// target's own revert data.
    /// @param signature 65-byte ECDSA signature of the request by `request.from`; high-s refused.
    /// @return result What the call returned.
    function execute(ForwardRequest calldata request, bytes calldata signature)
        external
        returns (bytes memory result);

    /// @notice `execute` each request with its signature, in order, in this one transaction;
    /// a refused request emits `RequestRefused` instead of reverting, and the others go on.
    /// @param requests The requests, from any signers, to any trusting targets.
    /// @param signatures One signature per request, in the same order.
    function executeBatch(ForwardRequest[] calldata requests, bytes[] calldata signatures) external;

    /// @notice True when `from` has used `nonce`.
    function nonceUsed(address from, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator of forward requests.
    function domainSeparator() external view returns (bytes32);
}

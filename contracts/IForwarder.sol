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

    /// @notice Check the request and its signature, use its nonce, and call `request.to` with
    /// `request.data` followed by `request.from` (ERC-2771). A failed call reverts with the
    /// target's own revert data.
    /// @param signature 65-byte ECDSA signature of the request by `request.from`; high-s refused.
    /// @return result What the call returned.
    function execute(ForwardRequest calldata request, bytes calldata signature)
        external
        returns (bytes memory result);

    /// @notice True when `from` has used `nonce`.
    function nonceUsed(address from, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 domain separator of forward requests.
    function domainSeparator() external view returns (bytes32);
}

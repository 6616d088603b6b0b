// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Many view calls in one `eth_call`, without deploying anything
/// @notice The auditor compares every entity of a deployment with the contracts' views; one
/// `eth_call` per entity makes the comparison cost a node round trip (and, on the embedded
/// chain, a block's state set up) per entity. `BatchReader` is never deployed: an
/// `eth_call` with no `to` runs its creation code with the calls as constructor arguments,
/// and the constructor makes each call with `staticcall` and returns what they returned as
/// the would-be contract's code. So it reads any existing deployment, at any block, on any
/// node that answers `eth_call`, and it can change nothing.
///
/// What the constructor returns, for each call in order: one word holding
/// `returndatasize * 2 + success` (1 when the call returned, 0 when it reverted), then the
/// call's return data (or its revert data), zero-padded to a whole number of words. A call
/// that reverts does not sink the others: its revert data comes back under its own header.
///
/// Returned code is bounded by EIP-170 (24,576 bytes) and costs 200 gas a byte to deposit,
/// so the caller sends the calls in chunks that keep both within bounds.
interface IBatchReader {
    /// @notice The constructor was given `targets` addresses and `calls` calldatas: they pair
    /// up one to one.
    /// @custom:kind invalid
    error BatchReaderLengthMismatch(uint256 targets, uint256 calls);
}

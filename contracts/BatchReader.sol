// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IBatchReader} from "./IBatchReader.sol";

/// @title BatchReader
/// @notice Runs view calls from its constructor and returns their results; see IBatchReader.
/// @dev Never deployed: the creation code is sent as an `eth_call` with no `to`. Assembly,
/// because the return must bypass Solidity's constructor epilogue (which would return this
/// contract's runtime code), and because packing the results by hand keeps each under one
/// header word where `abi.encode(bytes[])` would spend three.
contract BatchReader is IBatchReader {
    /// @param targets the contract each call reads
    /// @param calls each call's calldata (selector and arguments), paired with `targets`
    constructor(address[] memory targets, bytes[] memory calls) {
        uint256 n = targets.length;
        if (calls.length != n) revert BatchReaderLengthMismatch(n, calls.length);
        assembly {
            // Memory past the free pointer is untouched, so zero: the padding is free.
            let out := mload(0x40)
            let cursor := out
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let target := mload(add(targets, mul(add(i, 1), 0x20)))
                let data := mload(add(calls, mul(add(i, 1), 0x20)))
                // All gas but the 1/64 the EVM keeps back: a view that runs out of gas
                // fails alone, and the caller reads it again on its own.
                let ok := staticcall(gas(), target, add(data, 0x20), mload(data), 0, 0)
                let size := returndatasize()
                mstore(cursor, or(shl(1, size), ok))
                returndatacopy(add(cursor, 0x20), 0, size)
                cursor := add(add(cursor, 0x20), and(add(size, 31), not(31)))
            }
            return(out, sub(cursor, out))
        }
    }
}

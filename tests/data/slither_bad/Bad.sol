// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

// Deliberately bad: the static-analysis gate must refuse this file (tests/scripts/test_static_analysis.py).
// It is not under contracts/, so it is never compiled into the chain.

interface IRegistry {
    function register(address who) external returns (uint256 id);
}

contract SlitherBad {
    IRegistry private immutable _registry;

    constructor(IRegistry registry) {
        _registry = registry;
    }

    /// unused-return (medium): the id the registry hands back is dropped.
    function join() external {
        _registry.register(msg.sender);
    }

    /// The same call, its finding suppressed at the line: the gate must honour the comment.
    function joinQuietly() external {
        // slither-disable-next-line unused-return
        _registry.register(msg.sender);
    }

    /// incorrect-equality (medium): a strict equality on a balance, which anyone can move.
    function drained() external view returns (bool) {
        return address(this).balance == 0;
    }

    /// arbitrary-send-eth (high): anyone can send this contract's ether anywhere.
    function pay(address payable to) external {
        to.transfer(address(this).balance);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {IForwarder} from "./IForwarder.sol";

/// @title Forwarder
/// @notice Relays any party's signed call to the chain's contracts (ERC-2771).
/// @dev Not OpenZeppelin's ERC2771Forwarder, for two reasons: it uses sequential nonces
/// (one failed or late request blocks every later one of its signer, which a relaying API
/// serving concurrent submissions cannot live with), and `execute` replaces the target's
/// revert data with `FailedCall()`, which would hide the contract's named errors.
contract Forwarder is IForwarder, EIP712 {
    bytes32 private constant _FORWARD_REQUEST_TYPEHASH =
        keccak256("ForwardRequest(address from,address to,uint256 nonce,uint48 deadline,bytes data)");

    mapping(address from => mapping(uint256 word => uint256 bits)) private _nonces;

    constructor() EIP712("YRD Credit Forwarder", "1") {}

    /// @inheritdoc IForwarder
    function execute(ForwardRequest calldata request, bytes calldata signature)
        external
        returns (bytes memory result)
    {
        uint48 deadline = request.deadline;
        if (block.timestamp > deadline) revert ForwarderExpired(deadline, block.timestamp);
        address from = request.from;
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _FORWARD_REQUEST_TYPEHASH, from, request.to, request.nonce, deadline, keccak256(request.data)
                )
            )
        );
        // The third value is only the bad length or `s` of a malformed signature: `err` already
        // says it failed, and the refusal names the signer instead, so it is left out on purpose.
        // slither-disable-next-line unused-return
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != from) revert ForwarderWrongSigner(from, signer);
        _useNonce(from, request.nonce);
        address to = request.to;
        if (!_trusts(to)) revert ForwarderUntrustedTarget(to);
        bool ok;
        (ok, result) = to.call(abi.encodePacked(request.data, from));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result)) // the target's own error, unchanged
            }
        }
    }

    /// @inheritdoc IForwarder
    function executeBatch(ForwardRequest[] calldata requests, bytes[] calldata signatures) external {
        uint256 n = requests.length;
        if (signatures.length != n) revert ForwarderBatchLengthMismatch(n, signatures.length);
        for (uint256 i; i < n; ++i) {
            uint256 before = gasleft();
            // Through `execute` itself, so a refused request is undone exactly as a refused
            // `execute` is (its nonce too), and its reason is the revert data `execute` gives.
            bytes memory data = abi.encodeCall(this.execute, (requests[i], signatures[i]));
            (bool ok, bytes memory result) = address(this).call(data);
            if (ok) {
                emit RequestForwarded(i);
                continue;
            }
            // A request may be reported refused only for a reason. A failure without one is a
            // call that ran out of gas somewhere (an `execute` that spent all it was given, or
            // a target's call starved deep down, which bubbles up empty), and the relayer sets
            // the gas: the whole batch stops rather than blame the request's signer.
            if (result.length == 0 || gasleft() <= before / 64) revert ForwarderBatchOutOfGas(i);
            emit RequestRefused(i, result);
        }
    }

    /// @inheritdoc IForwarder
    function nonceUsed(address from, uint256 nonce) external view returns (bool) {
        return _nonces[from][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IForwarder
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _useNonce(address from, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonces[from][nonce >> 8];
        if (bits & bit != 0) revert ForwarderNonceUsed(from, nonce);
        _nonces[from][nonce >> 8] = bits | bit;
    }

    /// @dev Whether `target` trusts this forwarder. Without this check the forwarder would be
    /// an ordinary caller of any other contract, which anyone could make it be.
    function _trusts(address target) private view returns (bool trusted) {
        bytes memory query = abi.encodeCall(ERC2771Context.isTrustedForwarder, (address(this)));
        assembly ("memory-safe") {
            // An account without code "succeeds" with no output: not trusted.
            let ok := staticcall(gas(), target, add(query, 0x20), mload(query), 0x00, 0x20)
            trusted := and(ok, and(iszero(lt(returndatasize(), 0x20)), iszero(iszero(mload(0x00)))))
        }
    }
}

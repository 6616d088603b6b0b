"""One chain and what talks to it: the connection (local signing, nonces, exactly-once sending),
the backends, the ABI codec, the compiled artifacts and the compiler, revert decoding, local
anvil nodes.
"""

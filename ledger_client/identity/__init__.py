"""Who acts on the chain: the parties' keys, USCCs and subject ids, EIP-712 signatures."""

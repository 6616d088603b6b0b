"""The write pipeline: every signed write checked once, journaled, and relayed exactly once.

- :mod:`pipeline.operations`: the table of relayed writes (name, contract and function, the
  codec from a domain request to calldata, what the write made, who may submit it);
- :mod:`pipeline.intake`: the checks (API key, signature, nonce, deadline, idempotency,
  who may submit) and the journaling, done once for every write;
- :mod:`pipeline.journal`, :mod:`pipeline.worker`: the durable journal and the worker that
  relays from the table;
- :mod:`pipeline.keys`, :mod:`pipeline.service`: API keys, and the state a process opens once.

No transport here: the HTTP API (:mod:`api`) maps its request models to the domain requests
of the table and calls the intake.
"""

"""Command-line tools: the ``credit-chain`` CLI, compile, deploy, bench."""

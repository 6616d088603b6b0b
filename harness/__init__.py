"""Processes the simulator and the tests start: a real ``credit-chain serve`` and its client, and
the embedded chain served over JSON-RPC for a second process.
"""

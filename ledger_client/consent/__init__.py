"""Consent-bound sharing: credit reports sealed to a querier and tied to the on-chain query
trail.
"""

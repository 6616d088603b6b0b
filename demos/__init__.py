"""``credit-chain demo``: a five-city consortium formed on the chain, then each part of the
credit chain shown at work, printed readably.
"""

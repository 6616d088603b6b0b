"""Credit records and how they are anchored: records and their schemas, signed records, Merkle
trees, batches.
"""

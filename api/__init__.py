"""The HTTP API for banks, enterprises and auditors."""

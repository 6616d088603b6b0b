"""The API's settings: one pydantic-settings class, read from CREDIT_CHAIN_* variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the API keeps its state, which chain it uses, and its limits."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_CHAIN_", frozen=True)

    data_dir: Path = Path("credit-chain-data")  # chain (embedded), manifest, relay key, journal
    # The deployment to attach to on first start (the regulator's `credit-chain deploy`).
    manifest: Path | None = None
    # Where a fresh development deployment (no manifest) writes its regulator's key: never
    # inside data_dir; by default beside it, <data_dir>-regulator-keys.json.
    regulator_keys: Path | None = None
    # A node's URL, or a comma list of one network's nodes (failed over in order); None for
    # the embedded chain kept in data_dir.
    rpc: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    batch_min: int = 8  # fewer pending records than this are relayed one by one
    batch_max: int = 1024  # records folded into one signed batch at most
    anchor_interval_s: float = 0.05  # how often the worker looks for pending submissions
    batch_wait_s: float = 0.25  # how long a few pending records wait for more to batch with
    signature_margin_s: int = 30  # a signature must stay valid at least this long after accept
    rate_per_s: float = 1_000.0  # requests per second allowed per API key
    rate_burst: int = 2_000  # requests a key may make in a burst
    # A new write is refused (Backlogged, 503 with Retry-After) while the oldest write
    # accepted and not yet taken by the worker has waited longer than this, or its
    # rounds have failed as long: past the chain's pace, accepting more only makes every
    # accepted write wait longer to be anchored. 0 accepts without bound (the backlog
    # then grows as long as the load lasts).
    admission_bound_s: float = 1.0
    max_body_bytes: int = 1_048_576  # larger request bodies are refused with 413
    page_max: int = 500  # largest page of a listing

    def regulator_keys_path(self) -> Path:
        """Where a fresh development deployment keeps its regulator's key."""
        if self.regulator_keys is not None:
            return self.regulator_keys
        resolved = self.data_dir.resolve()
        return resolved.parent / f"{resolved.name}-regulator-keys.json"

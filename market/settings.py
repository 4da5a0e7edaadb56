"""One settings class for the whole market, read from `DATAMARKET_*` environment variables."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from market.ratelimit import RateLimit
from market.settlement.registration import registration_number_problem

PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "placeholder", "xxx", "test"})


class InsecureSettings(ValueError):
    """A placeholder secret outside development."""


class Settings(BaseSettings):
    """Market configuration; every field has an embedded default except production secrets."""

    model_config = SettingsConfigDict(env_prefix="DATAMARKET_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    redis_prefix: str = "datamarket"
    master_key: str | None = None
    # Storage (docs/operations.md): a key file outside the data folder (a mounted secret), keys
    # still read during a rotation (comma-separated hex), and how old an unreferenced blob must
    # be before the sweep removes it (an upload in flight writes its blob before its row).
    master_key_file: Path | None = None
    previous_master_keys: str = ""
    orphan_grace_seconds: int = 3600
    market_fee_bps: int = 1000
    # Invoices (docs/settlement.md): the market's legal name and qualified-invoice registration
    # number (T + its 13-digit corporate number; unset: no invoice is a qualified invoice), and
    # the days a buyer has to pay an invoice.
    market_legal_name: str = "データ取引市場 Datamarket"
    market_invoice_registration_number: str | None = None
    payment_terms_days: int = 30
    # Card payments through Stripe (docs/settlement.md): off unless a key is set. The API base
    # points the SDK at another Stripe-API server (localstripe in tests); a trade whose card
    # payment has not succeeded this many hours after it first failed fails.
    stripe_api_key: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_secret: str | None = None
    payment_deadline_hours: int = 72
    # Journaled engine commands between snapshots, or as many as the book holds orders when it
    # holds more: a restart replays about that many (twice that after a crash during a snapshot).
    engine_snapshot_interval: int = 10_000
    # Most orders the sequencer commits in one transaction (market/trading/sequencer.py): a bulk
    # request counts its orders, and one over the limit runs alone.
    engine_batch_max: int = Field(default=256, ge=1, le=10_000)
    # Order intake (docs/operations.md): how long a verified API key is trusted from memory (the
    # longest a revocation made in another process without Redis can go unseen; 0 turns the
    # cache off), and how long published outbox events are kept before the publisher prunes them.
    api_key_cache_seconds: float = 2.0
    # Several API processes (docs/operations.md): the owner runs the engine and, when asked to
    # serve the channel, answers workers; a worker forwards every trading command to it over a
    # Unix socket (default <data_dir>/engine.sock) or, with redis_url set, a Redis Stream.
    engine_role: Literal["owner", "worker"] = "owner"
    engine_serve_channel: bool = False
    engine_channel_socket: Path | None = None
    engine_channel_timeout_seconds: float = Field(default=30.0, gt=0)
    outbox_retention_seconds: int = 3600
    max_upload_bytes: int = 50 * 1024 * 1024
    # Hostile-input caps (docs/security.md): each bounds the work one request can cause.
    max_csv_columns: int = 1_000
    max_csv_header_bytes: int = 64 * 1024
    max_csv_cell_chars: int = 32 * 1024
    max_request_bytes: int = 1024 * 1024
    request_body_idle_timeout_seconds: float = 15.0
    request_body_timeout_seconds: float = 300.0
    # Token buckets (docs/security.md). Registration and authentication failures count per
    # client address; order entry and uploads per participant and per address. Set
    # DATAMARKET_RATE_LIMITS_ENABLED=false for benchmarks that drive the API flat out.
    rate_limits_enabled: bool = True
    rate_limit_registration: RateLimit = RateLimit(per_second=1, burst=100)
    rate_limit_auth_failures: RateLimit = RateLimit(per_second=0.2, burst=50)
    rate_limit_order_entry: RateLimit = RateLimit(per_second=2_000, burst=5_000)
    rate_limit_uploads: RateLimit = RateLimit(per_second=1, burst=60)
    # Browser origins allowed to call the API (CORS); empty keeps cross-origin reads closed.
    cors_allow_origins: list[str] = []
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed ("*" for any).
    forwarded_allow_ips: str = ""
    # People (docs/personal-data.md): below this age a guardian confirms conditions.
    minor_age_below: int = 18
    person_session_minutes: int = 60
    reauthentication_minutes: int = 5

    @field_validator("market_fee_bps")
    @classmethod
    def _fee_in_range(cls, value: int) -> int:
        if not 0 <= value <= 10_000:
            raise ValueError("market_fee_bps must be between 0 and 10000 (basis points)")
        return value

    @field_validator("market_invoice_registration_number")
    @classmethod
    def _registration_number(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        problem = registration_number_problem(value.strip(), corporation=True)
        if problem is not None:
            raise ValueError(f"market_invoice_registration_number: {problem}")
        return value.strip()

    @field_validator("payment_terms_days")
    @classmethod
    def _terms_in_range(cls, value: int) -> int:
        if not 0 <= value <= 365:
            raise ValueError("payment_terms_days must be between 0 and 365")
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> "Settings":
        if self.environment == "development":
            return self
        for name in ("master_key", "stripe_api_key", "stripe_webhook_secret"):
            value = getattr(self, name)
            if value is not None and value.strip().lower() in PLACEHOLDER_SECRETS:
                raise InsecureSettings(
                    f"DATAMARKET_{name.upper()} is a placeholder; set a real secret "
                    f"or use DATAMARKET_ENVIRONMENT=development"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'market.db').as_posix()}"

    def resolved_master_key(self) -> bytes:
        """The 32-byte master key: given, read from its file, or generated (never in production)."""
        if self.master_key and self.master_key_file is not None:
            raise InsecureSettings(
                "set DATAMARKET_MASTER_KEY or DATAMARKET_MASTER_KEY_FILE, not both"
            )
        if self.master_key:
            return _decode_key(self.master_key)
        if self.master_key_file is not None:
            if self.environment == "production" and _inside(self.master_key_file, self.data_dir):
                raise InsecureSettings(
                    "in production the master key file must not be kept in the data directory "
                    f"({self.data_dir}), where a copy of the data would carry its key; "
                    "move it (e.g. to a mounted secret) and set DATAMARKET_MASTER_KEY_FILE"
                )
            return _decode_key(self.master_key_file.read_text().strip())
        if self.environment == "production":
            raise InsecureSettings(
                "production never generates a master key: set DATAMARKET_MASTER_KEY or "
                "DATAMARKET_MASTER_KEY_FILE (a file outside the data directory); "
                "`datamarket storage new-key` prints a fresh one"
            )
        key_file = self.data_dir / "master.key"
        if not key_file.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_hex(32))
        return _decode_key(key_file.read_text().strip())

    def resolved_previous_master_keys(self) -> list[bytes]:
        """Master keys kept for reading blobs they sealed, while a rotation rewrites them."""
        return [_decode_key(k.strip()) for k in self.previous_master_keys.split(",") if k.strip()]


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _decode_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise InsecureSettings("the master key must be 64 hexadecimal characters") from None
    if len(key) != 32:
        raise InsecureSettings("the master key must be 32 bytes (64 hexadecimal characters)")
    return key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()

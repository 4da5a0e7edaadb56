"""One settings class for the whole market, read from `DATAMARKET_*` environment variables."""

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    master_key: str | None = None
    market_fee_bps: int = 1000
    max_upload_bytes: int = 50 * 1024 * 1024
    default_credit_limit_yen: int = 1_000_000

    @field_validator("market_fee_bps")
    @classmethod
    def _fee_in_range(cls, value: int) -> int:
        if not 0 <= value <= 10_000:
            raise ValueError("market_fee_bps must be between 0 and 10000 (basis points)")
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> "Settings":
        if self.environment == "development":
            return self
        for name in ("master_key", "stripe_api_key"):
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
        """The 32-byte master key: configured, or generated into the data directory on first run."""
        if self.master_key:
            return _decode_key(self.master_key)
        key_file = self.data_dir / "master.key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_hex(32))
        return _decode_key(key_file.read_text().strip())


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

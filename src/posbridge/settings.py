"""Application settings, read once at the edge (CLI or app factory) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AppSettings"]


class AppSettings(BaseSettings):
    """Where posbridge keeps its data and its encryption key.

    `database_url` is any SQLAlchemy URL; the default is an SQLite file in the working
    directory. `secret_key` encrypts stored credentials; without it a random key is
    generated once into `key_file` (mode 0600).
    """

    model_config = SettingsConfigDict(env_prefix="POSBRIDGE_", extra="ignore")

    database_url: str = Field(default="sqlite:///posbridge.db")
    secret_key: SecretStr | None = None
    key_file: Path | None = None

    def resolved_key_file(self) -> Path:
        """The key file: explicit, or next to an SQLite database, or in the cwd."""
        if self.key_file is not None:
            return self.key_file
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            db_path = Path(self.database_url[len(prefix) :])
            return db_path.with_name(db_path.name + ".key")
        return Path("posbridge.key")

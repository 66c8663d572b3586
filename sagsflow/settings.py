"""All configuration in one place, from SAGSFLOW_* environment variables."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAGSFLOW_", extra="ignore")

    # Any SQLAlchemy URL; PostgreSQL as postgresql://user@host:port/db.
    database_url: str = "sqlite:///./sagsflow.db"
    # The municipality a new case belongs to unless --municipality says otherwise.
    municipality: str = "demo"
    # Extra rulebook directories (same layout as rulebooks/), separated by ':'.
    rulebook_dirs: str = ""
    # Teams, leaders, caseworkers and their e-mail addresses; default: the shipped demo file.
    org_file: str = ""
    # Mail: an SMTP relay on the municipality's network (tests run a local one).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "sagsflow@kommune.test"
    # Optional JSON webhook that receives every notification as well.
    webhook_url: str = ""
    # Attempts before a failing notification is parked for a person (backoff: sagsflow/delivery.py;
    # the default 12 span about 1.5 hours).
    mail_max_attempts: int = Field(default=12, ge=1)
    # One mail per recipient and delivery run, listing their cases worst first (false: one mail
    # per notification).
    mail_bundle: bool = True
    # Signs the dashboard's session cookies; empty: a random key kept in state/secret_key.
    secret_key: str = ""
    # A dashboard session unused this many minutes ends (besides ending 12 hours after sign-in).
    session_idle_minutes: int = Field(default=30, ge=1, le=12 * 60)
    # The audit trail's MAC keys (docs/decisions/019-keyed-chain-and-checkpoints.md): `id:hex`
    # pairs separated by ',' (oldest first; the last MACs new records), else the key file below,
    # made (0600) on first start. Never in the database.
    audit_key: str = ""
    # With audit_key: from when every record must be keyed (ISO instant with offset); the key
    # file keeps its own (its first key's creation).
    audit_keyed_since: str = ""
    audit_key_file: str = "state/audit-keys.json"
    # The append-only file outside the database that every signed checkpoint is written to.
    checkpoint_file: str = "state/audit-checkpoints.jsonl"
    # The dialect of every CSV written (the compliance report, the audit export): `standard`
    # (comma, decimal point, UTF-8) or `excel-da` (what Danish Excel opens: semicolon, decimal
    # comma, UTF-8 with BOM); `--csv-dialect` and the export's `dialect` override it.
    csv_dialect: Literal["standard", "excel-da"] = "standard"
    # The language of what the CLI prints (da or en; `--lang` overrides it).
    lang: str = "da"
    # Where people reach the dashboard, for the sign-in links the CLI prints.
    base_url: str = "http://127.0.0.1:8000"
    # The largest request body the API and the dashboard read (bytes; default 1 MiB): a larger
    # one is refused with 413 before it is parsed, signed in or not. The largest real request,
    # an action plan of a hundred goals of 2,000 characters, is about 200 kB.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # With a value, GET /metrics needs `Authorization: Bearer <it>`; empty: /metrics is open to
    # whoever reaches the address `serve` binds to, as Prometheus expects (docs/operations.md).
    metrics_token: str = ""

    def rulebook_directories(self) -> tuple[str, ...]:
        return tuple(d for d in self.rulebook_dirs.split(":") if d)


@cache
def settings() -> Settings:
    return Settings()

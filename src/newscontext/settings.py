"""Settings: where the archive lives and how politely we talk to other servers.

Defaults suit a cron job on one machine; every field can be set from the environment
(`NEWSCONTEXT_<FIELD>` upper case), and the CLI overrides the ones it has options for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from platformdirs import user_data_dir

from . import __version__


def default_db_path() -> Path:
    """`$NEWSCONTEXT_DB`, else `newscontext.sqlite3` in the user's data directory."""
    env = os.environ.get("NEWSCONTEXT_DB")
    if env:
        return Path(env)
    return Path(user_data_dir("newscontext")) / "newscontext.sqlite3"


@dataclass
class Settings:
    db: Path = field(default_factory=default_db_path)
    # Wikimedia asks API clients to identify themselves with a contact.
    user_agent: str = (
        f"newscontext/{__version__} (https://github.com/newscontext/newscontext; "
        "open news archive bot)"
    )
    api_url: str = "https://en.wikipedia.org/w/api.php"
    # Titles per request: the Action API's limit for ordinary clients.
    api_batch: int = 50
    # Wikimedia's advice for bots: back off when replication lag exceeds 5 seconds.
    api_maxlag: int = 5
    api_retries: int = 5
    api_timeout: float = 30.0
    # Longest single wait between retries, whatever a Retry-After header asks for.
    api_max_backoff: float = 120.0
    # First wait (seconds) before a retry when the server names none; doubles per try.
    # A setting so tests can make it tiny.
    api_backoff_base: float = 1.0

    # Where the published site lives: JSON and XML pages carry absolute URLs under it.
    site_url: str = "http://127.0.0.1:8000"
    # Source articles' full text belongs to their publishers: shown only if the operator
    # chooses to (exports and the database always hold it).
    publish_full_text: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then `NEWSCONTEXT_*` variables, then explicit overrides (non-None)."""
        settings = cls()
        for spec in fields(cls):
            raw = os.environ.get(f"NEWSCONTEXT_{spec.name.upper()}")
            if raw is not None and spec.name != "db":
                current = getattr(settings, spec.name)
                setattr(settings, spec.name, _parse(raw, type(current), spec.name))
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, Path(value) if name == "db" else value)
        return settings


def _parse(raw: str, kind: type, name: str) -> object:
    """An environment value as the field's type; booleans accept 1/0, true/false, yes/no."""
    if kind is bool:
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"NEWSCONTEXT_{name.upper()}={raw!r} is not a yes/no value")
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"NEWSCONTEXT_{name.upper()}={raw!r}: {exc}") from exc

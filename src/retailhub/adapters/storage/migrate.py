"""Schema migrations, runnable from an installed package (no ``alembic.ini`` needed).

The Alembic scripts live in ``migrations/`` next to this module; the ``Config`` is built in code
and the caller's engine is handed to ``migrations/env.py`` as an open connection.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

__all__ = ["MIGRATIONS", "alembic_config", "current_revision", "pending_migrations", "upgrade"]


def alembic_config(connection: sqlalchemy.Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts, optionally bound to ``connection``."""
    config = Config()
    # ConfigParser interpolates "%"; a path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: sqlalchemy.Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` up to ``revision``, in one transaction where the
    backend supports transactional DDL (PostgreSQL)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def _current_heads(engine: sqlalchemy.Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_heads()


def current_revision(engine: sqlalchemy.Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated.

    Raises if the database has several heads (branched history), which retailhub never creates.
    """
    heads = _current_heads(engine)
    if len(heads) > 1:
        raise RuntimeError(f"database is at several revisions: {', '.join(heads)}")
    return heads[0] if heads else None


def pending_migrations(engine: sqlalchemy.Engine) -> list[str]:
    """Revisions not yet applied to the database, oldest first. Empty when up to date."""
    script = ScriptDirectory.from_config(alembic_config())
    current = _current_heads(engine)
    applied = (
        {rev.revision for rev in script.iterate_revisions(current, "base")} if current else set()
    )
    everything = reversed(list(script.walk_revisions()))
    return [rev.revision for rev in everything if rev.revision not in applied]

"""Alembic environment for retailhub, shipped inside the package.

Normally driven through :mod:`retailhub.adapters.storage.migrate`, which builds the Alembic
``Config`` in code (no ``alembic.ini``) and hands over an open connection in
``config.attributes["connection"]``. Also usable with a ``sqlalchemy.url`` main option (a fresh
engine is created) and in offline mode (``alembic upgrade --sql``), which emits SQL for the URL's
dialect.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection, make_url

from retailhub.adapters.storage.tables import UtcDateTime, metadata

config = context.config
target_metadata = metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render retailhub's custom types as plain SQLAlchemy so migrations never import retailhub.

    ``UtcDateTime`` only converts values in Python; in the database it is its ``impl``,
    ``DateTime(timezone=True)``. ``BigInteger().with_variant(Integer, "sqlite")`` needs nothing:
    Alembic renders the variant itself.
    """
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "render_item": render_item,
        "compare_type": True,
        # SQLite can barely ALTER; batch mode copies the table instead.
        "render_as_batch": dialect_name == "sqlite",
    }


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("offline migrations need the sqlalchemy.url main option")
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller owns the connection and its transaction.
        _run_with(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            'pass a connection in config.attributes["connection"] or set sqlalchemy.url'
        )
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run_with(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""The packaged Alembic migrations build exactly the schema declared in ``tables.metadata``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from retailhub.adapters.storage import tables
from retailhub.adapters.storage.migrate import (
    alembic_config,
    current_revision,
    pending_migrations,
    upgrade,
)
from retailhub.adapters.storage.tables import metadata

VERSION_TABLE = "alembic_version"


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on the empty database, not yet migrated."""
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _schema(engine: sa.Engine) -> dict[str, dict[str, object]]:
    """Names of everything inspect() can see, per application table."""
    inspector = sa.inspect(engine)
    return {
        name: {
            "columns": sorted(c["name"] for c in inspector.get_columns(name)),
            "pk": sorted(inspector.get_pk_constraint(name)["constrained_columns"]),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(name)
                # PostgreSQL also reports the indexes backing unique constraints.
                if not i.get("duplicates_constraint")
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(name)
            ),
            "fks": sorted(
                (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(name)
            ),
        }
        for name in inspector.get_table_names()
        if name != VERSION_TABLE
    }


def _expected() -> dict[str, dict[str, object]]:
    expected: dict[str, dict[str, object]] = {}
    for name, table in metadata.tables.items():
        expected[name] = {
            "columns": sorted(c.name for c in table.columns),
            "pk": sorted(c.name for c in table.primary_key.columns),
            "indexes": sorted(
                (i.name, tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
            ),
            "uniques": sorted(
                (u.name, tuple(c.name for c in u.columns))
                for u in table.constraints
                if isinstance(u, sa.UniqueConstraint)
            ),
            "fks": sorted(
                (fk.name, tuple(fk.column_keys), fk.referred_table.name)
                for fk in table.foreign_key_constraints
            ),
        }
    return expected


def test_upgrade_creates_exactly_the_declared_schema(bare_engine: sa.Engine) -> None:
    assert current_revision(bare_engine) is None
    pending = pending_migrations(bare_engine)
    assert pending[0] == "0001" and pending[-1] == _head()

    upgrade(bare_engine)

    assert set(sa.inspect(bare_engine).get_table_names()) == {*metadata.tables, VERSION_TABLE}
    assert _schema(bare_engine) == _expected()
    assert current_revision(bare_engine) == _head()
    assert pending_migrations(bare_engine) == []


def test_upgrade_is_idempotent(engine: sa.Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == _head()


def test_autogenerate_sees_no_difference(engine: sa.Engine) -> None:
    # compare_type is on: UtcDateTime is compared through its impl (DateTime(timezone=True)) and
    # the Id variant through the dialect's own type, so no type-only noise is expected.
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_ids_autoincrement(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    row = {
        "source": "test", "topic": "t", "received_at": now,
        "status": "pending", "correlation_id": "c",
    }  # fmt: skip
    with engine.begin() as conn:
        ids = [
            conn.execute(
                tables.inbox.insert().values(event_id=f"e{n}", **row).returning(tables.inbox.c.id)
            ).scalar_one()
            for n in range(3)
        ]
        # Server-side autoincrement too, not just SQLAlchemy filling in ids.
        conn.execute(
            sa.text(
                "insert into inbox (source, event_id, topic, received_at, status,"
                " attempts, duplicates, correlation_id)"
                " values ('raw', 'e', 't', :at, 'pending', 0, 0, 'c')"
            ),
            {"at": now.replace(tzinfo=None)},
        )
        raw_id = conn.execute(sa.text("select id from inbox where source = 'raw'")).scalar_one()
        got = conn.execute(sa.select(tables.inbox.c.received_at).limit(1)).scalar_one()
    assert ids == [1, 2, 3]
    assert raw_id == 4
    assert got == now

    id_type = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("inbox")}["id"]
    if engine.dialect.name == "sqlite":
        # Only a column typed exactly INTEGER aliases the rowid.
        assert str(id_type) == "INTEGER"
    else:
        assert isinstance(id_type, sa.BigInteger)


def test_downgrade_to_base_and_back(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {VERSION_TABLE}
    assert current_revision(engine) is None
    upgrade(engine)
    assert set(sa.inspect(engine).get_table_names()) == {*metadata.tables, VERSION_TABLE}


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://"])
def test_offline_sql(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head", sql=True)
    sql = capsys.readouterr().out
    for name in metadata.tables:
        assert f"CREATE TABLE {name} " in sql
    if url.startswith("postgresql"):
        assert "id BIGSERIAL NOT NULL" in sql
    else:
        assert "id INTEGER NOT NULL" in sql

"""Database fixtures shared by the test suite.

``db_url`` runs a test once per backend:

* ``sqlite``: a fresh database file in the test's ``tmp_path``.
* ``postgres`` (marked ``postgres``): a fresh schema, ``t_<random>``, created in the database at
  ``RETAILHUB_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
  and dropped with CASCADE afterwards. The yielded URL carries
  ``?options=-csearch_path=<schema>``, which libpq sends at connect time, so every connection made
  from it (by any engine) creates and finds tables in that schema only. Tests that build their own
  engines from ``db_url`` must dispose them before the test ends, else the DROP can wait on them.
  If PostgreSQL is unreachable the test is skipped, or fails when ``RETAILHUB_REQUIRE_POSTGRES=1``
  (as in CI).

``engine`` is ``create_engine(db_url)`` migrated to head with ``retailhub``'s own ``upgrade()``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import retailhub.bootstrap as retailhub_bootstrap
from retailhub.adapters.storage.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    """An engine on the PostgreSQL test database (default schema), or skip/fail if unreachable."""
    url = sa.make_url(os.environ.get("RETAILHUB_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as err:
        engine.dispose()
        message = f"PostgreSQL unreachable at {url.render_as_string()}: {err.orig}"
        if os.environ.get("RETAILHUB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message} (RETAILHUB_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    yield engine
    engine.dispose()


# Every engine the hub makes during a test (bootstrap, the CLI's open_hub), so the test's
# connections are closed when it ends: with hundreds of PostgreSQL tests, pools left to the
# garbage collector add up to more clients than the server allows.
_HUB_ENGINES: list[sa.Engine] = []
_real_create_engine = retailhub_bootstrap.create_engine


def _tracking_create_engine(*args: object, **kwargs: object) -> sa.Engine:
    engine = _real_create_engine(*args, **kwargs)  # type: ignore[arg-type]
    _HUB_ENGINES.append(engine)
    return engine


retailhub_bootstrap.create_engine = _tracking_create_engine  # type: ignore[assignment]


def _dispose_hub_engines() -> None:
    while _HUB_ENGINES:
        _HUB_ENGINES.pop().dispose()


@pytest.fixture(autouse=True)
def _close_hub_connections() -> Iterator[None]:
    yield
    _dispose_hub_engines()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database, private to this test; see the module docstring."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'retailhub.db'}"
        return
    admin: sa.Engine = request.getfixturevalue("postgres_admin")
    schema = f"t_{uuid.uuid4().hex[:10]}"  # lowercase letters/digits: no quoting needed
    with admin.begin() as conn:
        conn.execute(sa.text(f"create schema {schema}"))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _dispose_hub_engines()  # before the drop, which would otherwise wait on them
        with admin.begin() as conn:
            conn.execute(sa.text(f"drop schema if exists {schema} cascade"))


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """``create_engine(db_url)``, migrated to head; disposed after the test."""
    engine = sa.create_engine(db_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()

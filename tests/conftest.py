"""Fixtures: a migrated database per run (SQLite, or PostgreSQL when asked), clean tables per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

# Read before the autouse fixture below clears the project's variables.
TEST_DATABASE_URL = os.environ.get("WORKBENCH_TEST_DATABASE_URL")
LS_URL = os.environ.get("WORKBENCH_LABEL_STUDIO_URL")
LS_KEY = os.environ.get("WORKBENCH_LABEL_STUDIO_API_KEY")
REQUIRE_LS = os.environ.get("WORKBENCH_REQUIRE_LABEL_STUDIO") == "1"
LS_DATA = os.environ.get("WORKBENCH_LS_DATA")
LS_VENV = os.environ.get("WORKBENCH_LS_VENV")
SHARED = Path(__file__).resolve().parents[2] / "shared"
REPO = Path(__file__).resolve().parents[1]

WEBHOOK_SECRET = "test-webhook-secret-0123456789"

# Every response dumped in a test is dumped twice, by workbench.fastdump's plan and by marshmallow
# itself, and must come out identical (a difference raises): the fast path is checked on every
# schema and every object the suite produces, not only on the cases its own tests thought of.
import workbench.fastdump  # noqa: E402

workbench.fastdump.CHECK = True


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Keep the developer's WORKBENCH_* settings out of the tests."""
    for name in list(os.environ):
        if name.startswith("WORKBENCH_"):
            monkeypatch.delenv(name, raising=False)


def _reset_postgres(url: str) -> None:
    from workbench.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """Create the test database by running the migrations, once per run."""
    from flask_migrate import upgrade

    from workbench import create_app

    if TEST_DATABASE_URL:
        _reset_postgres(TEST_DATABASE_URL)
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'workbench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        from workbench.db import db

        upgrade()
        db.session.remove()
        db.engine.dispose()
    return url


def base_config(database_url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "LABEL_STUDIO_URL": "http://127.0.0.1:9",  # nothing listens on the discard port
        "LABEL_STUDIO_API_KEY": "0" * 40,
        "SECRET_KEY": "test",
    }


def clear_tables() -> None:
    """Empty every table, children first, so each test starts from nothing."""
    from workbench.db import db

    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """The app on the migrated test database, with empty tables."""
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    from workbench import create_app

    app = create_app(base_config(database_url, tmp_path))
    with app.app_context():
        clear_tables()
    yield app
    with app.app_context():
        from workbench.db import db
        from workbench.labelstudio.webhook import dispose_intake_engines

        db.session.remove()
        dispose_intake_engines(app)
        db.engine.dispose()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin(app):
    from tests.factories import make_user

    return make_user("admin")


@pytest.fixture
def reviewer(app):
    from tests.factories import make_user

    return make_user("reviewer")


@pytest.fixture
def annotator(app):
    from tests.factories import make_user

    return make_user("annotator")


def shared_path(*parts: str) -> Path:
    """Return a path under ../shared, skipping the test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is not present ({path} missing)")
    return path


@pytest.fixture(scope="module")
def ls_client():
    """The real Label Studio started by scripts/label-studio (scripts/test.sh sets the env)."""
    from tests.ls_client_helpers import LabelStudioTestClient

    if not (LS_URL and LS_KEY):
        if REQUIRE_LS:
            pytest.fail("WORKBENCH_REQUIRE_LABEL_STUDIO=1 but no Label Studio URL/key in the environment")
        pytest.skip("no Label Studio: run through 'make test' (scripts/test.sh starts one)")
    client = LabelStudioTestClient(LS_URL, LS_KEY, timeout=60)
    if not client.health():
        if REQUIRE_LS:
            pytest.fail(f"Label Studio at {LS_URL} does not answer /health with this token")
        pytest.skip(f"Label Studio at {LS_URL} is not healthy")
    yield client
    client.close()


@pytest.fixture
def ls_project(app, ls_client):
    """A Label Studio project of the test's own (no webhook: the test delivers), deleted afterwards."""
    import secrets

    from workbench.labelstudio import service

    title = f"wb-rel-{secrets.token_hex(4)}"
    app.config.update(
        LABEL_STUDIO_URL=LS_URL,
        LABEL_STUDIO_API_KEY=LS_KEY,
        LABEL_STUDIO_PROJECT_TITLE=title,
        ANNOTATION_OVERLAP=2,
        WEBHOOK_SECRET=None,
    )
    result = service.bootstrap(actor="test")
    app.config["WEBHOOK_SECRET"] = WEBHOOK_SECRET
    yield title, result.project_id
    ls_client.delete_project(result.project_id)


@contextmanager
def fresh_redis(url: str) -> Iterator[Any]:
    """A Redis database of the test's own, emptied before and after; skip when no Redis answers."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    connection = Redis.from_url(url)
    try:
        connection.flushdb()
    except RedisDown:
        connection.close()
        pytest.skip(f"no Redis at {url}")
    try:
        yield connection
    finally:
        connection.flushdb()
        connection.close()

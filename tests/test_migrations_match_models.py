"""The models and the migrations describe the same schema (on SQLite and on PostgreSQL).

A column added to a model without a migration (or a migration that the models do not follow)
works in the tests that build tables from the models and fails on a real deployment, which
builds them with ``workbench db upgrade``. The test database here is built by the migrations
(tests/conftest.py), so alembic's autogenerate comparison against the models must find nothing.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from workbench.resources import migrations_directory


def test_one_head_and_the_database_is_at_it(app):
    from alembic.config import Config

    from workbench.db import db

    config = Config()
    config.set_main_option("script_location", str(migrations_directory()))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {heads}; merge them"
    with app.app_context():
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    assert set(current) == set(heads)


def test_models_and_migrations_agree(app):
    from workbench.db import db

    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": False,
                    "include_object": _modelled,
                },
            )
            differences = compare_metadata(context, db.metadata)
            if connection.dialect.name == "sqlite":
                differences = _without_reflected_expressions(differences, db.metadata)
    described = "\n".join(f"  {difference}" for difference in differences)
    assert not differences, (
        "the models and the migrations differ; write a migration (flask db migrate) or fix the "
        f"model:\n{described}"
    )


def _modelled(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out the claim search index (migration 0011): a virtual table, its shadow tables, a
    tsvector table kept by triggers; SQLAlchemy models none of them."""
    return not (type_ == "table" and name is not None and name.startswith("claim_search"))


def _without_reflected_expressions(differences: list, metadata) -> list:
    """Drop the remove/add pair SQLite reports for an index on an expression (``x DESC``).

    SQLite's reflection cannot read an expression back, so alembic always sees such an index
    as changed; the pair names the same index, which exists (PostgreSQL compares it in full).
    """
    expression_indexes = {
        index.name
        for table in metadata.tables.values()
        for index in table.indexes
        if any(not hasattr(part, "name") or part.name is None for part in index.expressions)
    }
    removed = {d[1].name for d in differences if isinstance(d, tuple) and d[0] == "remove_index"}
    added = {d[1].name for d in differences if isinstance(d, tuple) and d[0] == "add_index"}
    both = expression_indexes & removed & added
    return [
        d
        for d in differences
        if not (isinstance(d, tuple) and d[0] in ("remove_index", "add_index") and d[1].name in both)
    ]

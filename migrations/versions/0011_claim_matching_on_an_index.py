"""claim matching on an index: candidates from the database, not from Python

A search table ``claim_search`` holds every claim's terms, kept by triggers on ``claims`` so
that no code path can forget it: PostgreSQL full-text search (a stored ``tsvector`` with a GIN
index: no extension needed) and, on SQLite, an FTS5 virtual table. The matcher asks it for the
few claims that share the rarest words of a new claim and scores only those in Python.

The models do not describe this table (SQLAlchemy cannot model a virtual table or a trigger);
tests/test_migrations_match_models.py leaves it out of the comparison.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 23:10:00

"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The trigger comes first (it locks claims against writes until the migration commits), then
# the claims already stored are copied, then the index is built over them in one pass.
_POSTGRES_UP = [
    """
    CREATE TABLE claim_search (
        claim_id integer PRIMARY KEY REFERENCES claims (id) ON DELETE CASCADE,
        terms tsvector NOT NULL
    )
    """,
    """
    CREATE FUNCTION claim_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO claim_search (claim_id, terms) VALUES (NEW.id, to_tsvector('english', NEW.text))
        ON CONFLICT (claim_id) DO UPDATE SET terms = EXCLUDED.terms;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER claim_search_sync AFTER INSERT OR UPDATE OF text ON claims
    FOR EACH ROW EXECUTE FUNCTION claim_search_sync()
    """,
    "INSERT INTO claim_search (claim_id, terms) SELECT id, to_tsvector('english', text) FROM claims",
    # fastupdate off: new entries go straight into the index. With it on, they wait in a pending
    # list (up to gin_pending_list_limit, 4 MB) that every search reads through entry by entry:
    # 0.1 to 0.2 s a lookup, whatever its words, once the archive has taken a few thousand claims.
    "CREATE INDEX ix_claim_search_terms ON claim_search USING gin (terms) WITH (fastupdate = off)",
]
_POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS claim_search_sync ON claims",
    "DROP FUNCTION IF EXISTS claim_search_sync()",
    "DROP TABLE IF EXISTS claim_search",
]

# rowid is the claim's id. Triggers, not the ORM, keep it: a claim written by any path is found.
_SQLITE_UP = [
    "CREATE VIRTUAL TABLE claim_search USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2')",
    """
    CREATE TRIGGER claim_search_insert AFTER INSERT ON claims BEGIN
        INSERT INTO claim_search (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER claim_search_update AFTER UPDATE OF text ON claims BEGIN
        DELETE FROM claim_search WHERE rowid = old.id;
        INSERT INTO claim_search (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER claim_search_delete AFTER DELETE ON claims BEGIN
        DELETE FROM claim_search WHERE rowid = old.id;
    END
    """,
    "INSERT INTO claim_search (rowid, text) SELECT id, text FROM claims",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS claim_search_insert",
    "DROP TRIGGER IF EXISTS claim_search_update",
    "DROP TRIGGER IF EXISTS claim_search_delete",
    "DROP TABLE IF EXISTS claim_search",
]


def _run(statements: dict[str, list[str]]) -> None:
    name = op.get_bind().dialect.name
    if name not in statements:
        raise NotImplementedError(f"claim matching has no search index for {name}")
    for statement in statements[name]:
        op.execute(statement)


def upgrade():
    _run({"postgresql": _POSTGRES_UP, "sqlite": _SQLITE_UP})


def downgrade():
    _run({"postgresql": _POSTGRES_DOWN, "sqlite": _SQLITE_DOWN})

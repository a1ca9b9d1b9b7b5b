"""One long article's ingest (PostgreSQL): the matcher's index lookups as shipped, against all of
them in one statement with the server's JIT setting left alone (the code before).

Usage:
    .venv/bin/python bench/long_article.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/wb_long
        [--claims 5000] [--rounds 2]

Wipes the database, migrates it, then in alternating rounds ingests a new article of
``--claims`` sentences ("The port of X handled N containers in YEAR, …") through the API, as
shipped and with ``search.CHUNK`` set past the number of claims and JIT not switched off. Prints
each ingest's seconds and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def text(claims: int, place: str) -> str:
    return " ".join(
        f"The port of {place} handled {1000 + i} containers in {2000 + i % 20}, up {2 + i % 3} percent "
        "on the year before."
        for i in range(claims)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (wiped)")
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from workbench import create_app
    from workbench.auth import create_user
    from workbench.config import normalise_database_url
    from workbench.db import db
    from workbench.matching import search

    engine = sa.create_engine(normalise_database_url(args.database_url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context():
        upgrade()
        _, token = create_user("bench@example.org", "admin", "Bench")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()

    shipped = (search.CHUNK, search.JIT_OFF)
    times: dict[str, list[float]] = {"shipped": [], "one statement, JIT as configured": []}
    n = 0
    for round_ in range(args.rounds):
        order = list(times)
        for name in order if round_ % 2 == 0 else reversed(order):
            n += 1
            search.CHUNK, search.JIT_OFF = shipped if name == "shipped" else (args.claims + 1, False)
            started = time.perf_counter()
            response = client.post(
                "/api/v1/articles",
                json={"text": text(args.claims, f"Place{n}"), "title": f"Long {n}"},
                headers=headers,
            )
            seconds = time.perf_counter() - started
            assert response.status_code == 201, response.get_data(as_text=True)[:300]
            times[name].append(seconds)
            print(f"{name:<34} {seconds:6.1f} s", flush=True)
    search.CHUNK, search.JIT_OFF = shipped
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"medians over {args.rounds} rounds of an article of {args.claims} claims:")
    for name, value in medians.items():
        print(f"  {name:<34} {value:6.1f} s")


if __name__ == "__main__":
    main()

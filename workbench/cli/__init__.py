"""The ``workbench`` command line: thin commands over the domain packages.

Every command fails with one ``error: …`` line on standard error and a non-zero exit, never a
traceback; ``WORKBENCH_DEBUG=1`` re-raises all but WorkbenchErrors, to show their traceback.
Commands never read standard input, so none can hang waiting for it.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

import click
from flask.cli import FlaskGroup

from workbench.errors import WorkbenchError

# Click's own control flow (usage errors, --help exits, Ctrl-C) and a closed pipe (``| head``),
# which click's main() already turns into a quiet exit.
_PASS_THROUGH = (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError)


def create_cli_app(*_args: Any, **_kwargs: Any):
    from workbench import create_app
    from workbench.db import mark_writer

    # A command's SQLite transactions begin as the writer, so what it reads cannot change
    # before it writes (threads a command starts, such as serve's, begin as readers).
    mark_writer()
    return create_app()


def _debug() -> bool:
    return os.environ.get("WORKBENCH_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0].strip() if text else ""


def _problem_text(problems: Any) -> str:
    """Render one field's problems, whatever their type (list, string, number, dict)."""
    if isinstance(problems, list | tuple | set | frozenset):
        return ", ".join(_problem_text(p) for p in problems)
    return str(problems)


def _problem_lines(errors: Any, prefix: str = "") -> Iterator[str]:
    """Yield one ``field: problems`` line per field of a WorkbenchError's ``errors``."""
    if isinstance(errors, Mapping):
        for field, problems in errors.items():
            if isinstance(problems, Mapping) and problems:
                yield from _problem_lines(problems, f"{prefix}{field}.")
            else:
                yield f"{prefix}{field}: {_problem_text(problems)}"
    elif errors:
        yield _problem_text(errors)


def _database_problem(exc: Exception) -> str:
    """Describe a SQLAlchemy failure in one line, naming the database without its password."""
    import sqlalchemy as sa

    url = None
    try:
        from workbench.db import db

        url = db.engine.url
    except Exception:  # noqa: BLE001 - no app (it failed to build) or no engine: name no URL
        pass
    where = f" at {url.render_as_string(hide_password=True)}" if url is not None else ""
    if not isinstance(exc, sa.exc.DBAPIError):
        return f"database problem{where}: {type(exc).__name__}: {_first_line(exc)}"
    detail = _first_line(exc.orig if exc.orig is not None else exc)
    if url is not None and url.password:
        detail = detail.replace(str(url.password), "***")
    # SQLAlchemy records no statement when the connection itself could not be made.
    verb = "reach" if exc.statement is None else "use"
    missing_table = "no such table" in detail or type(exc.orig).__name__ == "UndefinedTable"
    hint = " (run 'workbench db upgrade' first)" if missing_table else ""
    return f"cannot {verb} the database{where}: {detail}{hint}"


def error_lines(exc: Exception) -> list[str]:
    """Return the lines that report ``exc``: one ``error:`` line, then a WorkbenchError's fields."""
    import sqlalchemy as sa

    if isinstance(exc, WorkbenchError):
        return [f"error: {exc.message}", *(f"  {line}" for line in _problem_lines(exc.errors))]
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return [f"error: {_database_problem(exc)}"]
    message = _first_line(exc)
    return [
        f"error: unexpected {type(exc).__name__}{': ' + message if message else ''} "
        "(set WORKBENCH_DEBUG=1 for the traceback)"
    ]


def _exit_with(exc: Exception) -> NoReturn:
    for line in error_lines(exc):
        click.echo(line, err=True)
    sys.exit(1)


def _rollback() -> None:
    """Drop the failed transaction; when the database is down there is nothing to roll back."""
    try:
        from workbench.db import db

        db.session.rollback()
    except Exception:  # noqa: BLE001 - reporting the first error matters more than this one
        pass


def fails_cleanly(func: Callable) -> Callable:
    """Turn any failure into a one-line ``error:`` message and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return func(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            _rollback()
            if _debug() and not isinstance(exc, WorkbenchError):
                raise
            _exit_with(exc)

    return wrapper


class WorkbenchGroup(FlaskGroup):
    """Flask's group, also reporting in one line what fails outside a command's own code.

    That is building the app (a malformed ``WORKBENCH_*`` setting) and Flask-Migrate's ``db``
    subcommands we do not define ourselves.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            if _debug() and not isinstance(exc, WorkbenchError):
                raise
            _exit_with(exc)


@click.group(
    cls=WorkbenchGroup,
    create_app=create_cli_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """Fact-check workbench: article → claims → Label Studio → verdicts → export."""


from workbench.cli import (  # noqa: E402,F401
    articles_cmd,
    audit_cmd,
    backup_cmd,
    db_cmd,
    demo_cmd,
    export_cmd,
    labelstudio_cmd,
    matching_cmd,
    model_cmd,
    outbound_cmd,
    users_cmd,
    worker_cmd,
)

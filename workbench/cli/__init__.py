"""The ``workbench`` command line: thin commands over the domain packages."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click
from flask.cli import FlaskGroup

from workbench.errors import WorkbenchError


def create_cli_app(*_args: Any, **_kwargs: Any):
    from workbench import create_app

    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=create_cli_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """Fact-check workbench: article → claims → Label Studio → verdicts → export."""


def fails_cleanly(func: Callable) -> Callable:
    """Turn workbench errors into a one-line message and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            from workbench.db import db

            db.session.rollback()
            click.echo(f"error: {exc.message}", err=True)
            for field, problems in (exc.errors or {}).items():
                click.echo(f"  {field}: {', '.join(map(str, problems))}", err=True)
            sys.exit(1)

    return wrapper


from workbench.cli import (  # noqa: E402,F401
    articles_cmd,
    audit_cmd,
    demo_cmd,
    export_cmd,
    labelstudio_cmd,
    model_cmd,
    users_cmd,
)

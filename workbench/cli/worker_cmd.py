"""``workbench worker``: run queued jobs, and the scheduled reconcile."""

from __future__ import annotations

import click

from workbench.cli import fails_cleanly, main


@main.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then exit.")
@fails_cleanly
def worker_command(burst: bool) -> None:
    """Work the RQ queue on WORKBENCH_REDIS_URL; queue a sync every WORKBENCH_SYNC_INTERVAL seconds."""
    from flask import current_app

    from workbench import worker

    worker.run(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]

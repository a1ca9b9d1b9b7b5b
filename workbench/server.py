"""``workbench serve``'s server: gunicorn, with workers and threads, logging the workbench's way.

Each worker process builds its own app from the environment (``create_app()``) after the fork,
so no database connection is ever shared between processes. Requests run on gunicorn's threaded
worker (``gthread``): a request that waits on Label Studio ties up one thread, never a whole
process, and never misses the worker's heartbeat.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from gunicorn.app.base import BaseApplication

from workbench.logging_setup import log_format, logging_config


class WorkbenchServer(BaseApplication):
    """gunicorn, configured from ``serve``'s options, then from ``GUNICORN_CMD_ARGS``."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__(prog="workbench serve")

    def load_config(self) -> None:
        assert self.cfg is not None
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Any other gunicorn setting (timeouts, TLS, a proxy's address…) without a new option here.
        extra = os.environ.get("GUNICORN_CMD_ARGS")
        if extra:
            parsed = self.cfg.parser().parse_args(shlex.split(extra))
            for key, value in vars(parsed).items():
                if value is not None and key in self.cfg.settings and key != "args":
                    self.cfg.set(key.lower(), value)

    def load(self):
        import gc

        from workbench import create_app

        app = create_app()
        # The ~220,000 objects a worker holds once its app is built (SQLAlchemy, marshmallow,
        # Flask) live as long as the worker: keep them out of the collector's full passes, which
        # otherwise walk them all and stall a request for 140-440 ms (measured on the review queue).
        gc.collect()
        gc.freeze()
        return app


def bind_address(host: str, port: int) -> str:
    """Return gunicorn's ``bind`` for a host and port (IPv6 literals in brackets)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run gunicorn in the foreground until it is told to stop (SIGTERM, SIGINT)."""
    server = WorkbenchServer(
        {
            "bind": [bind_address(host, port)],
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "proc_name": "workbench",
            # Our request lines replace gunicorn's access log; its own lines share their format.
            "accesslog": None,
            "logconfig_dict": logging_config(log_format()),
            # gunicorn 25's control socket sits at one path per user: two servers would fight over it.
            "control_socket_disable": True,
            "when_ready": lambda arbiter: arbiter.log.info(
                "workbench serving on http://%s: %d worker(s) x %d thread(s)",
                bind_address(host, port),
                workers,
                threads,
            ),
        }
    )
    server.run()

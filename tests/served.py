"""``workbench serve`` in its own process, over real HTTP, on the test database."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.conftest import REPO, WEBHOOK_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process a test started, by its pid: politely, then for good.

    A process started in a session of its own (``start_new_session=True``, as ``workbench serve``
    is: gunicorn's master and its workers) is stopped with everything left in its process group,
    so a master killed before its workers finished their graceful shutdown leaves no worker
    behind (they outlived full CI runs before)."""
    own_group = _leads_own_group(process.pid)
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
    if own_group:
        # The group keeps the master's pid as its id while any member lives, so this reaches
        # only what this process started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _leads_own_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


@contextmanager
def workbench_serve(database_url: str, instance: Path, **env: str) -> Iterator[str]:
    """Start the real console script ``workbench serve``; yield its base URL; stop it by its pid."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE_PATH": str(instance),
        "WORKBENCH_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WORKBENCH_SECRET_KEY": "test",
        "WORKBENCH_LABEL_STUDIO_URL": "http://127.0.0.1:9",
        "WORKBENCH_LABEL_STUDIO_API_KEY": "0" * 40,
        "WORKBENCH_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # Deliveries placed in the request, so a test reads them stored once answered; tests of
        # the served default (a placer thread) pass WORKBENCH_WEBHOOK_PLACING="background".
        "WORKBENCH_WEBHOOK_PLACING": "inline",
        **env,
    }
    script = Path(sys.executable).with_name("workbench")
    log = open(instance / "serve.log", "w+b")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its workers share its group: stop() ends them all
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"workbench serve exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("workbench serve did not answer /health within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        stop(process)
        log.close()

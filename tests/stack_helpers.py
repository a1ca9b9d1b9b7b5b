"""``scripts/stack`` started by a test: its addresses and processes, and the faults done to them.

The stack runs on its own PostgreSQL database (``wb_stack_tests`` on the server of
``WORKBENCH_TEST_DATABASE_URL``), its own Redis db (13), its own Label Studio (a free port, data
in the test's temporary directory), two ``workbench serve`` processes behind nginx and two RQ
workers. Only processes this stack started are ever signalled, by the pids its run dir records.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.conftest import REPO

STACK_SCRIPT = REPO / "scripts" / "stack"
STACK_DB = os.environ.get("WORKBENCH_TEST_STACK_DB", "wb_stack_tests")
STACK_REDIS_URL = os.environ.get("WORKBENCH_TEST_STACK_REDIS_URL", "redis://127.0.0.1:6379/13")
HOOK = "/api/v1/hooks/label-studio"
WEBHOOK_HEADER = "X-Workbench-Webhook-Secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``NAME=value`` lines (values as ``printf %q`` wrote them) through bash itself."""
    script = f"set -a; . {shlex.quote(str(path))}; set +a; env -0"
    out = subprocess.run(
        ["bash", "-c", script], capture_output=True, check=True, env={"PATH": "/usr/bin:/bin"}
    ).stdout
    pairs = (item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    return {k: v for k, v in pairs if k.startswith("WORKBENCH_")}


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: its session id and state."""
    out = subprocess.run(
        ["ps", "-e", "-o", "pid=,sid=,stat="], capture_output=True, text=True, check=True
    ).stdout
    return {int(pid): (int(sid), stat) for pid, sid, stat in (line.split() for line in out.splitlines())}


def session_pids(leader: int) -> list[int]:
    """Every live process in the session ``leader`` leads (scripts/stack starts each part in its own)."""
    return [pid for pid, (sid, stat) in _processes().items() if sid == leader and not stat.startswith("Z")]


def kill_session(leader: int) -> list[int]:
    """SIGKILL a part of the stack and everything in its session (its leader's pid was recorded by
    scripts/stack, which this test ran); return the pids killed."""
    pids = session_pids(leader)
    assert leader in pids, f"pid {leader} does not lead a session of its own: not one the stack started"
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def all_dead() -> bool:
        live = _processes()
        return not any(pid in live and not live[pid][1].startswith("Z") for pid in pids)

    wait_until(all_dead, 10, f"the killed processes {pids} to die")
    return pids


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def claims_text(n: int, place: str) -> str:
    """An article of ``n`` distinct statistical sentences (one claim each), five to a paragraph."""
    parts = []
    for i in range(n):
        parts.append(
            f"The port of {place} handled {1000 + i} containers in {2000 + i % 30}, "
            f"up {i % 17 + 2} percent on the year before."
        )
        parts.append("\n\n" if i % 5 == 4 else " ")
    return "".join(parts)


@dataclass
class Stack:
    """A stack started by ``scripts/stack up`` for the tests."""

    dir: Path
    env: dict[str, str]  # what scripts/stack runs with
    database_url: str
    url: str  # nginx: the stack's one address
    settings: dict[str, str] = field(default_factory=dict)  # what its processes run with
    admin_token: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    # -- the script

    def script(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(STACK_SCRIPT), *args],
            env=self.env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def up(self) -> subprocess.CompletedProcess:
        done = self.script("up")
        assert done.returncode == 0, f"scripts/stack up failed:\n{done.stderr[-4000:]}\n{self.log_tails()}"
        self.settings = read_env_file(self.dir / "stack.env")
        self.admin_token = (self.dir / "secrets" / "admin-token").read_text().splitlines()[0].strip()
        return done

    def pid(self, name: str) -> int | None:
        path = self.dir / "run" / f"{name}.pid"
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None

    def log_tails(self, lines: int = 30) -> str:
        out = []
        for log in sorted((self.dir / "logs").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    # -- the workbench, through nginx

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def label_studio_url(self) -> str:
        return self.settings["WORKBENCH_LABEL_STUDIO_URL"]

    @property
    def label_studio_key(self) -> str:
        return self.settings["WORKBENCH_LABEL_STUDIO_API_KEY"]

    @property
    def webhook_secret(self) -> str:
        return self.settings["WORKBENCH_WEBHOOK_SECRET"]

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 120)
        return self.session.request(method, self.url + path, headers=self.headers, **kwargs)

    def ingest(self, text: str, title: str) -> dict:
        response = self.api("POST", "/api/v1/articles", json={"text": text, "title": title}, timeout=300)
        assert response.status_code == 201, response.text[:500]
        body = response.json()
        body.pop("text", None)
        return body

    def start_job(self, what: str) -> str:
        """Queue ``labelstudio.push`` or ``labelstudio.sync`` through the API; return the job id."""
        response = self.api("POST", f"/api/v1/labelstudio/{what}")
        assert response.status_code == 202, response.text[:500]
        return response.json()["id"]

    def job(self, job_id: str) -> dict:
        response = self.api("GET", f"/api/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text[:500]
        return response.json()

    def wait_job(self, job_id: str, timeout: float = 180) -> dict:
        return wait_until(
            lambda: (body := self.job(job_id))["status"] in ("finished", "failed") and body,
            timeout,
            f"job {job_id} to end\n{self.log_tails()}",
            interval=0.5,
        )

    def run_job(self, what: str, timeout: float = 180) -> dict:
        done = self.wait_job(self.start_job(what), timeout)
        assert done["status"] == "finished", done
        return done["result"]

    def deliver(self, body: dict | str, session: requests.Session | None = None) -> requests.Response:
        """Post a webhook delivery to nginx, as Label Studio does."""
        data = body if isinstance(body, str) else json.dumps(body)
        return (session or requests).post(
            self.url + HOOK,
            data=data,
            headers={WEBHOOK_HEADER: self.webhook_secret, "Content-Type": "application/json"},
            timeout=60,
        )


@contextmanager
def running_stack(directory: Path, database_url: str, **settings: str) -> Iterator[Stack]:
    """``scripts/stack up`` on free ports, yield the stack, then ``scripts/stack down``."""
    port, web_a, web_b, ls_port = (free_port() for _ in range(4))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "STACK_"))},
        "STACK_DIR": str(directory),
        "STACK_DATABASE_URL": database_url,
        "STACK_REDIS_URL": STACK_REDIS_URL,
        "STACK_PORT": str(port),
        "STACK_WEB_PORTS": f"{web_a} {web_b}",
        "STACK_WORKERS": "2",
        "STACK_LS_PORT": str(ls_port),
        "STACK_LS_DATA": str(directory / "label-studio"),
        "STACK_STOP_TIMEOUT": "20",
        "VENV": str(Path(sys.executable).parent.parent),
        **settings,
    }
    if os.environ.get("WORKBENCH_LS_VENV"):
        env["WORKBENCH_LS_VENV"] = os.environ["WORKBENCH_LS_VENV"]
    stack = Stack(directory, env, database_url, f"http://127.0.0.1:{port}")
    try:
        stack.up()
        yield stack
    finally:
        stack.session.close()
        done = stack.script("down", timeout=180)
        if done.returncode != 0:
            print(f"scripts/stack down failed:\n{done.stderr[-2000:]}")


@contextmanager
def database_outage(
    maintenance_url: str, name: str, down: float = 1.0, up: float = 1.0
) -> Iterator[list[int]]:
    """Take the stack's database away and back, again and again, until the block ends.

    Each cycle does to this one database what a restart of PostgreSQL does to every database:
    every open connection is cut (``pg_terminate_backend``) and new ones are refused
    (``ALLOW_CONNECTIONS false``) for ``down`` seconds; then connections are let in for ``up``
    seconds. The server itself, and every other database on it, is never touched. Yields a
    one-item list holding the number of cycles begun so far.
    """
    import threading

    import psycopg
    from psycopg import sql

    assert name.startswith("wb_stack"), f"refusing to take {name!r} away: not a stack database"
    alter = sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format
    stop = threading.Event()
    cycles = [0]
    failures: list[BaseException] = []

    def cycle() -> None:
        try:
            with psycopg.connect(maintenance_url, autocommit=True) as admin:
                try:
                    while not stop.is_set():
                        admin.execute(alter(sql.Identifier(name), sql.SQL("false")))
                        admin.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s AND pid <> pg_backend_pid()",
                            (name,),
                        )
                        cycles[0] += 1
                        stop.wait(down)
                        admin.execute(alter(sql.Identifier(name), sql.SQL("true")))
                        stop.wait(up)
                finally:
                    admin.execute(alter(sql.Identifier(name), sql.SQL("true")))
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    thread = threading.Thread(target=cycle, name="database-outage", daemon=True)
    thread.start()
    try:
        yield cycles
    finally:
        stop.set()
        thread.join(timeout=30)
        if failures:
            raise failures[0]

"""docker-compose.yml describes the stack ``scripts/stack`` runs natively, and is valid.

``docker-compose config`` (Debian's package ``docker-compose``) checks the file without a Docker
engine; without the binary that test skips and says so. The nginx template both use is checked
with nginx itself, and Label Studio's database script against the local PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_DATABASE_URL

COMPOSE = shutil.which("docker-compose")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
TEMPLATE = REPO / "deploy" / "nginx" / "workbench.conf.template"
# What docker-compose.yml requires from the environment (it refuses to start without them).
SECRETS = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "LABEL_STUDIO_TOKEN": "0123456789abcdef0123456789abcdef01234567",
    "LABEL_STUDIO_ADMIN_EMAIL": "admin@example.org",
    "LABEL_STUDIO_ADMIN_PASSWORD": "compose-test-admin",
    "WORKBENCH_WEBHOOK_SECRET": "compose-test-webhook",
    "WORKBENCH_SECRET_KEY": "compose-test-key",
}
NO_COMPOSE = (
    "docker-compose is not installed (apt-get install docker-compose: it checks the file, no engine needed)"
)


def compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        **env,
    }
    return subprocess.run(
        [COMPOSE, "--project-directory", str(REPO), "-f", str(REPO / "docker-compose.yml"), "config", *args],
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(COMPOSE is None, reason=NO_COMPOSE)
def test_docker_compose_config_validates_the_scale_out_stack():
    yaml = pytest.importorskip("yaml")
    checked = compose("--quiet", **SECRETS)
    assert checked.returncode == 0, checked.stderr
    rendered = compose(**SECRETS)
    assert rendered.returncode == 0, rendered.stderr
    services = yaml.safe_load(rendered.stdout)["services"]
    assert set(services) == {
        "postgres",
        "databases",
        "redis",
        "label-studio",
        "migrate",
        "bootstrap",
        "web-1",
        "web-2",
        "nginx",
        "worker-1",
        "worker-2",
    }

    def env(name: str) -> dict:
        return services[name].get("environment") or {}

    def after(name: str, other: str) -> str:
        return services[name]["depends_on"][other]["condition"]

    # Label Studio's database is created (by a one-shot service) before Label Studio starts.
    assert env("label-studio")["POSTGRE_NAME"] == env("databases")["LABEL_STUDIO_DB"]
    assert after("label-studio", "databases") == "service_completed_successfully"
    assert services["databases"]["command"] == ["sh", "/deploy/create-databases.sh"]
    # Label Studio reports nothing to third parties.
    assert env("label-studio")["SENTRY_DSN"] == env("label-studio")["FRONTEND_SENTRY_DSN"] == ""
    assert env("label-studio")["COLLECT_ANALYTICS"] == env("label-studio")["LATEST_VERSION_CHECK"] == "false"
    # One migration, run once; the web processes and workers wait for it.
    assert services["migrate"]["command"] == ["workbench", "db", "upgrade"]
    assert services["bootstrap"]["command"] == ["workbench", "labelstudio", "bootstrap"]
    for name in ("web-1", "web-2"):
        assert services[name]["command"][:2] == ["workbench", "serve"]
        assert after(name, "migrate") == "service_completed_successfully"
        assert "healthcheck" in services[name]
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"] == ["workbench", "worker"]
        assert after(name, "migrate") == "service_completed_successfully"
    # nginx, the one door, in front of both web processes; Label Studio's webhooks go to it.
    assert {after("nginx", "web-1"), after("nginx", "web-2")} == {"service_healthy"}
    upstreams = env("nginx")["WORKBENCH_UPSTREAM_SERVERS"]
    assert re.findall(r"server (\S+?):5000", upstreams) == ["web-1", "web-2"]
    assert any(
        v.endswith("/etc/nginx/templates/default.conf.template:ro") for v in services["nginx"]["volumes"]
    )
    workbench = [n for n, s in services.items() if (s.get("image") or "").startswith("workbench")]
    assert set(workbench) == {"migrate", "bootstrap", "web-1", "web-2", "worker-1", "worker-2"}
    for name in workbench:
        assert env(name)["WORKBENCH_PUBLIC_URL"] == "http://nginx"
        assert env(name)["WORKBENCH_DATABASE_URL"].endswith("@postgres:5432/workbench")
        assert env(name)["WORKBENCH_SECRET_KEY"] == SECRETS["WORKBENCH_SECRET_KEY"]


@pytest.mark.skipif(COMPOSE is None, reason=NO_COMPOSE)
def test_docker_compose_refuses_to_start_without_its_secrets():
    missing = compose("--quiet", **{k: v for k, v in SECRETS.items() if k != "POSTGRES_PASSWORD"})
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
def test_the_nginx_template_is_a_valid_configuration(tmp_path):
    """Rendered as the nginx image's entrypoint renders it (envsubst of the named variables)."""
    values = {
        "WORKBENCH_UPSTREAM_SERVERS": "server 127.0.0.1:9 max_fails=1 fail_timeout=5s; server 127.0.0.1:10;",
        "WORKBENCH_PROXY_LISTEN": "127.0.0.1:9",
        "WORKBENCH_PROXY_MAX_BODY": "16m",
    }
    text = TEMPLATE.read_text()
    assert set(re.findall(r"\$\{([A-Z_]+)\}", text)) == set(values)
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    (tmp_path / "workbench.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/workbench.conf; }}\n"
    )
    tested = subprocess.run(
        [NGINX, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert tested.returncode == 0, tested.stderr


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (WORKBENCH_TEST_DATABASE_URL)")
@pytest.mark.skipif(shutil.which("psql") is None, reason="needs psql (the postgres image has it)")
def test_the_compose_database_script_creates_label_studios_database_once():
    import sqlalchemy as sa

    url = sa.engine.make_url(TEST_DATABASE_URL)
    name = "wb_stack_compose_probe"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "LABEL_STUDIO_DB": name,
        **({"PGPASSWORD": url.password} if url.password else {}),
    }
    script = str(Path(REPO) / "deploy" / "postgres" / "create-databases.sh")

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(["sh", script], env=env, capture_output=True, text=True, timeout=60)

    drop = ["psql", "-d", "postgres", "-Atc", f"DROP DATABASE IF EXISTS {name}"]
    subprocess.run(drop, env=env, check=True, capture_output=True, timeout=60)
    try:
        first, second = run(), run()
        assert (first.returncode, first.stdout.strip()) == (0, f"database {name} created"), first.stderr
        assert (second.returncode, second.stdout.strip()) == (0, f"database {name} exists"), second.stderr
    finally:
        subprocess.run(drop, env=env, check=True, capture_output=True, timeout=60)
    refused = subprocess.run(
        ["sh", script], env={**env, "LABEL_STUDIO_DB": "x; DROP"}, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2

"""Acting as people in the real Label Studio: an annotator with their own login and token."""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from werkzeug.serving import make_server

from tests.conftest import LS_DATA, LS_URL, LS_VENV
from tests.factories import verdict_result


def give_password(email: str, password: str) -> None:
    """Set a password the way Label Studio documents it: its own reset_password command."""
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": LS_DATA or ""}
    subprocess.run(
        [f"{LS_VENV}/bin/label-studio", "reset_password", "--username", email, "--password", password],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def login_token(email: str, password: str, tries: int = 3) -> str:
    """Log in through Label Studio's form and read the user's own API token.

    A busy Label Studio (the whole suite runs against one) now and then answers the token request
    without a token; the login is tried again, and the last answer is named if none gives one.
    """
    answer = None
    for _ in range(tries):
        with requests.Session() as session:
            session.get(f"{LS_URL}/user/login/", timeout=30)
            form = {"email": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
            response = session.post(
                f"{LS_URL}/user/login/",
                data=form,
                headers={"Referer": f"{LS_URL}/user/login/"},
                allow_redirects=False,
                timeout=30,
            )
            assert response.status_code == 302, f"login failed for {email}: {response.status_code}"
            answer = session.get(f"{LS_URL}/api/current-user/token", timeout=30)
            token = answer.json().get("token") if answer.ok else None
            if token:
                return token
        time.sleep(1)
    raise AssertionError(f"Label Studio gave {email} no token: {answer.status_code} {answer.text[:300]}")


def new_annotator(client, prefix: str = "annotator") -> tuple[int, str, str]:
    """Create a Label Studio user who can log in; return (id, email, their token)."""
    email = f"{prefix}-{secrets.token_hex(4)}@example.org"
    user = client.create_user(email, first_name="Ann", last_name="Otator")
    password = secrets.token_hex(12)
    give_password(email, password)
    return int(user["id"]), email, login_token(email, password)


def annotate_as(token: str, task_id: int, verdict: str, rationale: str) -> dict:
    """Submit an annotation with the annotator's own token, as the Label Studio UI would."""
    result = verdict_result(verdict, rationale, "https://stats.example.org/source", 3)
    response = requests.post(
        f"{LS_URL}/api/tasks/{task_id}/annotations/",
        json={"result": result, "lead_time": 7.5},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


@contextmanager
def live_server(app) -> Iterator[str]:
    """Serve the app over real HTTP on a free loopback port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

"""The package as it ships: ``scripts/check-wheel`` builds the wheel, installs it into a fresh
virtualenv outside the checkout and migrates, ingests, exports and serves with it there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_DATABASE_URL

pytestmark = pytest.mark.wheel


@pytest.mark.skipif(
    bool(TEST_DATABASE_URL),
    reason="checked once per 'make test', in its SQLite pass: the check keeps its own SQLite database",
)
def test_the_wheel_installs_and_works_outside_the_checkout(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    environment.update(VENV=str(Path(sys.executable).parent.parent), TMPDIR=str(tmp_path))
    result = subprocess.run(
        [str(REPO / "scripts" / "check-wheel")],
        env=environment,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert result.stdout.rstrip().endswith("check-wheel: ok")

"""Shared fixtures: every test runs with an empty user config dir and the offline model at full speed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_config(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("COCKPIT_CONFIG_DIR", str(tmp_path_factory.mktemp("user-config")))
    monkeypatch.setenv("COCKPIT_OFFLINE_RATE", "0")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # The demo projects' own pytest runs need no plugins; loading this venv's (textual snapshot...) costs ~2 s each.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def _run_cockpit(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 240):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *args], cwd=cwd, env=full_env, capture_output=True, text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def run_cockpit():
    """Run the real `cockpit` command line in a subprocess, as a user would."""
    return _run_cockpit

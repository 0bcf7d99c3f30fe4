"""Kill -9 a headless session at different points, resume it, and end with the same files as a run never killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SKIP_PARTS = {".git", ".cockpit", "__pycache__", ".pytest_cache"}


def tree_of(root: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP_PARTS & set(rel.parts):
            files[str(rel)] = path.read_bytes()
    return files


def cockpit_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "cockpit.cli", *args]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return {**os.environ, "COCKPIT_CONFIG_DIR": str(tmp_path_factory.mktemp("cfg")), "COCKPIT_OFFLINE_RATE": "0"}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, env):
    demo = tmp_path_factory.mktemp("whole") / "demo"
    result = subprocess.run(cockpit_argv("demo", "--dir", str(demo), "--headless", "--json", "--approve", "all"),
                            env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    return tree_of(demo)


def kill_when(argv: list[str], env: dict, predicate) -> list[dict]:
    """Start the CLI, read its JSON events, and SIGKILL it as soon as `predicate(event)` holds."""
    seen = []
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stdout:
            event = json.loads(line)
            seen.append(event)
            if predicate(event):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.stdout.close()
        proc.wait(timeout=60)
    return seen


KILL_POINTS = {
    "while_planning": lambda e: e["type"] == "agent_output" and e["task_id"] == "plan",
    "while_two_coders_run": lambda e: e["type"] == "tool_called" and e["task_id"] == "t2",
    "after_first_apply": lambda e: e["type"] == "change_applied",
    "while_tests_run": lambda e: e["type"] == "tool_called" and e["tool"] == "run_tests" and e["task_id"] == "t3",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_resume_after_sigkill_ends_with_the_same_files(point, tmp_path, env, uninterrupted):
    demo = tmp_path / "demo"
    seen = kill_when(cockpit_argv("demo", "--dir", str(demo), "--headless", "--json", "--approve", "all"), env,
                     KILL_POINTS[point])
    assert seen and seen[-1]["type"] != "session_finished", "the run ended before the kill point"
    resumed = subprocess.run(cockpit_argv("resume", "--headless", "--json", "--approve", "all"), cwd=demo, env=env,
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    events = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert events[0]["type"] == "session_started" and events[0]["resumed"] is True
    assert events[-1]["type"] == "session_finished" and events[-1]["status"] == "completed"
    assert tree_of(demo) == uninterrupted

"""The demo session end to end, headless, through the real CLI, offline model, git worktrees and pytest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cockpit.events import EVENT_FIELDS

CONTRACT = {
    "session_started", "plan_proposed", "plan_approved", "task_updated", "agent_output", "tool_called",
    "tool_result", "change_proposed", "change_decided", "change_applied", "tests_finished", "findings_reported",
    "usage", "session_finished",
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, run_cockpit):
    demo = tmp_path_factory.mktemp("demo") / "repo"
    cfg = tmp_path_factory.mktemp("cfg")
    result = run_cockpit("demo", "--dir", str(demo), "--headless", "--json", "--approve", "all",
                         env={"COCKPIT_CONFIG_DIR": str(cfg), "COCKPIT_OFFLINE_RATE": "0"})
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result, events, demo


def test_demo_exits_zero_and_completes(demo_run):
    result, events, _ = demo_run
    assert result.returncode == 0, result.stderr[-2000:]
    assert events[-1]["type"] == "session_finished" and events[-1]["status"] == "completed"


def test_demo_emits_the_event_contract(demo_run):
    _, events, _ = demo_run
    assert CONTRACT <= {e["type"] for e in events}
    for event in events:
        assert {"type", "seq", "ts", "session_id"} <= event.keys()
        assert set(EVENT_FIELDS[event["type"]]) <= event.keys(), event["type"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_demo_runs_two_tasks_at_the_same_time(demo_run):
    _, events, _ = demo_run
    intervals: dict[str, list[float]] = {}
    for e in events:
        if e["type"] == "task_updated" and e["task_id"] != "plan":
            if e["status"] == "running":
                intervals.setdefault(e["task_id"], [e["seq"], None])
            elif e["status"] in ("waiting", "done", "failed") and e["task_id"] in intervals:
                intervals[e["task_id"]][1] = e["seq"]
    spans = sorted((start, end) for start, end in intervals.values() if end is not None)
    overlapping = any(a_end > b_start for (a_start, a_end), (b_start, _) in zip(spans, spans[1:]))
    assert overlapping, spans


def test_demo_changes_are_applied_and_its_tests_pass(demo_run):
    _, events, demo = demo_run
    applied = [e for e in events if e["type"] == "change_applied"]
    proposed = [e for e in events if e["type"] == "change_proposed"]
    assert applied and len(applied) == len(proposed)
    tests = [e for e in events if e["type"] == "tests_finished"]
    assert tests and all(t["failed"] == 0 and t["errors"] == 0 for t in tests[-1:])
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=demo,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]


def test_demo_leaves_the_users_history_alone(demo_run):
    _, _, demo = demo_run
    log = subprocess.run(["git", "log", "--oneline"], cwd=demo, capture_output=True, text=True).stdout
    assert len(log.splitlines()) == 1  # cockpit never commits on the user's branch unless configured to

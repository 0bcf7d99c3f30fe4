"""Headless approval policies and budgets, through the real CLI."""

from __future__ import annotations

import json
import subprocess

from cockpit.demo_repo import make_demo_repo


def _events(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_approve_none_leaves_changes_pending_then_resume_applies_them(tmp_path, run_cockpit):
    repo = make_demo_repo(tmp_path / "demo")
    head_files = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    first = run_cockpit("run", "Add CSV export and a --format option to the CLI", "--headless", "--json",
                        "--model", "offline", "--repo", str(repo))
    assert first.returncode == 0, first.stderr[-2000:]
    events = _events(first)
    finished = events[-1]
    assert finished["type"] == "session_finished" and finished["status"] == "stopped"
    assert finished["summary"]["reason"] == "awaiting_review" and finished["summary"]["changes_pending"] >= 1
    assert not [e for e in events if e["type"] == "change_applied"]
    # Nothing reached the user's tree.
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == head_files

    second = run_cockpit("resume", "--headless", "--json", "--approve", "all", "--repo", str(repo))
    assert second.returncode == 0, second.stderr[-2000:]
    resumed = _events(second)
    assert [e for e in resumed if e["type"] == "change_applied"]
    assert resumed[-1]["status"] == "completed"


def test_session_token_budget_stops_with_exit_code_3(tmp_path, run_cockpit):
    repo = make_demo_repo(tmp_path / "demo")
    (repo / ".cockpit").mkdir(exist_ok=True)
    (repo / ".cockpit" / "config.toml").write_text("[budget.session]\ntokens = 6000\n")
    result = run_cockpit("demo", "--dir", str(tmp_path / "other"), "--headless", "--json", "--approve", "all",
                         "--config", str(repo / ".cockpit" / "config.toml"))
    assert result.returncode == 3, result.stderr[-2000:]
    events = _events(result)
    assert events[-1]["status"] == "stopped" and events[-1]["summary"]["reason"] == "budget"
    errors = [e for e in events if e["type"] == "error" and e["kind"] == "budget"]
    assert errors and "session budget reached" in errors[0]["message"]
    used = sum(e["prompt_tokens"] + e["completion_tokens"] for e in events if e["type"] == "usage")
    # Checked before each call: the session stops at the first call after the limit, never long after it.
    calls_after = [e for e in events if e["type"] == "usage"]
    assert used >= 6000 and used - calls_after[-1]["prompt_tokens"] - calls_after[-1]["completion_tokens"] < 6000 + 5000


def test_task_budget_fails_the_task_and_exits_3(tmp_path, run_cockpit):
    config = tmp_path / "config.toml"
    config.write_text("[budget.task]\ntokens = 1500\n")
    result = run_cockpit("demo", "--dir", str(tmp_path / "demo"), "--headless", "--json", "--approve", "all",
                         "--config", str(config))
    assert result.returncode == 3, result.stderr[-2000:]
    events = _events(result)
    assert any(e["type"] == "error" and e["kind"] == "budget" and "task" in e["message"] for e in events)


def test_approve_all_never_deploys_without_allow_deploy(tmp_path, run_cockpit):
    config = tmp_path / "config.toml"
    marker = tmp_path / "DEPLOYED"
    config.write_text(f'[deploy]\ncommand = "touch {marker}"\n')
    result = run_cockpit("demo", "--dir", str(tmp_path / "a"), "--headless", "--json", "--approve", "all",
                         "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    assert not marker.exists()
    assert not [e for e in _events(result) if e["type"] == "deploy_finished"]

    result = run_cockpit("demo", "--dir", str(tmp_path / "b"), "--headless", "--json", "--approve", "all",
                         "--allow-deploy", "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    assert marker.exists()
    (deploy,) = [e for e in _events(result) if e["type"] == "deploy_finished"]
    assert deploy["ok"] is True and deploy["exit_code"] == 0

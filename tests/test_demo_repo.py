from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.demo_repo import DEMO_FILES, DEMO_GOAL, DemoRepoError, make_demo_repo


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def run_pytest(repo: Path) -> subprocess.CompletedProcess:
    # Only pytest itself: the demo must not need any plugin of ours.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


def test_demo_repo_is_one_clean_commit_holding_every_file(tmp_path):
    repo = make_demo_repo(tmp_path / "demo")
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain") == ""
    tracked = set(git(repo, "ls-files").split())
    assert set(DEMO_FILES) <= tracked
    for name in ("README.md", "pyproject.toml", "CHANGELOG.md", "AGENTS.md"):
        assert name in tracked


def test_demo_repo_test_suite_passes_with_only_pytest(tmp_path):
    repo = make_demo_repo(tmp_path / "demo")
    result = run_pytest(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "11 passed" in result.stdout


def test_demo_cli_prints_a_report(tmp_path):
    repo = make_demo_repo(tmp_path / "demo")
    data = tmp_path / "invoices.json"
    data.write_text('{"invoices": [{"number": "A-1", "customer": "Initech", "issued": "2024-05-01", '
                    '"items": [{"description": "Staplers", "quantity": 2, "unit_price": "7.50"}]}]}')
    result = subprocess.run([sys.executable, "-m", "invoicer", str(data)], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("1 invoice(s), grand total 15.00\n")


def test_demo_repo_commits_without_any_git_identity(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    repo = make_demo_repo(tmp_path / "demo")
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == "Cockpit Demo <demo@cockpit.invalid>"


def test_demo_repo_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(DemoRepoError, match="not an empty folder"):
        make_demo_repo(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_demo_repo_accepts_an_existing_empty_folder(tmp_path):
    assert make_demo_repo(tmp_path) == tmp_path.resolve()
    assert (tmp_path / ".git").is_dir()


def test_demo_goal_names_the_features_the_demo_play_builds():
    assert "CSV export" in DEMO_GOAL and "--format" in DEMO_GOAL

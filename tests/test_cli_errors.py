"""Bad input from the user: each is one clear line on stderr and the contract's exit code, never a traceback."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "hello.py").write_text("print('hello')\n")
    return path


def _one_line_error(result, *fragments):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cockpit: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_config_names_file_key_and_expectation(repo, run_cockpit):
    (repo / ".cockpit").mkdir()
    (repo / ".cockpit" / "config.toml").write_text('max_parallel = "four"\n')
    result = run_cockpit("run", "do it", "--headless", "--model", "offline", "--repo", str(repo))
    assert result.returncode == 2
    _one_line_error(result, "config.toml", "max_parallel", "expected")


def test_invalid_toml_is_one_line(repo, run_cockpit):
    (repo / ".cockpit").mkdir()
    (repo / ".cockpit" / "config.toml").write_text("max_parallel = = 3\n")
    result = run_cockpit("run", "do it", "--headless", "--model", "offline", "--repo", str(repo))
    assert result.returncode == 2
    _one_line_error(result, "invalid TOML", "line 1")


def test_malformed_agent_file_is_reported_and_skipped(repo, run_cockpit):
    agents = repo / ".cockpit" / "agents"
    agents.mkdir(parents=True)
    (agents / "broken.md").write_text("---\nname: [unclosed\n---\nbody\n")
    result = run_cockpit("agents", "--repo", str(repo))
    assert result.returncode == 0
    assert "broken.md" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    for role in ("planner", "coder", "tester", "reviewer", "docs", "release"):
        assert role in result.stdout


def test_unknown_model_is_a_usage_error(repo, run_cockpit):
    result = run_cockpit("run", "do it", "--headless", "--model", "nosuchprovider/some-model", "--repo", str(repo))
    assert result.returncode == 2
    _one_line_error(result, "nosuchprovider/some-model")


def test_missing_api_key_names_the_variable(repo, run_cockpit):
    result = run_cockpit("run", "do it", "--headless", "--model", "anthropic/claude-sonnet-4-5", "--repo", str(repo),
                         env={"ANTHROPIC_API_KEY": ""})
    assert result.returncode == 2
    _one_line_error(result, "ANTHROPIC_API_KEY")


def test_not_a_git_repository(tmp_path, run_cockpit):
    plain = tmp_path / "plain"
    plain.mkdir()
    result = run_cockpit("run", "do it", "--headless", "--model", "offline", "--repo", str(plain))
    assert result.returncode == 2
    _one_line_error(result, "not a git repository")


def test_the_cockpit_refuses_a_folder_outside_git_or_missing_before_drawing_anything(repo, tmp_path, run_cockpit):
    plain = tmp_path / "plain"
    plain.mkdir()
    for folder in (plain, repo / "no-such-folder"):  # the second is inside a repository, but does not exist
        result = run_cockpit("a goal", "--model", "offline", "--repo", str(folder))
        assert result.returncode == 2
        _one_line_error(result, "not a git repository")
        assert "\x1b[" not in result.stdout  # no screen was drawn


def test_dependency_cycle_in_a_plan_file(repo, tmp_path, run_cockpit):
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "tasks:\n"
        "  - {id: a, title: A, agent: coder, depends_on: [b]}\n"
        "  - {id: b, title: B, agent: coder, depends_on: [a]}\n"
    )
    result = run_cockpit("run", "do it", "--headless", "--model", "offline", "--plan", str(plan), "--repo", str(repo))
    assert result.returncode == 2
    _one_line_error(result, "dependency cycle: a -> b -> a")


def test_resume_without_a_session(repo, run_cockpit):
    result = run_cockpit("resume", "--headless", "--repo", str(repo))
    assert result.returncode == 2
    _one_line_error(result, "no session to resume")


def test_json_needs_headless(repo, run_cockpit):
    result = run_cockpit("run", "do it", "--json", "--repo", str(repo))
    assert result.returncode == 2
    _one_line_error(result, "--json needs --headless")

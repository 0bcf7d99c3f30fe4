from __future__ import annotations

import shlex
import sys
import textwrap
from pathlib import Path

from cockpit.procs import safe_env
from cockpit.testing import TestRun, detect_test_command, is_pytest_command, parse_junit, run_tests

SUITE = '''
import pytest

def test_passes():
    assert 1 + 1 == 2

def test_passes_too():
    assert True

def test_fails():
    assert 1 == 2, "one is not two"

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_errors(broken):
    pass

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug")
def test_expected_failure():
    assert False

@pytest.mark.xfail(reason="fixed already?")
def test_unexpected_pass():
    pass

class TestGroup:
    def test_in_class(self):
        pass
'''

PYTEST = f"{shlex.quote(sys.executable)} -m pytest"


def quiet_env() -> dict:
    # The inner pytest does not need this project's plugins; skipping them keeps the run fast.
    return safe_env(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")


def write_suite(root: Path) -> None:
    (root / "tests").mkdir()
    (root / "tests" / "test_suite.py").write_text(textwrap.dedent(SUITE))


async def test_real_pytest_suite_gives_exact_counts(tmp_path: Path) -> None:
    write_suite(tmp_path)
    run = await run_tests(tmp_path, PYTEST, timeout=60, env=quiet_env())
    assert (run.passed, run.failed, run.errors, run.skipped, run.xfailed, run.xpassed) == (3, 1, 1, 1, 1, 1)
    assert run.exit_code == 1 and not run.timed_out and not run.ok
    assert run.summary() == "3 passed, 1 failed, 1 error, 1 skipped, 1 xfailed, 1 xpassed"
    outcomes = {test.name: test.outcome for test in run.tests}
    assert outcomes == {
        "test_passes": "passed", "test_passes_too": "passed", "test_fails": "failed", "test_errors": "error",
        "test_skipped": "skipped", "test_expected_failure": "xfail", "test_unexpected_pass": "xpass",
        "test_in_class": "passed",
    }
    failed = next(test for test in run.tests if test.name == "test_fails")
    assert failed.file == "tests/test_suite.py" and "one is not two" in failed.message
    assert "fixture exploded" in next(test for test in run.tests if test.name == "test_errors").message


async def test_pytest_run_leaves_no_cache_in_the_worktree(tmp_path: Path) -> None:
    write_suite(tmp_path)
    await run_tests(tmp_path, PYTEST, timeout=60, env=quiet_env())
    leftovers = sorted(p.name for p in tmp_path.rglob("*") if p.name in (".pytest_cache", "__pycache__"))
    assert leftovers == []


async def test_event_payload_has_contract_keys(tmp_path: Path) -> None:
    write_suite(tmp_path)
    run = await run_tests(tmp_path, PYTEST, timeout=60, env=quiet_env())
    event = run.to_event()
    assert {"passed", "failed", "errors", "skipped", "tests"} <= set(event)
    assert event["skipped"] == 1 and event["passed"] == 3  # skipped is never counted as passed
    assert {"name", "file", "outcome", "duration", "message"} <= set(event["tests"][0])


async def test_other_commands_fall_back_to_the_exit_code(tmp_path: Path) -> None:
    good = await run_tests(tmp_path, "echo all good", timeout=10)
    assert (good.passed, good.failed) == (1, 0) and good.ok
    bad = await run_tests(tmp_path, "echo broken; exit 2", timeout=10)
    assert (bad.passed, bad.failed) == (0, 1) and "broken" in bad.tests[0].message


async def test_timed_out_test_run_counts_as_failed(tmp_path: Path) -> None:
    run = await run_tests(tmp_path, "sleep 30", timeout=0.5)
    assert run.timed_out and run.failed == 1 and run.summary() == "1 failed (timed out)"


def test_detects_pytest_projects(tmp_path: Path) -> None:
    assert detect_test_command(tmp_path) is None
    (tmp_path / "test_thing.py").write_text("def test_x(): pass\n")
    command = detect_test_command(tmp_path)
    assert command is not None and command.endswith("-m pytest") and is_pytest_command(command)


def test_detects_pytest_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-q'\n")
    assert detect_test_command(tmp_path) is not None


def test_recognizes_pytest_commands() -> None:
    assert is_pytest_command("pytest -q") and is_pytest_command("python3 -m pytest tests")
    assert is_pytest_command("/venv/bin/pytest") and not is_pytest_command("make test")


def test_summary_of_an_empty_run() -> None:
    assert TestRun(command="pytest", exit_code=5).summary() == "no tests ran"


def test_collection_error_counts_as_error() -> None:
    xml = ('<testsuites><testsuite><testcase classname="" name="tests.test_bad" time="0">'
           '<error message="collection failure">SyntaxError</error></testcase></testsuite></testsuites>')
    [case] = parse_junit(xml)
    assert case.outcome == "error" and "SyntaxError" in case.message

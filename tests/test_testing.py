from __future__ import annotations

import json
import shlex
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from cockpit.procs import safe_env
from cockpit.testing import (
    TestRun, detect_test_command, is_pytest_command, parse_junit, parse_unittest_output, run_tests,
)
from procutil import process_is_gone, wait_until

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


# -- every outcome reaches the event, with the tree it ran on --------------------------------------------------------


async def test_event_carries_each_tests_outcome_and_the_tree(tmp_path: Path) -> None:
    write_suite(tmp_path)
    run = await run_tests(tmp_path, PYTEST, timeout=60, env=quiet_env())
    assert "tree" not in run.to_event()  # only when the caller says which tree it ran on
    run.tree = "0123abcd"
    event = run.to_event()
    assert event["tree"] == "0123abcd"
    outcomes = sorted(test["outcome"] for test in event["tests"])
    assert outcomes == ["error", "failed", "passed", "passed", "passed", "skipped", "xfail", "xpass"]
    assert (event["xfailed"], event["xpassed"], event["errors"], event["failed"]) == (1, 1, 1, 1)


# -- a hanging suite dies at its timeout, with what it started -----------------------------------------------------

HANGING = '''
import os, subprocess, time
from pathlib import Path

def test_hangs_with_a_child():
    child = subprocess.Popen(["sleep", "1000"])
    Path("pids.tmp").write_text(f"{os.getpid()} {child.pid}")
    os.replace("pids.tmp", "pids")  # whole or not at all, for the reader
    time.sleep(1000)
'''




async def test_hanging_suite_is_killed_at_its_timeout_with_its_children(tmp_path: Path) -> None:
    (tmp_path / "test_hang.py").write_text(textwrap.dedent(HANGING))
    run = await run_tests(tmp_path, PYTEST, timeout=2, env=quiet_env())
    assert run.timed_out and run.exit_code is None and not run.ok
    assert (tmp_path / "pids").is_file(), f"the suite never reached its test:\n{run.output}"
    pytest_pid, child_pid = map(int, (tmp_path / "pids").read_text().split())
    assert wait_until(lambda: process_is_gone(pytest_pid) and process_is_gone(child_pid))
    assert run.summary() == "1 failed (timed out)"


# -- unittest: counts from its text summary ------------------------------------------------------------------------

UNITTEST_SUITE = '''
import unittest

class Maths(unittest.TestCase):
    def test_adds(self):
        self.assertEqual(1 + 1, 2)

    def test_also_passes(self):
        pass

    def test_fails(self):
        self.assertEqual(1, 2, "one is not two")

    def test_errors(self):
        raise RuntimeError("exploded")

    @unittest.skip("not today")
    def test_skipped(self):
        pass

    @unittest.expectedFailure
    def test_known_bug(self):
        self.fail()

    @unittest.expectedFailure
    def test_fixed_already(self):
        pass

    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 1)


class Broken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise ValueError("no database")

    def test_never_runs(self):
        pass
'''


async def test_real_unittest_suite_gives_exact_counts(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_maths.py").write_text(textwrap.dedent(UNITTEST_SUITE))
    command = f"{shlex.quote(sys.executable)} -m unittest discover -s tests"
    run = await run_tests(tmp_path, command, timeout=60)
    # A test whose subtests fail twice counts once; the class fixture's error is an error of its own.
    assert (run.passed, run.failed, run.errors, run.skipped, run.xfailed, run.xpassed) == (2, 2, 2, 1, 1, 1)
    assert run.exit_code == 1 and not run.ok
    outcomes = {(test.name, test.outcome) for test in run.tests}
    assert outcomes == {("test_fails", "failed"), ("test_subtests", "failed"), ("test_errors", "error"),
                        ("setUpClass", "error"), ("test_fixed_already", "xpass")}
    failed = next(test for test in run.tests if test.name == "test_fails")
    assert failed.file == "tests/test_maths.py" and "one is not two" in failed.message
    subtests = next(test for test in run.tests if test.name == "test_subtests")
    assert "1 not less than 1" in subtests.message and "2 not less than 1" in subtests.message


async def test_passing_unittest_suite_counts_skips_apart(tmp_path: Path) -> None:
    (tmp_path / "test_ok.py").write_text(textwrap.dedent('''
        import unittest
        class Fine(unittest.TestCase):
            def test_a(self): pass
            def test_b(self): pass
            @unittest.skip("later")
            def test_c(self): pass
    '''))
    run = await run_tests(tmp_path, f"{shlex.quote(sys.executable)} -m unittest discover", timeout=60)
    assert (run.passed, run.skipped, run.failed, run.errors) == (2, 1, 0, 0) and run.ok
    assert run.tests == [] and run.summary() == "2 passed, 1 skipped"


def test_several_unexpected_successes_are_each_listed() -> None:
    output = "\n".join([
        "x" * 3, "=" * 70, "UNEXPECTED SUCCESS: test_a (mod.T.test_a)", "UNEXPECTED SUCCESS: test_b (mod.T.test_b)",
        "-" * 70, "Ran 3 tests in 0.001s", "", "FAILED (unexpected successes=2)",
    ])
    report = parse_unittest_output(output)
    assert report is not None and report.counts["xpassed"] == 2 and report.counts["passed"] == 1
    assert [(t.name, t.file, t.outcome) for t in report.tests] == [("test_a", "mod.py", "xpass"),
                                                                   ("test_b", "mod.py", "xpass")]


async def test_unreadable_unittest_output_falls_back_to_the_exit_code(tmp_path: Path) -> None:
    command = f"{shlex.quote(sys.executable)} -m unittest no_such_module"
    run = await run_tests(tmp_path, command, timeout=60)
    assert not run.ok and run.failed + run.errors >= 1


# -- other toolchains, run for real where this machine has them ------------------------------------------------------

NODE_TEST = '''
const test = require("node:test");
const assert = require("node:assert");
test("adds", () => assert.strictEqual(1 + 1, 2));
'''


def write_node_project(root: Path, *, failing: bool) -> None:
    (root / "package.json").write_text(json.dumps({"name": "demo", "private": True, "scripts": {"test": "node --test"}}))
    (root / "test").mkdir()
    body = NODE_TEST + ('test("breaks", () => assert.strictEqual(1, 2));\n' if failing else "")
    (root / "test" / "math.test.js").write_text(body)


def offline_env(**extra: str) -> dict:
    return safe_env(NPM_CONFIG_UPDATE_NOTIFIER="false", NPM_CONFIG_OFFLINE="true", CARGO_NET_OFFLINE="true",
                    GOFLAGS="-mod=mod", GOPROXY="off", GOTOOLCHAIN="local", **extra)


@pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None, reason="node/npm not installed")
async def test_npm_test_is_detected_and_its_exit_code_decides(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir(), bad.mkdir()
    write_node_project(good, failing=False)
    write_node_project(bad, failing=True)
    command = detect_test_command(good)
    assert command == "npm test" and detect_test_command(bad) == "npm test"
    passing = await run_tests(good, command, timeout=60, env=offline_env())
    assert passing.ok and (passing.passed, passing.failed) == (1, 0), passing.output
    failing = await run_tests(bad, command, timeout=60, env=offline_env())
    assert not failing.ok and failing.failed == 1 and "breaks" in failing.tests[0].message


CARGO_LIB = '''
pub fn add(a: i32, b: i32) -> i32 { a + b }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() { assert_eq!(add(1, 2), 3); }

    #[test]
    fn breaks() { assert_eq!(add(1, 1), 3, "one plus one"); }

    #[test]
    #[ignore]
    fn slow() {}
}
'''


@pytest.mark.skipif(shutil.which("cargo") is None or shutil.which("rustc") is None, reason="cargo not installed")
async def test_cargo_test_is_detected_and_counted_offline(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text(CARGO_LIB)
    command = detect_test_command(tmp_path)
    assert command == "cargo test"
    run = await run_tests(tmp_path, f"{command} --offline", timeout=120, env=offline_env())
    assert (run.passed, run.failed, run.skipped, run.errors) == (1, 1, 1, 0), run.output
    assert run.exit_code != 0 and not run.ok
    outcomes = {(test.name, test.file, test.outcome) for test in run.tests}
    assert outcomes == {("tests::adds", "src/lib.rs", "passed"), ("tests::breaks", "src/lib.rs", "failed"),
                        ("tests::slow", "src/lib.rs", "skipped")}
    assert "one plus one" in next(test for test in run.tests if test.outcome == "failed").message


@pytest.mark.skipif(shutil.which("go") is None, reason="go not installed")
async def test_go_test_is_detected_and_its_exit_code_decides(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/demo\n\ngo 1.20\n")
    (tmp_path / "demo_test.go").write_text(
        'package demo\n\nimport "testing"\n\nfunc TestAdds(t *testing.T) {\n\tif 1+1 != 2 {\n\t\tt.Fatal("maths")\n\t}\n}\n'
    )
    command = detect_test_command(tmp_path)
    assert command == "go test ./..."
    cache = tmp_path / ".gocache"
    run = await run_tests(tmp_path, command, timeout=120, env=offline_env(GOCACHE=str(cache)))
    assert run.ok and run.passed == 1, run.output
    (tmp_path / "demo_test.go").write_text(
        'package demo\n\nimport "testing"\n\nfunc TestBreaks(t *testing.T) {\n\tt.Fatal("broken")\n}\n'
    )
    run = await run_tests(tmp_path, command, timeout=120, env=offline_env(GOCACHE=str(cache)))
    assert not run.ok and "broken" in run.tests[0].message


@pytest.mark.skipif(shutil.which("cargo") is None or shutil.which("rustc") is None, reason="cargo not installed")
async def test_test_binary_that_crashes_is_an_error_though_no_test_failed(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "crashy"\nversion = "0.1.0"\nedition = "2021"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("#[test]\nfn fine() {}\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "crash.rs").write_text("#[test]\nfn aborts() { std::process::abort(); }\n")
    run = await run_tests(tmp_path, "cargo test --offline", timeout=120, env=offline_env())
    assert (run.passed, run.failed, run.errors) == (1, 0, 1) and not run.ok, run.output
    assert "exited with code 101" in run.failures()[0].message

"""The test command is found from the project's own files, and only for toolchains this machine has."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.test_detect import NPM_PLACEHOLDER, detect, detect_test_command, explain_detection
from cockpit.testing import is_pytest_command, is_unittest_command, run_tests

NPM_DEFAULT_SCRIPT = 'echo "Error: no test specified" && exit 1'
NOTHING = ("no test command found: no pytest/unittest tests, package.json test script, go.mod or Cargo.toml; "
           "set [tests] command in .cockpit/config.toml")


@pytest.fixture
def toolchains(tmp_path_factory, monkeypatch):
    """PATH holds only the fake tools a test installs: which(…) answers exactly what the test says is there."""
    bin_dir = tmp_path_factory.mktemp("bin")
    monkeypatch.setenv("PATH", str(bin_dir))

    def install(*names: str) -> None:
        for name in names:
            tool = bin_dir / name
            tool.write_text("#!/bin/sh\nexit 0\n")
            tool.chmod(0o755)

    return install


def write_package(root: Path, test_script: str | None) -> None:
    scripts = {} if test_script is None else {"test": test_script}
    (root / "package.json").write_text(json.dumps({"name": "demo", "scripts": scripts}))


def make_venv_without_pytest(root: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)


def test_empty_project_has_no_command_and_says_what_to_do(tmp_path: Path, toolchains) -> None:
    assert detect_test_command(tmp_path) is None
    assert explain_detection(tmp_path) == NOTHING


def test_pytest_config_wins_even_without_test_files(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\naddopts = -q\n")
    command = detect_test_command(tmp_path)
    assert command is not None and is_pytest_command(command)
    assert explain_detection(tmp_path) == "tests: pytest (setup.cfg)"


def test_pytest_named_as_a_dependency_counts_as_configured(tmp_path: Path) -> None:
    (tmp_path / "requirements-dev.txt").write_text("pytest>=8\nruff\n")
    assert is_pytest_command(detect_test_command(tmp_path) or "")


def test_test_files_use_pytest_when_it_is_installed(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_core.py").write_text("def test_x():\n    assert True\n")
    command = detect_test_command(tmp_path)
    assert command == f"{shlex.quote(sys.executable)} -m pytest"  # this interpreter has pytest


def test_test_files_without_pytest_use_unittest_and_it_runs(tmp_path: Path) -> None:
    make_venv_without_pytest(tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_core.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n"
    )
    command = detect_test_command(tmp_path)
    assert command == f"{shlex.quote(str(tmp_path / '.venv' / 'bin' / 'python'))} -m unittest discover -s tests"
    assert is_unittest_command(command) and "unittest" in explain_detection(tmp_path)


async def test_detected_unittest_command_runs_for_real(tmp_path: Path) -> None:
    make_venv_without_pytest(tmp_path)
    (tmp_path / "test_top.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n"
        "    def test_bad(self):\n        self.assertTrue(False)\n"
    )
    command = detect_test_command(tmp_path)
    assert command is not None and command.endswith("-m unittest discover")
    run = await run_tests(tmp_path, command, timeout=60)
    assert (run.passed, run.failed) == (1, 1) and [t.name for t in run.tests] == ["test_bad"]


def test_a_tests_folder_without_python_files_is_not_pytest(tmp_path: Path, toolchains) -> None:
    toolchains("cargo")
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "integration.rs").write_text("#[test]\nfn it() {}\n")
    assert detect_test_command(tmp_path) == "cargo test"


def test_npm_test_script_is_used_when_npm_is_installed(tmp_path: Path, toolchains) -> None:
    write_package(tmp_path, "node --test")
    assert detect_test_command(tmp_path) is None
    assert "npm is not installed" in explain_detection(tmp_path)
    toolchains("npm")
    assert detect_test_command(tmp_path) == "npm test"
    assert explain_detection(tmp_path) == "tests: npm test (package.json scripts.test)"


@pytest.mark.parametrize("script", [NPM_DEFAULT_SCRIPT, None, "  "])
def test_npm_placeholder_or_missing_test_script_is_not_a_test_command(tmp_path: Path, toolchains, script) -> None:
    toolchains("npm")
    write_package(tmp_path, script)
    assert NPM_PLACEHOLDER in NPM_DEFAULT_SCRIPT
    assert detect_test_command(tmp_path) is None and explain_detection(tmp_path) == NOTHING


def test_broken_package_json_is_explained(tmp_path: Path, toolchains) -> None:
    toolchains("npm")
    (tmp_path / "package.json").write_text("{ not json")
    assert detect_test_command(tmp_path) is None
    assert explain_detection(tmp_path).startswith("no test command found: package.json is not valid JSON;")


@pytest.mark.parametrize(("marker", "tool", "command"), [("go.mod", "go", "go test ./..."),
                                                          ("Cargo.toml", "cargo", "cargo test")])
def test_go_and_cargo_only_when_their_tool_is_installed(tmp_path: Path, toolchains, marker, tool, command) -> None:
    (tmp_path / marker).write_text("")
    assert detect_test_command(tmp_path) is None
    assert explain_detection(tmp_path) == (
        f"no test command found: {marker} found but {tool} is not installed; set [tests] command in .cockpit/config.toml"
    )
    toolchains(tool)
    assert detect(tmp_path).command == command and explain_detection(tmp_path) == f"tests: {command} ({marker})"


def test_python_comes_before_other_toolchains(tmp_path: Path, toolchains) -> None:
    toolchains("npm", "cargo")
    write_package(tmp_path, "jest")
    (tmp_path / "Cargo.toml").write_text("")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert is_pytest_command(detect_test_command(tmp_path) or "")
    os.remove(tmp_path / "pytest.ini")
    assert detect_test_command(tmp_path) == "npm test"

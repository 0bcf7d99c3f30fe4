"""Which command runs this project's tests: pytest or unittest, npm test, go test, cargo test.

Detection looks at a few files at the top of the repo (never a whole-tree walk: a node_modules or target folder can
hold millions of files) and proposes a toolchain's command only when that toolchain is installed, so a Rust project
on a machine without cargo gets a clear explanation instead of a command that fails with "not found".
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

CONFIG_HINT = "set [tests] command in .cockpit/config.toml"
NOTHING_FOUND = "no pytest/unittest tests, package.json test script, go.mod or Cargo.toml"
# What `npm init` writes when there are no tests: running it "fails" every change for nothing.
NPM_PLACEHOLDER = "no test specified"
_TEST_DIRS = ("tests", "test")
_VENVS = (".venv", "venv", "env")
_PYTEST_WORD = re.compile(r"\bpytest\b")


@dataclass(frozen=True)
class Detection:
    command: str | None
    reason: str  # one line: why this command, or why none


def detect_test_command(root: Path) -> str | None:
    """The command that runs this project's tests, or None when we cannot tell."""
    return detect(root).command


def explain_detection(root: Path) -> str:
    """One line for the user: the command found and why, or why none was found and what to do."""
    return detect(root).reason


def detect(root: Path) -> Detection:
    """The first toolchain that applies, in the order Python, Node, Go, Rust."""
    root = Path(root)
    missing: list[str] = []  # toolchains the project uses but this machine lacks
    for probe in (_python, _node, _go, _rust):
        found = probe(root, missing)
        if found is not None:
            return found
    why = "; ".join(missing) if missing else NOTHING_FOUND
    return Detection(None, f"no test command found: {why}; {CONFIG_HINT}")


# -- Python ----------------------------------------------------------------------------------------------------------


def _python(root: Path, missing: list[str]) -> Detection | None:
    configured = _pytest_configured(root)
    test_files = _python_test_files(root)
    if configured:
        return Detection(f"{pytest_python(root)} -m pytest", f"tests: pytest ({configured})")
    if not test_files:
        return None
    if _pytest_installed(root):
        return Detection(f"{pytest_python(root)} -m pytest", "tests: pytest (Python test files, pytest installed)")
    return Detection(_unittest_command(root), "tests: unittest (Python test files, no pytest configured or installed)")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _pytest_configured(root: Path) -> str:
    """The file that says this project uses pytest, or "" when none does."""
    for name in ("pytest.ini", "conftest.py", "tests/conftest.py", "test/conftest.py"):
        if (root / name).is_file():
            return name
    markers = {"pyproject.toml": "[tool.pytest", "setup.cfg": "[tool:pytest]", "tox.ini": "[pytest]"}
    for name, marker in markers.items():
        if marker in _read(root / name):
            return name
    # pytest named as a (dev) dependency counts too: the project means to run it.
    for path in [root / "pyproject.toml", root / "setup.cfg", root / "setup.py", *sorted(root.glob("requirements*.txt"))]:
        if _PYTEST_WORD.search(_read(path)):
            return path.name
    return ""


def _is_test_file(path: Path) -> bool:
    return path.suffix == ".py" and (path.name.startswith("test") or path.stem.endswith("_test"))


def _python_test_files(root: Path) -> list[Path]:
    """Test files at the top of the repo and in its tests/ or test/ folder (only .py files make it Python)."""
    files = [p for p in root.glob("*.py") if _is_test_file(p)]
    for name in _TEST_DIRS:
        folder = root / name
        if folder.is_dir():
            files += [p for p in folder.rglob("*.py") if _is_test_file(p)]
    return files


def _project_venv(root: Path) -> Path | None:
    for venv in _VENVS:
        candidate = root / venv / "bin" / "python"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return root / venv
    return None


def pytest_python(root: Path) -> str:
    """The interpreter to run pytest with: the project's own venv, else ours if it has pytest, else PATH's."""
    venv = _project_venv(root)
    if venv is not None:
        return shlex.quote(str(venv / "bin" / "python"))
    if importlib.util.find_spec("pytest") is not None:
        return shlex.quote(sys.executable)
    return "python3" if shutil.which("python") is None else "python"


def _pytest_installed(root: Path) -> bool:
    venv = _project_venv(root)
    if venv is not None:  # the project's interpreter is the one that counts
        return any(venv.glob("lib/python*/site-packages/pytest"))
    return importlib.util.find_spec("pytest") is not None or shutil.which("pytest") is not None


def _unittest_command(root: Path) -> str:
    venv = _project_venv(root)
    python = shlex.quote(str(venv / "bin" / "python")) if venv is not None else shlex.quote(sys.executable)
    command = f"{python} -m unittest discover"
    if any(_is_test_file(p) for p in root.glob("*.py")):
        return command
    # Since Python 3.11 discovery from the top only enters folders with an __init__.py; start in the folder instead.
    for name in _TEST_DIRS:
        folder = root / name
        if folder.is_dir() and not (folder / "__init__.py").is_file() and any(folder.glob("test*.py")):
            return f"{command} -s {name}"
    return command


# -- Node, Go, Rust --------------------------------------------------------------------------------------------------


def _node(root: Path, missing: list[str]) -> Detection | None:
    package = root / "package.json"
    if not package.is_file():
        return None
    try:
        script = (json.loads(_read(package)).get("scripts") or {}).get("test")
    except (ValueError, AttributeError):
        missing.append("package.json is not valid JSON")
        return None
    if not isinstance(script, str) or not script.strip() or NPM_PLACEHOLDER in script:
        return None
    if shutil.which("npm") is None:
        missing.append("package.json has a test script but npm is not installed")
        return None
    return Detection("npm test", "tests: npm test (package.json scripts.test)")


def _go(root: Path, missing: list[str]) -> Detection | None:
    return _toolchain(root, "go.mod", "go", "go test ./...", missing)


def _rust(root: Path, missing: list[str]) -> Detection | None:
    return _toolchain(root, "Cargo.toml", "cargo", "cargo test", missing)


def _toolchain(root: Path, marker: str, tool: str, command: str, missing: list[str]) -> Detection | None:
    if not (root / marker).is_file():
        return None
    if shutil.which(tool) is None:
        missing.append(f"{marker} found but {tool} is not installed")
        return None
    return Detection(command, f"tests: {command} ({marker})")

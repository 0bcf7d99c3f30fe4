"""Tests as data: run the project's test command and return per-test outcomes, not a wall of text.

For pytest we ask for a JUnit XML report (xunit1, which carries each test's file) and read the short summary
for XPASS lines, since JUnit records an unexpected pass as a plain pass. Other commands fall back to the exit code.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cockpit import procs

OUTCOMES = ("passed", "failed", "error", "skipped", "xfail", "xpass")
_MESSAGE_CAP = 4_000
_XPASS_LINE = re.compile(r"^XPASS (\S+)", re.MULTILINE)


@dataclass
class TestCase:
    __test__ = False  # not a pytest test class, despite the name

    name: str
    file: str
    outcome: str  # one of OUTCOMES
    duration: float
    message: str = ""


@dataclass
class TestRun:
    __test__ = False

    command: str
    exit_code: int | None
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    tests: list[TestCase] = field(default_factory=list)
    output: str = ""
    timed_out: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Everything that ran passed (or failed as expected), and the command itself did not fail."""
        return not (self.failed or self.errors or self.timed_out) and self.exit_code in (0, 5)

    def failures(self) -> list[TestCase]:
        return [test for test in self.tests if test.outcome in ("failed", "error")]

    def summary(self) -> str:
        counts = [
            (self.passed, "passed"), (self.failed, "failed"), (self.errors, "error" if self.errors == 1 else "errors"),
            (self.skipped, "skipped"), (self.xfailed, "xfailed"), (self.xpassed, "xpassed"),
        ]
        text = ", ".join(f"{n} {label}" for n, label in counts if n) or "no tests ran"
        return f"{text} (timed out)" if self.timed_out else text

    def to_event(self) -> dict:
        """Fields of the `tests_finished` event (xfailed, xpassed and command are extras beyond the contract)."""
        return {
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "xfailed": self.xfailed,
            "xpassed": self.xpassed,
            "command": self.command,
            "tests": [asdict(test) for test in self.tests],
        }


def _pytest_python(root: Path) -> str:
    """The interpreter to run pytest with: the project's own venv, else ours if it has pytest, else PATH's."""
    for venv in (".venv", "venv", "env"):
        candidate = root / venv / "bin" / "python"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return shlex.quote(str(candidate))
    if importlib.util.find_spec("pytest") is not None:
        return shlex.quote(sys.executable)
    return "python3" if shutil.which("python") is None else "python"


def _uses_pytest(root: Path) -> bool:
    if (root / "tests").is_dir() or (root / "pytest.ini").is_file() or (root / "conftest.py").is_file():
        return True
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.pytest" in pyproject.read_text(encoding="utf-8", errors="replace"):
        return True
    return any(root.glob("test_*.py")) or any(root.glob("*_test.py"))


def detect_test_command(root: Path) -> str | None:
    """The command that runs this project's tests, or None when we cannot tell."""
    root = Path(root)
    if _uses_pytest(root):
        return f"{_pytest_python(root)} -m pytest"
    return None


def is_pytest_command(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    names = [os.path.basename(word) for word in words]
    if any(name in ("pytest", "py.test") for name in names):
        return True
    return any(a == "-m" and b == "pytest" for a, b in zip(words, words[1:]))


def _message_of(element: ET.Element) -> str:
    text = (element.get("message") or "").strip()
    body = (element.text or "").strip()
    combined = f"{text}\n{body}".strip() if body and body != text else text
    return combined[-_MESSAGE_CAP:]


def _case_from_xml(case: ET.Element) -> TestCase:
    name = case.get("name", "")
    file = case.get("file") or (case.get("classname") or "").replace(".", "/")
    duration = float(case.get("time") or 0.0)
    outcome, message = "passed", ""
    failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
    if failure is not None:
        outcome, message = "failed", _message_of(failure)
    elif error is not None:
        outcome, message = "error", _message_of(error)
    elif skipped is not None:
        outcome = "xfail" if skipped.get("type") == "pytest.xfail" else "skipped"
        message = _message_of(skipped)
    return TestCase(name=name, file=file, outcome=outcome, duration=duration, message=message)


def parse_junit(xml_text: str, output: str = "") -> list[TestCase]:
    """Per-test outcomes from a pytest JUnit XML report; `output` supplies the XPASS lines JUnit lacks."""
    root = ET.fromstring(xml_text)
    tests = [_case_from_xml(case) for case in root.iter("testcase")]
    xpassed = {node_id.split("::")[-1] + "@" + node_id.split("::")[0] for node_id in _XPASS_LINE.findall(output)}
    for test in tests:
        if test.outcome == "passed" and f"{test.name}@{test.file}" in xpassed:
            test.outcome = "xpass"
    return tests


def _count(run: TestRun) -> None:
    fields = {"passed": "passed", "failed": "failed", "error": "errors", "skipped": "skipped",
              "xfail": "xfailed", "xpass": "xpassed"}
    for test in run.tests:
        attr = fields[test.outcome]
        setattr(run, attr, getattr(run, attr) + 1)


def _fallback(run: TestRun) -> None:
    """No report: the exit code is the only truth we have."""
    passed = run.exit_code == 0
    message = "" if passed else run.output[-_MESSAGE_CAP:]
    run.tests = [TestCase(run.command, "", "passed" if passed else "failed", run.duration, message)]


async def run_tests(
    cwd: Path, command: str, *, timeout: float = 600, env: dict | None = None, output_cap: int = 64_000
) -> TestRun:
    """Run the test command in `cwd` and return its results as data. `env` defaults to procs.safe_env()."""
    env = procs.safe_env() if env is None else env
    with tempfile.TemporaryDirectory(prefix="cockpit-tests-") as tmp:
        report = Path(tmp) / "junit.xml"
        full = command
        if is_pytest_command(command):
            extra = [f"--junitxml={report}", "-o", "junit_family=xunit1", "-p", "no:cacheprovider", "-rX"]
            full = f"{command} {shlex.join(extra)}"
        result = await procs.run_process(full, cwd=Path(cwd), timeout=timeout, output_cap=output_cap, env=env)
        run = TestRun(command=command, exit_code=result.exit_code, output=result.output,
                      timed_out=result.timed_out, duration=result.duration)
        xml_text = report.read_text(encoding="utf-8", errors="replace") if report.is_file() else None
    try:
        run.tests = parse_junit(xml_text, result.output) if xml_text and not result.timed_out else []
    except ET.ParseError:
        run.tests = []
    if not run.tests and not (xml_text and run.exit_code == 5):
        _fallback(run)  # pytest exit code 5 with a report means "no tests collected": nothing to count
    _count(run)
    return run

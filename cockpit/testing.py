"""Tests as data: run the project's test command and return per-test outcomes, not a wall of text.

For pytest we ask for a JUnit XML report (xunit1, which carries each test's file) and read the short summary
for XPASS lines, since JUnit records an unexpected pass as a plain pass. unittest and cargo test print a summary
in a fixed format, which we read. Other commands (npm test, go test) fall back to the exit code.
Which command to run is found by `cockpit.test_detect`.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cockpit import procs
from cockpit.test_detect import detect_test_command, explain_detection  # noqa: F401  (callers import them from here)

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
    tree: str | None = None  # the commit or tree the tests ran on; the caller fills it

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
        """Fields of the `tests_finished` event (xfailed, xpassed, command, tree are extras beyond the contract)."""
        event = {
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "xfailed": self.xfailed,
            "xpassed": self.xpassed,
            "command": self.command,
            "tests": [asdict(test) for test in self.tests],
        }
        if self.tree is not None:
            event["tree"] = self.tree
        return event


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


def is_unittest_command(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return any(a == "-m" and b == "unittest" for a, b in zip(words, words[1:]))


def is_cargo_test_command(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return any(os.path.basename(a) == "cargo" and b == "test" for a, b in zip(words, words[1:]))


@dataclass
class TextReport:
    """What a test tool's text summary says: counts by TestRun field, and the tests it names."""

    counts: dict[str, int]
    tests: list[TestCase]


# -- unittest ------------------------------------------------------------------------------------------------------

_UT_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s$", re.MULTILINE)
_UT_STATUS = re.compile(r"^(OK|FAILED|NO TESTS RAN)(?: \((.*)\))?\s*$", re.MULTILINE)
_UT_HEADING = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([^)]*)\)")
_UT_KINDS = {"FAIL": "failed", "ERROR": "error", "UNEXPECTED SUCCESS": "xpass"}
_UT_FIELDS = {"failures": "failed", "errors": "errors", "skipped": "skipped", "expected failures": "xfailed",
              "unexpected successes": "xpassed"}
# Errors in these are reported like a test's but are not among the tests unittest says it ran.
_UT_FIXTURES = ("setUpClass", "tearDownClass", "setUpModule", "tearDownModule")


def _unittest_sections(output: str) -> list[tuple[str, str, str, str]]:
    """(kind, test name, dotted id, traceback) of each FAIL/ERROR/UNEXPECTED SUCCESS block, in order."""
    sections = []
    for block in output.split("=" * 70 + "\n")[1:]:
        head, _, body = block.partition("-" * 70 + "\n")
        headings = [m for m in map(_UT_HEADING.match, head.splitlines()) if m]
        if not headings:
            continue
        if headings[0].group(1) == "UNEXPECTED SUCCESS":  # listed one per line under a single rule, no traceback
            sections += [(_UT_KINDS[m.group(1)], m.group(2), m.group(3), "") for m in headings]
            continue
        traceback = body.split("\n" + "-" * 70 + "\n")[0].strip()  # the last block runs into "Ran N tests"
        match = headings[0]
        sections.append((_UT_KINDS[match.group(1)], match.group(2), match.group(3), traceback))
    return sections


def _unittest_file(name: str, dotted: str, traceback: str, cwd: Path | None) -> str:
    frames = re.findall(rf'File "([^"]+)", line \d+, in {re.escape(name)}$', traceback, re.MULTILINE)
    if frames:
        path = Path(frames[-1])
        if cwd is not None and path.is_relative_to(cwd):
            return path.relative_to(cwd).as_posix()
        return path.as_posix()
    parts = dotted.split(".")
    while len(parts) > 1 and (parts[-1] == name or parts[-1][:1].isupper()):
        parts.pop()  # drop the method and class names, keep the module
    return "/".join(parts) + ".py"


def parse_unittest_output(output: str, cwd: Path | None = None) -> TextReport | None:
    """Counts from unittest's "Ran N tests" and "FAILED (failures=F, ...)" lines; None when they are missing.

    Subtests that fail several times in one test count once, like the test they belong to; errors in class or
    module fixtures count as errors but were never among the tests run. Skipped tests are never counted as passed.
    """
    ran_lines, status_lines = _UT_RAN.findall(output), _UT_STATUS.findall(output)
    if not ran_lines or not status_lines:
        return None
    counts = dict.fromkeys(("passed", "failed", "errors", "skipped", "xfailed", "xpassed"), 0)
    for item in filter(None, (part.strip() for part in status_lines[-1][1].split(","))):
        key, _, number = item.partition("=")
        if key.strip() in _UT_FIELDS and number.strip().isdigit():
            counts[_UT_FIELDS[key.strip()]] = int(number)
    tests: dict[tuple[str, str, str], TestCase] = {}
    repeats = {"failed": 0, "error": 0}
    fixture_errors = 0
    for kind, name, dotted, traceback in _unittest_sections(output):
        key = (kind, name, dotted)
        if key in tests:  # another failing subtest of the same test
            repeats[kind] = repeats.get(kind, 0) + 1
            tests[key].message = (tests[key].message + "\n\n" + traceback)[-_MESSAGE_CAP:]
            continue
        fixture_errors += kind == "error" and name in _UT_FIXTURES
        file = _unittest_file(name, dotted, traceback, cwd)
        tests[key] = TestCase(name, file, kind, 0.0, traceback[-_MESSAGE_CAP:])
    counts["failed"] = max(0, counts["failed"] - repeats["failed"])
    counts["errors"] = max(0, counts["errors"] - repeats["error"])
    not_passed = counts["failed"] + counts["errors"] - fixture_errors + counts["skipped"] + counts["xfailed"]
    counts["passed"] = max(0, int(ran_lines[-1]) - not_passed - counts["xpassed"])
    return TextReport(counts, list(tests.values()))


# -- cargo test (libtest) ------------------------------------------------------------------------------------------

_CARGO_RESULT = re.compile(
    r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored; (\d+) measured; (\d+) filtered out", re.MULTILINE)
_CARGO_TEST = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)\b")
_CARGO_TARGET = re.compile(r"^\s*(?:Running (?:unittests )?(\S+)|Doc-tests (\S+))")
_CARGO_FAILURE = re.compile(r"^---- (.+?) stdout ----$")
_CARGO_OUTCOMES = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}


def parse_cargo_output(output: str) -> TextReport | None:
    """Counts from every test binary's "test result:" line, and each test's line; None when there are none."""
    results = _CARGO_RESULT.findall(output)
    if not results:
        return None
    counts = dict.fromkeys(("passed", "failed", "errors", "skipped", "xfailed", "xpassed"), 0)
    for passed, failed, ignored, _measured, _filtered in results:
        counts["passed"] += int(passed)
        counts["failed"] += int(failed)
        counts["skipped"] += int(ignored)
    tests: list[TestCase] = []
    messages: dict[str, list[str]] = {}
    target, failing = "", None
    for line in output.splitlines():
        if match := _CARGO_TARGET.match(line):
            target, failing = match.group(1) or f"doc-tests of {match.group(2)}", None
        elif match := _CARGO_TEST.match(line):
            tests.append(TestCase(match.group(1), target, _CARGO_OUTCOMES[match.group(2)], 0.0))
        elif match := _CARGO_FAILURE.match(line):
            failing = match.group(1)
        elif failing is not None and (line == "failures:" or line.startswith("test result:")):
            failing = None
        elif failing is not None:
            messages.setdefault(failing, []).append(line)
    for test in tests:
        if test.outcome == "failed":
            test.message = "\n".join(messages.get(test.name, [])).strip()[-_MESSAGE_CAP:]
    return TextReport(counts, tests)


# -- running -------------------------------------------------------------------------------------------------------


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


def _flag_silent_failure(run: TestRun) -> None:
    """A command that failed while no test did (a crashed test binary, a broken fixture): say so, as an error."""
    if run.exit_code not in (0, 5, None) and not (run.failed or run.errors):
        message = f"{run.command} exited with code {run.exit_code}\n{run.output[-_MESSAGE_CAP:]}"
        run.tests.append(TestCase(run.command, "", "error", run.duration, message))
        run.errors += 1


def _read_text_report(run: TestRun, cwd: Path) -> None:
    """unittest and cargo test: counts from their summary; anything else falls back to the exit code."""
    report = None
    if is_unittest_command(run.command):
        report = parse_unittest_output(run.output, cwd.resolve())
    elif is_cargo_test_command(run.command):
        report = parse_cargo_output(run.output)
    if report is None:
        _fallback(run)
        _count(run)
        return
    run.tests = report.tests
    for name, number in report.counts.items():
        setattr(run, name, number)


def _read_junit(run: TestRun, xml_text: str | None) -> None:
    try:
        run.tests = parse_junit(xml_text, run.output) if xml_text else []
    except ET.ParseError:
        run.tests = []
    if not run.tests and not (xml_text and run.exit_code == 5):
        _fallback(run)  # pytest exit code 5 with a report means "no tests collected": nothing to count
    _count(run)


async def run_tests(
    cwd: Path, command: str, *, timeout: float = 600, env: dict | None = None, output_cap: int = 64_000
) -> TestRun:
    """Run the test command in `cwd` and return its results as data. `env` defaults to procs.safe_env().

    On timeout the command's whole process group (the test runner and anything it started) is killed.
    """
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
    if result.timed_out:
        _fallback(run)  # a killed run's partial report would look like a smaller, passing suite
        _count(run)
    elif is_pytest_command(command):
        _read_junit(run, xml_text)
    else:
        _read_text_report(run, Path(cwd))
    _flag_silent_failure(run)
    return run

"""The engine's own checks on a change before a human sees it: the real tests, and a security review.

Agents elsewhere fabricate test results and count skipped tests as passing; here the engine runs the test command
itself on the change's tree, and the reviewer agent reads the diff. What they find goes back to the agent that
made the change (the improve loop in `task_run.py`) and travels with the change to the human.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .testing import TestRun

SEVERITIES = ("low", "medium", "high", "critical")
BLOCKING = ("high", "critical")  # blocks --approve all
IMPROVE_FROM = ("medium", "high", "critical")  # worth a round of fixes
DOC_SUFFIXES = {".md", ".rst", ".txt", ".adoc"}
DIFF_CAP = 30_000
REVIEW_TASK_SUFFIX = ".review"


@dataclass
class CheckResult:
    tests: TestRun | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tests_failing(self) -> bool:
        return self.tests is not None and not self.tests.ok

    def blocking_findings(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] in BLOCKING]

    def needs_improvement(self) -> bool:
        return self.tests_failing or any(f["severity"] in IMPROVE_FROM for f in self.findings)

    def payload(self) -> dict[str, Any]:
        """What the change decision carries, so a human (or the headless policy) sees the checks."""
        return {
            "tests": self.tests.summary() if self.tests is not None else None,
            "tests_failing": self.tests_failing,
            "findings": len(self.findings),
            "blocking_findings": len(self.blocking_findings()),
        }

    def improve_message(self, round_: int, max_rounds: int) -> str:
        lines = [f"# Improve round {round_} of {max_rounds}",
                 "The engine checked your change before showing it to the human. Fix what follows in your "
                 "worktree, run the tests, then finish again."]
        if self.tests_failing:
            run = self.tests
            lines.append(f"\n## Tests: {run.summary()} ({run.command})")
            for test in run.failures()[:20]:
                lines.append(f"{test.outcome.upper()} {test.file}::{test.name}\n{test.message[:1500]}".rstrip())
            if run.timed_out:
                lines.append("The test run timed out.")
        if self.findings:
            lines.append("\n## Review findings")
            lines += [f"- [{f['severity']}] {f['path']}:{f['line']} {f['message']}" for f in self.findings]
        return "\n".join(lines)


def is_doc_file(path: str) -> bool:
    p = PurePosixPath(path)
    return p.suffix.lower() in DOC_SUFFIXES or "docs" in p.parts or p.name in ("LICENSE", "CHANGELOG")


def is_test_file(path: str) -> bool:
    p = PurePosixPath(path)
    return "tests" in p.parts or "test" in p.parts or p.name.startswith("test_") or p.stem.endswith("_test")


def needs_tests(files: list[str]) -> bool:
    """Anything but documentation can break the tests."""
    return any(not is_doc_file(f) for f in files)


def needs_review(files: list[str]) -> bool:
    """Source code, not tests or documentation, gets a security review."""
    return any(not is_doc_file(f) and not is_test_file(f) for f in files)


def review_brief(goal: str, task_id: str, task_title: str, files: list[str], diff: str, shared_context: str) -> str:
    shown = diff if len(diff) <= DIFF_CAP else diff[:DIFF_CAP] + "\n[... diff truncated; read the files ...]"
    return (
        f"# Goal\n{goal}\n\n"
        f"# Task {task_id}{REVIEW_TASK_SUFFIX}: Security review of the change of {task_id} ({task_title})\n"
        "Review this change before it reaches the human: injection, path and shell handling, secrets, unsafe "
        "deserialisation, missing checks. Report each problem with report_findings (severity, path, line in the new "
        "file, message), then finish. If there is nothing to report, finish saying so.\n"
        f"Files: {', '.join(files)}\n\n```diff\n{shown}\n```\n\n"
        f"# Shared context\n{shared_context}\n"
    )


def parse_findings(raw: Any) -> list[dict[str, Any]]:
    """Validate report_findings arguments; raise ValueError with a message the model can act on."""
    if not isinstance(raw, list):
        raise ValueError("findings must be a list of {severity, path, line, message}")
    findings = []
    for item in raw:
        if not isinstance(item, dict) or str(item.get("severity", "")).lower() not in SEVERITIES:
            raise ValueError(f"each finding needs severity in {SEVERITIES}, path, line, message")
        try:
            line = int(item.get("line") or 0)
        except (TypeError, ValueError):
            raise ValueError(f"line must be a number, got {item.get('line')!r}") from None
        findings.append({
            "severity": str(item["severity"]).lower(), "path": str(item.get("path") or ""), "line": line,
            "message": str(item.get("message") or ""),
        })
    return findings

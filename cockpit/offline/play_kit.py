"""What the offline model's scripts share: the types a script sees, turn builders, and readers for tool results.

A script is a generator: it yields the turn it plays and receives an Observation of what the tools answered.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from cockpit.offline.turns import ScriptedTurn


@dataclass(frozen=True)
class Brief:
    goal: str
    task_id: str
    title: str
    description: str
    shared_context: str


@dataclass
class Exchange:
    """One assistant turn, the results of its tool calls and the user messages that followed it."""

    calls: list[tuple[str, dict, str]]  # (tool name, arguments, call id)
    results: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Observation:
    """What a script sees after one of its turns: the tool results, in call order."""

    results: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.results[0] if self.results else ""

    @property
    def failed(self) -> bool:
        return looks_like_error(self.text)


Script = Generator[ScriptedTurn, Observation, None]


def call(text: str, tool: str, **arguments: Any) -> ScriptedTurn:
    return ScriptedTurn(text, [(tool, arguments)])


def finish_turn(text: str, summary: str) -> ScriptedTurn:
    return ScriptedTurn(text, [("finish", {"summary": summary})])


def is_finish(turn: ScriptedTurn) -> bool:
    return any(name == "finish" for name, _ in turn.tool_calls)


def finish_summary(turn: ScriptedTurn) -> str:
    return next((str(args.get("summary", "")) for name, args in turn.tool_calls if name == "finish"), "")


# The toolbox answers a failure with a plain sentence (cockpit/tools.py); these are the ways those sentences read.
_ERROR_STARTS = ("error", "tool error", "failed", "refused", "denied", "not allowed", "blocked", "permission",
                 "unknown tool", "unknown argument", "missing argument", "arguments for", "the user declined",
                 "old_text", "invalid regular expression", "no test command")
_ERROR_PHRASES = ("no such file", "no such folder", "not found", "does not exist", "is a folder", "is not a file",
                  "outside the worktree", " failed: ", "handled by the agent loop")


def looks_like_error(text: str) -> bool:
    """Whether a tool result reports a failure (the tools answer errors as text, not exceptions)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict) and (data.get("ok") is False or bool(data.get("error"))):
            return True
    first_line = stripped.splitlines()[0].lower() if stripped else ""
    return first_line.startswith(_ERROR_STARTS) or any(phrase in first_line for phrase in _ERROR_PHRASES)


@dataclass(frozen=True)
class TestCounts:
    __test__ = False  # not a pytest class, whatever its name

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.errors == 0 and self.passed > 0

    def describe(self) -> str:
        text = f"{self.passed} passed, {self.failed} failed"
        if self.errors:
            text += f", {self.errors} errors"
        if self.skipped:
            text += f", {self.skipped} skipped"
        if self.failing:
            text += f" ({', '.join(self.failing[:3])}{', ...' if len(self.failing) > 3 else ''})"
        return text


_COUNT_KEYS = {"passed": "passed", "failed": "failed", "error": "errors", "errors": "errors", "skipped": "skipped"}


def parse_test_counts(text: str) -> TestCounts | None:
    """Read the counts out of a run_tests result: JSON data, or pytest's summary line. None if there are none."""
    data = _embedded_json(text)
    if isinstance(data, dict):
        for candidate in (data, data.get("summary"), data.get("counts")):
            if isinstance(candidate, dict) and any(key in candidate for key in _COUNT_KEYS):
                counts = {_COUNT_KEYS[k]: int(v) for k, v in candidate.items() if k in _COUNT_KEYS and _is_int(v)}
                return TestCounts(**counts, failing=_failing_from_json(data))
    counts = {}
    for match in re.finditer(r"(\d+)\s+(passed|failed|errors?|skipped)\b", text):
        counts[_COUNT_KEYS[match.group(2)]] = int(match.group(1))
    for match in re.finditer(r"\b(passed|failed|errors?|skipped)\b\s*[=:]\s*(\d+)", text):
        counts[_COUNT_KEYS[match.group(1)]] = int(match.group(2))
    if not counts:
        return None
    failing = tuple(dict.fromkeys(re.findall(r"^(?:FAILED|ERROR)\s+(\S+)", text, re.MULTILINE)))
    return TestCounts(**counts, failing=failing)


def _embedded_json(text: str) -> Any:
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def _failing_from_json(data: dict) -> tuple[str, ...]:
    names = []
    for test in data.get("tests") or []:
        if isinstance(test, dict) and str(test.get("outcome", test.get("status", ""))).lower() in ("failed", "error"):
            names.append(str(test.get("name") or test.get("nodeid") or "?"))
    return tuple(names)


def tests_sentence(observation: Observation) -> tuple[str, bool]:
    """A sentence about a run_tests result, made only from what the result says; and whether it is green."""
    if observation.failed and parse_test_counts(observation.text) is None:
        return f"the test run did not complete ({first_line(observation.text)})", False
    counts = parse_test_counts(observation.text)
    if counts is None:
        return f"the test run gave no counts I could read ({first_line(observation.text)})", False
    return f"tests: {counts.describe()}", counts.ok


def first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "empty result"
    return line if len(line) <= 120 else line[:117] + "..."


def listed_paths(text: str) -> list[str]:
    """The paths in a list_files result (a JSON list, or one path a line)."""
    data = None
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    if isinstance(data, dict):
        data = data.get("files") or data.get("paths")
    if isinstance(data, list):
        return [str(item) for item in data if isinstance(item, str)]
    paths = []
    for line in text.splitlines():
        line = line.strip().removeprefix("- ").strip()
        if line and not line.endswith(":") and not line.startswith(("(", "#", "...")) and len(line) < 300:
            paths.append(line)
    return paths


def summarise_paths(paths: list[str]) -> list[str]:
    """A few bullet lines describing a file listing: how many files, the top-level entries, the kinds of file."""
    top = sorted({p.split("/", 1)[0] + ("/" if "/" in p else "") for p in paths})
    kinds = Counter(p.rsplit(".", 1)[-1] if "." in p.rsplit("/", 1)[-1] else "(none)" for p in paths)
    shown = ", ".join(f"`{entry}`" for entry in top[:12]) + (", ..." if len(top) > 12 else "")
    by_kind = ", ".join(f"{count} .{ext}" if ext != "(none)" else f"{count} without extension"
                        for ext, count in kinds.most_common(5))
    return [f"- {len(paths)} files listed.", f"- Top level: {shown or 'nothing'}.", f"- By kind: {by_kind or '-'}."]


def mentioned_paths(text: str) -> list[str]:
    """File paths named in a free-text note (at most three), e.g. 'Note: the user edited src/app.py'."""
    found = re.findall(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.[A-Za-z][A-Za-z0-9]{0,7})(?![\w/])", text)
    # A one-letter stem is an abbreviation ("e.g."), not a file.
    names = [path for path in found if len(path.rsplit("/", 1)[-1].split(".")[0]) > 1]
    return [path for path in dict.fromkeys(names) if not path.startswith(("http", "www."))][:3]


def cap_first(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def quote(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."

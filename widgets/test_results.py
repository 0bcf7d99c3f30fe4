"""The test results pane: the last `tests_finished` run of each task, grouped by file, failures opened up.

A run is the event's data: `{task_id, passed, failed, errors, skipped, tests: [{name, file, outcome, duration,
message}]}` (plus `xfailed`, `xpassed` and `command` from cockpit.testing). Skipped tests are never counted as
passed: the summary names each outcome separately.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

OUTCOME_ICONS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "○", "xfail": "x", "xpass": "✓"}
# (run count key, outcome, label): the summary's order, each outcome on its own.
_COUNTS = (
    ("passed", "passed", "passed"), ("failed", "failed", "failed"), ("errors", "error", "errors"),
    ("skipped", "skipped", "skipped"), ("xfailed", "xfail", "xfailed"), ("xpassed", "xpass", "xpassed"),
)
_OUTCOME_VARIABLES = {  # theme colours for the summary line
    "passed": "$text-success", "failed": "$text-error", "error": "$text-error",
    "skipped": "$text-warning", "xfail": "$text-muted", "xpass": "$text-warning",
}
_PROBLEMS = ("failed", "error")  # outcomes that open their test and file in the tree
_WORST_FIRST = ("error", "failed", "xpass", "skipped", "xfail", "passed")
_MESSAGE_LINES = 200  # a failure's output is capped in the tree; the journal keeps it whole


def outcome_counts(run: dict[str, Any]) -> dict[str, int]:
    """Counts per outcome: the run's own numbers where it has them, else counted from its tests."""
    counted = Counter(str(test.get("outcome", "")) for test in run.get("tests") or [])
    return {outcome: int(run.get(key, counted[outcome]) or 0) for key, outcome, _ in _COUNTS}


def _summary_parts(counts: dict[str, int]) -> list[tuple[str, str]]:
    """(text, outcome) for each outcome with a non-zero count, in summary order."""
    parts = []
    for _, outcome, label in _COUNTS:
        number = counts.get(outcome, 0)
        if number:
            parts.append((f"{number} {'error' if outcome == 'error' and number == 1 else label}", outcome))
    return parts


def summary_text(counts: dict[str, int]) -> str:
    """`12 passed, 1 failed, 2 skipped`; zero counts are left out."""
    return ", ".join(text for text, _ in _summary_parts(counts)) or "no tests ran"


def summary_markup(counts: dict[str, int]) -> str:
    """The summary as Textual markup, each count in its outcome's theme colour."""
    parts = [f"[{_OUTCOME_VARIABLES[outcome]}]{text}[/]" for text, outcome in _summary_parts(counts)]
    return ", ".join(parts) or "no tests ran"


def _worst(outcomes: list[str]) -> str:
    present = set(outcomes)
    return next((outcome for outcome in _WORST_FIRST if outcome in present), "passed")


def _by_file(tests: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {}
    for test in tests:
        files.setdefault(str(test.get("file") or "(no file)"), []).append(test)
    return files


@dataclass
class ResultNode:
    """What a tree line stands for, so the tree can colour it by outcome."""

    kind: str  # task, file, test, message
    outcome: str
    test: dict[str, Any] | None = None


class ResultsTree(Tree[ResultNode]):
    """A Tree whose icons take their colour from the theme, by outcome."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "results-tree--passed", "results-tree--failed", "results-tree--error", "results-tree--skipped",
        "results-tree--xfail", "results-tree--xpass", "results-tree--message", "results-tree--muted",
    }

    DEFAULT_CSS = """
    ResultsTree {
        background: $surface;
        & > .results-tree--passed { color: $success; }
        & > .results-tree--failed { color: $error; text-style: bold; }
        & > .results-tree--error { color: $error; text-style: bold; }
        & > .results-tree--skipped { color: $warning; }
        & > .results-tree--xfail { color: $text-muted; }
        & > .results-tree--xpass { color: $warning; }
        & > .results-tree--message { color: $text-error; }
        & > .results-tree--muted { color: $text-muted; }
    }
    """

    def render_label(self, node: TreeNode[ResultNode], base_style: Style, style: Style) -> Text:
        text = super().render_label(node, base_style, style)
        info = node.data
        if info is None:
            return text
        if info.kind == "message":
            text.stylize(self._style("results-tree--message"))
            return text
        icon = OUTCOME_ICONS.get(info.outcome, "?")
        start = text.plain.find(icon)
        if start >= 0 and info.outcome in OUTCOME_ICONS:
            text.stylize(self._style(f"results-tree--{info.outcome}"), start, start + len(icon))
        return text

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)


class TestResults(Widget):
    """Per-test outcomes of each task's last run: a summary line, then files, tests and failure output."""

    __test__ = False  # not a pytest class, despite the name

    HELP = """
## Test results

The last test run of each task, grouped by file. Failures and errors are opened with their output.
Counts are exact: skipped and expected failures are never counted as passed.

- `enter` / `space` open or close a file or test; arrows move.
"""

    DEFAULT_CSS = """
    TestResults {
        layout: vertical;
        height: 1fr;
        background: $surface;
        & > #test-summary { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & > ResultsTree { height: 1fr; }
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._runs: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Static("no tests ran", id="test-summary", markup=True)
        tree = ResultsTree("tests", id="test-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree

    def on_mount(self) -> None:
        if self._runs:
            self._rebuild()

    @property
    def runs(self) -> dict[str, dict[str, Any]]:
        return dict(self._runs)

    def show_run(self, task_id: str, run: dict[str, Any]) -> None:
        """Show (or replace) one task's last run."""
        self._runs[task_id] = run
        self._rebuild()

    def show_runs(self, runs: dict[str, dict[str, Any]]) -> None:
        """Show the last run of every task (SessionState.tests), replacing whatever was shown."""
        self._runs = dict(runs)
        self._rebuild()

    def total_counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for run in self._runs.values():
            total.update(outcome_counts(run))
        return {outcome: total[outcome] for _, outcome, _ in _COUNTS}

    def summary(self) -> str:
        """The summary line as plain text, e.g. `12 passed, 1 failed, 2 skipped`."""
        return summary_text(self.total_counts())

    def _rebuild(self) -> None:
        if not self.is_mounted:
            return  # on_mount shows what came before
        self.query_one("#test-summary", Static).update(summary_markup(self.total_counts()))
        tree = self.query_one(ResultsTree)
        tree.clear()
        many = len(self._runs) > 1
        for task_id, run in self._runs.items():
            parent = tree.root
            if many:
                counts = outcome_counts(run)
                outcome = _worst([o for o, n in counts.items() if n])
                label = _label(outcome, task_id, summary_text(counts) + (" · stale: the code changed since" if run.get("stale") else ""))
                parent = tree.root.add(label, ResultNode("task", outcome), expand=True)
            self._add_files(parent, run.get("tests") or [])

    def _add_files(self, parent: TreeNode[ResultNode], tests: list[dict[str, Any]]) -> None:
        for file, file_tests in _by_file(tests).items():
            outcomes = [str(test.get("outcome", "")) for test in file_tests]
            worst = _worst(outcomes)
            counts = Counter(outcomes)
            node = parent.add(
                _label(worst, file, summary_text({o: counts[o] for _, o, _ in _COUNTS})),
                ResultNode("file", worst),
                expand=worst in _PROBLEMS,
            )
            for test in file_tests:
                _add_test(node, test)


def _label(outcome: str, name: str, detail: str = "") -> Text:
    text = Text(f"{OUTCOME_ICONS.get(outcome, '?')} {name}")
    if detail:
        text.append(f"  {detail}", "dim")
    return text


def _add_test(parent: TreeNode[ResultNode], test: dict[str, Any]) -> None:
    outcome = str(test.get("outcome", ""))
    duration = test.get("duration")
    detail = f"{duration:.2f}s" if isinstance(duration, (int, float)) and duration else ""
    detail = f"{outcome}  {detail}".strip() if outcome not in ("passed",) else detail
    message = str(test.get("message") or "")
    lines = message.splitlines()
    info = ResultNode("test", outcome, test)
    label = _label(outcome, str(test.get("name", "?")), detail)
    if not lines:
        parent.add_leaf(label, info)
        return
    node = parent.add(label, info, expand=outcome in _PROBLEMS)
    shown = lines[:_MESSAGE_LINES]
    for line in shown:
        node.add_leaf(Text(line or " "), ResultNode("message", outcome))
    if len(lines) > len(shown):
        node.add_leaf(Text(f"… {len(lines) - len(shown)} more lines"), ResultNode("message", outcome))

"""The end of a session: what was done, what is left, what it cost. Built from `session_finished` and the state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from .dialogs import DIALOG_CSS
from .plan_tree import STATUS_ICONS
from .status_bar import format_cost, format_elapsed, format_tokens

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from cockpit.state import SessionState

HEADLINES = {
    "completed": "Session completed",
    "failed": "Session ended with a failed task",
    "stopped": "Session stopped",
}


def summary_markdown(status: str, summary: dict[str, Any], state: "SessionState", elapsed: float) -> str:
    """The summary as Markdown: a headline, the tasks, the changes, the tests, the cost."""
    reason = summary.get("reason") or ""
    lines = [f"## {HEADLINES.get(status, status)}" + (f" ({reason.replace('_', ' ')})" if reason else ""), ""]
    for task_id, ts in state.tasks.items():
        outcome = (ts.summary or ts.status).splitlines()[0]
        outcome = outcome if len(outcome) <= 90 else outcome[:89] + "…"
        lines.append(f"- {STATUS_ICONS.get(ts.status, '?')} **{task_id}** {_plain(ts.task.title)} ({ts.task.agent}, "
                     f"{ts.status}): {_plain(outcome)}")
    applied = summary.get("changes_applied", 0)
    pending = summary.get("changes_pending", 0)
    lines += ["", f"- **Changes:** {applied} applied" + (f", {pending} waiting for review (`cockpit resume`)" if pending else "")]
    last = state.last_tests
    if last:
        lines.append(f"- **Tests:** the last run ({last.get('task_id')}): {last.get('passed', 0)} passed, "
                     f"{last.get('failed', 0)} failed, {last.get('errors', 0)} errors, {last.get('skipped', 0)} skipped")
    findings = sum(len(found) for found in state.findings.values())
    if findings:
        lines.append(f"- **Findings:** {findings} reported by the reviewer")
    tokens = summary.get("tokens", state.total_tokens)
    cost = summary.get("cost_usd", state.cost_usd)
    lines.append(f"- **Usage:** {format_tokens(tokens)}, {format_cost(cost)}, {format_elapsed(elapsed)} elapsed")
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    """Text shown as is in Markdown: `__init__` must not turn bold."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#" else ch for ch in text)


class SummaryScreen(ModalScreen[str]):
    """Shown once the session has finished; returns "quit" or "browse"."""

    DEFAULT_CSS = DIALOG_CSS % "SummaryScreen" + """
    SummaryScreen > Vertical { width: 100; }
    SummaryScreen Markdown { height: auto; max-height: 30; overflow-y: auto; margin: 0; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,enter", "dismiss('quit')", "Quit", id="summary.quit"),
        Binding("escape,b", "dismiss('browse')", "Look around", id="summary.browse"),
    ]

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> "ComposeResult":
        with Vertical() as box:
            box.border_title = "Summary"
            yield Markdown(self.markdown)
            yield Static("q or enter quits · escape looks around (then q quits)", classes="hint")

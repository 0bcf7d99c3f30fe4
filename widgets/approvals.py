"""The "needs you" queue: every open decision, oldest first, until someone answers it. Nothing is dropped here."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Sequence

from textual import on
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from cockpit.state import Decision

KIND_BADGES = {"plan": "PLAN", "change": "CHANGE", "command": "COMMAND", "conflict": "CONFLICT"}
KIND_HINTS = {
    "plan": "e edit · r reassign · n add · a approve · x reject",
    "change": "a apply · x reject with a reason",
    "command": "a allow · x deny",
    "conflict": "a send back to the agent · x fail the task",
}


def decision_prompt(position: int, decision: "Decision") -> Content:
    badge = KIND_BADGES.get(decision.kind, decision.kind.upper())
    return Content.assemble(
        (f"{position}. ", "$text-muted"),
        (f" {badge} ", "bold $text-warning on $warning-muted"),
        " ",
        (decision.task_id or "", "bold"),
        " ",
        decision.prompt,
        "\n",
        (KIND_HINTS.get(decision.kind, ""), "$text-muted"),
    )


class ApprovalsQueue(OptionList):
    """Open decisions in the order they arrived; the highlighted one is what `a` and `x` answer when focused."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    DEFAULT_CSS = """
    ApprovalsQueue {
        height: auto;
        max-height: 12;
        min-height: 3;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        background: $surface;
        &.-has-decisions { border: round $warning; border-title-color: $text-warning; border-title-style: bold; }
        &:focus { border: round $accent; }
    }
    """

    HELP = """
## Needs you
Every decision the agents are waiting on, oldest first: the plan, changes to apply, commands to allow,
conflicts. Nothing here is ever dropped or answered for you.

- **a** approves the highlighted decision, **x** rejects it (you may give a reason that goes back to the agent)
- **ctrl+n** jumps to the next decision from anywhere
- **enter** shows the task (and the change) the decision is about
"""

    class DecisionHighlighted(Message):
        """The cursor moved onto a decision."""

        def __init__(self, request_id: str | None, task_id: str | None) -> None:
            self.request_id = request_id
            self.task_id = task_id
            super().__init__()

    class DecisionChosen(Message):
        """Enter on a decision: show what it is about."""

        def __init__(self, request_id: str, task_id: str) -> None:
            self.request_id = request_id
            self.task_id = task_id
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: list[str] = []
        self._task_of: dict[str, str] = {}

    def on_mount(self) -> None:
        self.border_title = "Needs you"
        self._show_empty()

    @property
    def highlighted_request(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None and option.id in self._task_of else None

    def sync(self, decisions: Sequence["Decision"]) -> None:
        """Show exactly these decisions; keep the highlight on the same request when it is still open."""
        ids = [d.request_id for d in decisions]
        self.border_title = f"Needs you ({len(ids)})" if ids else "Needs you"
        self.set_class(bool(ids), "-has-decisions")
        if ids == self._shown:
            return
        keep = self.highlighted_request
        self._shown = ids
        self._task_of = {d.request_id: d.task_id for d in decisions}
        if not ids:
            self._show_empty()
            return
        self.set_options(Option(decision_prompt(n, d), id=d.request_id) for n, d in enumerate(decisions, 1))
        self.highlighted = ids.index(keep) if keep in ids else 0

    def highlight_request(self, request_id: str) -> None:
        if request_id in self._shown:
            self.highlighted = self._shown.index(request_id)

    def _show_empty(self) -> None:
        self.set_options([Option(Content.styled("Nothing needs you right now.", "$text-muted"), disabled=True)])

    @on(OptionList.OptionHighlighted)
    def _on_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        request_id = event.option.id
        if request_id in self._task_of:
            self.post_message(self.DecisionHighlighted(request_id, self._task_of[request_id]))

    @on(OptionList.OptionSelected)
    def _on_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        request_id = event.option.id
        if request_id in self._task_of:
            self.post_message(self.DecisionChosen(request_id, self._task_of[request_id]))

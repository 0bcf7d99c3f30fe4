"""The proposed changes: a list (status, change, task, file count) above the diff of the highlighted one.

The pane only renders state: approving or rejecting is the app's business (it reads `selected_change_id` and
`diff_view.selected_hunk_keys()`). Updates keep the highlighted change, and the diff is laid out again only
when the highlighted change's diff text changes, so a stream of state updates costs nothing while you read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.state import ChangeState
from cockpit.widgets.diff_view import DiffView

# status -> (icon, theme variable for its colour)
STATUS_ICONS: dict[str, tuple[str, str]] = {
    "pending": ("●", "$text-warning"),
    "approved": ("◐", "$text-primary"),
    "applied": ("✓", "$text-success"),
    "rejected": ("✗", "$text-muted"),
    "conflicted": ("⚠", "$text-error"),
}


def change_prompt(change: ChangeState) -> str:
    """One list line as markup: status icon, change id, task id, file count."""
    icon, color = STATUS_ICONS.get(change.status, ("?", "$text-muted"))
    count = len(change.files)
    files = f"{count} file" if count == 1 else f"{count} files"
    return f"[{color}]{icon}[/] [b]{escape(change.change_id)}[/b]  {escape(change.task_id)}  [dim]{files}[/dim]"


def change_status_line(change: ChangeState | None) -> str:
    """The line between list and diff: what the change is and, if it needs saying, why it is where it is."""
    if change is None:
        return "[dim]no changes proposed yet[/dim]"
    head = f"[b]{escape(change.change_id)}[/b] · task {escape(change.task_id)} · {change.status}"
    if change.status == "conflicted" and change.conflicted:
        return f"{head}: [$text-error]conflicts in {escape(', '.join(change.conflicted))}[/]"
    if change.status == "rejected" and change.reason:
        return f"{head}: {escape(change.reason)}"
    shown = ", ".join(change.files[:3]) + (", …" if len(change.files) > 3 else "")
    return f"{head} · {escape(shown)}" if shown else head


def _normal_path(path: Any) -> str:
    text = str(path or "").replace("\\", "/")
    return text[2:] if text.startswith("./") else text


class ChangesPane(Vertical):
    """The list of proposed changes and the diff of the highlighted one."""

    HELP = """
## Changes

Every change an agent proposed, with its status: ● pending, ◐ approved, ✓ applied, ✗ rejected, ⚠ conflicted.
Move in the list to see a change's diff below; in the diff, `]` / `[` move between hunks and `space` selects one.
"""

    DEFAULT_CSS = """
    ChangesPane {
        height: 1fr;
        & > #change-list { height: auto; max-height: 8; border: none; background: $surface; }
        & > #change-list:focus { background-tint: $foreground 3%; }
        & > #change-status { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & > DiffView { height: 1fr; }
    }
    """

    @dataclass
    class ChangeHighlighted(Message):
        """The change shown in the diff view is now `change_id` (None when there are no changes)."""

        change_id: str | None
        changes_pane: ChangesPane | None = None

        @property
        def control(self) -> ChangesPane | None:
            return self.changes_pane

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._changes: dict[str, ChangeState] = {}
        self._order: list[str] = []
        self._prompts: list[str] = []
        self._selected: str | None = None
        self._shown: tuple[str | None, str] = (None, "")  # (change id, diff text) in the diff view
        self._findings: list[dict] = []
        self._shown_findings: list[dict] = []
        self._early: list[ChangeState] | None = None  # changes given before the pane was mounted

    def compose(self) -> ComposeResult:
        yield OptionList(id="change-list")
        yield Static(change_status_line(None), id="change-status")
        yield DiffView(id="change-diff")

    def on_mount(self) -> None:
        if self._early is not None:
            early, self._early = self._early, None
            self.update_changes(early)

    @property
    def selected_change_id(self) -> str | None:
        return self._selected

    @property
    def diff_view(self) -> DiffView:
        return self.query_one("#change-diff", DiffView)

    def update_changes(self, changes: Iterable[ChangeState]) -> None:
        """Show these changes (in this order), keeping the highlighted one if it is still there."""
        changes = list(changes)
        if not self.is_mounted:
            self._early = changes
            return
        previous, self._changes = self._changes, {change.change_id: change for change in changes}
        order = [change.change_id for change in changes]
        prompts = [change_prompt(change) for change in changes]
        option_list = self.query_one("#change-list", OptionList)
        if order == self._order:
            for index, (old, new) in enumerate(zip(self._prompts, prompts)):
                if old != new:
                    option_list.replace_option_prompt_at_index(index, new)
        else:
            option_list.set_options([Option(prompt, id=cid) for cid, prompt in zip(order, prompts)])
        self._order, self._prompts = order, prompts
        if self._selected in self._changes:
            keep = _new_rebase_of(self._selected, changes, previous)
        else:
            keep = _first_to_review(changes)
        if keep is not None:
            option_list.highlighted = order.index(keep)
        self._select(keep)

    def select_change(self, change_id: str) -> bool:
        """Highlight a change (e.g. the one a decision is about); False if the list does not hold it yet."""
        if change_id not in self._changes:
            return False
        self.query_one("#change-list", OptionList).highlighted = self._order.index(change_id)
        self._select(change_id)
        return True

    def set_findings(self, findings_by_path: list[dict]) -> None:
        """All the reviewers' findings; the diff shows those on the highlighted change's files."""
        self._findings = list(findings_by_path)
        relevant = self._relevant_findings(self._changes.get(self._selected or ""))
        if relevant != self._shown_findings:
            self._shown_findings = relevant
            self.diff_view.set_findings(relevant)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._select(event.option.id)

    def _select(self, change_id: str | None) -> None:
        change = self._changes.get(change_id or "")
        changed = change_id != self._selected
        self._selected = change_id if change is not None else None
        self.query_one("#change-status", Static).update(change_status_line(change))
        self._show_diff(change)
        if changed:
            self.post_message(self.ChangeHighlighted(self._selected, self))

    def _show_diff(self, change: ChangeState | None) -> None:
        shown = (change.change_id, change.diff) if change is not None else (None, "")
        if shown == self._shown:
            return  # same text: keep the layout, the scroll position and the hunk selection
        self._shown = shown
        self._shown_findings = self._relevant_findings(change)
        title = f"{change.change_id} · {change.task_id}" if change is not None else ""
        self.diff_view.show_diff(shown[1], findings=self._shown_findings, title=title)

    def _relevant_findings(self, change: ChangeState | None) -> list[dict]:
        if change is None:
            return []
        files = {_normal_path(path) for path in change.files}
        return [finding for finding in self._findings if _normal_path(finding.get("path")) in files]


def _first_to_review(changes: list[ChangeState]) -> str | None:
    """With nothing highlighted yet: the first change still waiting for a decision, else the first one."""
    for change in changes:
        if change.status in ("pending", "conflicted"):
            return change.change_id
    return changes[0].change_id if changes else None


def _new_rebase_of(change_id: str, changes: list[ChangeState], previous: dict[str, ChangeState]) -> str:
    """The change to show instead of `change_id`: itself, or the change it was just rebased into (the user's save
    superseded it), so the diff under review follows the user's edit. Only new rebases move the highlight: a
    superseded change the user picks again stays shown."""
    rebased = {change.rebased_from: change.change_id for change in changes
               if change.rebased_from and change.change_id not in previous}
    while change_id in rebased:
        change_id = rebased[change_id]
    return change_id

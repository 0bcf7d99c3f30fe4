"""The cockpit's main screen: the panes, their layout, and keeping them in line with the session state.

Panes render `SessionState`; they are synced at most once per frame however many events arrive (only agent text
goes straight to its stream). The keys and what they do are in `app_actions.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from cockpit.app_actions import COCKPIT_BINDINGS, COMMANDS, CockpitActions
from cockpit.app_streams import StreamDeck, StreamHeader
from cockpit.plan import PLAN_TASK_ID
from cockpit.state import SessionState
from cockpit.widgets.approvals import ApprovalsQueue
from cockpit.widgets.plan_tree import PlanPane, PlanTree
from cockpit.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from cockpit.engine import Engine
    from cockpit.widgets.changes_pane import ChangesPane
    from cockpit.widgets.test_results import TestResults
    from cockpit.events import Event
    from cockpit.state import Decision

STREAM_ONLY = {"agent_output", "tool_called", "tool_result"}  # the bulk of events: nothing but the stream changes
DIRTY_BY_EVENT = {
    "change_proposed": "changes", "change_decided": "changes", "change_applied": "changes",
    "change_conflicted": "changes", "change_stale": "changes", "tests_finished": "tests",
    "findings_reported": "findings",
}


class MainScreen(CockpitActions, Screen):
    """Header, plan and needs-you on the left, streams over changes and tests on the right, keys at the bottom."""

    BINDINGS = COCKPIT_BINDINGS
    ACTIONS = [action for _id, action, *_rest in COMMANDS]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    HELP = """
## Cockpit
A planner splits the goal into tasks; agents work on them, each in its own worktree. Nothing reaches your
files until you approve it. **tab** moves between panes; the footer shows the keys that apply now.
"""

    class Ready(Message):
        """The panes exist: events can be routed to them."""

    def __init__(self, engine: "Engine | None") -> None:
        super().__init__(id="main")
        self.engine = engine  # None until the app has opened it: the panes show an empty session meanwhile
        self._empty = SessionState()
        self.selected_task: str | None = None
        self._dirty: set[str] = {"changes", "tests", "findings"}
        self._sync_scheduled = False
        self._plan_review = False
        self._applicable: tuple[bool | None, ...] = ()

    def compose(self) -> "ComposeResult":
        yield StatusBar(id="status-bar")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield PlanPane(id="plan-pane")
                yield ApprovalsQueue(id="approvals")
            with Vertical(id="right"):
                yield StreamDeck(id="streams")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(PlanTree).focus()
        self.sync_header()  # "opening" on the first frame when the engine is not open yet
        self.call_after_refresh(self._mount_review_panes)

    async def _mount_review_panes(self) -> None:
        """Changes and tests join the screen right after its first frame: start-up paints a third sooner."""
        from cockpit.widgets.changes_pane import ChangesPane  # pygments and the diff view: after the first frame too
        from cockpit.widgets.test_results import TestResults

        bottom = TabbedContent(id="bottom")
        bottom.compose_add_child(TabPane("Changes", ChangesPane(id="changes"), id="changes-tab"))
        bottom.compose_add_child(TabPane("Tests", TestResults(id="tests"), id="tests-tab"))
        await self.query_one("#right").mount(bottom)
        self.sync_now()
        self.post_message(self.Ready())

    def attach(self, engine: "Engine") -> None:
        self.engine = engine
        self._dirty = {"changes", "tests", "findings"}
        self.sync_now()

    def on_resize(self, event) -> None:
        footer = self.query_one(Footer)
        footer.compact = event.size.width < 120  # 80 columns fit every key only when compact
        footer.show_command_palette = event.size.width >= 120  # ctrl+p is in the help

    # -- from the engine -----------------------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self.engine.session.state if self.engine is not None else self._empty

    def apply_event(self, event: "Event") -> None:
        """Route one journaled event: text to its stream now, everything else at the next frame."""
        change = self.state.changes.get(event.get("change_id") or "")
        self.query_one(StreamDeck).feed(event, task_id=change.task_id if change is not None else None)
        if event.type in STREAM_ONLY:
            return
        if event.type in DIRTY_BY_EVENT:
            self._dirty.add(DIRTY_BY_EVENT[event.type])
        self.schedule_sync()

    def schedule_sync(self) -> None:
        if not self._sync_scheduled:
            self._sync_scheduled = True
            self.call_after_refresh(self.sync_now)

    def models(self) -> dict[str, str]:
        models: dict[str, str] = {}
        if self.engine is None:
            return models
        for task_id, ts in self.state.tasks.items():
            try:
                models[task_id] = self.engine.runner.model_for(ts.task)
            except KeyError:  # an agent this run does not know (resumed session, removed agent file)
                models[task_id] = ts.task.model or "?"
        return models

    def sync_now(self) -> None:
        self._sync_scheduled = False
        if not self.is_mounted:
            return
        state, models = self.state, self.models()
        self.sync_header()
        self.query_one(PlanPane).sync(state, models)
        self.query_one(ApprovalsQueue).sync(list(state.decisions.values()))
        headers = {
            tid: StreamHeader(ts.status, ts.task.agent, models[tid], ts.task.title, ts.task.description,
                              tuple(ts.task.depends_on))
            for tid, ts in state.tasks.items()
        }
        self.query_one(StreamDeck).update_tasks(headers)
        dirty, self._dirty = self._dirty, set()
        changes = self.changes_pane()
        if "changes" in dirty:
            changes.update_changes(list(state.changes.values()))
        if "findings" in dirty:
            changes.set_findings([finding for found in state.findings.values() for finding in found])
        if "tests" in dirty:
            self.test_results().show_runs(state.tests)
        plan_review = any(d.kind == "plan" for d in state.decisions.values())
        if plan_review != self._plan_review:
            self._plan_review = plan_review
            self.set_class(plan_review, "-plan-review")
            if plan_review:
                self.query_one(PlanTree).focus()
        self.refresh_keys()

    def changes_pane(self) -> "ChangesPane":
        return self.query_one("#changes")  # type: ignore[return-value]

    def test_results(self) -> "TestResults":
        return self.query_one("#tests")  # type: ignore[return-value]

    def refresh_keys(self) -> None:
        """Refresh the footer only when the set of keys that apply has changed (it rebuilds itself each time)."""
        applicable = tuple(self.check_action(action, ()) for action in self.ACTIONS)
        if applicable != self._applicable:
            self._applicable = applicable
            self.refresh_bindings()

    def sync_header(self) -> None:
        status = self.query_one(StatusBar)
        if self.engine is None:
            status.opening()
        else:
            status.sync(self.state, self.engine.runner.is_paused(), self.app.elapsed())

    # -- selection -----------------------------------------------------------------------------------------------

    def on_plan_tree_task_highlighted(self, event: PlanTree.TaskHighlighted) -> None:
        self.selected_task = event.task_id
        self.query_one(StreamDeck).select(event.task_id)
        pane = self.query_one(PlanPane)
        pane.query_one("#task-detail").show_task(event.task_id, self.state, self.models().get(event.task_id or "", ""))
        self.refresh_keys()

    def on_plan_tree_task_chosen(self, event: PlanTree.TaskChosen) -> None:
        self.run_action("focus_stream")

    def on_stream_deck_stream_chosen(self, event: StreamDeck.StreamChosen) -> None:
        self.query_one(PlanTree).select_task(event.task_id)

    def on_approvals_queue_decision_chosen(self, event: ApprovalsQueue.DecisionChosen) -> None:
        decision = self.state.decisions.get(event.request_id)
        if decision is not None:
            self.show_decision(decision)

    def on_changes_pane_change_highlighted(self, event: ChangesPane.ChangeHighlighted) -> None:
        self.refresh_keys()

    def show_decision(self, decision: "Decision") -> None:
        """Put what a decision is about in view: its task in the plan and stream, its change in the diff."""
        self.query_one(PlanTree).select_task(decision.task_id)
        change_id = decision.payload.get("change_id")
        if change_id:
            self.query_one("#bottom", TabbedContent).active = "changes-tab"
            self.changes_pane().select_change(change_id)

    def target_decision(self) -> "Decision | None":
        """The decision `a` and `x` answer: the plan first, then what has focus, then the selected task's."""
        decisions = list(self.state.decisions.values())
        if not decisions:
            return None
        for decision in decisions:
            if decision.kind == "plan":
                return decision
        focused = self.focused
        chain = list(focused.ancestors_with_self) if focused is not None else []
        approvals, changes = self.query_one(ApprovalsQueue), self.changes_pane()
        if approvals in chain and approvals.highlighted_request in self.state.decisions:
            return self.state.decisions[approvals.highlighted_request]
        if changes in chain and changes.selected_change_id:
            for decision in decisions:
                if decision.payload.get("change_id") == changes.selected_change_id:
                    return decision
        for decision in decisions:
            if decision.task_id == self.selected_task:
                return decision
        return decisions[0]

    def selected_plan_task(self) -> str | None:
        """The selected task when it is a task of the plan (not the planner's own)."""
        task_id = self.selected_task
        return task_id if task_id and task_id != PLAN_TASK_ID and task_id in self.state.tasks else None

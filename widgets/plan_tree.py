"""The plan pane: the planner's task on top, the tasks of its plan below, and the details of the task under the cursor.

Rows are updated in place from `SessionState` (no rebuild per event), so the cursor and scroll never jump.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from cockpit.state import SessionState, TaskState

PLAN_TASK_ID = "plan"  # mirrors cockpit.plan.PLAN_TASK_ID; widgets do not import the engine

STATUS_ICONS = {
    "pending": "○",
    "ready": "◌",
    "running": "▶",
    "waiting": "◆",
    "done": "✓",
    "failed": "✗",
    "cancelled": "⊘",
}
ACTIVE = ("running", "waiting")


@dataclass(frozen=True)
class TaskRow:
    """What one row shows; rows are compared so unchanged ones are not repainted."""

    task_id: str
    title: str
    status: str
    agent: str
    model: str
    depends_on: tuple[str, ...]
    needs_you: bool


def make_row(task_id: str, ts: "TaskState", model: str, needs_you: bool) -> TaskRow:
    task = ts.task
    return TaskRow(task_id, task.title, ts.status, task.agent, model, tuple(task.depends_on), needs_you)


class PlanTree(Tree[str]):
    """The tasks as a tree: the plan task, with the tasks it planned as its children."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "plan-tree--pending",
        "plan-tree--ready",
        "plan-tree--running",
        "plan-tree--waiting",
        "plan-tree--done",
        "plan-tree--failed",
        "plan-tree--cancelled",
        "plan-tree--agent",
        "plan-tree--muted",
        "plan-tree--needs-you",
    }

    DEFAULT_CSS = """
    PlanTree {
        height: 1fr;
        overflow-x: hidden;
        background: $surface;
        & > .plan-tree--pending { color: $text-muted; }
        & > .plan-tree--ready { color: $text-secondary; }
        & > .plan-tree--running { color: $text-accent; text-style: bold; }
        & > .plan-tree--waiting { color: $text-warning; text-style: bold; }
        & > .plan-tree--done { color: $text-success; }
        & > .plan-tree--failed { color: $text-error; text-style: bold; }
        & > .plan-tree--cancelled { color: $text-muted; }
        & > .plan-tree--agent { color: $text-secondary; }
        & > .plan-tree--muted { color: $text-muted; }
        & > .plan-tree--needs-you { color: $text-warning; text-style: bold; }
    }
    """

    HELP = """
## Plan
The planner's task, then the tasks of the plan with their status, agent and dependencies.

- **j / k** or arrows: move; the stream of the task under the cursor is shown
- **enter**: focus that task's stream
- while the plan is under review: **e** edits a task (title, brief, dependencies), **r** reassigns it,
  **n** adds one, then **a** approves the plan or **x** rejects it with a reason for the planner

Icons: ○ pending · ◌ ready · ▶ running · ◆ waiting for you · ✓ done · ✗ failed · ⊘ cancelled
"""

    class TaskHighlighted(Message):
        """The cursor moved onto a task."""

        def __init__(self, task_id: str | None) -> None:
            self.task_id = task_id
            super().__init__()

    class TaskChosen(Message):
        """Enter (or a click) on a task: the user wants its stream."""

        def __init__(self, task_id: str) -> None:
            self.task_id = task_id
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        self._task_rows: dict[str, TaskRow] = {}  # set first: Tree.__init__ may render labels
        self._task_nodes: dict[str, TreeNode[str]] = {}
        super().__init__("tasks", id=id)
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 2

    @property
    def selected_task(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def sync(self, state: "SessionState", models: dict[str, str]) -> None:
        """Bring the rows in line with the session: add, update in place, remove, keep the cursor on its task."""
        waiting_on_you = {d.task_id for d in state.decisions.values()}
        rows = [make_row(tid, ts, models.get(tid, ""), tid in waiting_on_you) for tid, ts in state.tasks.items()]
        wanted = [row.task_id for row in rows]
        children = [tid for tid in self._task_nodes if tid != PLAN_TASK_ID]
        if [tid for tid in wanted if tid != PLAN_TASK_ID][: len(children)] != children:
            self._rebuild(rows)  # a new plan replaced the old one: order changed
            return
        for row in rows:
            if row.task_id not in self._task_nodes:
                self._add_node_for(row)
            elif self._task_rows.get(row.task_id) != row:
                self._task_rows[row.task_id] = row
                self._task_nodes[row.task_id].refresh()
        if self.cursor_line < 0 and self._task_nodes:
            self.move_cursor(self._task_nodes.get(PLAN_TASK_ID) or next(iter(self._task_nodes.values())))

    def select_task(self, task_id: str) -> None:
        node = self._task_nodes.get(task_id)
        if node is not None and self.cursor_node is not node:
            self.move_cursor(node)

    def _rebuild(self, rows: list[TaskRow]) -> None:
        selected = self.selected_task
        self.clear()
        self._task_rows.clear()
        self._task_nodes.clear()
        for row in rows:
            self._add_node_for(row)
        self.move_cursor(self._task_nodes.get(selected or "") or self._task_nodes.get(PLAN_TASK_ID))

    def _add_node_for(self, row: TaskRow) -> None:
        self._task_rows[row.task_id] = row
        if row.task_id == PLAN_TASK_ID:
            node = self.root.add(row.task_id, data=row.task_id, expand=True, allow_expand=False)
        else:
            parent = self._task_nodes.get(PLAN_TASK_ID, self.root)
            node = parent.add_leaf(row.task_id, data=row.task_id)
            parent.expand()
        self._task_nodes[row.task_id] = node

    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        row = self._task_rows.get(node.data or "")
        if row is None:
            return super().render_label(node, base_style, style)
        rich = self.get_component_rich_style
        label = Text.assemble(
            (STATUS_ICONS.get(row.status, "?") + " ", rich(f"plan-tree--{row.status}", partial=True)),
            (row.task_id, Style(bold=True)),
            " ",
            (row.agent, rich("plan-tree--agent", partial=True)),
            " ",
            row.title,
        )
        if row.depends_on:
            label.append(" ← " + ",".join(row.depends_on), rich("plan-tree--muted", partial=True))
        if row.needs_you:
            label.append(" ⚑", rich("plan-tree--needs-you", partial=True))
        label.stylize(style)
        return label

    @on(Tree.NodeHighlighted)
    def _on_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event.stop()
        self.post_message(self.TaskHighlighted(event.node.data))

    @on(Tree.NodeSelected)
    def _on_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data:
            self.post_message(self.TaskChosen(event.node.data))


class TaskDetail(Static):
    """A few lines on the task under the cursor: title, agent and model, dependencies, cost, outcome."""

    DEFAULT_CSS = """
    TaskDetail {
        height: auto;
        max-height: 7;
        padding: 0 1;
        background: $surface;
        color: $text-muted;
        border-top: hkey $panel-lighten-1;
    }
    """

    def show_task(self, task_id: str | None, state: "SessionState", model: str) -> None:
        ts = state.tasks.get(task_id or "")
        if ts is None:
            self.update("")
            return
        task = ts.task
        lines = [
            Content.assemble((task.id, "bold $text"), " · ", (task.title, "$text")),
            Content(f"{ts.status} · {task.agent} on {model or 'default model'}"
                    + (f" · attempt {ts.attempts}" if ts.attempts > 1 else "")),
        ]
        if task.depends_on:
            lines.append(Content("after " + ", ".join(task.depends_on)))
        if ts.tokens:
            lines.append(Content(f"{ts.tokens:,} tokens · ${ts.cost_usd:.2f}"))
        findings = state.findings.get(task.id)
        if findings:
            worst = max(findings, key=lambda f: ("low", "medium", "high", "critical").index(f.get("severity", "low")))
            lines.append(Content.styled(f"{len(findings)} finding(s), worst {worst['severity']}", "$text-warning"))
        if ts.summary and ts.status in ("done", "failed", "cancelled"):
            lines.append(Content(ts.summary.splitlines()[0]))
        self.update(Content("\n").join(lines))


class PlanPane(Vertical):
    """The plan tree with the detail of the selected task under it."""

    DEFAULT_CSS = """
    PlanPane {
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        &:focus-within { border: round $accent; border-title-color: $text-accent; }
    }
    """

    def compose(self) -> "ComposeResult":
        yield PlanTree(id="plan-tree")
        yield TaskDetail(id="task-detail")

    def on_mount(self) -> None:
        self.border_title = "Plan"

    @property
    def tree(self) -> PlanTree:
        return self.query_one(PlanTree)

    def sync(self, state: "SessionState", models: dict[str, str]) -> None:
        self.tree.sync(state, models)
        selected = self.tree.selected_task
        self.query_one(TaskDetail).show_task(selected, state, models.get(selected or "", ""))
        total = len(state.plan_tasks)
        done = sum(1 for t in state.plan_tasks if state.tasks[t.id].status == "done")
        self.border_title = f"Plan {done}/{total}" if total else "Plan"

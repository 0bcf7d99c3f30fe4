"""The deck of agent streams: one `AgentStream` per task that has started, side by side when there is room, one at a
time (with a tab line to pick another) when there is not. The stream of the task under the plan cursor is always shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from cockpit.widgets.plan_tree import ACTIVE, STATUS_ICONS

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from cockpit.widgets.agent_stream import AgentStream

    from cockpit.events import Event

MIN_STREAM_WIDTH = 48  # narrower than this, two streams side by side are unreadable: show one, with tabs
STARTS_A_STREAM = {"agent_output", "tool_called", "tool_result"}


@dataclass(frozen=True)
class StreamHeader:
    status: str
    agent: str
    model: str
    title: str = ""
    brief: str = ""
    depends_on: tuple[str, ...] = ()


class StreamTabs(Static):
    """One line naming every stream; the shown ones are marked, the selected one stands out. Click to pick."""

    DEFAULT_CSS = """
    StreamTabs {
        height: 1;
        background: $panel;
        color: $text-muted;
        padding: 0 1;
        overflow: hidden;
    }
    """

    class TabClicked(Message):
        def __init__(self, task_id: str) -> None:
            self.task_id = task_id
            super().__init__()

    def show_tabs(self, tabs: list[tuple[str, str, str]], selected: str | None, shown: set[str]) -> None:
        parts: list[Content | str] = []
        for task_id, agent, status in tabs:
            look = "bold $text on $primary-muted" if task_id == selected else ("$text" if task_id in shown else "")
            label = f" {STATUS_ICONS.get(status, '?')} {task_id} {agent} "
            parts.append(Content.styled(label, f"{look} @click=choose('{task_id}')".strip()))
            parts.append(" ")
        self.update(Content.assemble(*parts) if parts else Content.styled("no agent has started yet", "$text-muted"))

    def action_choose(self, task_id: str) -> None:
        self.post_message(self.TabClicked(task_id))


class StreamDeck(Vertical):
    """Routes each task's events to its stream and decides which streams are shown."""

    DEFAULT_CSS = """
    StreamDeck {
        height: 1fr;
        & > #stream-row { height: 1fr; }
        & #stream-placeholder {
            width: 1fr; height: 1fr; padding: 0 1; color: $text-muted; overflow-y: auto;
            border: round $panel-lighten-2; background: $surface;
        }
    }
    """

    HELP = """
## Agent stream
What the agent of this task says and does, live: its text as Markdown, each tool call with its result,
and status lines. The stream follows the output until you scroll up; press **G** (or scroll to the end)
to follow again. **j / k** scroll, **g** goes to the top. Only the most recent output is kept in memory;
the whole transcript is in the session journal.
"""

    class StreamChosen(Message):
        """The user picked a stream in the tab line."""

        def __init__(self, task_id: str) -> None:
            self.task_id = task_id
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.streams: dict[str, AgentStream] = {}
        self._headers: dict[str, StreamHeader] = {}
        self._active: list[str] = []
        self._selected: str | None = None

    def compose(self) -> "ComposeResult":
        yield StreamTabs(id="stream-tabs")
        with Horizontal(id="stream-row"):
            yield Static("Streams appear here when agents start working.", id="stream-placeholder")

    def on_mount(self) -> None:
        self._relayout()

    def feed(self, event: "Event", task_id: str | None = None) -> None:
        """Give an event to its task's stream (`task_id` for events that only name a change)."""
        task_id = task_id or event.get("task_id")
        if not task_id:
            return
        stream = self.streams.get(task_id)
        if stream is None:
            starts = event.type in STARTS_A_STREAM or (event.type == "task_updated" and event.get("status") == "running")
            if not starts:
                return
            stream = self._add_stream(task_id)
        stream.feed(event)

    def select(self, task_id: str | None) -> None:
        if task_id != self._selected:
            self._selected = task_id
            self._relayout()

    def update_tasks(self, headers: dict[str, StreamHeader]) -> None:
        """The status, agent and model of every task (for titles and tabs) and hence which ones are at work."""
        self._headers = headers
        self._active = [tid for tid, header in headers.items() if header.status in ACTIVE]
        for task_id, stream in self.streams.items():
            header = headers.get(task_id)
            if header is not None:
                stream.border_title = f"{task_id} · {header.agent}"
                stream.border_subtitle = f"{header.status} · {header.model}" if header.model else header.status
        self._relayout()

    def focus_stream(self, task_id: str | None) -> bool:
        stream = self.streams.get(task_id or "")
        if stream is None:
            return False
        self.select(task_id)
        stream.focus()
        return True

    async def flush(self) -> None:
        """Bring every shown stream fully up to date (tests and screenshots wait on this)."""
        for stream in self.streams.values():
            if stream.is_shown():
                await stream.flush_view()

    def on_resize(self) -> None:
        self._relayout()

    def on_stream_tabs_tab_clicked(self, event: StreamTabs.TabClicked) -> None:
        event.stop()
        self.post_message(self.StreamChosen(event.task_id))

    def _add_stream(self, task_id: str) -> AgentStream:
        from cockpit.widgets.agent_stream import AgentStream  # Markdown and its parser: not needed before a task runs

        safe = re.sub(r"[^A-Za-z0-9_-]", "_", task_id)
        stream = AgentStream(task_id, id=f"stream-{safe}-{len(self.streams)}")
        stream.display = False
        stream.border_title = task_id
        self.streams[task_id] = stream
        if self.is_mounted:
            self.query_one("#stream-row").mount(stream)
        self._relayout()
        return stream

    def _shown_ids(self) -> list[str]:
        width = self.query_one("#stream-row").size.width if self.is_mounted else 0
        capacity = max(1, width // MIN_STREAM_WIDTH)
        shown = [self._selected] if self._selected else []
        for task_id in self._active:
            if len(shown) >= capacity:
                break
            if task_id in self.streams and task_id not in shown:
                shown.append(task_id)
        return [tid for tid in shown if tid]

    def _brief_of(self, task_id: str) -> Content:
        """What a task that has not started will do: handy while reviewing the plan."""
        header = self._headers.get(task_id)
        if header is None:
            return Content(f"{task_id}: no output yet.")
        after = f" · after {', '.join(header.depends_on)}" if header.depends_on else ""
        return Content.assemble(
            (f"{task_id} · {header.title}\n", "bold $text"),
            (f"{header.agent} on {header.model} · {header.status}{after} · no output yet\n\n", "$text-muted"),
            (header.brief or "(no brief)", "$text"),
        )

    def _relayout(self) -> None:
        if not self.is_mounted:
            return
        shown = self._shown_ids()
        for task_id, stream in self.streams.items():
            stream.display = task_id in shown
            stream.set_class(task_id == self._selected, "-selected")
        placeholder = self.query_one("#stream-placeholder", Static)
        placeholder.display = not shown or (self._selected is not None and self._selected not in self.streams)
        if self._selected and self._selected not in self.streams:
            placeholder.update(self._brief_of(self._selected))
        tabs = [(tid, self._headers[tid].agent if tid in self._headers else "", self._headers[tid].status
                 if tid in self._headers else "") for tid in self.streams]
        self.query_one(StreamTabs).show_tabs(tabs, self._selected, set(shown))

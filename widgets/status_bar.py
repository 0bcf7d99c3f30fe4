"""The header: the goal, what the session is doing, tokens, cost, elapsed time and how many decisions need you."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

if TYPE_CHECKING:
    from cockpit.state import SessionState


def session_status(state: "SessionState", paused: bool) -> str:
    """One or two words for the header: what the session is doing now."""
    if state.finished:
        return state.finished
    if paused:
        return "paused"
    running = sum(1 for tid, ts in state.tasks.items() if ts.status == "running")
    if state.plan_status == "proposed" and any(d.kind == "plan" for d in state.decisions.values()):
        return "plan review"
    if state.plan_status != "approved":
        return "planning" if running else "starting"
    if running:
        return f"running {running}"
    return "waiting for you" if state.decisions else "idle"


def format_tokens(tokens: int) -> str:
    if tokens < 1000:
        return f"{tokens} tok"
    if tokens < 1_000_000:
        return f"{tokens / 1000:.1f}k tok"
    return f"{tokens / 1_000_000:.2f}M tok"


def format_cost(cost: float) -> str:
    if 0 < cost < 0.01:
        return "<$0.01"
    return f"${cost:.2f}"


def format_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes:02}:{secs:02}"


class StatusBar(Widget):
    """One line across the top; it renders reactive values and never reads the engine itself."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    HELP = """
## Header
The goal, then what the session is doing, tokens used, cost so far, elapsed time, and how many
decisions are waiting for you (press **ctrl+n** to jump to the next one).
"""

    goal: reactive[str] = reactive("")
    status: reactive[str] = reactive("starting")
    tokens: reactive[int] = reactive(0)
    cost: reactive[float] = reactive(0.0)
    elapsed: reactive[float] = reactive(0.0)
    needs_you: reactive[int] = reactive(0)

    def sync(self, state: "SessionState", paused: bool, elapsed: float) -> None:
        self.goal = state.goal
        self.status = session_status(state, paused)
        self.tokens = state.total_tokens
        self.cost = state.cost_usd
        self.elapsed = elapsed
        self.needs_you = len(state.decisions)

    def opening(self) -> None:
        """Before the engine is open (the first frame of `cockpit`): nothing to count yet."""
        self.status = "opening"

    def _status_style(self) -> str:
        if self.status in ("failed", "stopped"):
            return "$error"
        if self.status in ("paused", "plan review", "waiting for you"):
            return "$warning"
        if self.status == "completed":
            return "$success"
        return "$accent"

    def render(self) -> Content:
        needs = (
            Content.styled(f" ⚑ {self.needs_you} need{'s' if self.needs_you == 1 else ''} you ", "bold $text-warning on $warning-muted")
            if self.needs_you
            else Content.styled(" nothing needs you ", "$text-muted")
        )
        right = Content.assemble(
            (f"● {self.status}", f"bold {self._status_style()}"),
            ("  │  ", "$text-muted"),
            format_tokens(self.tokens),
            ("  │  ", "$text-muted"),
            format_cost(self.cost),
            ("  │  ", "$text-muted"),
            format_elapsed(self.elapsed),
            "  ",
            needs,
        )
        left = Content.assemble(("cockpit", "bold $accent"), ("  ", ""), (self.goal or "no goal yet", ""))
        room = self.content_region.width - right.cell_length - 2
        if room < 12:  # too narrow for the goal: the numbers matter more
            return right
        left = left.truncate(room, ellipsis=True)
        gap = " " * max(2, self.content_region.width - left.cell_length - right.cell_length)
        return Content.assemble(left, gap, right)

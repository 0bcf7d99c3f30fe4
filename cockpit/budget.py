"""Budgets on tokens, dollars and wall time, per task and per session, checked before every model call."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Budget
    from .state import SessionState


class BudgetExceeded(Exception):
    """A budget was reached; `scope` is "session" or "task"."""

    def __init__(self, scope: str, message: str) -> None:
        super().__init__(message)
        self.scope = scope


@dataclass
class Budgets:
    session: "Budget"
    task: "Budget"
    started: float = 0.0  # monotonic start of this run of the session; wall time counts from here

    def __post_init__(self) -> None:
        self.started = self.started or time.monotonic()

    def check(self, state: "SessionState", task_id: str) -> None:
        """Raise BudgetExceeded if the next call would start past a limit."""
        s = self.session
        _check("session", "tokens", state.total_tokens, s.tokens)
        _check("session", "dollars", state.cost_usd, s.usd)
        _check("session", "seconds", time.monotonic() - self.started, s.seconds)
        ts = state.tasks.get(task_id)
        if ts is None:
            return
        t = self.task
        _check(f"task {task_id}", "tokens", ts.tokens, t.tokens)
        _check(f"task {task_id}", "dollars", ts.cost_usd, t.usd)
        if ts.started is not None:
            _check(f"task {task_id}", "seconds", time.time() - ts.started, t.seconds)


def _check(scope: str, what: str, used: float, limit: float | None) -> None:
    if limit is not None and used >= limit:
        kind = "session" if scope == "session" else "task"
        shown = f"{used:.4g}" if isinstance(used, float) else str(used)
        raise BudgetExceeded(kind, f"{scope} budget reached: {shown} {what} used of {limit:g}")

"""A front end for engine tests: drives a live session on the offline model and waits on events, never on time."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cockpit.demo_repo import DEMO_GOAL
from cockpit.engine import open_engine
from cockpit.events import Event

WAIT = 60  # seconds: a bound on waiting for an event that must come, never a pause for work to happen


class Harness:
    """A front end for tests: records model calls and events, and answers decisions it is told to."""

    def __init__(self, repo: Path, goal: str = DEMO_GOAL, **engine_args) -> None:
        self.engine = open_engine(repo, goal=goal, model="offline", interactive=True, **engine_args)
        self.session = self.engine.session
        self.runner = self.engine.runner
        self.events: list[Event] = []
        self.calls: list[dict] = []
        self.auto = {"plan": True, "change": True, "command": True, "conflict": True}
        self._waiters: list[tuple] = []
        self.session.subscribe(self._on_event)
        real = self.engine.llm.stream_turn

        async def recording(**kwargs):
            self.calls.append(kwargs)
            return await real(**kwargs)

        self.engine.llm.stream_turn = recording

    def _on_event(self, event: Event) -> None:
        self.events.append(event)
        if event.type == "decision_requested" and self.auto.get(event.get("kind")):
            asyncio.get_running_loop().call_soon(self.session.resolve, event.get("request_id"), {"approved": True})
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(event):
                future.set_result(event)

    async def wait_for(self, predicate) -> Event:
        for event in self.events:
            if predicate(event):
                return event
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return await asyncio.wait_for(future, WAIT)

    def calls_of(self, task_id: str, role: str | None = None) -> list[dict]:
        """Model calls made for a task; by its own agent only when `role` is given (the reviewer also calls)."""
        return [c for c in self.calls if c["metadata"]["cockpit_task"] == task_id
                and (role is None or c["metadata"]["cockpit_role"] == role)]

    def status(self, task_id: str) -> str:
        return self.session.state.tasks[task_id].status


def on(type_: str, **fields):
    return lambda e: e.type == type_ and all(e.get(k) == v for k, v in fields.items())

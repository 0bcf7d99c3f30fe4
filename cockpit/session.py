"""The session: the one door in (commands) and the one door out (events) of the engine.

`emit` journals an event, folds it into `state`, then tells subscribers: front ends only ever see what is already
durable. Agent text is coalesced per task (about every 40 ms) so the journal gets a row per burst, not per token.
Decisions a human must make are futures: `decide` waits on one, `resolve` completes it, from any front end.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Callable, Iterable

from .events import Event
from .journal import Journal
from .state import Decision, SessionState

Subscriber = Callable[[Event], None]
AutoDecider = Callable[[Decision], "dict[str, Any] | None"]

TEXT_FLUSH_SECONDS = 0.04


class Session:
    def __init__(self, journal: Journal, session_id: str, events: Iterable[Event] = ()) -> None:
        self.journal = journal
        self.session_id = session_id
        self.state = SessionState.fold(events)
        self._subscribers: list[Subscriber] = []
        self._futures: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._text: dict[str, list[str]] = {}  # task_id -> pending text pieces
        self._text_agent: dict[str, str] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._request_ids = itertools.count(len(self.state.decisions) + self.state.last_seq + 1)
        self.auto_decider: AutoDecider | None = None  # the headless policy, or None when a human decides

    # -- events ------------------------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def emit(self, type_: str, **data: Any) -> Event:
        self.flush_text()
        return self._emit(type_, data)

    def _emit(self, type_: str, data: dict[str, Any]) -> Event:
        event = self.journal.append(self.session_id, type_, data)
        self.state.apply(event)
        for subscriber in list(self._subscribers):
            subscriber(event)
        return event

    def stream_text(self, task_id: str, agent: str, text: str) -> None:
        """Buffer an agent's streamed text; it reaches the journal and front ends at the next flush."""
        if not text:
            return
        self._text.setdefault(task_id, []).append(text)
        self._text_agent[task_id] = agent
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(TEXT_FLUSH_SECONDS, self.flush_text)

    def flush_text(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._text = self._text, {}
        for task_id, pieces in pending.items():
            self._emit("agent_output", {"task_id": task_id, "agent": self._text_agent[task_id], "text": "".join(pieces)})

    # -- decisions -----------------------------------------------------------------------------------------

    async def decide(self, kind: str, task_id: str, prompt: str, **payload: Any) -> dict[str, Any]:
        """Ask for a decision and wait for it. The auto decider (headless) may answer at once."""
        request_id = f"d{next(self._request_ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._futures[request_id] = future
        self.emit("decision_requested", request_id=request_id, kind=kind, task_id=task_id, prompt=prompt, payload=payload)
        if self.auto_decider is not None:
            answer = self.auto_decider(self.state.decisions[request_id])
            if answer is not None:
                self.resolve(request_id, answer)
        try:
            return await future
        finally:
            self._futures.pop(request_id, None)
            if request_id in self.state.decisions:  # the waiter went away (cancelled): withdraw the request
                self.emit("decision_resolved", request_id=request_id, decision={"withdrawn": True})

    def resolve(self, request_id: str, decision: dict[str, Any]) -> bool:
        """Answer an open request; False if it is no longer open (answered elsewhere or withdrawn)."""
        future = self._futures.get(request_id)
        if future is None or future.done() or request_id not in self.state.decisions:
            return False
        self.emit("decision_resolved", request_id=request_id, decision=decision)
        future.set_result(decision)
        return True

    def open_decisions(self) -> list[Decision]:
        return list(self.state.decisions.values())

    def expire_stale_decisions(self) -> None:
        """On resume, requests of the dead process have no waiter: close them so they can be asked again."""
        for request_id in list(self.state.decisions):
            if request_id not in self._futures:
                self.emit("decision_resolved", request_id=request_id, decision={"expired": True})

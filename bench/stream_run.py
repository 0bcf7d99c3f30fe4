"""One streaming run, either side: N agents streaming T tokens each at R tokens/s, with event-loop lag sampled.

Ours is the real path: a plan of N independent bench tasks, the real runner (one worktree per task), the offline
model through litellm, the session coalescing text into the journal, and the real CockpitApp showing it (headless
driver, every frame rendered to terminal bytes). The model calls are held at a barrier until all N agents are at
their first call, so every sample is taken while all N stream at once. The bare side appends the same tokens, on
the same schedule as the offline provider's pacer, to N Textual Log widgets.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from bench.common import FrameProbe, LagMeter, make_repo, restored_gc
from bench.scripted import plan_file, prepare_first_turns, stream_marker, stream_text, stream_tokens

APP_SIZE = (200, 50)
WAIT_S = 600  # a bound on waiting for work that must finish, never a pacing device


@dataclass
class StreamResult:
    lag: list[float]  # seconds late, one per lag sample while all agents streamed (to the end of the last call)
    seconds: float  # from the barrier to the last token
    tokens_sent: int
    tokens_delivered: int  # to the journal (ours) or to the Log widgets (bare)
    frames: int
    sustained_rate: float = 0.0  # tokens/s summed over agents, each after its first chunk (see `_sustained`)

    @property
    def achieved_rate(self) -> float:
        return self.tokens_sent / self.seconds if self.seconds else 0.0


AfterStream = Callable[[Any], Awaitable[None]]


@dataclass
class _Span:
    """One agent's stream: when its first and last chunks came (perf_counter), and the tokens of the first."""

    first: float = 0.0
    last: float = 0.0
    first_tokens: int = 0

    def chunk(self, text: str) -> None:
        self.last = time.perf_counter()
        if not self.first_tokens:
            self.first, self.first_tokens = self.last, len(stream_tokens(text))


async def run_ours(workdir: Path, agents: int, tokens: int, rate: float, mode: str = "words",
                   after_stream: AfterStream | None = None, turns: int = 1, timeout: float = WAIT_S) -> StreamResult:
    from cockpit.app import CockpitApp
    from cockpit.engine import open_engine
    from cockpit.offline.provider import set_rate

    repo = make_repo(workdir, max_parallel=agents)
    plan = plan_file(workdir / ".cockpit" / "plan.json", agents, stream_marker(tokens, mode, turns))
    prepare_first_turns([f"t{index}" for index in range(1, agents + 1)], tokens, mode, turns)
    set_rate(rate)
    engine = open_engine(repo, goal="bench: stream", model="offline", plan_file=plan, interactive=True)
    engine.session.auto_decider = lambda decision: {"approved": True} if decision.kind == "plan" else None
    gate = _Barrier(agents, agents * turns)
    real_stream_turn = engine.llm.stream_turn

    spans: dict[str, _Span] = {}

    async def gated_stream_turn(**kwargs: Any) -> Any:
        on_text = kwargs["on_text"]
        span = spans.setdefault(kwargs["metadata"]["cockpit_task"], _Span())

        def timed_on_text(text: str) -> None:
            span.chunk(text)
            on_text(text)

        kwargs["on_text"] = timed_on_text
        await gate.arrive(kwargs["metadata"]["cockpit_task"])
        try:
            return await real_stream_turn(**kwargs)
        finally:
            gate.leave()

    engine.llm.stream_turn = gated_stream_turn
    app = CockpitApp(engine)
    probe = FrameProbe(app)
    lag = LagMeter()
    runner = asyncio.create_task(app.run_async(headless=True, size=APP_SIZE))
    with restored_gc():  # the app tunes the collector; the baseline, run next, must not inherit it
        try:
            await _first_of(gate.released.wait(), runner, timeout)
            started, frames_before = time.perf_counter(), probe.frames
            lag.start()
            await _first_of(gate.all_left.wait(), runner, timeout)
            lag.stop()
            seconds = max(span.last for span in spans.values()) - started
            frames = probe.frames - frames_before
            await probe.settle()
            if after_stream is not None:
                await after_stream(app)
            delivered = _delivered_tokens(engine, agents, tokens, mode)
        finally:
            app.exit()
            await asyncio.wait_for(runner, WAIT_S)
            engine.close()
    return StreamResult(lag.samples, seconds, agents * tokens, delivered, frames,
                        sustained_rate=_sustained(spans.values(), tokens))


async def run_bare(agents: int, tokens: int, rate: float, mode: str = "words",
                   after_stream: AfterStream | None = None, timeout: float = WAIT_S) -> StreamResult:
    from bench.bare_apps import BareStreamApp

    app = BareStreamApp(agents)
    probe = FrameProbe(app)
    lag = LagMeter()
    runner = asyncio.create_task(app.run_async(headless=True, size=APP_SIZE))
    try:
        await _first_of(probe.next_frame_where(lambda: True), runner)
        logs = app.logs()
        streams = [stream_tokens(stream_text(f"t{index + 1}", tokens, mode)) for index in range(agents)]
        started, frames_before = time.perf_counter(), probe.frames
        lag.start()
        spans = await asyncio.gather(*(_feed(log, pieces, rate) for log, pieces in zip(logs, streams)))
        seconds = time.perf_counter() - started
        lag.stop()
        frames = probe.frames - frames_before
        await probe.settle()
        if after_stream is not None:
            await after_stream(app)
    finally:
        app.exit()
        await asyncio.wait_for(runner, WAIT_S)
    return StreamResult(lag.samples, seconds, agents * tokens, agents * tokens, frames,
                        sustained_rate=_sustained(spans, tokens))


async def _feed(log: Any, pieces: list[str], rate: float) -> _Span:
    """Append tokens on the offline provider's schedule (its Pacer: what fell due since the last tick goes in one
    write, as in one chunk)."""
    from cockpit.offline.provider import Pacer

    pacer = Pacer(len(pieces), rate)
    span = _Span()
    while pacer.left:
        await asyncio.sleep(pacer.wait())
        text = "".join(pieces[pacer.take()])
        log.write(text)
        span.chunk(text)
    return span


def _sustained(spans: Any, tokens: int) -> float:
    """Tokens per second summed over the agents, each over the time from its first chunk to its last: the rate the
    streams kept up once flowing, whatever it cost to start them. The first chunk's tokens are left out: a pacer
    that started while the loop was busy sends its backlog in that chunk, which would count time it never took."""
    return sum((tokens - span.first_tokens) / (span.last - span.first) for span in spans if span.last > span.first)


class _Barrier:
    """Holds the first model call of each task until `parties` tasks are there, then lets them all go; tells when
    `calls` model calls have finished."""

    def __init__(self, parties: int, calls: int) -> None:
        self.parties = parties
        self.calls = calls
        self.arrived: set[str] = set()
        self.left = 0
        self.released = asyncio.Event()
        self.all_left = asyncio.Event()

    async def arrive(self, task_id: str) -> None:
        self.arrived.add(task_id)
        if len(self.arrived) >= self.parties:
            self.released.set()
        await self.released.wait()

    def leave(self) -> None:
        self.left += 1
        if self.left >= self.calls:
            self.all_left.set()


async def _first_of(awaitable: Awaitable[Any], app_task: asyncio.Task[Any], timeout: float = WAIT_S) -> None:
    """Wait for `awaitable`, but fail at once if the app ends first (it crashed)."""
    waiter = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({waiter, app_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        if app_task in done:
            app_task.result()  # re-raise the app's exception
            raise RuntimeError("the app exited before the run ended")
        raise TimeoutError(f"no progress in {timeout} s")


def _delivered_tokens(engine: Any, agents: int, tokens: int, mode: str) -> int:
    """Tokens whose text reached the journal, counted per task against the exact text the task streamed."""
    texts: dict[str, list[str]] = {}
    for event in engine.journal.events(engine.session.session_id):
        if event.type == "agent_output":
            texts.setdefault(event.get("task_id"), []).append(event.get("text") or "")
    delivered = 0
    for index in range(1, agents + 1):
        task_id = f"t{index}"
        expected = stream_text(task_id, tokens, mode)
        if "".join(texts.get(task_id, [])) == expected:
            delivered += tokens
        else:
            got = "".join(texts.get(task_id, []))
            delivered += len(stream_tokens(got)) if expected.startswith(got) else 0
    return delivered

"""Engine overhead: a headless session of T tasks on the offline model at full speed, against the same model calls
made directly through litellm with no engine.

Ours is `cockpit run --headless --json --approve all --plan FILE` in process (the same calls the CLI makes:
open_engine, preflight, settle_heap, run_headless), with output to an in-memory sink. Each task streams one turn of N tokens and
finishes; every task still gets its own git worktree, as in any session. While it runs, every
`litellm.acompletion` call is recorded; the baseline replays exactly those calls (same messages, tools and
metadata) with the same concurrency (max_parallel) and reads each stream to its end. litellm is loaded before
either side is timed. The two sides alternate; the figure compares their medians.
"""

from __future__ import annotations

import asyncio
import copy
import io
import time
from typing import Any

from bench.common import Figure, Sizes, make_repo, median, restored_gc, temp_home
from bench.scripted import plan_file, stream_marker

MAX_PARALLEL = 3  # cockpit's default
REPEATS_FULL = 3


def measure(sizes: Sizes, context: dict[str, Any]) -> list[Figure]:
    from cockpit.llm import _import_litellm
    from cockpit.offline.provider import set_rate

    litellm = _import_litellm()
    set_rate(0)
    repeats = REPEATS_FULL if sizes.engine_tasks >= 50 else 1
    ours, bare, calls_made = [], [], 0
    for _ in range(repeats):
        with restored_gc():  # the session tunes the collector as the CLI does; the direct calls start from defaults
            seconds, calls = asyncio.run(_session(litellm, sizes.engine_tasks, sizes.engine_tokens))
        ours.append(seconds)
        bare.append(asyncio.run(_direct(litellm, calls)))
        calls_made = len(calls)
    return [Figure(
        name="engine overhead", unit="s wall", ours=median(ours), baseline=median(bare), target="<= 1.2x",
        max_ratio=1.2, checks={"one model call per task": calls_made == sizes.engine_tasks},
        details={"tasks": sizes.engine_tasks, "tokens_per_task": sizes.engine_tokens, "max_parallel": MAX_PARALLEL,
                 "model_calls": calls_made, "ours_s": [round(s, 3) for s in ours],
                 "baseline_s": [round(s, 3) for s in bare]},
    )]


async def _session(litellm: Any, tasks: int, tokens: int) -> tuple[float, list[dict[str, Any]]]:
    from cockpit.engine import open_engine
    from cockpit.headless import run_headless
    from cockpit.heap import settle_heap

    workdir = temp_home()
    repo = make_repo(workdir / "repo", max_parallel=MAX_PARALLEL)
    plan = plan_file(workdir / "plan.json", tasks, stream_marker(tokens))
    calls: list[dict[str, Any]] = []
    real = litellm.acompletion

    async def recording(**kwargs: Any) -> Any:
        calls.append(copy.deepcopy(kwargs))
        return await real(**kwargs)

    litellm.acompletion = recording
    started = time.perf_counter()
    try:
        engine = open_engine(repo, goal="bench: engine overhead", model="offline", plan_file=plan, interactive=False)
        try:
            await engine.preflight()
            settle_heap()  # as `cockpit run --headless` does after its preflight
            code = await run_headless(engine, approve="all", as_json=True, out=io.StringIO())
        finally:
            engine.close()
    finally:
        litellm.acompletion = real
    seconds = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"the headless session ended with exit code {code}")
    return seconds, calls


async def _direct(litellm: Any, calls: list[dict[str, Any]]) -> float:
    slots = asyncio.Semaphore(MAX_PARALLEL)

    async def one(kwargs: dict[str, Any]) -> None:
        async with slots:
            stream = await litellm.acompletion(**kwargs)
            async for _chunk in stream:
                pass

    started = time.perf_counter()
    await asyncio.gather(*(one(kwargs) for kwargs in calls))
    return time.perf_counter() - started

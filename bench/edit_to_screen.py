"""Edit to screen: a save in the repo to the refreshed diff painted in the app, against watchfiles alone.

Ours: the real app and engine; one task (bench role `edit`) proposes a change to docs/guide.md and waits for
review. The bench then appends a line to that file, as an editor would save it; cockpit's watcher sees the save,
rebases the pending change onto it, and the changes pane shows the new diff. The time runs from just before the
write to the first painted frame whose diff view holds the rebased change.
Baseline: `watchfiles.awatch` alone on the same repo, with the same grouping settings as cockpit's watcher
(step 50 ms, debounce 500 ms), from the same kind of write to the batch that names the file.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import FrameProbe, Figure, Sizes, make_repo, median, restored_gc, temp_home
from bench.scripted import edit_marker, plan_file
from bench.stream_run import APP_SIZE, _first_of

EDITED = "docs/guide.md"
STEP_MS, DEBOUNCE_MS = 50, 500  # cockpit.watcher.RepoWatcher's defaults, as EditFollower starts it
ALLOWANCE_MS = 100


def measure(sizes: Sizes, context: dict[str, Any]) -> list[Figure]:
    workdir = temp_home()
    repo = make_repo(workdir / "repo", max_parallel=1)
    bare = [asyncio.run(_watchfiles_alone(repo, index)) for index in range(sizes.edit_repeats)]
    ours = []
    for index in range(sizes.edit_repeats):
        with restored_gc():  # the app tunes the collector; the baseline must not inherit it
            ours.append(asyncio.run(_ours(temp_home(), index)))
    ours_ms, bare_ms = median(ours) * 1000, median(bare) * 1000
    return [Figure(
        name="edit to screen", unit="ms", ours=ours_ms, baseline=bare_ms, target="<= baseline + 100 ms",
        checks={"within 100 ms of watchfiles alone": ours_ms <= bare_ms + ALLOWANCE_MS},
        details={"ours_ms": [round(s * 1000, 1) for s in ours], "baseline_ms": [round(s * 1000, 1) for s in bare],
                 "step_ms": STEP_MS, "debounce_ms": DEBOUNCE_MS},
    )]


def _save(repo: Path, index: int) -> None:
    path = repo / EDITED
    path.write_text(path.read_text(encoding="utf-8") + f"A line the user added ({index}).\n", encoding="utf-8")


async def _watchfiles_alone(repo: Path, index: int) -> float:
    from watchfiles import awatch

    ready = asyncio.Event()
    loop = asyncio.get_running_loop()
    stop = _ReadySignal(lambda: loop.call_soon_threadsafe(ready.set))
    seen: asyncio.Future[float] = loop.create_future()

    async def watch() -> None:
        async for changes in awatch(repo, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop):
            if any(path.endswith(EDITED) for _change, path in changes) and not seen.done():
                seen.set_result(time.perf_counter())

    watcher = asyncio.create_task(watch())
    await ready.wait()
    started = time.perf_counter()
    _save(repo, index)
    try:
        return await asyncio.wait_for(seen, 30) - started
    finally:
        stop.set()
        await asyncio.wait_for(watcher, 10)


class _ReadySignal:
    """The stop event handed to watchfiles; its first is_set() call means the OS watch is in place."""

    def __init__(self, on_ready: Any) -> None:
        self._event = threading.Event()
        self._on_ready = on_ready

    def is_set(self) -> bool:
        if self._on_ready is not None:
            self._on_ready, callback = None, self._on_ready
            callback()
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()


async def _ours(workdir: Path, index: int) -> float:
    from cockpit.app import CockpitApp
    from cockpit.engine import open_engine
    from cockpit.offline.provider import set_rate

    repo = make_repo(workdir / "repo", max_parallel=1)
    plan = plan_file(workdir / "plan.json", 1, edit_marker(EDITED))
    set_rate(0)
    engine = open_engine(repo, goal="bench: edit to screen", model="offline", plan_file=plan, interactive=True)
    engine.session.auto_decider = lambda decision: {"approved": True} if decision.kind == "plan" else None
    proposed = asyncio.Event()
    engine.session.subscribe(lambda event: proposed.set() if event.type == "decision_requested"
                             and event.get("kind") == "change" else None)
    app = CockpitApp(engine)
    probe = FrameProbe(app)
    runner = asyncio.create_task(app.run_async(headless=True, size=APP_SIZE))
    try:
        await _first_of(proposed.wait(), runner)
        pane = app.main_screen.query_one("#changes")
        first = next(iter(engine.session.state.changes.values()))
        await _first_of(probe.next_frame_where(lambda: pane.diff_view.diff == first.diff), runner)
        await probe.settle()

        def shows_rebased_change() -> bool:
            changes = engine.session.state.changes.values()
            rebased = [change for change in changes if change.rebased_from == first.change_id]
            return bool(rebased) and pane.diff_view.diff == rebased[-1].diff

        started = time.perf_counter()
        _save(repo, index)
        painted = await probe.next_frame_where(shows_rebased_change, timeout=30)
        return painted - started
    finally:
        engine.runner.stop("interrupted")
        app.exit()
        await asyncio.wait_for(runner, 60)
        engine.close()

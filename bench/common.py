"""What every figure shares: the result record, percentiles, event-loop lag, painted frames, RSS, a bench repo.

Nothing here imports cockpit or Textual at import time, so figures that run in a subprocess stay cheap to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

LAG_INTERVAL_S = 0.005  # how often the lag probe asks to run: 2,000 samples in 10 s, so p99 is the 20th worst


@dataclass
class Figure:
    """One row of the table: ours against the baseline measured in the same run, and the target on the ratio."""

    name: str
    unit: str
    ours: float
    baseline: float
    target: str  # as printed, e.g. "<= 1.3x"
    max_ratio: float | None = None  # met when ours / baseline <= max_ratio (None: only the checks count)
    min_ratio: float | None = None  # met when ours / baseline >= min_ratio
    checks: dict[str, bool] = field(default_factory=dict)  # other conditions of the target, each met or not
    details: dict[str, Any] = field(default_factory=dict)  # everything else worth keeping in the JSON

    @property
    def ratio(self) -> float:
        if self.baseline == 0:
            return math.inf if self.ours else 1.0
        return self.ours / self.baseline

    @property
    def met(self) -> bool:
        ratio_ok = ((self.max_ratio is None or self.ratio <= self.max_ratio)
                    and (self.min_ratio is None or self.ratio >= self.min_ratio))
        return ratio_ok and all(self.checks.values())

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "ours": self.ours, "baseline": self.baseline,
                "ratio": self.ratio, "target": self.target, "met": self.met, "checks": self.checks,
                "details": self.details}


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is: `full` for the documented table, `quick` to finish well under a minute,
    `tiny` for the test that only proves each measurement produces numbers."""

    startup_runs: int
    stream_agents: int
    stream_rate: float  # tokens per second per agent
    stream_seconds: float
    throughput_rates: tuple[float, ...]  # aggregate tokens per second, tried in order until one fails
    throughput_seconds: float
    diff_lines: int
    diff_repeats: int
    memory_lines: int
    engine_tasks: int
    engine_tokens: int  # streamed tokens per task turn
    edit_repeats: int
    throughput_repeats: int = 1  # trials per rate and side; a rate holds on the medians


FULL = Sizes(startup_runs=15, stream_agents=16, stream_rate=200, stream_seconds=10,
             throughput_rates=(1_600, 3_200, 6_400, 12_800, 20_000, 32_000, 48_000, 64_000, 96_000, 128_000,
                               192_000, 256_000, 384_000, 512_000),  # the bare app held 384,000 in Nov 2026
             throughput_seconds=4,
             diff_lines=20_000, diff_repeats=11, memory_lines=1_000_000, engine_tasks=50, engine_tokens=400,
             edit_repeats=5, throughput_repeats=3)
QUICK = Sizes(startup_runs=3, stream_agents=16, stream_rate=200, stream_seconds=2,
              throughput_rates=(1_600, 6_400, 20_000), throughput_seconds=1, diff_lines=20_000, diff_repeats=2,
              memory_lines=8_000, engine_tasks=10, engine_tokens=200, edit_repeats=1)
TINY = Sizes(startup_runs=1, stream_agents=2, stream_rate=200, stream_seconds=0.3, throughput_rates=(400,),
             throughput_seconds=0.3, diff_lines=500, diff_repeats=1, memory_lines=400, engine_tasks=2,
             engine_tokens=20, edit_repeats=1)


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: the value reported is one that was really measured)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(samples: list[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class LagMeter:
    """Event-loop lag: how late a repeating `loop.call_later(interval)` fires, one sample per firing."""

    def __init__(self, interval: float = LAG_INTERVAL_S) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._due = loop.time() + self.interval
        self._handle = loop.call_at(self._due, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        self.samples.append(max(0.0, now - self._due))
        self._due = now + self.interval
        self._handle = loop.call_at(self._due, self._fire, loop)

    def stop(self) -> list[float]:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        return self.samples

    def p99_ms(self) -> float:
        return percentile(self.samples, 99) * 1000


class FrameProbe:
    """Counts the frames an app paints, and renders each one to terminal bytes as a real terminal would need
    (the headless driver skips that step; we do it so both sides of a figure pay for painting)."""

    def __init__(self, app: Any) -> None:
        from textual._compositor import CompositorUpdate

        self.app = app
        self.frames = 0
        self.last_frame = 0.0
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            painted = renderable is not None and not app._batch_count
            original(screen, renderable)
            if not painted:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            self.frames += 1
            self.last_frame = time.perf_counter()
            for waiter in list(self._waiters):
                predicate, future = waiter
                if not future.done() and predicate():
                    future.set_result(self.last_frame)
                    self._waiters.remove(waiter)

        app._display = display

    async def next_frame_where(self, predicate: Callable[[], bool], timeout: float = 60.0) -> float:
        """perf_counter time of the first frame painted from now on at which `predicate` holds."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return await asyncio.wait_for(future, timeout)

    async def settle(self, frames: int = 3, timeout: float = 30.0) -> None:
        """Wait for a few more frames, so work queued before now has been drawn."""
        target = self.frames + frames
        self.app.refresh()
        deadline = time.perf_counter() + timeout
        while self.frames < target and time.perf_counter() < deadline:
            self.app.screen.refresh()
            await asyncio.sleep(0.02)


def rss_mb() -> float:
    """Resident set size of this process now, from /proc (ru_maxrss would give the peak instead)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the peak is the best we have
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def isolate_environment(home: Path) -> None:
    """No user config, no system git config, no plugin autoload: the bench measures cockpit, not this machine."""
    config_dir = home / "user-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["COCKPIT_CONFIG_DIR"] = str(config_dir)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ["LITELLM_MODE"] = "PRODUCTION"


BENCH_CONFIG = """\
# Written by the bench: every task may run at once, and no checks beyond what the figure measures.
max_parallel = {max_parallel}
[review]
each_change = false
[improve]
max_rounds = 0
[ui]
bell = false
"""


def make_repo(path: Path, *, max_parallel: int = 16, files: dict[str, str] | None = None) -> Path:
    """A small git repository with a bench config; no test suite, so no figure waits on one."""
    path.mkdir(parents=True, exist_ok=True)
    contents = {"README.md": "# bench\n\nA repository for cockpit's benchmarks.\n",
                "docs/guide.md": "".join(f"Guide line {i}: how the bench works.\n" for i in range(1, 61))}
    contents.update(files or {})
    for relative, text in contents.items():
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    cockpit_dir = path / ".cockpit"
    cockpit_dir.mkdir(exist_ok=True)
    (cockpit_dir / "config.toml").write_text(BENCH_CONFIG.format(max_parallel=max_parallel), encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A", ".", ":!.cockpit")
    git(path, "-c", "user.name=bench", "-c", "user.email=bench@cockpit.invalid", "commit", "-q", "--no-gpg-sign",
        "-m", "bench repository")
    return path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def temp_home(prefix: str = "cockpit-bench-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


@contextlib.contextmanager
def restored_gc() -> Iterator[None]:
    """cockpit tunes the process's garbage collector (cockpit/heap.py: a frozen heap, fewer full collections). Put
    the thresholds back afterwards, so what runs next in this process (the baseline) runs at CPython's defaults; what
    this side loaded and left (litellm, the session's survivors) is frozen, as it would be absent from a process of
    the baseline's own."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*threshold)

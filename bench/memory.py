"""Memory: RSS after L streamed lines across N agents, ours against the bare streaming app.

Each side runs in a fresh process (`python -m bench.memory SIDE LINES AGENTS REPORT`), streaming at full speed
(rate 0) one line per token over TURNS turns per agent, and reports its RSS once the last line is in and the screen has caught up. Ours holds
litellm, which every session with a model loads; the child also reports the RSS just before streaming started,
so the growth from streaming itself can be told apart from what the process holds anyway.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import Figure, Sizes, isolate_environment, rss_mb, temp_home

ROOT = Path(__file__).resolve().parent.parent
CEILING_MB = 300
RUN_TIMEOUT_S = 3600  # a million lines take some ten minutes per side on 2 cores
TURNS = 50  # each agent's lines come in this many model turns (a real turn is bounded; the loop allows 60)


def measure(sizes: Sizes, context: dict[str, Any]) -> list[Figure]:
    agents = sizes.stream_agents
    lines = sizes.memory_lines - sizes.memory_lines % agents
    results = {side: _child(side, lines, agents) for side in ("baseline", "ours")}
    ours, bare = results["ours"], results["baseline"]
    return [Figure(
        name="memory", unit="MB RSS", ours=ours["rss_mb"], baseline=bare["rss_mb"], target="<= 1.5x, < 300 MB",
        max_ratio=1.5, checks={"under 300 MB": ours["rss_mb"] < CEILING_MB,
                               "every line delivered": ours["delivered"] == lines},
        details={"lines": lines, "agents": agents, "ours": ours, "baseline": bare},
    )]


def _child(side: str, lines: int, agents: int) -> dict[str, Any]:
    report = temp_home() / "memory.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "bench.memory", side, str(lines), str(agents), str(report)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=2 * RUN_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"memory run of {side} failed (exit {done.returncode}): {done.stderr[-800:]}")
    return json.loads(report.read_text(encoding="utf-8"))


async def _stream(side: str, lines: int, agents: int) -> dict[str, Any]:
    from bench.stream_run import run_bare, run_ours

    measured: dict[str, Any] = {}

    async def after_stream(_app: Any) -> None:
        gc.collect()
        measured["rss_mb"] = round(rss_mb(), 1)

    tokens = lines // agents
    if side == "ours":
        from bench import scripted
        from cockpit.app import CockpitApp  # noqa: F401 - loaded before the "before" reading, as in a session
        from cockpit.llm import _import_litellm

        scripted.install()
        _import_litellm()
        measured["rss_before_mb"] = round(rss_mb(), 1)
        result = await run_ours(temp_home() / "repo", agents, tokens, 0, mode="lines", after_stream=after_stream,
                                turns=TURNS, timeout=RUN_TIMEOUT_S)
    else:
        from bench.bare_apps import BareStreamApp  # noqa: F401

        measured["rss_before_mb"] = round(rss_mb(), 1)
        result = await run_bare(agents, tokens, 0, mode="lines", after_stream=after_stream, timeout=RUN_TIMEOUT_S)
    measured.update(delivered=result.tokens_delivered, seconds=round(result.seconds, 2),
                    growth_mb=round(measured["rss_mb"] - measured["rss_before_mb"], 1))
    return measured


def main() -> None:
    side, lines, agents, report = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    isolate_environment(report.parent)
    result = asyncio.run(_stream(side, lines, agents))
    report.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()

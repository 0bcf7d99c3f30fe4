"""Streaming load: N agents at R tokens/s each for S seconds, ours (real runner, real app) against the bare app.

The figure is the event-loop lag p99 while every agent streams; every token must reach the journal. The bare
app's p99 is kept in `context` for the peak-throughput figure, whose threshold it sets.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import Figure, Sizes, percentile, temp_home
from bench.stream_run import run_bare, run_ours


def measure(sizes: Sizes, context: dict[str, Any]) -> list[Figure]:
    tokens = round(sizes.stream_rate * sizes.stream_seconds)
    agents, rate = sizes.stream_agents, sizes.stream_rate
    bare = asyncio.run(run_bare(agents, tokens, rate))
    ours = asyncio.run(run_ours(temp_home() / "repo", agents, tokens, rate))
    bare_p99 = percentile(bare.lag, 99) * 1000
    context["stream_baseline_p99_ms"] = bare_p99
    return [Figure(
        name="streaming load", unit="ms lag p99", ours=percentile(ours.lag, 99) * 1000, baseline=bare_p99,
        target="<= 1.5x, all tokens", max_ratio=1.5,
        checks={"every token delivered to the journal": ours.tokens_delivered == ours.tokens_sent},
        details={
            "agents": agents, "rate_per_agent": rate, "tokens_per_agent": tokens,
            "ours": _summary(ours), "baseline": _summary(bare),
        },
    )]


def _summary(result: Any) -> dict[str, Any]:
    return {"seconds": round(result.seconds, 3), "achieved_tokens_per_s": round(result.achieved_rate),
            "sustained_tokens_per_s": round(result.sustained_rate),
            "lag_p50_ms": round(percentile(result.lag, 50) * 1000, 2),
            "lag_p99_ms": round(percentile(result.lag, 99) * 1000, 2), "lag_samples": len(result.lag),
            "frames": result.frames, "tokens_sent": result.tokens_sent, "tokens_delivered": result.tokens_delivered}

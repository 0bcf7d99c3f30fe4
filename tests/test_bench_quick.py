"""The benchmarks run: the smallest version of every figure produces numbers (timings are never asserted).

One subprocess runs `python -m bench --tiny` (about 15 s): every measurement, both sides, each against its
baseline, written to JSON. What is checked is that each figure was measured, not how fast anything was.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {"start-up", "streaming load", "peak throughput", "big diff: open", "big diff: jump to end", "memory",
           "engine overhead", "edit to screen"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8")), done.stdout


def test_every_figure_is_measured_against_its_baseline(tiny_run):
    results, _table = tiny_run
    assert results["errors"] == {}
    figures = {figure["name"]: figure for figure in results["figures"]}
    assert set(figures) == FIGURES
    for name, figure in figures.items():
        for side in ("ours", "baseline"):
            assert isinstance(figure[side], (int, float)) and math.isfinite(figure[side]), (name, side)
            assert figure[side] >= 0, (name, side)
        assert isinstance(figure["met"], bool) and figure["target"], name


def test_the_table_names_every_figure_and_the_machine_is_recorded(tiny_run):
    results, table = tiny_run
    assert table.splitlines()[0].split() == ["figure", "ours", "baseline", "ratio", "target", "met?"]
    for name in FIGURES:
        assert name in table
    assert results["mode"] == "tiny" and results["machine"]["python"]


def test_the_streaming_runs_deliver_every_token_and_start_up_records_litellm(tiny_run):
    results, _table = tiny_run
    figures = {figure["name"]: figure for figure in results["figures"]}
    stream = figures["streaming load"]["details"]
    assert stream["ours"]["tokens_delivered"] == stream["ours"]["tokens_sent"] > 0
    assert stream["baseline"]["tokens_delivered"] == stream["baseline"]["tokens_sent"] > 0
    assert "litellm not imported before the first frame" in figures["start-up"]["checks"]
    assert figures["memory"]["details"]["ours"]["delivered"] == figures["memory"]["details"]["lines"]

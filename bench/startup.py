"""Start-up: process start to the first painted frame, cockpit on a repo against a bare Textual app.

Each side runs as a fresh subprocess through `bench.first_frame`, alternating, several times; the figure is the
median. cockpit is started the way a user would (`cockpit GOAL --model offline --repo REPO`), so its engine opens a
session and starts to run; litellm must not have been imported by the time the first frame is painted.

Both sides start from byte-compiled modules: the baseline's Textual was compiled when pip installed it, and cockpit's
own modules are compiled here first, as Python does on a checkout's first run. Where PYTHONDONTWRITEBYTECODE is set
(some CI images and sandboxes) they would otherwise be compiled from source on every start: 10-15 ms of each start
on the reference machine, and no part of what cockpit does.
"""

from __future__ import annotations

import compileall
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import Figure, Sizes, make_repo, median, temp_home

ROOT = Path(__file__).resolve().parent.parent  # so `-m bench.first_frame` resolves from a checkout


def first_frame_seconds(kind: str, args: list[str], report: Path) -> dict:
    """One cold start: seconds from just before spawning the process to its first painted frame."""
    report.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bench.first_frame", str(report), kind, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not report.exists():
        raise RuntimeError(f"start-up of {kind} painted no frame (exit {done.returncode}): {done.stderr[-500:]}")
    result = json.loads(report.read_text(encoding="utf-8"))
    result["seconds"] = result["first_frame"] - started
    result["session_seconds"] = result["session_shown"] - started
    return result


def compile_sources() -> list[str]:
    """Byte-compile cockpit's packages (the checkout's folders) into their __pycache__; returns the folders."""
    folders = sorted({folder for name in ("cockpit", "cockpit.widgets")
                      for folder in importlib.import_module(name).__path__})
    for folder in folders:
        if not compileall.compile_dir(folder, quiet=1):
            raise RuntimeError(f"could not byte-compile {folder}")
    return folders


def measure(sizes: Sizes, context: dict[str, Any]) -> list[Figure]:
    compiled = compile_sources()
    home = temp_home()
    repo = make_repo(home / "repo")
    report = home / "first-frame.json"
    cockpit_args = ["bench the start-up", "--model", "offline", "--repo", str(repo)]
    first_frame_seconds("bare", [], report)  # warm the OS file cache for both: the first run of all is an outlier
    first_frame_seconds("cockpit", cockpit_args, report)
    ours, bare, litellm_seen, session = [], [], [], []
    for _ in range(sizes.startup_runs):
        bare.append(first_frame_seconds("bare", [], report)["seconds"])
        result = first_frame_seconds("cockpit", cockpit_args, report)
        ours.append(result["seconds"])
        session.append(result["session_seconds"])
        litellm_seen.append(result["litellm_imported"])
    return [Figure(
        name="start-up", unit="ms", ours=median(ours) * 1000, baseline=median(bare) * 1000,
        target="<= 1.3x, no litellm", max_ratio=1.3,
        checks={"litellm not imported before the first frame": not any(litellm_seen)},
        details={"runs": sizes.startup_runs, "ours_ms": [round(s * 1000, 1) for s in ours],
                 "baseline_ms": [round(s * 1000, 1) for s in bare], "screen": result.get("screen"),
                 "session_shown_ms": round(median(session) * 1000, 1), "byte_compiled": compiled,
                 "modules_at_first_frame": result.get("modules")},
    )]

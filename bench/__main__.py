"""`python -m bench [--quick] [--json PATH] [--only NAMES]`: measure every figure against its baseline, print the
table, write the JSON. Timings never fail the run: the exit code is 1 only when a measurement could not be made.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.common import FULL, QUICK, TINY, Figure, Sizes, isolate_environment, temp_home

# Module per figure, in the order they run (streaming before throughput: it sets the threshold).
FIGURES = ("startup", "streaming", "throughput", "big_diff", "memory", "engine_overhead", "edit_to_screen")
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def run(names: tuple[str, ...], sizes: Sizes) -> tuple[list[Figure], dict[str, str]]:
    """Measure the named figures in this process; returns the figures and, per failed module, its error."""
    from bench import scripted

    isolate_environment(temp_home())
    scripted.install()
    context: dict[str, Any] = {}
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    for name in names:
        print(f"bench: measuring {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            figures += importlib.import_module(f"bench.{name}").measure(sizes, context)
            print(f"bench: {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        except Exception as exc:  # noqa: BLE001 - one broken measurement must not hide the others
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
    return figures, errors


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return {"python": platform.python_version(), "machine": platform.machine(), "cpu": cpu,
            "cores": str(os.cpu_count()), "system": platform.system()}


def table(figures: list[Figure], errors: dict[str, str]) -> str:
    rows = [("figure", "ours", "baseline", "ratio", "target", "met?")]
    for figure in figures:
        rows.append((figure.name, _number(figure.ours, figure.unit), _number(figure.baseline, figure.unit),
                     f"{figure.ratio:.2f}x", figure.target, "yes" if figure.met else "NO"))
    rows += [(name, "error", "", "", "(see below)", "-") for name in errors]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += [f"{name}: {message.splitlines()[0][:200]}" for name, message in errors.items()]
    return "\n".join(lines)


def _number(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"
    return f"{text} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: finishes in well under a minute")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the test's sizes
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results ({DEFAULT_JSON})")
    parser.add_argument("--only", help=f"comma-separated figures to measure (of {', '.join(FIGURES)})")
    args = parser.parse_args(argv)
    names = tuple(name.strip() for name in args.only.split(",")) if args.only else FIGURES
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)} (expected some of {', '.join(FIGURES)})")
    sizes, mode = (TINY, "tiny") if args.tiny else (QUICK, "quick") if args.quick else (FULL, "full")
    started = time.time()
    figures, errors = run(names, sizes)
    print(table(figures, errors))
    result = {"mode": mode, "machine": machine(), "started": started, "seconds": round(time.time() - started, 1),
              "figures": [figure.to_json() for figure in figures], "errors": errors}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"bench: {mode} run in {result['seconds']} s; results in {args.json}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

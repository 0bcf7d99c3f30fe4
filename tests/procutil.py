"""Helpers for tests that watch processes die: the kernel settles that on its own time, so these poll it."""

from __future__ import annotations

import time


def process_is_gone(pid: int) -> bool:
    """True once `pid` no longer runs (a zombie waiting for init to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_until(condition, timeout: float = 5.0) -> bool:
    """Poll for a condition the kernel settles on its own time (a killed process leaving the table)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()

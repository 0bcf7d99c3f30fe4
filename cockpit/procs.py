"""Run a command to completion or to its deadline, and leave nothing of it behind.

Each command gets its own session (so its own process group): on timeout, on cancellation and after it exits,
the whole group is signalled, so a `sleep 1000 &` started by a test or a shell cannot outlive the tool call.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

# Time a process group gets between SIGTERM and SIGKILL.
KILL_GRACE = 2.0
# Time to wait for the output pipe to close after the main process exits (stragglers may still hold it).
DRAIN_GRACE = 0.2
_READ_CHUNK = 65_536
_EXIT_POLL = 0.05

# Environment variables never handed to agent commands: their output lands in the journal and on screen.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|COOKIE|SESSION|AUTH", re.IGNORECASE)


@dataclass
class ProcessResult:
    exit_code: int | None  # None when the process was killed for its timeout
    output: str  # stdout and stderr merged, capped
    timed_out: bool
    duration: float


def safe_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """A copy of the environment without secrets, set up for unattended runs inside a worktree."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not _SECRET_NAME.search(k)}
    env.update(
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ in the worktree, so none in the agent's change
        GIT_TERMINAL_PROMPT="0",
        PAGER="cat",
        GIT_PAGER="cat",
    )
    env.update(extra)
    return env


class _CappedBuffer:
    """Keeps the first and last `cap // 2` bytes of a stream and counts what falls in between."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.cut = 0

    def add(self, data: bytes) -> None:
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail += data
        overflow = len(self.tail) - self.tail_cap
        if overflow > 0:
            del self.tail[:overflow]
            self.cut += overflow

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if not self.cut:
            return head + tail
        return f"{head}\n[... {self.cut} bytes cut ...]\n{tail}"


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


async def _wait_for_exit(proc: asyncio.subprocess.Process) -> None:
    """Return once the leader has exited (and been reaped), even while a straggler holds the output pipe.

    Process.wait() alone would not do: on Python 3.11 it also waits for every pipe to close.
    """
    waiter = asyncio.ensure_future(proc.wait())
    try:
        while proc.returncode is None and not waiter.done():
            await asyncio.wait({waiter}, timeout=_EXIT_POLL)
    finally:
        waiter.cancel()


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the whole group, give it a short grace, then SIGKILL it, and reap the leader."""
    pgid = proc.pid  # start_new_session makes the leader's pid the group id
    _signal_group(pgid, signal.SIGTERM)
    try:
        await asyncio.wait_for(_wait_for_exit(proc), KILL_GRACE)
    except asyncio.TimeoutError:
        pass
    # Grandchildren may ignore SIGTERM or outlive the leader: SIGKILL whatever is left of the group.
    _signal_group(pgid, signal.SIGKILL)
    await _wait_for_exit(proc)


async def _pump(stream: asyncio.StreamReader, buffer: _CappedBuffer) -> None:
    while chunk := await stream.read(_READ_CHUNK):
        buffer.add(chunk)


async def _start(command: str | list[str], cwd: Path, env: dict | None) -> asyncio.subprocess.Process:
    common = dict(
        cwd=str(cwd),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,  # a command waiting for input would otherwise hang until its timeout
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    if isinstance(command, str):
        return await asyncio.create_subprocess_exec("/bin/sh", "-c", command, **common)
    return await asyncio.create_subprocess_exec(*command, **common)


async def _finish_reading(reader: asyncio.Task, proc: asyncio.subprocess.Process) -> None:
    """After the leader exits, collect the rest of the output; stragglers holding the pipe are killed."""
    done, _ = await asyncio.wait({reader}, timeout=DRAIN_GRACE)
    if not done:
        _signal_group(proc.pid, signal.SIGKILL)
        done, _ = await asyncio.wait({reader}, timeout=KILL_GRACE)
    if not done:
        # Something outside our group (a daemon that called setsid) still holds the pipe: stop listening.
        reader.cancel()
        transport = getattr(proc, "_transport", None)  # no public way to close an asyncio child's pipes
        if transport is not None:
            transport.close()
    await asyncio.gather(reader, return_exceptions=True)


async def run_process(
    command: str | list[str],
    *,
    cwd: Path,
    timeout: float,
    output_cap: int = 64_000,
    env: dict | None = None,
) -> ProcessResult:
    """Run `command` (a string goes through /bin/sh -c) in `cwd`; kill its whole group on timeout or cancel.

    `env` is the complete environment of the process (None inherits ours); see safe_env().
    """
    started = time.monotonic()
    buffer = _CappedBuffer(max(output_cap, 2))
    try:
        proc = await _start(command, cwd, env)
    except OSError as exc:
        return ProcessResult(127, f"could not start {command!r}: {exc}", False, time.monotonic() - started)
    reader = asyncio.ensure_future(_pump(proc.stdout, buffer))
    timed_out = False
    try:
        try:
            await asyncio.wait_for(_wait_for_exit(proc), timeout)
        except asyncio.TimeoutError:
            timed_out = True
            await _kill_group(proc)
        # Leftovers of a finished command (background jobs) die with it: tool calls are one-shot.
        _signal_group(proc.pid, signal.SIGTERM if not timed_out else signal.SIGKILL)
        await _finish_reading(reader, proc)
    except asyncio.CancelledError:
        # Shielded so that a second cancellation cannot leave the group running.
        await asyncio.shield(_kill_group(proc))
        reader.cancel()
        raise
    output = buffer.text()
    if timed_out:
        output += f"\n[killed: timed out after {timeout:g}s]"
    return ProcessResult(
        exit_code=None if timed_out else proc.returncode,
        output=output,
        timed_out=timed_out,
        duration=time.monotonic() - started,
    )

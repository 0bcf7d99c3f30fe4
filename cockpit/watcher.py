"""Follow the user's saves live: one callback per burst, with the repo-relative paths that changed.

watchfiles groups raw events itself: `step` is the quiet time that ends a burst and `debounce` caps how long one
burst may be held (agents writing in their worktrees keep the OS busy, and those events reach the grouping before
our filter drops them). Paths under .git/ and .cockpit/, and paths git ignores, never reach the callback. Whatever
goes wrong is reported through `on_error`; the watcher never raises into the app.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
from pathlib import Path
from typing import Awaitable, Callable

from watchfiles import Change, awatch

OnChange = Callable[[set[str]], "Awaitable[None] | None"]
OnError = Callable[[str], None]

_CACHE_LIMIT = 4096  # ignore answers kept; cleared whole beyond this (a checkout can touch thousands of paths)
_STOP_WAIT = 2.0  # seconds to let the watch thread notice the stop before cancelling it
# Files whose change can change what git ignores, or what it tracks (a forced `git add` un-ignores a path).
_IGNORE_RULES = (".git/info/exclude", ".git/index")
_log = logging.getLogger("cockpit.watcher")


class _StopSignal:
    """The stop event handed to watchfiles, which calls is_set() from its thread on every step.

    The first call tells us the OS watch is in place (watchfiles installs it before its first step), so `start()`
    can return only once a save would be seen.
    """

    def __init__(self, on_first_check: Callable[[], None]) -> None:
        self._event = threading.Event()
        self._on_first_check: Callable[[], None] | None = on_first_check

    def is_set(self) -> bool:
        if self._on_first_check is not None:
            callback, self._on_first_check = self._on_first_check, None
            callback()
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()


class RepoWatcher:
    def __init__(
        self, root: Path | str, on_change: OnChange, debounce_ms: int = 50, *,
        on_error: OnError | None = None, max_batch_ms: int = 500,
    ) -> None:
        self.root = Path(root).resolve()
        self.on_change = on_change
        self.on_error = on_error
        self.debounce_ms = debounce_ms
        self.max_batch_ms = max(max_batch_ms, debounce_ms)
        self._prefix = str(self.root) + os.sep
        self._ignored: dict[str, bool] = {}
        self._rules_changed = False
        self._task: asyncio.Task[None] | None = None
        self._stop: _StopSignal | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start watching; returns once saves are being seen (or the watch failed, reported to on_error)."""
        if self.running:
            return
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        self._stop = _StopSignal(lambda: loop.call_soon_threadsafe(ready.set))
        self._task = asyncio.create_task(self._watch(self._stop), name=f"watch {self.root}")
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if self._stop is not None:
            self._stop.set()
        done, _ = await asyncio.wait({task}, timeout=_STOP_WAIT)
        if not done:  # stuck in the callback: cut it short
            task.cancel()
            await asyncio.wait({task})

    async def __aenter__(self) -> "RepoWatcher":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- the watch loop ----------------------------------------------------------------------------------------

    async def _watch(self, stop: _StopSignal) -> None:
        try:
            if not self.root.is_dir():  # checked here: watchfiles ignores a missing path when told to skip denied ones
                raise FileNotFoundError("no such folder")
            async for changes in awatch(
                self.root, watch_filter=self._outside_git_dirs, debounce=self.max_batch_ms, step=self.debounce_ms,
                stop_event=stop, ignore_permission_denied=True,
            ):
                paths = await self._visible({self._relative(path) for _change, path in changes})
                if paths:
                    await self._deliver(paths)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dead watcher must not take the app down
            self._report(f"stopped following your edits in {self.root}: {type(exc).__name__}: {exc}")

    def _relative(self, path: str) -> str:
        return path[len(self._prefix):] if path.startswith(self._prefix) else path

    def _outside_git_dirs(self, _change: Change, path: str) -> bool:
        """watchfiles' filter, run on every raw event: cheap string checks only."""
        if not path.startswith(self._prefix):
            return False
        relative = path[len(self._prefix):]
        parts = relative.split(os.sep)
        if parts[0] == ".cockpit":
            return False  # our journal, worktrees and temporary files: the agents' writes, not the user's
        if ".git" in parts:
            if relative.replace(os.sep, "/") in _IGNORE_RULES:
                self._rules_changed = True
            return False
        return True

    async def _visible(self, paths: set[str]) -> set[str]:
        """The paths git does not ignore, less folders (their files come with their own events)."""
        if self._rules_changed or any(os.path.basename(p) == ".gitignore" for p in paths):
            self._ignored.clear()
            self._rules_changed = False
        if len(self._ignored) > _CACHE_LIMIT:
            self._ignored.clear()
        unknown = sorted(p for p in paths if p not in self._ignored)
        if unknown:
            self._ignored.update(await self._check_ignore(unknown))
        return {p for p in paths if not self._ignored.get(p, False) and not (self.root / p).is_dir()}

    async def _check_ignore(self, paths: list[str]) -> dict[str, bool]:
        """Ask git once for the whole batch; tracked files are never reported ignored, which is what we want."""
        process = await asyncio.create_subprocess_exec(
            "git", "-C", str(self.root), "check-ignore", "-z", "--stdin",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate("\0".join(paths).encode("utf-8", "surrogateescape") + b"\0")
        if process.returncode not in (0, 1):  # 1: none ignored; anything else: git could not tell
            _log.debug("git check-ignore failed: %s", err.decode("utf-8", "replace").strip())
            return {}  # not cached, and reported as edits: a spurious refresh costs less than a missed one
        ignored = set(out.decode("utf-8", "surrogateescape").split("\0"))
        return {p: p in ignored for p in paths}

    async def _deliver(self, paths: set[str]) -> None:
        try:
            result = self.on_change(paths)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one failed refresh must not end the watch
            self._report(f"refreshing after your edits to {', '.join(sorted(paths)[:3])} failed: "
                         f"{type(exc).__name__}: {exc}")

    def _report(self, message: str) -> None:
        if self.on_error is None:
            _log.warning("%s", message)
            return
        try:
            self.on_error(message)
        except Exception:  # noqa: BLE001 - the error callback is the last resort: log and carry on
            _log.exception("on_error failed for: %s", message)

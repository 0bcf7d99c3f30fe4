"""RepoWatcher on a real git repo with real OS file events: one callback per burst, never for git's or ours."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from cockpit.watcher import RepoWatcher

WAIT = 10.0  # seconds: a bound for a loaded machine, never a pause; callbacks come within tens of ms


def git(root: Path, *args: str) -> None:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args]
    subprocess.run(command, cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text("print('hi')\n")
    (root / "src" / "lib.py").write_text("X = 1\n")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    (root / ".cockpit" / "worktrees" / "s1" / "t1").mkdir(parents=True)
    (root / "build").mkdir()
    return root


class Recorder:
    """Collects callbacks in order; `next()` waits for the following one, within a bound."""

    def __init__(self) -> None:
        self.batches: asyncio.Queue[set[str]] = asyncio.Queue()
        self.errors: list[str] = []

    def on_change(self, paths: set[str]) -> None:
        self.batches.put_nowait(paths)

    async def next(self) -> set[str]:
        return await asyncio.wait_for(self.batches.get(), WAIT)


async def test_save_to_tracked_file_gives_one_callback_naming_it(repo: Path) -> None:
    seen = Recorder()
    async with RepoWatcher(repo, seen.on_change, on_error=seen.errors.append):
        (repo / "src" / "lib.py").write_text("X = 2\n")
        assert await seen.next() == {"src/lib.py"}
    assert seen.batches.empty() and seen.errors == []


async def test_burst_of_twenty_saves_gives_one_callback(repo: Path) -> None:
    seen = Recorder()
    async with RepoWatcher(repo, seen.on_change, debounce_ms=100, on_error=seen.errors.append):
        for i in range(20):
            (repo / "app.py").write_text(f"print({i})\n")
            (repo / "src" / f"new{i % 4}.py").write_text(f"N = {i}\n")
        assert await seen.next() == {"app.py", "src/new0.py", "src/new1.py", "src/new2.py", "src/new3.py"}
        # A later save arrives as the very next callback: the burst left nothing behind for a second one.
        (repo / "app.py").write_text("print('after')\n")
        assert await seen.next() == {"app.py"}
    assert seen.errors == []


async def test_edits_under_git_cockpit_and_ignored_paths_give_no_callback(repo: Path) -> None:
    seen = Recorder()
    async with RepoWatcher(repo, seen.on_change, on_error=seen.errors.append):
        (repo / ".git" / "scratch").write_text("x")
        (repo / ".cockpit" / "journal.sqlite").write_text("x")
        (repo / ".cockpit" / "worktrees" / "s1" / "t1" / "app.py").write_text("agent's edit\n")
        (repo / "debug.log").write_text("noise\n")
        (repo / "build" / "out.txt").write_text("artifact\n")
        # The user's real save comes after all of that: it must be the first and only thing reported.
        (repo / "app.py").write_text("print('user')\n")
        assert await seen.next() == {"app.py"}
    assert seen.batches.empty() and seen.errors == []


async def test_new_gitignore_rule_takes_effect_without_restart(repo: Path) -> None:
    seen = Recorder()
    async with RepoWatcher(repo, seen.on_change, on_error=seen.errors.append):
        (repo / "notes.tmp").write_text("1\n")
        assert await seen.next() == {"notes.tmp"}
        (repo / ".gitignore").write_text("*.log\nbuild/\n*.tmp\n")
        assert await seen.next() == {".gitignore"}
        (repo / "notes.tmp").write_text("2\n")
        (repo / "app.py").write_text("print('user')\n")
        assert await seen.next() == {"app.py"}


async def test_deleted_file_is_reported(repo: Path) -> None:
    seen = Recorder()
    async with RepoWatcher(repo, seen.on_change):
        (repo / "src" / "lib.py").unlink()
        assert await seen.next() == {"src/lib.py"}


async def test_async_callback_is_awaited_and_saves_during_it_are_coalesced(repo: Path) -> None:
    calls: list[set[str]] = []
    release = asyncio.Event()
    entered = asyncio.Event()
    second = asyncio.Event()

    async def on_change(paths: set[str]) -> None:
        calls.append(paths)
        if len(calls) == 1:
            entered.set()
            await release.wait()
        else:
            second.set()

    async with RepoWatcher(repo, on_change):
        (repo / "app.py").write_text("print(1)\n")
        await asyncio.wait_for(entered.wait(), WAIT)
        for i in range(5):  # saved while the first refresh is still running
            (repo / "src" / "lib.py").write_text(f"X = {i}\n")
        release.set()
        await asyncio.wait_for(second.wait(), WAIT)
    assert calls == [{"app.py"}, {"src/lib.py"}]


async def test_failing_callback_is_reported_and_watching_goes_on(repo: Path) -> None:
    errors: list[str] = []
    seen = Recorder()

    def on_change(paths: set[str]) -> None:
        seen.on_change(paths)
        if "app.py" in paths:
            raise RuntimeError("boom")

    async with RepoWatcher(repo, on_change, on_error=errors.append):
        (repo / "app.py").write_text("print(1)\n")
        assert await seen.next() == {"app.py"}
        (repo / "src" / "lib.py").write_text("X = 3\n")
        assert await seen.next() == {"src/lib.py"}
    assert len(errors) == 1 and "app.py" in errors[0] and "RuntimeError: boom" in errors[0]


async def test_missing_root_is_reported_not_raised(tmp_path: Path) -> None:
    errors: list[str] = []
    watcher = RepoWatcher(tmp_path / "gone", lambda paths: None, on_error=errors.append)
    await watcher.start()
    assert not watcher.running
    assert len(errors) == 1 and "stopped following your edits" in errors[0]
    await watcher.stop()


async def test_stop_ends_the_watch(repo: Path) -> None:
    watcher = RepoWatcher(repo, lambda paths: None)
    await watcher.start()
    assert watcher.running
    await asyncio.wait_for(watcher.stop(), WAIT)
    assert not watcher.running

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from cockpit.procs import ProcessResult, run_process, safe_env
from procutil import process_is_gone, wait_until




async def wait_for_file(path: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.01)


async def test_output_and_exit_code_are_returned(tmp_path: Path) -> None:
    result = await run_process("echo out; echo err >&2; exit 3", cwd=tmp_path, timeout=10)
    assert isinstance(result, ProcessResult)
    assert result.exit_code == 3 and not result.timed_out
    assert "out" in result.output and "err" in result.output


async def test_list_command_runs_without_a_shell(tmp_path: Path) -> None:
    result = await run_process(["echo", "$HOME; ls"], cwd=tmp_path, timeout=10)
    assert result.output == "$HOME; ls\n"


async def test_output_is_capped_keeping_head_and_tail(tmp_path: Path) -> None:
    command = "printf 'HEAD'; head -c 100000 /dev/zero | tr '\\0' x; printf 'TAIL'"
    result = await run_process(command, cwd=tmp_path, timeout=10, output_cap=1000)
    assert result.output.startswith("HEAD") and result.output.endswith("TAIL")
    assert "[... 99008 bytes cut ...]" in result.output


async def test_undecodable_bytes_are_replaced(tmp_path: Path) -> None:
    result = await run_process("printf 'a\\377b'", cwd=tmp_path, timeout=10)
    assert result.output == "a\ufffdb"


async def test_command_outliving_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    command = f"sleep 1000 & echo $! > {pid_file}; wait"
    result = await run_process(command, cwd=tmp_path, timeout=1.0)
    assert result.timed_out and result.exit_code is None
    assert "timed out" in result.output
    grandchild = int(pid_file.read_text())
    assert wait_until(lambda: process_is_gone(grandchild))


async def test_cancellation_kills_the_whole_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    task = asyncio.create_task(
        run_process(f"sleep 1000 & echo $! > {pid_file}; wait", cwd=tmp_path, timeout=100)
    )
    await wait_for_file(pid_file)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    grandchild = int(pid_file.read_text())
    assert wait_until(lambda: process_is_gone(grandchild))


async def test_background_leftovers_do_not_outlive_a_finished_command(tmp_path: Path) -> None:
    pid_file = tmp_path / "bg.pid"
    result = await run_process(f"sleep 1000 & echo $! > {pid_file}; echo done", cwd=tmp_path, timeout=30)
    assert result.exit_code == 0 and "done" in result.output and result.duration < 10
    assert wait_until(lambda: process_is_gone(int(pid_file.read_text())))


async def test_stdin_is_closed_so_readers_do_not_hang(tmp_path: Path) -> None:
    result = await run_process("cat; echo after", cwd=tmp_path, timeout=10)
    assert result.exit_code == 0 and "after" in result.output


async def test_missing_working_folder_is_reported_not_raised(tmp_path: Path) -> None:
    result = await run_process("true", cwd=tmp_path / "nope", timeout=10)
    assert result.exit_code == 127 and "could not start" in result.output


def test_safe_env_drops_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp")
    env = safe_env()
    assert "OPENAI_API_KEY" not in env and "GITHUB_TOKEN" not in env
    assert env["PATH"] == os.environ["PATH"] and env["PYTHONDONTWRITEBYTECODE"] == "1"

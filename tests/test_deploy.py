"""Deploy runs only after the release is approved and applied, and only when a human or --allow-deploy asks."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from cockpit.deploy import (
    NO_COMMAND, NO_RELEASE, NOT_ASKED, DeployError, DeployResult, deploy_allowed, mask_secrets, run_deploy,
)
from cockpit.events import Event
from cockpit.procs import safe_env
from cockpit.state import SessionState
from procutil import process_is_gone

COMMAND = "make deploy"


class Story:
    """A session told as events, folded into the SessionState the gate reads."""

    def __init__(self, *tasks: tuple[str, str]) -> None:
        self.events: list[Event] = []
        self.add("session_started", goal="ship it", repo="/repo")
        self.add("plan_proposed", tasks=[{"id": tid, "title": tid, "agent": agent} for tid, agent in tasks])
        self.add("plan_approved")

    def add(self, type_: str, **data) -> "Story":
        self.events.append(Event(type_, len(self.events) + 1, 0.0, "s1", data))
        return self

    def status(self, task_id: str, status: str, agent: str = "release") -> "Story":
        return self.add("task_updated", task_id=task_id, status=status, agent=agent)

    def change(self, task_id: str, change_id: str, *steps: str) -> "Story":
        self.add("change_proposed", change_id=change_id, task_id=task_id, files=["CHANGELOG.md"], diff="", base="b",
                 commit="c")
        for step in steps:
            if step in ("approved", "rejected"):
                self.add("change_decided", change_id=change_id, decision=step, hunks="all")
            else:
                self.add(f"change_{step}", change_id=change_id, files=["CHANGELOG.md"])
        return self

    @property
    def state(self) -> SessionState:
        return SessionState.fold(self.events)


def released() -> Story:
    return Story(("t1", "coder"), ("rel", "release")).change("rel", "rel.1", "approved", "applied").status("rel", "done")


GATE_TABLE = [
    # (story, command, explicit, allow_deploy_flag, allowed, reason)
    pytest.param(released(), COMMAND, True, False, True, "", id="key press after an applied release"),
    pytest.param(released(), COMMAND, False, True, True, "", id="headless with --allow-deploy"),
    pytest.param(released(), COMMAND, False, False, False, NOT_ASKED, id="--approve all alone never deploys"),
    pytest.param(released(), None, True, True, False, NO_COMMAND, id="no command configured"),
    pytest.param(released(), "   ", True, True, False, NO_COMMAND, id="blank command"),
    pytest.param(Story(("t1", "coder")).status("t1", "done", "coder"), COMMAND, True, True, False, NO_RELEASE,
                 id="no release task at all"),
    pytest.param(Story(("rel", "release")).status("rel", "running"), COMMAND, True, True, False, NO_RELEASE,
                 id="release still running"),
    pytest.param(Story(("rel", "release")).change("rel", "rel.1").status("rel", "waiting"), COMMAND, True, True,
                 False, NO_RELEASE, id="release change waiting for review"),
    pytest.param(Story(("rel", "release")).change("rel", "rel.1", "approved").status("rel", "done"), COMMAND, True,
                 True, False, NO_RELEASE, id="approved but not applied"),
    pytest.param(Story(("rel", "release")).change("rel", "rel.1", "approved", "conflicted").status("rel", "done"),
                 COMMAND, True, True, False, NO_RELEASE, id="release change conflicted"),
    pytest.param(Story(("rel", "release")).change("rel", "rel.1", "rejected").change("rel", "rel.2", "approved",
                 "applied").status("rel", "done"), COMMAND, True, False, True, "", id="second change applied"),
    pytest.param(Story(("rel", "release")).status("rel", "done"), COMMAND, True, False, True, "",
                 id="release done with no change to apply"),
    pytest.param(Story(("rel", "release")).status("rel", "failed"), COMMAND, True, True, False, NO_RELEASE,
                 id="release failed"),
    pytest.param(released().add("task_added", task={"id": "rel2", "title": "again", "agent": "release"}), COMMAND,
                 True, True, False, NO_RELEASE, id="another release task still pending"),
    pytest.param(released().add("task_added", task={"id": "rel2", "title": "again", "agent": "release"})
                 .status("rel2", "cancelled"), COMMAND, True, False, True, "", id="cancelled release does not block"),
]


@pytest.mark.parametrize(("story", "command", "explicit", "flag", "allowed", "reason"), GATE_TABLE)
def test_deploy_gate(story: Story, command, explicit, flag, allowed, reason) -> None:
    assert deploy_allowed(story.state, command=command, explicit=explicit, allow_deploy_flag=flag) == (allowed, reason)


async def deploy_if_allowed(state: SessionState, root: Path, command: str, **flags) -> DeployResult | None:
    """What a front end does: ask the gate, run only on yes."""
    allowed, _reason = deploy_allowed(state, command=command, **flags)
    return await run_deploy(root, command, timeout=30) if allowed else None


async def test_deploy_command_runs_only_when_allowed(tmp_path: Path) -> None:
    command = "echo deployed > marker && echo done"
    pending = Story(("rel", "release")).change("rel", "rel.1").status("rel", "waiting").state
    assert await deploy_if_allowed(pending, tmp_path, command, explicit=True, allow_deploy_flag=False) is None
    assert await deploy_if_allowed(released().state, tmp_path, command, explicit=False, allow_deploy_flag=False) is None
    assert not (tmp_path / "marker").exists()
    result = await deploy_if_allowed(released().state, tmp_path, command, explicit=True, allow_deploy_flag=False)
    assert result is not None and result.ok and result.exit_code == 0 and not result.timed_out
    assert (tmp_path / "marker").read_text() == "deployed\n" and "done" in result.output
    assert result.summary().startswith("deploy succeeded in")


async def test_failing_deploy_reports_its_output(tmp_path: Path) -> None:
    result = await run_deploy(tmp_path, "echo 'uploading...'; echo 'permission denied' >&2; exit 4", timeout=30)
    assert not result.ok and result.exit_code == 4 and not result.timed_out
    assert "uploading..." in result.output and "permission denied" in result.output
    assert result.summary() == "deploy failed with exit code 4"


async def test_deploy_runs_in_the_repo_root(tmp_path: Path) -> None:
    result = await run_deploy(tmp_path, "pwd", timeout=30)
    assert Path(result.output.strip()).resolve() == tmp_path.resolve()


async def test_deploy_keeps_the_users_credentials_but_masks_them_in_output(tmp_path: Path) -> None:
    env = safe_env(DEPLOY_TOKEN="s3cr3t-value-123")  # safe_env drops the real secrets; add one of our own
    result = await run_deploy(tmp_path, 'test -n "$DEPLOY_TOKEN" && echo "token is $DEPLOY_TOKEN"', env=env)
    assert result.ok and result.output.strip() == "token is [redacted]"
    assert mask_secrets("a=1 b=hunter22", {"PASSWORD": "hunter22", "AUTH_MODE": "1"}) == "a=1 b=[redacted]"


async def test_deploy_that_hangs_is_killed_at_its_timeout(tmp_path: Path) -> None:
    result = await run_deploy(tmp_path, "echo starting; sleep 1000", timeout=0.5)
    assert result.timed_out and not result.ok and result.exit_code is None and "starting" in result.output
    assert result.summary().startswith("deploy timed out")



async def test_cancelled_deploy_kills_its_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    task = asyncio.ensure_future(run_deploy(tmp_path, f"sleep 1000 & echo $! > {pidfile}.tmp && "
                                                      f"mv {pidfile}.tmp {pidfile}; wait", timeout=60))
    deadline = time.monotonic() + 10
    while not pidfile.exists():
        assert time.monotonic() < deadline, "the deploy never started"
        await asyncio.sleep(0.01)
    child = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5
    while not process_is_gone(child):
        assert time.monotonic() < deadline, "the deploy's child outlived the cancellation"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(("root", "command", "message"), [
    ("missing", "make deploy", "is not a directory"), (".", "", NO_COMMAND), (".", None, NO_COMMAND),
])
async def test_deploy_that_cannot_start_says_why_in_one_line(tmp_path: Path, root, command, message) -> None:
    with pytest.raises(DeployError, match=re.escape(message)) as caught:
        await run_deploy(tmp_path / root, command)
    assert "\n" not in str(caught.value)

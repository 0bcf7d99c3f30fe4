"""The deploy step: the user's configured command, run in their repo once the release task's change is applied.

Deploying is the one thing cockpit does that reaches outside the repo, so it has its own gate (`deploy_allowed`):
a configured command, an approved and applied release, and a human asking for it (a key press) or a headless run
started with --allow-deploy. `--approve all` alone never deploys.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import procs

if TYPE_CHECKING:
    from .state import SessionState, TaskState

RELEASE_AGENT = "release"
NO_COMMAND = "no [deploy] command configured"
NO_RELEASE = "deploy needs the release task to be approved first"
NOT_ASKED = "--approve all never deploys without --allow-deploy"
# Names of environment variables whose values are masked in the output we keep (it reaches the journal and screen).
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|COOKIE|AUTH", re.IGNORECASE)
_MIN_SECRET_LEN = 6  # shorter values ("1", "true") would mask ordinary words


class DeployError(ValueError):
    """A deploy that cannot start: one line saying why."""


@dataclass
class DeployResult:
    ok: bool
    exit_code: int | None  # None when it was killed for its timeout
    output: str  # stdout and stderr merged, capped, secrets masked
    duration: float
    timed_out: bool

    def summary(self) -> str:
        if self.timed_out:
            return f"deploy timed out after {self.duration:.0f}s and was killed"
        if self.ok:
            return f"deploy succeeded in {self.duration:.1f}s"
        return f"deploy failed with exit code {self.exit_code}"


def deploy_allowed(
    state: "SessionState", *, command: str | None, explicit: bool, allow_deploy_flag: bool
) -> tuple[bool, str]:
    """May the deploy run now? (allowed, one-line reason when it may not). Pure: reads `state` only.

    `explicit` is a human's key press in the TUI; `allow_deploy_flag` is headless `--allow-deploy`.
    """
    if not (command or "").strip():
        return False, NO_COMMAND
    if not release_approved(state):
        return False, NO_RELEASE
    if not (explicit or allow_deploy_flag):
        return False, NOT_ASKED
    return True, ""


def release_approved(state: "SessionState") -> bool:
    """At least one release task is done with its change applied, and no other release task is unfinished.

    A cancelled release task does not hold the deploy back; a failed or still open one does.
    """
    releases = [ts for ts in state.tasks.values() if ts.task.agent == RELEASE_AGENT and ts.status != "cancelled"]
    return bool(releases) and all(_release_done(state, ts) for ts in releases)


def _release_done(state: "SessionState", ts: "TaskState") -> bool:
    if ts.status != "done":
        return False
    changes = [c for c in state.changes.values() if c.task_id == ts.task.id]
    if not changes:
        return True  # a release that needed no file change (it tagged, or found nothing to bump)
    latest = state.changes.get(ts.change_id or "") or changes[-1]
    return latest.status == "applied"


async def run_deploy(
    root: Path, command: str, *, timeout: float = 1800, output_cap: int = 64_000, env: dict[str, str] | None = None
) -> DeployResult:
    """Run the deploy command in the user's repo root; its whole process group dies on timeout or cancellation.

    Unlike agents' commands, the deploy is the user's own and keeps their environment (it usually needs their
    credentials); the values of secret-looking variables are masked in the output instead. `env` replaces the
    environment (for tests).
    """
    root = Path(root)
    if not (command or "").strip():
        raise DeployError(NO_COMMAND)
    if not root.is_dir():
        raise DeployError(f"cannot deploy: {root} is not a directory")
    env = dict(os.environ if env is None else env)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")  # stdin is closed: a prompt would only wait for the timeout
    result = await procs.run_process(command, cwd=root, timeout=timeout, output_cap=output_cap, env=env)
    return DeployResult(
        ok=result.exit_code == 0 and not result.timed_out,
        exit_code=result.exit_code,
        output=mask_secrets(result.output, env),
        duration=result.duration,
        timed_out=result.timed_out,
    )


def mask_secrets(text: str, env: dict[str, str]) -> str:
    """Replace the values of secret-looking environment variables with [redacted], longest first."""
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LEN}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return text

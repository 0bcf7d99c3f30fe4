"""An apply SIGKILLed between (or inside) its file writes, then applied again as `cockpit resume` does: no file is
ever torn, the second apply finishes the job, and the snapshot still holds what the user had before the first try.

The child process is the real apply with ChangeApplier._write_state wrapped to kill itself at the chosen write.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.workspace import Workspace
from gitrepo import git, make_change, make_repo

KILLING_CHILD = r"""
import os, signal, sys
from cockpit.apply import ChangeApplier
from cockpit.workspace import Workspace

root, change_id, base, commit, kill_at, where = sys.argv[1:]
writes = 0
real_write = ChangeApplier._write_state

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def write_or_die(self, path, state):
    global writes
    if writes == int(kill_at):
        if where == "between":
            die()
        os.replace = die  # inside: the temp file is written, the rename never happens
    real_write(self, path, state)
    writes += 1

ChangeApplier._write_state = write_or_die
Workspace(root).apply_change(change_id, base, commit)
"""

ORIGINAL = {
    "clean.txt": "".join(f"clean {n}\n" for n in range(10)),
    "merged.txt": "".join(f"merged {n}\n" for n in range(10)),
    "gone.txt": "to be deleted\n",
}


@pytest.fixture
def half_applied(tmp_path: Path):
    """A change of four files: a delete, a clean edit, a 3-way merge with an edit the user made since, an add."""
    root = make_repo(tmp_path / "repo", ORIGINAL)
    ws = Workspace(root)

    def edit(wt: Path) -> None:
        (wt / "gone.txt").unlink()
        (wt / "clean.txt").write_text(ORIGINAL["clean.txt"].replace("clean 5\n", "agent 5\n"))
        (wt / "merged.txt").write_text(ORIGINAL["merged.txt"].replace("merged 8\n", "agent 8\n"))
        (wt / "added.txt").write_text("added by the agent\n")

    base = ws.snapshot_base()
    commit = make_change(ws, base, edit)
    users = ORIGINAL["merged.txt"].replace("merged 1\n", "user 1\n")
    (root / "merged.txt").write_text(users)
    before = {name: text.encode() for name, text in ORIGINAL.items()}
    before |= {"merged.txt": users.encode(), "added.txt": None}
    after = {
        "gone.txt": None,
        "clean.txt": ORIGINAL["clean.txt"].replace("clean 5\n", "agent 5\n").encode(),
        "merged.txt": users.replace("merged 8\n", "agent 8\n").encode(),
        "added.txt": b"added by the agent\n",
    }
    return root, ws, base, commit, before, after


def state_of(root: Path) -> dict[str, bytes | None]:
    return {name: (root / name).read_bytes() if (root / name).exists() else None
            for name in ("gone.txt", "clean.txt", "merged.txt", "added.txt")}


def leftovers(root: Path) -> list[str]:
    return [name for _, _, names in os.walk(root) for name in names if name.endswith(".cockpit-tmp")]


@pytest.mark.parametrize(("kill_at", "where"), [(n, "between") for n in range(4)] + [(n, "inside") for n in (1, 2, 3)])
def test_apply_killed_midway_is_never_torn_and_finishes_on_the_next_apply(half_applied, kill_at, where) -> None:
    root, ws, base, commit, before, after = half_applied
    child = subprocess.run([sys.executable, "-c", KILLING_CHILD, str(root), "c1", base, commit, str(kill_at), where],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    now = state_of(root)
    assert all(now[name] in (before[name], after[name]) for name in now), "a file was torn"
    assert sum(now[name] == after[name] for name in now) == kill_at  # deletions first, then in path order
    assert bool(leftovers(root)) == (where == "inside")  # a temp file the killed write never renamed
    snapshot = git(root, "rev-parse", "refs/cockpit/snapshots/c1")

    result = Workspace(root).apply_change("c1", base, commit)  # what resume does
    assert result.conflicted == [] and result.snapshot == snapshot
    assert state_of(root) == after and leftovers(root) == []
    assert Workspace(root).undo_change("c1").conflicted == []
    assert state_of(root) == before  # the snapshot still holds what the user had before the first attempt


def test_user_edit_between_the_kill_and_the_resume_is_merged_not_lost(half_applied) -> None:
    root, ws, base, commit, before, after = half_applied
    subprocess.run([sys.executable, "-c", KILLING_CHILD, str(root), "c1", base, commit, "2", "between"], timeout=60)
    assert state_of(root)["merged.txt"] == before["merged.txt"]  # not reached yet
    edited = before["merged.txt"].replace(b"merged 4\n", b"user 4\n")
    (root / "merged.txt").write_bytes(edited)
    assert ws.apply_change("c1", base, commit).conflicted == []
    assert (root / "merged.txt").read_bytes() == after["merged.txt"].replace(b"merged 4\n", b"user 4\n")
    ws.undo_change("c1")
    assert (root / "merged.txt").read_bytes() == edited

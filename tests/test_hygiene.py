"""Orphan worktrees and branches, worktree-include, and noticing the user's branch moves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cockpit.hygiene import BranchWatch, clean_empty, copy_worktree_includes, current_branch, find_orphans
from cockpit.workspace import Workspace
from gitrepo import git, make_change, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": "x = 1\n", ".gitignore": ".env\n*.local\nsecrets/\n"})


def by_task(orphans) -> dict[str, object]:
    return {orphan.task_id: orphan for orphan in orphans}


def test_orphans_with_work_are_reported_and_never_deleted_empty_ones_are(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    idle = ws.create_worktree("s1", "idle", base)
    dirty = ws.create_worktree("s1", "dirty", base)
    (dirty / "half_done.py").write_text("work in progress\n")
    make_change(ws, base, lambda wt: (wt / "done.py").write_text("recorded\n"), task="recorded")
    ws.create_worktree("s1", "live", base)
    git(repo, "branch", "cockpit/s0/branch-only", base)  # a branch left without its worktree, no work on it

    orphans = by_task(find_orphans(ws, {("s1", "live")}))
    assert sorted(orphans) == ["branch-only", "dirty", "idle", "recorded"]
    assert (orphans["idle"].empty, orphans["branch-only"].empty) == (True, True)
    assert orphans["dirty"].detail == "uncommitted edits: half_done.py"
    assert orphans["recorded"].detail == "1 commit beyond its base" and not orphans["recorded"].empty

    removed = clean_empty(ws, orphans.values())
    assert sorted(o.task_id for o in removed) == ["branch-only", "idle"]
    assert not idle.exists() and dirty.is_dir() and ws.worktree_path("s1", "recorded").is_dir()
    assert (dirty / "half_done.py").read_text() == "work in progress\n"
    branches = git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/cockpit/").splitlines()
    assert sorted(branches) == ["cockpit/s1/dirty", "cockpit/s1/live", "cockpit/s1/recorded"]
    assert sorted(by_task(find_orphans(ws, {("s1", "live")}))) == ["dirty", "recorded"]


def test_an_orphan_that_gained_work_since_it_was_found_is_kept(repo: Path) -> None:
    ws = Workspace(repo)
    worktree = ws.create_worktree("s1", "t1", ws.snapshot_base())
    [orphan] = find_orphans(ws, set())
    assert orphan.empty
    (worktree / "late.py").write_text("written after the report\n")
    assert clean_empty(ws, [orphan]) == []
    assert (worktree / "late.py").is_file()


def test_branches_not_shaped_like_cockpits_are_not_orphans(repo: Path) -> None:
    git(repo, "branch", "cockpit/notes")
    git(repo, "branch", "cockpit/a/b/c")
    assert find_orphans(Workspace(repo), set()) == []


def test_worktree_include_copies_env_and_other_ignored_files_only(repo: Path, tmp_path: Path) -> None:
    ws = Workspace(repo)
    (repo / ".env").write_text("API_KEY=local\n")
    (repo / "db.local").write_text("local db\n")
    (repo / "secrets").mkdir()
    (repo / "secrets" / "token").write_text("t\n")
    (repo / "notes.md").write_text("not ignored: it travels with the base snapshot\n")
    outside = tmp_path / "outside.local"
    outside.write_text("must never be copied\n")
    os.symlink(outside, repo / "link.local")
    (ws.cockpit_dir / "worktree-include").write_text("# files a task needs to run\n.env\n*.local\nsecrets/\nnotes.md\n")
    worktree = ws.create_worktree("s1", "t1", ws.snapshot_base())
    (worktree / "db.local").write_text("the worktree's own\n")

    copied = copy_worktree_includes(ws, worktree)
    assert sorted(copied) == [".env", "secrets/token"]
    assert (worktree / ".env").read_text() == "API_KEY=local\n"
    assert (worktree / "db.local").read_text() == "the worktree's own\n"  # never overwritten
    assert not os.path.lexists(worktree / "link.local")


def test_worktree_include_never_copies_through_a_symlinked_folder(repo: Path, tmp_path: Path) -> None:
    ws = Workspace(repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "key.local").write_text("outside the repo\n")
    os.symlink(elsewhere, repo / "linked")
    with (repo / ".gitignore").open("a") as ignore:
        ignore.write("linked\n")
    (ws.cockpit_dir / "worktree-include").write_text("linked\nlinked/key.local\n**/*.local\n")
    worktree = ws.create_worktree("s1", "t1", ws.snapshot_base())
    assert copy_worktree_includes(ws, worktree) == []


def test_no_include_file_copies_nothing(repo: Path) -> None:
    ws = Workspace(repo)
    (repo / ".env").write_text("x\n")
    assert copy_worktree_includes(ws, ws.create_worktree("s1", "t1", ws.snapshot_base())) == []


def test_branch_watch_tells_a_switch_and_a_new_commit_once(repo: Path) -> None:
    ws = Workspace(repo)
    watch = BranchWatch(ws)
    assert current_branch(ws) == "main" and watch.check() is None
    git(repo, "checkout", "-q", "-b", "feature")
    change = watch.check()
    assert change is not None and change.describe() == "switched to branch feature (was main)"
    assert watch.check() is None
    git(repo, "commit", "-q", "--allow-empty", "-m", "more")
    assert watch.check().describe().startswith("feature moved: ")
    git(repo, "checkout", "-q", "--detach")
    assert current_branch(ws) is None and watch.check().describe().startswith("HEAD detached at ")
    git(repo, "checkout", "-q", "main")
    watch.check()
    git(repo, "commit", "-q", "--allow-empty", "-m", "made by cockpit, say")
    watch.acknowledge()
    assert watch.check() is None


async def test_the_cockpit_reports_orphans_at_start_and_cleans_only_the_empty_ones(tmp_path):
    from cockpit.demo_repo import make_demo_repo
    from cockpit.engine import open_engine

    repo = make_demo_repo(tmp_path / "demo")
    ws = Workspace(repo)
    base = ws.snapshot_base()
    busy = ws.create_worktree("old-session", "t1", base)
    (busy / "work.txt").write_text("unapplied work\n")
    ws.record_change(busy, base, "work")
    ws.create_worktree("old-session", "t2", base)
    engine = open_engine(repo, goal="look around", model="offline", interactive=False, follow_edits=False)
    seen = []
    engine.session.subscribe(seen.append)
    await engine._report_orphans()
    (report,) = [e for e in seen if e.type == "orphans_found"]
    assert {(o["task_id"], o["empty"]) for o in report.get("orphans")} == {("t1", False), ("t2", True)}
    removed = await engine.clean_orphans()
    assert len(removed) == 1 and "t2" in removed[0]
    assert busy.exists() and (busy / "work.txt").exists()
    assert not ws.worktree_path("old-session", "t2").exists()
    engine.close()

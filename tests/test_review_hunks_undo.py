"""Hunk-level review, undo and conflicts through the engine, on the offline demo and real files."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from cockpit.demo_repo import make_demo_repo
from cockpit.gitdiff import parse_hunks
from cockpit.offline import scripts
from cockpit.offline.turns import ScriptedTurn

from harness import WAIT, Harness, on


@pytest.fixture
def demo(tmp_path):
    return make_demo_repo(tmp_path / "demo")


async def _t2_change(h):
    request = await h.wait_for(lambda e: e.type == "decision_requested" and e.get("kind") == "change"
                               and e.get("task_id") == "t2")
    return request, h.session.state.changes[request.get("payload")["change_id"]]


ORIGINAL = "".join(f"line {i}\n" for i in range(1, 41))
EDITED = ORIGINAL.replace("line 2\n", "line 2 EDIT-A\n").replace("line 20\n", "line 20 EDIT-B\n").replace(
    "line 39\n", "line 39 EDIT-C\n")


def three_hunk_play(role, messages):
    """The offline model for this test: one coder task that edits three distant lines of notes.txt."""
    said = [m for m in messages[2:] if m["role"] == "assistant"]
    if role == "planner":
        plan = [{"id": "t1", "title": "Edit notes", "agent": "coder", "depends_on": []}]
        return ScriptedTurn("Plan.", [("submit_plan", {"tasks": plan})] if not said else [("finish", {"summary": "ok"})])
    if role == "coder" and (not said or any("not like this" in str(m.get("content")) for m in messages[-1:])):
        return ScriptedTurn("Editing.", [("write_file", {"path": "notes.txt", "content": EDITED})])
    return ScriptedTurn("Done.", [("finish", {"summary": "edited three lines"})])


async def test_approving_two_of_three_hunks_leaves_the_third_out_and_its_comment_reaches_the_agent(tmp_path, monkeypatch):
    repo = tmp_path / "notes"
    repo.mkdir()
    (repo / "notes.txt").write_text(ORIGINAL)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    monkeypatch.setattr(scripts, "next_turn", three_hunk_play)
    h = Harness(repo, goal="edit the notes")
    h.auto["change"] = False
    run = asyncio.create_task(h.engine.run())
    request = await h.wait_for(on("decision_requested", kind="change"))
    change = h.session.state.changes[request.get("payload")["change_id"]]
    (file_diff,) = parse_hunks(change.diff)
    assert len(file_diff.hunks) == 3
    calls = len(h.calls_of("t1", "coder"))
    keep = [["notes.txt", 0], ["notes.txt", 1]]
    h.session.resolve(request.get("request_id"), {"approved": True, "hunks": keep, "comment": "HUNK-3: not like this"})
    await h.wait_for(on("change_applied", change_id=change.change_id))
    text = (repo / "notes.txt").read_text()
    assert "EDIT-A" in text and "EDIT-B" in text and "EDIT-C" not in text and "line 39\n" in text
    await h.wait_for(lambda e: e.type == "usage" and e.get("task_id") == "t1" and len(h.calls_of("t1", "coder")) > calls)
    messages = h.calls_of("t1", "coder")[calls]["messages"]
    assert any("HUNK-3: not like this" in str(m.get("content")) for m in messages if m["role"] == "user")
    h.runner.stop()
    await run


async def test_undo_restores_the_file_and_keeps_later_user_edits_elsewhere(demo):
    h = Harness(demo)
    h.auto["change"] = False
    run = asyncio.create_task(h.engine.run())
    request, change = await _t2_change(h)
    cli = demo / "invoicer" / "cli.py"
    before = cli.read_bytes()
    h.session.resolve(request.get("request_id"), {"approved": True})
    await h.wait_for(on("change_applied", change_id=change.change_id))
    assert cli.read_bytes() != before
    readme = demo / "README.md"
    readme.write_text(readme.read_text() + "user's line\n")
    await h.runner.changes.undo()
    undone = await h.wait_for(on("change_undone", change_id=change.change_id))
    assert undone.get("files") == ["invoicer/cli.py"]
    assert cli.read_bytes() == before and readme.read_text().endswith("user's line\n")
    assert h.session.state.changes[change.change_id].status == "undone"
    h.runner.stop()
    await run


async def test_a_conflict_leaves_the_users_file_byte_identical_and_marks_the_change(demo):
    h = Harness(demo, follow_edits=False)  # the user's save lands unseen: the apply itself must catch it
    h.auto["change"] = False
    h.auto["conflict"] = False
    run = asyncio.create_task(h.engine.run())
    request, change = await _t2_change(h)
    cli = demo / "invoicer" / "cli.py"
    mine = b"# the user's rewrite\r\nimport sys\n\x00binary-ish tail"
    cli.write_bytes(mine)
    h.session.resolve(request.get("request_id"), {"approved": True})
    conflicted = await h.wait_for(on("change_conflicted", change_id=change.change_id))
    assert conflicted.get("files") == ["invoicer/cli.py"]
    assert cli.read_bytes() == mine
    assert h.session.state.changes[change.change_id].status == "conflicted"
    await h.wait_for(on("decision_requested", kind="conflict"))
    h.runner.stop()
    await asyncio.wait_for(run, WAIT)

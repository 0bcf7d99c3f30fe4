"""Beside the editor: the user's saves (real watchfiles, real repo) refresh changes and reach working agents."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.demo_repo import make_demo_repo

from harness import WAIT, Harness, on


@pytest.fixture
def demo(tmp_path):
    return make_demo_repo(tmp_path / "demo")


async def _change_request(h, task_id):
    return await h.wait_for(lambda e: e.type == "decision_requested" and e.get("kind") == "change"
                            and e.get("task_id") == task_id)


async def test_a_save_to_a_file_under_review_rebases_the_change_onto_it(demo):
    h = Harness(demo)
    h.auto["change"] = False
    run = asyncio.create_task(h.engine.run())
    request = await _change_request(h, "t2")
    old_id = request.get("payload")["change_id"]
    cli = demo / "invoicer" / "cli.py"
    cli.write_text(cli.read_text() + "\n# the user's own note, kept by every change\n")
    edited = await h.wait_for(on("user_edited"))
    assert edited.get("paths") == ["invoicer/cli.py"]
    rebased = await h.wait_for(lambda e: e.type == "change_proposed" and e.get("rebased_from") == old_id)
    old, new = h.session.state.changes[old_id], h.session.state.changes[rebased.get("change_id")]
    assert old.status == "rejected" and new.base != old.base
    assert "the user's own note" not in new.diff  # the new diff starts from the user's file: nothing to revert
    # The task now waits on the rebased change; approving it keeps both the agent's work and the user's line.
    second = await h.wait_for(lambda e: e.type == "decision_requested" and e.get("payload", {}).get("change_id") == new.change_id)
    h.session.resolve(second.get("request_id"), {"approved": True})
    await h.wait_for(on("change_applied", change_id=new.change_id))
    text = cli.read_text()
    assert "the user's own note" in text and "--format" in text
    h.runner.stop()
    await run


async def test_an_overlapping_save_marks_the_change_stale_and_leaves_it(demo):
    h = Harness(demo)
    h.auto["change"] = False
    run = asyncio.create_task(h.engine.run())
    request = await _change_request(h, "t2")
    change_id = request.get("payload")["change_id"]
    cli = demo / "invoicer" / "cli.py"
    cli.write_text("# rewritten by the user\n")
    stale = await h.wait_for(on("change_stale", change_id=change_id))
    assert stale.get("files") == ["invoicer/cli.py"]
    assert h.session.state.changes[change_id].status == "pending"
    assert cli.read_text() == "# rewritten by the user\n"
    h.runner.stop()
    await run


async def test_a_burst_of_saves_is_one_refresh(demo):
    h = Harness(demo)
    h.auto["plan"] = False
    run = asyncio.create_task(h.engine.run())
    await h.wait_for(on("decision_requested", kind="plan"))
    readme = demo / "README.md"
    for i in range(15):
        readme.write_text(readme.read_text() + f"line {i}\n")
    await h.wait_for(on("user_edited"))
    marker = demo / "MARKER.txt"
    marker.write_text("after the burst\n")
    last = await h.wait_for(lambda e: e.type == "user_edited" and "MARKER.txt" in e.get("paths"))
    edits = [e for e in h.events if e.type == "user_edited" and e.seq < last.seq]
    assert len(edits) == 1 and edits[0].get("paths") == ["README.md"]
    h.runner.stop()
    await run


async def test_an_agent_working_on_a_file_gets_the_users_edit_as_a_note(demo):
    h = Harness(demo)
    run = asyncio.create_task(h.engine.run())
    await h.wait_for(lambda e: e.type == "tool_called" and e.get("task_id") == "t2" and e.get("tool") == "read_file")
    h.runner.pause()  # hold the agent before its next call, so the note lands on a known turn
    cli = demo / "invoicer" / "cli.py"
    cli.write_text(cli.read_text() + "\nUSER_CONSTANT = 42\n")
    note = await h.wait_for(on("note_sent", task_id="t2"))
    assert "USER_CONSTANT = 42" in note.get("text")
    calls = len(h.calls_of("t2", "coder"))
    h.runner.resume()
    await h.wait_for(lambda e: e.type == "usage" and e.get("task_id") == "t2" and len(h.calls_of("t2", "coder")) > calls)
    messages = h.calls_of("t2", "coder")[calls]["messages"]
    assert any("USER_CONSTANT = 42" in str(m.get("content")) for m in messages if m["role"] == "user")
    h.runner.stop()
    await asyncio.wait_for(run, WAIT)

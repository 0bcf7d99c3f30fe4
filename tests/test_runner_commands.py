"""The runner's commands on a live session (offline model, real demo repo): what a front end can make it do."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.demo_repo import make_demo_repo

from harness import WAIT, Harness, on


@pytest.fixture
def demo(tmp_path):
    return make_demo_repo(tmp_path / "demo")


async def test_rejected_plan_reason_reaches_the_planner(demo):
    h = Harness(demo)
    h.auto["plan"] = False
    run = asyncio.create_task(h.engine.run())
    request = await h.wait_for(on("decision_requested", kind="plan"))
    h.session.resolve(request.get("request_id"), {"approved": False, "reason": "drop the release task t6"})
    await h.wait_for(on("plan_rejected"))
    second = await h.wait_for(lambda e: e.type == "decision_requested" and e.get("kind") == "plan" and e.seq > request.seq)
    assert any("drop the release task t6" in str(m.get("content")) for m in h.calls_of("plan")[-1]["messages"])
    assert "t6" not in h.session.state.tasks
    h.runner.stop()
    h.session.resolve(second.get("request_id"), {"approved": False, "reason": "stop"})
    await run


async def test_rejected_change_leaves_file_and_reason_reaches_agent(demo):
    h = Harness(demo)
    h.auto["change"] = False
    run = asyncio.create_task(h.engine.run())
    request = await h.wait_for(lambda e: e.type == "decision_requested" and e.get("kind") == "change" and e.get("task_id") == "t1")
    change = h.session.state.changes[request.get("payload")["change_id"]]
    before = {f: (demo / f).read_bytes() if (demo / f).exists() else None for f in change.files}
    h.session.resolve(request.get("request_id"), {"approved": False, "reason": "escape spreadsheet formulas in cells"})
    await h.wait_for(lambda e: e.type == "change_proposed" and e.get("task_id") == "t1" and e.seq > request.seq)
    after = {f: (demo / f).read_bytes() if (demo / f).exists() else None for f in change.files}
    assert after == before
    last_call = h.calls_of("t1", "coder")[-1]["messages"]
    assert any("escape spreadsheet formulas in cells" in str(m.get("content")) for m in last_call if m["role"] == "user")
    h.runner.stop()
    await run


async def test_edited_brief_and_context_reach_the_next_model_call(demo):
    h = Harness(demo)
    run = asyncio.create_task(h.engine.run())
    await h.wait_for(on("tool_called", task_id="t1"))
    h.runner.edit_task("t1", description="Use the csv module. NOTE-FROM-THE-HUMAN")
    h.runner.edit_context("SHARED-NOTE: keep functions small")
    count = len(h.calls_of("t1", "coder"))
    await h.wait_for(lambda e: e.type == "usage" and e.get("task_id") == "t1" and len(h.calls_of("t1", "coder")) > count)
    brief = h.calls_of("t1", "coder")[count]["messages"][1]["content"]
    assert "NOTE-FROM-THE-HUMAN" in brief and "SHARED-NOTE: keep functions small" in brief
    h.runner.stop()
    await run


async def test_reassign_restarts_the_task_with_the_chosen_agent_and_model(demo):
    h = Harness(demo)
    run = asyncio.create_task(h.engine.run())
    await h.wait_for(on("tool_called", task_id="t2"))
    await h.runner.reassign("t2", agent="coder", model="offline/second-opinion")
    await h.wait_for(lambda e: e.type == "task_updated" and e.get("task_id") == "t2" and e.get("model") == "offline/second-opinion")
    await h.wait_for(on("task_updated", task_id="t2", status="done"))
    assert h.calls_of("t2", "coder")[-1]["model"] == "offline/second-opinion"
    assert h.session.state.tasks["t2"].task.model == "offline/second-opinion"
    await asyncio.wait_for(run, WAIT)
    assert h.events[-1].get("status") == "completed"


async def test_cancel_then_retry_a_task(demo):
    h = Harness(demo)
    run = asyncio.create_task(h.engine.run())
    await h.wait_for(on("tool_called", task_id="t1"))
    await h.runner.cancel("t1")
    assert h.status("t1") == "cancelled"
    await h.wait_for(on("task_updated", task_id="t2", status="done"))
    assert h.status("t3") == "pending"  # blocked behind the cancelled t1; interactive, so the run waits
    assert not run.done()
    await h.runner.retry("t1")
    await asyncio.wait_for(run, WAIT)
    assert h.status("t1") == "done" and h.events[-1].get("status") == "completed"


async def test_pause_stops_new_model_calls_until_resumed(demo):
    h = Harness(demo)
    h.auto["plan"] = False
    run = asyncio.create_task(h.engine.run())
    request = await h.wait_for(on("decision_requested", kind="plan"))
    h.runner.pause()
    h.session.resolve(request.get("request_id"), {"approved": True})
    calls = len(h.calls)
    for _ in range(200):  # let the loop turn: nothing may start while paused
        await asyncio.sleep(0)
    assert len(h.calls) == calls and h.status("t1") in ("pending", "ready")
    h.runner.resume()
    await h.wait_for(on("task_updated", task_id="t1", status="running"))
    await asyncio.wait_for(run, WAIT)
    assert h.events[-1].get("status") == "completed"


async def test_new_task_added_during_the_session_runs(demo):
    h = Harness(demo)
    run = asyncio.create_task(h.engine.run())
    await h.wait_for(on("plan_approved"))
    h.runner.add_task({"id": "t9", "title": "Write NOTES.md about the export", "agent": "docs", "depends_on": ["t1"]})
    await asyncio.wait_for(run, WAIT)
    assert h.status("t9") == "done"


async def test_max_parallel_one_runs_tasks_one_at_a_time(demo, tmp_path):
    (demo / ".cockpit").mkdir(exist_ok=True)
    (demo / ".cockpit" / "config.toml").write_text("max_parallel = 1\n")
    h = Harness(demo)
    await asyncio.wait_for(h.engine.run(), WAIT)
    running = set()
    for e in h.events:
        if e.type == "task_updated" and e.get("task_id") != "plan":
            if e.get("status") == "running":
                running.add(e.get("task_id"))
                assert len(running) == 1, running
            else:
                running.discard(e.get("task_id"))
    assert h.events[-1].get("status") == "completed"

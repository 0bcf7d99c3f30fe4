"""The journal is the session: events are durable, ordered, and folding them rebuilds the live state."""

import asyncio
import sqlite3

import pytest

from cockpit.journal import Journal
from cockpit.session import Session
from cockpit.state import SessionState


def _session(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    journal.create_session("s1", "goal", str(tmp_path))
    return journal, Session(journal, "s1")


def test_journal_uses_wal_and_numbers_events(tmp_path):
    journal, session = _session(tmp_path)
    session.emit("session_started", goal="goal", repo=str(tmp_path))
    session.emit("plan_approved")
    mode = sqlite3.connect(tmp_path / "journal.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert [(e.seq, e.type) for e in journal.events("s1")] == [(1, "session_started"), (2, "plan_approved")]


def test_an_event_missing_a_contract_field_is_refused(tmp_path):
    _, session = _session(tmp_path)
    with pytest.raises(ValueError, match="missing task_id"):
        session.emit("task_updated", status="running", agent="coder")


def test_folding_the_journal_equals_the_live_state(tmp_path):
    journal, session = _session(tmp_path)
    session.emit("session_started", goal="goal", repo=str(tmp_path))
    tasks = [{"id": "t1", "title": "one", "description": "", "agent": "coder", "depends_on": [], "model": None}]
    session.emit("plan_proposed", tasks=tasks)
    session.emit("plan_approved")
    session.emit("task_updated", task_id="t1", status="running", agent="coder", attempt=1, base="abc")
    session.emit("usage", task_id="t1", model="offline", prompt_tokens=10, completion_tokens=5, cost_usd=0.01)
    session.emit("change_proposed", change_id="t1.1", task_id="t1", files=["a.py"], diff="d", base="abc", commit="def")
    session.emit("change_decided", change_id="t1.1", decision="approved", hunks="all")
    session.emit("context_edited", shared_context="be brief")
    live = session.state
    folded = SessionState.fold(Journal(tmp_path / "journal.db").events("s1"))
    assert folded.tasks["t1"].status == live.tasks["t1"].status == "running"
    assert folded.changes["t1.1"].status == "approved"
    assert folded.total_tokens == 15 and folded.shared_context == "be brief"
    assert folded.plan_status == "approved"


async def test_streamed_text_is_coalesced_not_one_row_per_token(tmp_path):
    journal, session = _session(tmp_path)
    seen = []
    session.subscribe(seen.append)
    for token in ["Hel", "lo", " wor", "ld"]:
        session.stream_text("t1", "coder", token)
    assert seen == []  # nothing reaches front ends before it is journaled
    session.emit("tool_called", task_id="t1", tool="read_file", args={"path": "x"})
    rows = [e for e in journal.events("s1")]
    assert [(e.type, e.get("text")) for e in rows] == [("agent_output", "Hello world"), ("tool_called", None)]
    session.stream_text("t1", "coder", "more")
    await asyncio.sleep(0.1)  # the flush timer is the behaviour under test
    assert [e.type for e in seen][-1] == "agent_output"


async def test_a_decision_waits_until_resolved_and_is_journaled(tmp_path):
    journal, session = _session(tmp_path)
    waiter = asyncio.create_task(session.decide("change", "t1", "apply?", change_id="t1.1"))
    await asyncio.sleep(0)
    (request,) = session.open_decisions()
    assert request.payload == {"change_id": "t1.1"}
    assert session.resolve(request.request_id, {"approved": True})
    assert await waiter == {"approved": True}
    assert session.open_decisions() == []
    assert not session.resolve(request.request_id, {"approved": False})  # answered once only


async def test_a_withdrawn_decision_leaves_the_queue(tmp_path):
    _, session = _session(tmp_path)
    waiter = asyncio.create_task(session.decide("command", "t1", "run it?"))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert session.open_decisions() == []


def test_a_test_run_goes_stale_when_its_task_moves_on_to_another_tree(tmp_path):
    _, session = _session(tmp_path)
    session.emit("session_started", goal="goal", repo=str(tmp_path))
    tasks = [{"id": "t1", "title": "one", "description": "", "agent": "coder", "depends_on": [], "model": None}]
    session.emit("plan_proposed", tasks=tasks)
    session.emit("tests_finished", task_id="t1", passed=3, failed=0, errors=0, skipped=1, tests=[], tree="aaa")
    session.emit("change_proposed", change_id="t1.1", task_id="t1", files=["a.py"], diff="d", base="b", commit="aaa")
    assert not session.state.tests["t1"].get("stale")
    session.emit("change_proposed", change_id="t1.2", task_id="t1", files=["a.py"], diff="d", base="b", commit="ccc")
    assert session.state.tests["t1"]["stale"] is True
    assert session.state.tests["t1"]["skipped"] == 1 and session.state.tests["t1"]["passed"] == 3

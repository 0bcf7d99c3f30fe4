"""The cockpit's keys against a real session: the demo repo, the offline model, real git worktrees and tests.

Every wait is on engine state (a session subscriber sets an asyncio.Event when a condition holds), never a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Callable

import pytest
from textual.widgets import Input, TextArea

from cockpit.app import CockpitApp
from cockpit.demo_repo import DEMO_GOAL, make_demo_repo
from cockpit.engine import open_engine
from cockpit.widgets.approvals import ApprovalsQueue
from cockpit.widgets.dialogs import ConfirmQuit, HelpScreen, ReassignDialog, TaskForm
from cockpit.widgets.plan_tree import PlanTree
from cockpit.widgets.summary import SummaryScreen

WAIT_SECONDS = 60  # a safety net for a hung engine, not a pacing device
SIZE = (80, 24)  # the smallest screen the cockpit supports (and the cheapest to draw)


class ModelCalls:
    """Records every model call (task, model, messages) made through the engine's LLM client."""

    def __init__(self, engine) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.gates: dict[str, asyncio.Event] = {}  # task id -> calls of that task wait until it is set
        original = engine.llm.stream_turn

        async def recording(**kwargs):
            task_id = kwargs["metadata"]["cockpit_task"]
            self.calls.append((task_id, kwargs["model"], json.dumps(kwargs["messages"])))
            if task_id in self.gates:
                await self.gates[task_id].wait()
            return await original(**kwargs)

        engine.llm.stream_turn = recording

    def mention(self, task_id: str, text: str) -> bool:
        return any(tid == task_id and text in messages for tid, _model, messages in self.calls)


@pytest.fixture(autouse=True)
def _fast_demo_tests(monkeypatch):
    # The demo repo's suite needs plain pytest; autoloading this venv's plugins costs ~2 s per test run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def demo(tmp_path):
    """A factory: a fresh demo repo and an engine on it (optionally with a user config.toml)."""
    engines = []

    def make(config: str | None = None, goal: str | None = DEMO_GOAL):
        if config is not None:
            Path(os.environ["COCKPIT_CONFIG_DIR"], "config.toml").write_text(config, encoding="utf-8")
        repo = make_demo_repo(tmp_path / "demo")
        engine = open_engine(repo, goal=goal, model="offline", interactive=True)
        engines.append(engine)
        return engine, ModelCalls(engine)

    yield make
    for engine in engines:
        engine.close()


async def until(pilot, predicate: Callable[[], bool]) -> None:
    """Wait until `predicate` holds, re-checked on every engine event; then let the UI catch up."""
    session = pilot.app.engine.session

    def holds() -> bool:
        try:
            return bool(predicate())
        except (KeyError, IndexError):  # not there yet; never raise into the engine's emit
            return False

    reached = asyncio.Event()
    unsubscribe = session.subscribe(lambda _event: reached.set() if holds() else None)
    try:
        if not holds():
            await asyncio.wait_for(reached.wait(), WAIT_SECONDS)
    finally:
        unsubscribe()
    await pilot.pause()
    pilot.app.main_screen.sync_now()
    await pilot.pause()


async def until_shown(pilot, predicate: Callable[[], bool], tries: int = 100) -> None:
    """Wait for the UI alone (no engine event will come): a bounded number of message-queue drains."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause()
    assert predicate()


async def stop_engine(app: CockpitApp) -> None:
    """End a test's session the way quitting does, so no git work is left running at teardown."""
    app.engine.runner.stop("interrupted")
    if app._engine_worker is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app._engine_worker.wait(), WAIT_SECONDS)


def state(app: CockpitApp):
    return app.engine.session.state


def open_kinds(app: CockpitApp, kind: str) -> list:
    return [d for d in state(app).decisions.values() if d.kind == kind]


def waiting_on(app: CockpitApp, task_id: str) -> bool:
    return any(d.task_id == task_id and d.kind == "change" for d in state(app).decisions.values())


async def select_task(pilot, task_id: str) -> None:
    """Move the plan cursor with j/k, as a user would."""
    app = pilot.app
    tree = app.main_screen.query_one(PlanTree)
    tree.focus()
    order = list(state(app).tasks)
    steps = order.index(task_id) - order.index(tree.selected_task or "plan")
    await pilot.press(*(["j"] * steps if steps > 0 else ["k"] * -steps))
    assert app.main_screen.selected_task == task_id


async def approve_plan(pilot) -> None:
    await until(pilot, lambda: bool(open_kinds(pilot.app, "plan")))
    await pilot.press("a")
    await until(pilot, lambda: state(pilot.app).plan_status == "approved")


async def test_a_approves_the_plan_announced_by_the_bell(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    rings: list[int] = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        assert app.main_screen.has_class("-plan-review")
        assert rings == [1]  # the new decision rang once (config bell defaults to true)
        await pilot.press("a")
        await until(pilot, lambda: state(app).plan_status == "approved")
        assert not open_kinds(app, "plan")
        await stop_engine(app)


async def test_a_applies_the_selected_change_to_the_file_on_disk(demo):
    engine, _calls = demo()
    cli = engine.workspace.root / "invoicer" / "cli.py"
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t2"))
        assert "--format" not in cli.read_text(encoding="utf-8")
        await select_task(pilot, "t2")
        await pilot.press("a")
        await until(pilot, lambda: state(app).changes["t2.1"].status == "applied")
        assert "--format" in cli.read_text(encoding="utf-8")
        await stop_engine(app)


async def test_x_rejects_a_change_leaves_the_file_untouched_and_the_reason_reaches_the_agent(demo):
    engine, calls = demo()
    cli = engine.workspace.root / "invoicer" / "cli.py"
    before = cli.read_text(encoding="utf-8")
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t2"))
        await select_task(pilot, "t2")
        await pilot.press("x")
        assert isinstance(app.screen.focused, Input)
        await pilot.press(*"ZEBRA", "enter")
        await until(pilot, lambda: calls.mention("t2", "Reason: ZEBRA"))
        change = state(app).changes["t2.1"]
        assert change.status == "rejected" and change.reason == "ZEBRA"
        assert cli.read_text(encoding="utf-8") == before
        await stop_engine(app)


async def test_r_restarts_the_task_with_the_chosen_model(demo):
    engine, calls = demo(config='[models]\nchoices = ["offline/cockpit"]\n')
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t2"))
        await select_task(pilot, "t2")
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, ReassignDialog)
        assert dialog.models == ["offline", "anthropic/claude-sonnet-4-5", "offline/cockpit"]
        await pilot.press("enter", "down", "down", "enter")  # keep the coder, pick offline/cockpit
        await until(pilot, lambda: any(t == "t2" and m == "offline/cockpit" for t, m, _ in calls.calls))
        t2 = state(app).tasks["t2"]
        assert t2.task.model == "offline/cockpit" and t2.status == "running"
        assert state(app).changes["t2.1"].status == "rejected"  # superseded by the restart, never applied
        await stop_engine(app)


async def test_e_edits_a_task_brief_that_reaches_its_next_model_call(demo):
    engine, calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        await select_task(pilot, "t1")
        await pilot.press("e")
        assert isinstance(app.screen, TaskForm)
        await pilot.press("tab")  # title -> brief
        assert isinstance(app.screen.focused, TextArea)
        await pilot.press(*"ZEBRA", "ctrl+s")
        await pilot.pause()
        assert state(app).tasks["t1"].task.description.startswith("ZEBRA")
        await pilot.press("a")  # approve the edited plan
        await until(pilot, lambda: calls.mention("t1", "ZEBRA"))
        await stop_engine(app)


async def test_e_on_the_plan_row_edits_the_shared_context_every_agent_reads(demo):
    engine, calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        await select_task(pilot, "plan")
        await pilot.press("e", *"ZEBRA", "ctrl+s")
        await pilot.pause()
        assert state(app).shared_context == "ZEBRA"
        await pilot.press("a")
        await until(pilot, lambda: calls.mention("t2", "ZEBRA"))
        await stop_engine(app)


async def test_shift_e_edits_the_shared_context_in_the_external_editor(demo, tmp_path, monkeypatch):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "ZEBRA" >> "$1"\n', encoding="utf-8")
    editor.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(editor))
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)  # the test driver cannot hand over the tty
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        await select_task(pilot, "plan")
        await pilot.press("E")
        await until(pilot, lambda: state(app).shared_context == "ZEBRA")
        await stop_engine(app)


async def test_p_pauses_and_resumes_the_session(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        await pilot.press("p")
        await until(pilot, lambda: state(app).paused)
        assert engine.runner.is_paused()
        assert app.main_screen.query_one("#status-bar").status == "paused"
        await pilot.press("a")  # approving while paused starts nothing
        await until(pilot, lambda: state(app).plan_status == "approved")
        assert all(ts.status in ("pending", "ready") for tid, ts in state(app).tasks.items() if tid != "plan")
        await pilot.press("p")
        await until(pilot, lambda: not state(app).paused and state(app).tasks["t1"].status != "pending")
        await stop_engine(app)


async def test_c_cancels_the_selected_task_and_t_runs_it_again(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t2"))
        await select_task(pilot, "t2")
        await pilot.press("c")
        await until(pilot, lambda: state(app).tasks["t2"].status == "cancelled")
        assert not waiting_on(app, "t2")  # its decision was withdrawn, not answered
        runs_before = state(app).tasks["t2"].attempts
        await pilot.press("t")
        await until(pilot, lambda: state(app).tasks["t2"].attempts > runs_before)
        assert state(app).tasks["t2"].status in ("running", "waiting")
        await stop_engine(app)


async def test_n_adds_a_task_to_the_plan(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, TaskForm) and form.query_one("#task-id", Input).value == "t7"
        await pilot.press("tab", "tab", *"FAQ", "ctrl+s")  # id -> agent -> title
        await until(pilot, lambda: "t7" in state(app).tasks)
        assert state(app).tasks["t7"].task.title == "FAQ"
        assert "t7" in app.main_screen.query_one(PlanTree)._task_nodes
        await stop_engine(app)


async def test_ctrl_n_jumps_to_the_open_decision_and_shows_what_it_is_about(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t2"))
        queue = app.main_screen.query_one(ApprovalsQueue)
        assert not queue.has_focus and app.main_screen.selected_task == "plan"
        await pilot.press("ctrl+n")
        assert queue.has_focus and queue.highlighted_request == list(state(app).decisions)[0]
        assert app.main_screen.selected_task == state(app).decisions[queue.highlighted_request].task_id
        assert app.main_screen.query_one("#bottom").active == "changes-tab"
        await stop_engine(app)


async def test_q_asks_first_while_an_agent_is_running_and_quits_as_interrupted(demo):
    engine, calls = demo()
    calls.gates["t1"] = asyncio.Event()  # t1's model call never answers: t1 stays running
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: any(t == "t1" for t, _m, _ in calls.calls))
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmQuit) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await app._engine_worker.wait()
        await pilot.pause()
    assert app.return_code == 130
    assert state(app).finished == "stopped"


async def test_q_quits_at_once_when_no_agent_is_running(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        await pilot.press("q")
        await app._engine_worker.wait()
        await pilot.pause()
    assert app.return_code == 130


async def test_remapped_keys_work_and_show_in_the_help(demo):
    engine, _calls = demo(config='[keys]\napprove = "y"\n')
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        await pilot.press("a")
        await pilot.pause()
        assert open_kinds(app, "plan")  # a is no longer approve
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#keys").render())
        assert any(line.split() and line.split()[0] == "y" and "Approve" in line for line in keys.splitlines())
        await pilot.press("escape", "y")
        await until(pilot, lambda: state(app).plan_status == "approved")
        await stop_engine(app)


async def test_palette_offers_the_commands_that_apply_now(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        names = [command.title for command in app.get_system_commands(app.main_screen)]
        assert {"Approve", "Reject", "Edit", "New"} <= set(names)
        assert "Retry" not in names  # the plan row is selected: nothing to retry
        await stop_engine(app)


async def test_goal_prompt_starts_the_session_with_the_goal_typed(demo):
    engine, _calls = demo(goal=None)
    app = CockpitApp(engine, ask_goal=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.query_one("#goal", Input).value = DEMO_GOAL
        await pilot.press("enter")
        await until(pilot, lambda: bool(open_kinds(app, "plan")))
        assert state(app).goal == DEMO_GOAL
        await stop_engine(app)


async def test_whole_demo_approved_with_a_ends_on_the_summary_and_exits_0(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        while state(app).finished is None:
            await until(pilot, lambda: bool(state(app).decisions) or state(app).finished is not None)
            if state(app).decisions:
                await pilot.press("a")
                await pilot.pause()
        await until_shown(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert "Session completed" in app.screen.query_one("Markdown").source
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert state(app).finished == "completed"

"""Snapshots of the cockpit, built from a fixed list of events (the engine never runs), in the cockpit-dark theme.

The elapsed time comes from a frozen clock; nothing on screen depends on the session id, the temp path or the time.
Update the baselines with `pytest tests/test_app_snapshots.py --snapshot-update` and look at every changed SVG.
"""

from __future__ import annotations

import pytest

from cockpit.app import CockpitApp
from cockpit.app_streams import StreamDeck
from cockpit.demo_repo import DEMO_GOAL, make_demo_repo
from cockpit.engine import open_engine
from cockpit.offline.demo_play import PLAN
from cockpit.widgets.changes_pane import ChangesPane
from cockpit.widgets.diff_view import DiffView
from cockpit.widgets.plan_tree import PlanTree

SIZES = [(80, 24), (160, 48)]
ELAPSED = 754.0  # 12:34 on the header, always

CLI_DIFF = """diff --git a/invoicer/cli.py b/invoicer/cli.py
--- a/invoicer/cli.py
+++ b/invoicer/cli.py
@@ -10,6 +10,8 @@ from invoicer.report import render_text
 
+FORMATS = ("text", "csv")
+
 
 def build_parser() -> argparse.ArgumentParser:
     parser = argparse.ArgumentParser(prog="invoicer")
@@ -18,6 +20,9 @@ def build_parser() -> argparse.ArgumentParser:
     parser.add_argument("file", type=Path, help="a JSON file of invoices")
     parser.add_argument("-o", "--output", type=Path, help="write the report here")
+    parser.add_argument(
+        "-f", "--format", choices=FORMATS, default="text", help="report format (default: text)"
+    )
     return parser
"""

PLANNER_TEXT = (
    "Here is the plan. CSV export and the `--format` flag are independent as long as they live in different "
    "files: **t1** writes a new `invoicer/export.py`, **t2** only touches `invoicer/cli.py`.\n\n"
)
T1_TEXT = "I will start from the report module: every format has to be built from `invoice_rows`.\n\n"
T1_LIVE = "`invoice_rows` already yields flat, formatted rows, so the export is a thin layer over `csv.DictWriter`."
T2_TEXT = "Adding a render dispatcher next to `--output`; the text path keeps working on its own.\n\n"


def say(session, task_id: str, agent: str, text: str) -> None:
    session.emit("agent_output", task_id=task_id, agent=agent, text=text)


def emit_plan_review(session, repo: str) -> None:
    emit = session.emit
    emit("session_started", goal=DEMO_GOAL, repo=repo)
    emit("task_updated", task_id="plan", status="running", agent="planner", attempt=1, model="offline")
    say(session, "plan", "planner", "Let me look at how the project is laid out before I split the goal.\n\n")
    emit("tool_called", task_id="plan", tool="list_files", args={})
    emit("tool_result", task_id="plan", tool="list_files", ok=True, summary="listed 15 files")
    say(session, "plan", "planner", PLANNER_TEXT)
    emit("tool_called", task_id="plan", tool="submit_plan", args={"tasks": PLAN})
    emit("plan_proposed", tasks=PLAN)
    emit("tool_result", task_id="plan", tool="submit_plan", ok=True, summary="6 tasks")
    emit("usage", task_id="plan", model="offline", prompt_tokens=7016, completion_tokens=600, cost_usd=0.0)
    emit("task_updated", task_id="plan", status="waiting", agent="planner")
    emit("decision_requested", request_id="d1", kind="plan", task_id="plan", prompt="Approve the plan of 6 tasks?",
         payload={})


def emit_work_in_progress(session, repo: str) -> None:
    emit_plan_review(session, repo)
    emit = session.emit
    emit("decision_resolved", request_id="d1", decision={"approved": True})
    emit("plan_approved")
    emit("task_updated", task_id="plan", status="done", agent="planner", summary="Proposed 6 tasks.")
    for task_id in ("t1", "t2"):
        emit("task_updated", task_id=task_id, status="running", agent="coder", attempt=1, model="offline")
    say(session, "t1", "coder", T1_TEXT)
    say(session, "t2", "coder", T2_TEXT)
    emit("tool_called", task_id="t1", tool="read_file", args={"path": "invoicer/report.py"})
    emit("tool_result", task_id="t1", tool="read_file", ok=True, summary="read invoicer/report.py (1223 bytes)")
    emit("tool_called", task_id="t2", tool="edit_file", args={"path": "invoicer/cli.py"})
    emit("tool_result", task_id="t2", tool="edit_file", ok=True, summary="edited invoicer/cli.py:13")
    emit("tool_called", task_id="t2", tool="run_tests", args={})
    emit("tests_finished", task_id="t2", passed=11, failed=0, errors=0, skipped=0, tests=[
        {"name": f"test_case_{n}", "file": "tests/test_cli.py", "outcome": "passed", "duration": 0.01, "message": ""}
        for n in range(11)
    ])
    emit("tool_result", task_id="t2", tool="run_tests", ok=True, summary="11 passed")
    emit("change_proposed", change_id="t2.1", task_id="t2", files=["invoicer/cli.py"], diff=CLI_DIFF,
         base="0" * 40, commit="1" * 40, summary="Added -f/--format (text, csv; default text).")
    emit("task_updated", task_id="t2", status="waiting", agent="coder")
    emit("decision_requested", request_id="d2", kind="change", task_id="t2",
         prompt="Apply the change of t2 (Add --format option to the CLI) to invoicer/cli.py?",
         payload={"change_id": "t2.1"})
    emit("usage", task_id="t1", model="offline", prompt_tokens=3200, completion_tokens=410, cost_usd=0.0123)
    emit("usage", task_id="t2", model="offline", prompt_tokens=5400, completion_tokens=820, cost_usd=0.0211)
    say(session, "t1", "coder", T1_LIVE)


@pytest.fixture
def cockpit(tmp_path):
    """A factory: an app over a real (never started) engine whose journal holds the canned events."""
    engines = []

    def make(emit_events) -> CockpitApp:
        repo = make_demo_repo(tmp_path / "demo")
        engine = open_engine(repo, goal=DEMO_GOAL, model="offline", interactive=True)
        engines.append(engine)
        emit_events(engine.session, str(repo))
        app = CockpitApp(engine, run_engine=False)
        app.clock = lambda: (app.started_at or 0.0) + ELAPSED
        return app

    yield make
    for engine in engines:
        engine.close()


async def settle(pilot, select: str | None = None) -> None:
    app = pilot.app
    await pilot.pause()
    if select is not None:
        app.main_screen.query_one(PlanTree).select_task(select)
        await pilot.pause()
    app.main_screen.sync_now()
    await app.main_screen.query_one(StreamDeck).flush()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_main_screen_with_agents_at_work(snap_compare, cockpit, size):
    app = cockpit(emit_work_in_progress)

    async def run_before(pilot) -> None:
        await settle(pilot, select="t1")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_plan_review(snap_compare, cockpit, size):
    app = cockpit(emit_plan_review)

    async def run_before(pilot) -> None:
        await settle(pilot, select="t2")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_diff_pane_of_a_proposed_change(snap_compare, cockpit, size):
    app = cockpit(emit_work_in_progress)

    async def run_before(pilot) -> None:
        await settle(pilot, select="t2")
        pilot.app.main_screen.query_one(ChangesPane).query_one(DiffView).focus()
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_help(snap_compare, cockpit, size):
    app = cockpit(emit_work_in_progress)

    async def run_before(pilot) -> None:
        await settle(pilot, select="t1")
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)

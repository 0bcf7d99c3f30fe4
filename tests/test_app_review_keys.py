"""The review keys of the cockpit: space (hunks), u (undo), T (rerun tests), D (deploy), on the offline demo."""

from __future__ import annotations

from pathlib import Path

from cockpit.app import CockpitApp
from cockpit.widgets.changes_pane import ChangesPane
from cockpit.widgets.dialogs import RejectDialog
from cockpit.widgets.summary import SummaryScreen

from test_app_keys import SIZE, approve_plan, demo, select_task, state, stop_engine, until, until_shown, waiting_on  # noqa: F401


def applied(app, task_id: str) -> bool:
    return any(c.task_id == task_id and c.status == "applied" for c in state(app).changes.values())


async def test_space_leaves_a_hunk_out_and_a_applies_the_rest(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t2"))
        await select_task(pilot, "t2")
        pane = app.main_screen.query_one(ChangesPane)
        change = next(c for c in state(app).changes.values() if c.task_id == "t2" and c.status == "pending")
        pane.select_change(change.change_id)
        view = pane.diff_view
        await until_shown(pilot, lambda: len(view.hunk_keys) >= 2)
        view.focus()
        view.go_to_hunk(len(view.hunks) - 1)
        await pilot.press("space")  # leave the last hunk out
        await until_shown(pilot, lambda: len(view.selected_hunk_keys()) == len(view.hunk_keys) - 1)
        await pilot.press("a")
        await until_shown(pilot, lambda: isinstance(app.screen, RejectDialog))
        await pilot.press("enter")  # no comment: the left-out hunk is simply dropped
        await until(pilot, lambda: state(app).changes[change.change_id].status == "applied")
        assert state(app).changes[change.change_id].hunks == [list(k) for k in sorted(view.selected_hunk_keys())]
        await stop_engine(app)


async def test_u_undoes_the_last_applied_change(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    repo = Path(engine.workspace.root)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t1"))
        await select_task(pilot, "t1")
        await pilot.press("a")
        await until(pilot, lambda: applied(app, "t1"))
        assert (repo / "invoicer" / "export.py").exists()
        app.main_screen.query_one("PlanTree").focus()
        await pilot.press("u")
        await until(pilot, lambda: any(c.status == "undone" for c in state(app).changes.values()))
        assert not (repo / "invoicer" / "export.py").exists()
        await stop_engine(app)


async def test_shift_t_reruns_the_selected_tasks_tests(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t1"))
        await select_task(pilot, "t1")
        await pilot.press("T")
        await until(pilot, lambda: state(app).tests.get("t1", {}).get("by") == "user")
        assert state(app).tests["t1"]["passed"] >= 11 and state(app).tests["t1"]["failed"] == 0
        await stop_engine(app)


async def test_shift_d_deploys_only_after_the_release_and_only_when_pressed(demo, tmp_path):
    marker = tmp_path / "DEPLOYED"
    engine, _calls = demo(config=f'[deploy]\ncommand = "touch {marker}"\n')
    app = CockpitApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await pilot.press("D")  # too early: the release is not approved
        await pilot.pause()
        assert not marker.exists() and not state(app).deploys
        while state(app).finished is None:
            await until(pilot, lambda: bool(state(app).decisions) or state(app).finished is not None)
            if state(app).decisions:
                await pilot.press("a")
                await pilot.pause()
        await until_shown(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert not marker.exists()  # the session completed; nothing deployed on its own
        await pilot.press("escape")
        await pilot.press("D")
        await until(pilot, lambda: bool(state(app).deploys))
        assert state(app).deploys[-1]["ok"] and marker.exists()


async def test_a_save_beside_the_cockpit_moves_the_diff_pane_to_the_rebased_change(demo):
    engine, _calls = demo()
    app = CockpitApp(engine)
    repo = Path(engine.workspace.root)
    async with app.run_test(size=SIZE) as pilot:
        await approve_plan(pilot)
        await until(pilot, lambda: waiting_on(app, "t2"))
        pane = app.main_screen.query_one(ChangesPane)
        old = next(c for c in state(app).changes.values() if c.task_id == "t2" and c.status == "pending")
        pane.select_change(old.change_id)
        await until_shown(pilot, lambda: pane.selected_change_id == old.change_id)
        cli = repo / "invoicer" / "cli.py"
        cli.write_text(cli.read_text() + "\n# saved in the editor beside the cockpit\n")
        await until(pilot, lambda: any(c.rebased_from == old.change_id for c in state(app).changes.values()))
        new = next(c for c in state(app).changes.values() if c.rebased_from == old.change_id)
        await until_shown(pilot, lambda: pane.selected_change_id == new.change_id)
        shown = "\n".join(pane.diff_view.row_text(row) for row in range(pane.diff_view.line_count))
        assert "--format" in shown and "saved in the editor" not in shown  # the new base already has the user's line
        await stop_engine(app)

"""`cockpit` paints its screen first and opens the engine (git, journal, runner) in a thread after that frame.

The opener here blocks on a threading.Event the test sets, so each step is observed, never waited for by time.
"""

from __future__ import annotations

import asyncio
import threading

from cockpit.app import CockpitApp
from cockpit.config import ConfigError
from cockpit.demo_repo import make_demo_repo
from cockpit.engine import open_engine
from cockpit.widgets.plan_tree import PlanTree
from cockpit.widgets.status_bar import StatusBar

SIZE = (80, 24)


async def test_the_screen_is_up_before_the_engine_opens_then_the_session_fills_it(tmp_path):
    repo = make_demo_repo(tmp_path / "demo")
    release, called = threading.Event(), threading.Event()
    opened = []

    def opener():
        called.set()
        assert release.wait(60), "the test never let the engine open"
        opened.append(open_engine(repo, goal="look around", model="offline"))
        return opened[0]

    app = CockpitApp(opener=opener, run_engine=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = app.main_screen
            assert screen.query_one(StatusBar).status == "opening"
            assert screen.check_action("approve", ()) is False  # nothing to act on yet
            assert app.engine is None
            assert await asyncio.to_thread(called.wait, 60)  # asked for only once the screen was up
            release.set()
            await asyncio.to_thread(app._opening.join, 60)
            await pilot.pause()
            assert app.engine is opened[0] and screen.engine is opened[0]
            assert screen.state is opened[0].session.state
            assert screen.query_one(StatusBar).status == "starting"
            assert screen.query_one(PlanTree).is_mounted
    finally:
        for engine in opened:
            engine.close()


async def test_an_engine_that_cannot_open_closes_the_app_with_the_error_kept(tmp_path):
    def opener():
        raise ConfigError("config.toml: invalid TOML at line 1")

    app = CockpitApp(opener=opener)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await asyncio.to_thread(app._opening.join, 60)
        await pilot.pause()
    assert app.return_code == 2
    assert isinstance(app.open_error, ConfigError)


def test_an_app_needs_exactly_one_of_an_engine_or_an_opener():
    import pytest

    with pytest.raises(ValueError):
        CockpitApp()

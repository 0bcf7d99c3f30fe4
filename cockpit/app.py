"""The Textual front end: wires an `Engine` to the main screen and runs it on the app's own event loop.

The engine runs as a worker of the app (`await engine.run()`), so its events arrive on the same loop; the app
subscribes before starting it, turns each event into a `Journaled` message, and the main screen renders state.
Quitting stops the runner with reason "interrupted", which leaves the session resumable.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.worker import Worker

from cockpit.app_actions import COMMANDS
from cockpit.app_screen import MainScreen
from cockpit.config import user_config_dir
from cockpit.heap import resume_collection, settle_heap
from cockpit.ui_themes import DEFAULT_THEME, register_themes

if TYPE_CHECKING:
    from textual.screen import Screen

    from cockpit.engine import Engine
    from cockpit.events import Event
    from cockpit.runner import Outcome

STYLESHEET = Path(str(resources.files("cockpit.themes") / "cockpit.tcss"))  # package data, also when installed
INTERRUPTED = 130
USAGE_ERROR = 2
QUIT_WAIT_SECONDS = 15.0  # how long quitting waits for the runner to stop its tasks before leaving anyway


class Journaled(Message):
    """The engine journaled an event (events reach the UI only once they are durable)."""

    def __init__(self, event: "Event") -> None:
        self.event = event
        super().__init__()


# Events worth a toast: type -> (title, severity, text). Errors of tasks show in their stream already.
NOTICES = {
    "change_stale": lambda e: ("Your edit", "warning", e.get("files") and
                               f"Change {e.get('change_id')} overlaps your edits to {', '.join(e.get('files'))}: "
                               "approving it will conflict; x sends it back to its agent"),
    "user_edited": lambda e: ("Your edit", "information", None),
    "branch_changed": lambda e: ("Branch", "warning", f"{e.get('message')}: new tasks start from the new tree"),
    "orphans_found": lambda e: ("Worktrees", "warning", f"{len(e.get('orphans'))} worktree(s) under .cockpit/worktrees "
                                "belong to no task of this session; ctrl+p > Clean worktrees deletes the empty ones"),
    "change_undone": lambda e: ("Undo", "information", f"Undid {e.get('change_id')}: {', '.join(e.get('files'))}"),
    "deploy_finished": lambda e: ("Deploy", "information" if e.get("ok") else "error",
                                  f"Deploy {'succeeded' if e.get('ok') else 'failed'} (exit {e.get('exit_code')})"),
    "error": lambda e: ("Error", "error", e.get("message") if e.get("kind") in ("undo", "deploy", "tests", "commit",
                                                                                "watcher", "agent_file") else None),
}


UI_STATE_FILE = "ui-state.json"  # in the user config dir: what the app remembers between runs (the theme)


def remembered_theme() -> str | None:
    try:
        return json.loads((user_config_dir() / UI_STATE_FILE).read_text(encoding="utf-8")).get("theme")
    except (OSError, ValueError, AttributeError):
        return None


def remember_theme(name: str) -> None:
    path = user_config_dir() / UI_STATE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"theme": name}), encoding="utf-8")
    except OSError:
        pass  # remembering is a convenience; a read-only config dir must not break the app


class CockpitApp(App[int]):
    """The cockpit: one engine, one main screen, dialogs on top."""

    CSS_PATH = STYLESHEET
    TITLE = "cockpit"
    BINDINGS = [Binding("ctrl+p", "command_palette", "Palette", id="palette", show=False, priority=True)]
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, engine: "Engine | None" = None, *, opener: "Callable[[], Engine] | None" = None,
                 ask_goal: bool = False, run_engine: bool = True, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        if (engine is None) == (opener is None):
            raise ValueError("give the app exactly one of an engine or an opener")
        self.engine = engine
        self.opener = opener  # opens the engine in a thread once the first frame is up (the `cockpit` command)
        self.open_error: BaseException | None = None
        self._opening: threading.Thread | None = None
        self._theme_problems: list[str] = []
        self.ask_goal = ask_goal
        self.run_engine = run_engine
        self._orphans: list[dict] = []  # from orphans_found: offered for cleaning in the palette
        self.clock = clock
        self.outcome: Outcome | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.quitting = False
        self._engine_worker: Worker[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._live = False  # False while replaying the journal: no toasts or bells for old decisions
        self.main_screen: MainScreen  # made by get_default_screen, when Textual asks for it

    def get_default_screen(self) -> "Screen":
        self.main_screen = MainScreen(self.engine)
        return self.main_screen

    def on_mount(self) -> None:
        self._theme_problems = register_themes(self, user_config_dir() / "themes")
        theme = remembered_theme()  # the config may name another once the engine has read it
        self.theme = theme if theme in self.available_themes else DEFAULT_THEME
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme) -> None:
        configured = self.engine.config.theme if self.engine is not None else DEFAULT_THEME
        if configured == DEFAULT_THEME or theme.name != configured:  # the config's own choice needs no remembering
            remember_theme(theme.name)

    def on_main_screen_ready(self, _message: MainScreen.Ready) -> None:
        resume_collection()  # the CLI paused it for start-up
        if self.engine is not None:
            self._attach()
        else:  # paint the panes first; git, the journal and the runner load meanwhile
            self.call_after_refresh(self._open_in_thread)

    def _open_in_thread(self) -> None:
        self._opening = threading.Thread(target=self._open_engine, name="cockpit-open", daemon=True)
        self._opening.start()

    def _open_engine(self) -> None:
        assert self.opener is not None
        try:
            engine = self.opener()
        except Exception as exc:  # noqa: BLE001 - shown as the CLI's one-line error once the app has closed
            self.open_error = exc
            self._call_from_thread(self.exit, return_code=USAGE_ERROR)
            return
        self.engine = engine  # run_app closes it, whether or not the app is still there to use it
        self._call_from_thread(self._attach)

    def _call_from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:
            pass  # the app has already closed (the user quit while the engine opened)

    def _attach(self) -> None:
        """The engine is open: show its session, follow its events, and start it (or ask for the goal first)."""
        assert self.engine is not None
        self._apply_config()
        self.main_screen.attach(self.engine)
        self._replay_journal()
        self._unsubscribe = self.engine.session.subscribe(self._on_engine_event)
        self._live = True
        self.set_interval(1.0, self._tick)
        if self.ask_goal:
            from cockpit.widgets.dialogs import GoalPrompt

            self.push_screen(GoalPrompt(), self._goal_given)
        elif self.run_engine:
            self.start_engine()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _apply_config(self) -> None:
        config = self.engine.config
        problems, self._theme_problems = self._theme_problems, []
        # A theme named in the config wins; otherwise the one last picked from the palette (set at mount) stays.
        if config.theme != DEFAULT_THEME:
            if config.theme in self.available_themes:
                self.theme = config.theme
            else:
                problems.append(f"theme {config.theme!r} not found; using {self.theme}")
        self.set_keymap(config.key_bindings())
        for problem in problems:
            self.notify(problem, title="Theme", severity="warning", timeout=10)

    def _replay_journal(self) -> None:
        """A resumed session shows what happened before (streams are bounded, so this stays cheap)."""
        for event in self.engine.journal.events(self.engine.session.session_id):
            self._route(event)

    # -- the engine ----------------------------------------------------------------------------------------------

    def _goal_given(self, goal: str | None) -> None:
        if not goal:
            self.exit(return_code=INTERRUPTED)
            return
        self.engine.set_goal(goal)
        self.start_engine()

    def start_engine(self) -> None:
        self._engine_worker = self.run_worker(self._run_engine(), name="engine", group="engine")

    async def _run_engine(self) -> None:
        from cockpit.llm import LLMError

        try:
            await self.engine.preflight()
            settle_heap()
            self.outcome = await self.engine.run()
        except LLMError as exc:
            code = USAGE_ERROR if exc.kind in ("auth", "model", "bad_request") else 1
            self.exit(return_code=code, message=f"cockpit: error: {exc}")

    def _on_engine_event(self, event: "Event") -> None:
        # Called inside the engine's emit: never do UI work here, only queue it.
        self.post_message(Journaled(event))

    def on_journaled(self, message: Journaled) -> None:
        if self.main_screen.is_mounted:  # events still come in while the app shuts down
            self._route(message.event)

    def _route(self, event: "Event") -> None:
        if event.type == "orphans_found":
            self._orphans = list(event.get("orphans"))
        if event.type == "session_started":
            self.started_at, self.finished_at = event.ts, None
        self.main_screen.apply_event(event)
        if not self._live:
            return
        if event.type == "decision_requested":
            self._announce(event)
        elif event.type in NOTICES:
            title, severity, text = NOTICES[event.type](event)
            if text:
                self.notify(text, title=title, severity=severity, timeout=8)
        elif event.type == "session_finished":
            self.finished_at = event.ts
            self._session_finished(event)

    def _announce(self, event: "Event") -> None:
        self.notify(event.get("prompt") or "", title="Needs you", severity="warning", timeout=6)
        if self.engine.config.bell:
            self.bell()

    def _session_finished(self, event: "Event") -> None:
        from cockpit.runner import Outcome
        from cockpit.widgets.summary import SummaryScreen, summary_markdown

        self.outcome = self.outcome or Outcome(event.get("status"), (event.get("summary") or {}).get("reason", ""))
        if self.quitting:
            return
        text = summary_markdown(event.get("status"), event.get("summary") or {}, self.engine.session.state, self.elapsed())
        self.push_screen(SummaryScreen(text), self._summary_closed)

    def _summary_closed(self, choice: str | None) -> None:
        if choice == "quit":
            self.exit(return_code=self.final_code())

    def final_code(self) -> int:
        from cockpit.headless import exit_code

        return exit_code(self.outcome) if self.outcome is not None else INTERRUPTED

    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or self.clock()) - self.started_at

    def _tick(self) -> None:
        if self.started_at is not None and self.finished_at is None:
            self.main_screen.sync_header()

    # -- quitting ------------------------------------------------------------------------------------------------

    @work(group="quit", exclusive=True)
    async def action_quit(self) -> None:
        """Quit; with agents at work, ask first. The runner stops with "interrupted": the session stays resumable."""
        if self.engine is None or self._engine_worker is None or self.engine.session.state.finished is not None:
            self.exit(return_code=self.final_code())
            return
        running = [task_id for task_id, ts in self.engine.session.state.tasks.items() if ts.status == "running"]
        if running:
            from cockpit.widgets.dialogs import ConfirmQuit

            message = (f"{len(running)} agent(s) are at work ({', '.join(running)}). Quit anyway? "
                       "What they were doing restarts when you run `cockpit resume`.")
            if not await self.push_screen_wait(ConfirmQuit(message)):
                return
        self.quitting = True
        self.engine.runner.stop("interrupted")
        try:
            await asyncio.wait_for(self._engine_worker.wait(), QUIT_WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - a slow or failed stop must not keep the user in the app
            pass
        self.exit(return_code=self.final_code())

    # -- the command palette -------------------------------------------------------------------------------------

    def get_system_commands(self, screen: "Screen") -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen) or self.engine is None:
            return
        keymap = self.engine.config.key_bindings()
        for binding_id, action, label, description, _shown in COMMANDS:
            name = action.removeprefix("app.")
            if binding_id == "quit" or screen.check_action(name, ()) is False:
                continue
            key = keymap.get(binding_id, "").split(",")[0]
            shown_key = self.get_key_display(Binding(key, "")) if key else ""
            yield SystemCommand(label, f"{description}  [{shown_key}]", partial(screen.run_action, action))
        if self.orphans_empty:
            yield SystemCommand("Clean worktrees", f"Delete {self.orphans_empty} empty worktree(s) no task owns; "
                                "those holding work are kept", self.clean_orphans)

    @property
    def orphans_empty(self) -> int:
        return sum(1 for o in self._orphans if o.get("empty"))

    @work(group="command")
    async def clean_orphans(self) -> None:
        removed = await self.engine.clean_orphans()
        self._orphans = []
        self.notify(f"Removed {len(removed)} empty worktree(s).", title="Worktrees")


def run_app(engine: "Engine | None" = None, ask_goal: bool = False, **options: Any) -> int:
    """Run the cockpit on `engine` (or on the engine `opener=` opens) until the user quits; the CLI's exit code.

    An engine the app opened is closed here; an error opening it is raised here, after the app has closed.
    """
    app = CockpitApp(engine, ask_goal=ask_goal, **options)
    try:
        app.run()
    finally:
        if app._opening is not None:
            app._opening.join()
        if options.get("opener") is not None and app.engine is not None:
            app.engine.close()
    if app.open_error is not None:
        raise app.open_error
    return app.return_code if app.return_code is not None else app.final_code()

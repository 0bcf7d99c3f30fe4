"""What the cockpit's keys do: each action turns a key into one engine command (or a dialog, then a command).

Binding ids are exactly the config's [keys] ids (cockpit.config_schema.DEFAULT_KEYS), so `App.set_keymap` remaps
them. `check_action` hides the keys that do not apply now, so the footer only ever shows what you can do.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import SuspendNotSupported
from textual.binding import Binding

from cockpit.config_schema import DEFAULT_KEYS
from cockpit.deploy import deploy_allowed
from cockpit.plan import PlanError, Task, check_graph
from cockpit.state import TERMINAL
from cockpit.widgets.approvals import ApprovalsQueue

if TYPE_CHECKING:
    from collections.abc import Callable

    from cockpit.engine import Engine
    from cockpit.state import Decision, SessionState
    from cockpit.widgets.changes_pane import ChangesPane


# (binding id, action, footer label, palette/help description, shown in the footer)
COMMANDS: list[tuple[str, str, str, str, bool]] = [
    ("approve", "approve", "Approve", "Approve the plan, the selected change or the next decision", True),
    ("reject", "reject", "Reject", "Reject it, with an optional reason for the agent", True),
    ("reassign", "reassign", "Reassign", "Run the selected task with another agent or model", True),
    ("edit_context", "edit_context", "Edit", "Edit the selected task's brief, or the shared context", True),
    ("edit_context_external", "edit_context_external", "$EDITOR", "The same, in $EDITOR", False),
    ("pause", "pause", "Pause", "Pause or resume the whole session", True),
    ("cancel", "cancel_task", "Cancel", "Cancel the selected task", True),
    ("retry", "retry", "Retry", "Run the selected task again from a fresh worktree", True),
    ("new_task", "new_task", "New", "Add a task to the plan", True),
    ("focus_stream", "focus_stream", "Stream", "Focus the selected task's stream", False),
    ("next_pane", "app.focus_next", "Next pane", "Move to the next pane (shift+tab: previous)", False),
    ("help", "help", "Help", "Show the keys and the help of the current pane", True),
    ("quit", "app.quit", "Quit", "Quit; the session can be resumed with `cockpit resume`", True),
    ("next_decision", "next_decision", "Next", "Jump to the next decision that needs you", True),
    ("undo", "undo", "Undo", "Undo the last applied change (3-way: your later edits survive)", False),
    ("rerun_tests", "rerun_tests", "Tests", "Run the selected task's tests again", False),
    ("deploy", "deploy", "Deploy", "Run the configured deploy command (after the release is approved)", False),
]

COCKPIT_BINDINGS = [
    Binding(DEFAULT_KEYS[binding_id], action, label, show=shown, id=binding_id, tooltip=description)
    for binding_id, action, label, description, shown in COMMANDS
]
EDIT_CONTEXT_HELP = "Every agent reads this with its brief, on its next model call. Use it for conventions and constraints."


def dialogs():
    """The dialogs, loaded on first use: they pull TextArea, Select and Markdown, which the first frame does without."""
    from cockpit.widgets import dialogs as module

    return module


class CockpitActions:
    """The actions of MainScreen (mixed in; MainScreen provides engine, state, selection and the panes)."""

    engine: "Engine | None"
    changes_pane: "Callable[[], ChangesPane]"
    state: "SessionState"
    selected_task: str | None

    # -- what applies now ----------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return None
        if self.engine is None:  # still opening: only help, quit and moving around apply
            return action in ("help", "quit", "focus_next", "focus_previous")
        state = self.state
        task_id = self.selected_plan_task()
        status = state.tasks[task_id].status if task_id else None
        live = state.finished is None
        applies = {
            "approve": live and bool(state.decisions),
            "reject": live and bool(state.decisions),
            "next_decision": bool(state.decisions),
            "reassign": live and task_id is not None,
            "cancel_task": live and (self.selected_task in state.tasks
                                     and state.tasks[self.selected_task].status not in TERMINAL),
            "retry": live and status is not None and status not in ("pending", "ready"),
            "new_task": live and state.plan_status != "none",
            "pause": live,
            "focus_stream": self.selected_task in self.query_one("#streams").streams,
            "undo": bool(state.applied_order),
            "rerun_tests": task_id is not None and self.engine.runner.test_command is not None,
            "deploy": deploy_allowed(state, command=self.engine.config.deploy_command, explicit=True,
                                     allow_deploy_flag=False)[0],
        }
        return applies.get(action, True)

    # -- decisions -----------------------------------------------------------------------------------------------

    @work(group="dialog")
    async def action_approve(self) -> None:
        decision = self.target_decision()
        if decision is None:
            return
        answer: dict[str, Any] = {"approved": True}
        kept = self.kept_hunks(decision)
        if kept is not None:
            if not kept:
                self.notify("No hunk is selected: press space on a hunk to include it, or x to reject.", severity="warning")
                return
            comment = await self.app.push_screen_wait(dialogs().RejectDialog(
                f"Apply {len(kept)} selected hunk(s) of {describe(decision)}. A comment on the hunks left out goes "
                "back to the agent (optional):", title="Apply selected hunks", verb="applies"))
            if comment is None:
                return
            answer.update({"hunks": [list(key) for key in kept], **({"comment": comment} if comment else {})})
        if self.engine.session.resolve(decision.request_id, answer):
            self.notify(f"Approved: {describe(decision)}" + (f" ({len(kept)} hunks)" if kept else ""))

    def kept_hunks(self, decision: "Decision") -> list | None:
        """The hunks selected in the diff of this decision's change, or None when all of them are (or none shown)."""
        pane = self.changes_pane()
        change_id = decision.payload.get("change_id")
        if decision.kind != "change" or pane.selected_change_id != change_id:
            return None
        view = pane.diff_view
        selected = view.selected_hunk_keys()
        if set(map(tuple, view.hunk_keys)) <= set(selected):
            return None
        return sorted(selected)

    @work(group="dialog")
    async def action_reject(self) -> None:
        decision = self.target_decision()
        if decision is None:
            return
        reason = await self.app.push_screen_wait(dialogs().RejectDialog(f"{describe(decision)}\n{decision.prompt}"))
        if reason is None:
            return
        answer: dict[str, Any] = {"approved": False, **({"reason": reason} if reason else {})}
        if self.engine.session.resolve(decision.request_id, answer):
            self.notify(f"Rejected: {describe(decision)}" + (f" ({reason})" if reason else ""))
        else:
            self.notify("That decision was already answered.", severity="warning")

    def action_next_decision(self) -> None:
        decisions = list(self.state.decisions.values())
        if not decisions:
            return
        approvals = self.query_one(ApprovalsQueue)
        current = approvals.highlighted_request if approvals.has_focus else None
        ids = [d.request_id for d in decisions]
        following = ids[(ids.index(current) + 1) % len(ids)] if current in ids else ids[0]
        approvals.focus()
        approvals.highlight_request(following)
        self.show_decision(self.state.decisions[following])

    # -- tasks ---------------------------------------------------------------------------------------------------

    @work(group="dialog")
    async def action_reassign(self) -> None:
        task_id = self.selected_plan_task()
        if task_id is None:
            return
        task = self.state.tasks[task_id].task
        current = self.models().get(task_id, "")
        models = list(dict.fromkeys([current, *self.engine.config.model_choices(),
                                     *([self.engine.model_override] if self.engine.model_override else [])]))
        agents = sorted(name for name in self.engine.agents if name != "planner")
        answer = await self.app.push_screen_wait(dialogs().ReassignDialog(task_id, agents, models, task.agent, current))
        if answer is None:
            return
        agent, model = answer
        changes = {"agent": agent if agent != task.agent else None, "model": model if model != current else None}
        if changes == {"agent": None, "model": None}:
            self.notify(f"{task_id} already runs as {agent} on {model}.")
            return
        try:
            await self.engine.runner.reassign(task_id, **changes)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"{task_id} now runs as {agent} on {model}.")

    @work(group="dialog")
    async def action_edit_context(self) -> None:
        task_id = self.selected_plan_task()
        if task_id is None:
            text = await self.app.push_screen_wait(dialogs().TextEditor("Shared context", self.state.shared_context, EDIT_CONTEXT_HELP))
            self._save_context(text)
            return
        answer = await self.app.push_screen_wait(dialogs().TaskForm(task=self.state.tasks[task_id].task.to_dict()))
        if answer is not None:
            self._save_task(task_id, answer)

    @work(group="dialog")
    async def action_edit_context_external(self) -> None:
        task_id = self.selected_plan_task()
        if task_id is None:
            self._save_context(await self.edit_in_editor(self.state.shared_context))
            return
        task = self.state.tasks[task_id].task
        description = await self.edit_in_editor(task.description)
        if description is not None:
            self._save_task(task_id, {"description": description.strip()})

    async def edit_in_editor(self, text: str) -> str | None:
        """Edit `text` in $VISUAL/$EDITOR; the app draws nothing meanwhile, the engine keeps working."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as handle:
            handle.write(text)
        path = Path(handle.name)
        try:
            with self.app.batch_update(), self.app.suspend():
                code = await asyncio.to_thread(subprocess.call, [*shlex.split(editor), str(path)])
            if code != 0:
                self.notify(f"{editor} exited with {code}: nothing changed.", severity="warning")
                return None
            return path.read_text(encoding="utf-8")
        except SuspendNotSupported:
            self.notify("This terminal cannot hand over to $EDITOR; use e to edit in the app.", severity="error")
            return None
        except OSError as exc:
            self.notify(f"Could not run {editor}: {exc}", severity="error")
            return None
        finally:
            path.unlink(missing_ok=True)

    def _save_context(self, text: str | None) -> None:
        if text is not None and text != self.state.shared_context:
            self.engine.runner.edit_context(text)
            self.notify("Shared context saved: agents read it on their next call.")

    def _save_task(self, task_id: str, fields: dict[str, Any]) -> None:
        if "depends_on" in fields:
            tasks = [Task.from_dict({**t.to_dict(), **({"depends_on": fields["depends_on"]} if t.id == task_id else {})})
                     for t in self.state.plan_tasks]
            try:
                check_graph(tasks)
            except PlanError as exc:
                self.notify(f"Not saved: {exc}", severity="error")
                return
        self.engine.runner.edit_task(task_id, **fields)
        self.notify(f"{task_id} saved: its agent reads the new brief on its next call.")

    def action_pause(self) -> None:
        runner = self.engine.runner
        if runner.is_paused():
            runner.resume()
            self.notify("Resumed.")
        else:
            runner.pause()
            self.notify("Paused: agents stop before their next model call.")

    @work(group="command")
    async def action_cancel_task(self) -> None:
        task_id = self.selected_task
        if task_id in self.state.tasks:
            await self.engine.runner.cancel(task_id)
            self.notify(f"{task_id} cancelled.")

    @work(group="command")
    async def action_retry(self) -> None:
        task_id = self.selected_plan_task()
        if task_id is not None:
            await self.engine.runner.retry(task_id)
            self.notify(f"{task_id} will run again.")

    @work(group="dialog")
    async def action_new_task(self) -> None:
        existing = set(self.state.tasks)
        suggested = next(f"t{n}" for n in range(1, len(existing) + 2) if f"t{n}" not in existing)
        agents = sorted(name for name in self.engine.agents if name != "planner")
        answer = await self.app.push_screen_wait(dialogs().TaskForm(agents=agents, suggested_id=suggested))
        if answer is None:
            return
        try:
            task = self.engine.runner.add_task(answer)
        except (PlanError, ValueError) as exc:
            self.notify(f"Not added: {exc}", severity="error")
            return
        self.notify(f"Added {task.id}: {task.title}")

    @work(group="command")
    async def action_undo(self) -> None:
        await self.engine.runner.changes.undo()

    @work(group="command")
    async def action_rerun_tests(self) -> None:
        task_id = self.selected_plan_task()
        if task_id is not None:
            self.notify(f"Running the tests of {task_id}...")
            await self.engine.runner.rerun_tests(task_id)

    @work(group="command", exclusive=True)
    async def action_deploy(self) -> None:
        self.notify(f"Deploying: {self.engine.config.deploy_command}")
        await self.engine.runner.deploy(explicit=True)

    # -- moving around -------------------------------------------------------------------------------------------

    def action_focus_stream(self) -> None:
        if not self.query_one("#streams").focus_stream(self.selected_task):
            self.notify("That task has no output yet.")

    def action_help(self) -> None:
        keymap = self.engine.config.key_bindings()
        keys = [(" ".join(self.app.get_key_display(Binding(key, "")) for key in keymap[bid].split(",")), description)
                for bid, _action, _label, description, _shown in COMMANDS]
        keys.append((self.app.get_key_display(Binding(keymap["palette"].split(",")[0], "")), "Open the command palette"))
        node = self.focused
        pane_help = ""
        while node is not None and not pane_help:
            pane_help = getattr(node, "HELP", "") or ""
            node = node.parent
        self.app.push_screen(dialogs().HelpScreen(keys, pane_help or self.HELP))


def describe(decision: "Decision") -> str:
    if decision.kind == "plan":
        return "the plan"
    if decision.kind == "change":
        return f"change {decision.payload.get('change_id', '')} of {decision.task_id}"
    if decision.kind == "command":
        return f"`{decision.payload.get('command', '')}` in {decision.task_id}"
    return f"the conflict of {decision.task_id}"

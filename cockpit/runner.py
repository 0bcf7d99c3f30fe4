"""The runner: schedules ready tasks up to `max_parallel`, drives each as an asyncio task, and takes commands.

It never blocks the event loop on git (each call runs in a thread, one at a time) and never waits on a human
except through `Session.decide`. `run()` returns the session's final status once nothing more can happen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .budget import BudgetExceeded, Budgets
from .changes import ChangeDesk
from .context import read_instructions
from .plan import PLAN_TASK_ID, Task, blocked_ids, parse_tasks, ready_ids
from .state import OPEN_CHANGE, TERMINAL
from .task_run import TaskRun, cancel_and_wait
from .testing import detect_test_command

if TYPE_CHECKING:
    from .agentdefs import AgentDef
    from .config import Config
    from .llm import LLMClient
    from .session import Session
    from .workspace import Workspace

T = TypeVar("T")
WAKE_ON = {
    "task_updated", "task_added", "task_edited", "plan_proposed", "plan_approved", "decision_requested",
    "decision_resolved", "session_paused", "session_resumed",
}


@dataclass
class Outcome:
    status: str  # completed, failed, stopped
    reason: str = ""  # why it stopped: budget, interrupted, awaiting_review


class Runner:
    def __init__(
        self, session: "Session", workspace: "Workspace", config: "Config", agents: dict[str, "AgentDef"],
        llm: "LLMClient", *, model_override: str | None = None, interactive: bool = True, follow_edits: bool = True,
    ) -> None:
        self.session, self.workspace, self.config, self.agents, self.llm = session, workspace, config, agents, llm
        self.model_override = model_override
        self.interactive = interactive  # False: stop when only human decisions are left (headless)
        self.budgets = Budgets(config.session_budget, config.task_budget)
        self.instructions = read_instructions(workspace.root)
        self.test_command = config.test_command or detect_test_command(workspace.root)
        self._git_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._runs: dict[str, TaskRun] = {}  # the TaskRun behind each running task, to reach its agent loop
        self.changes = ChangeDesk(self)
        self.branch_watch = None  # set while the edit follower runs; cockpit's own commits acknowledge it
        self.follow_edits = follow_edits
        self._paused_tasks: set[str] = set()
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self._stop: Outcome | None = None
        self._quiet: set[str] = set()  # tasks being restarted: their cancellation is not reported
        self._budget_hit = False
        session.subscribe(self._on_event)

    # -- helpers the task runs use ---------------------------------------------------------------------------

    async def git(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one workspace call in a thread; git calls never overlap (one index, one set of refs)."""
        async with self._git_lock:
            return await asyncio.to_thread(fn, *args)

    def model_for(self, task: Task) -> str:
        """A reassigned model wins; then --model, the config, the agent file, the default."""
        return task.model or self.model_for_agent(task.agent)

    def model_for_agent(self, name: str) -> str:
        from .config import model_for

        agent = self.agents[name]
        return model_for(self.config, agent.name, agent.model, self.model_override)

    async def wait_until_unpaused(self, task_id: str) -> None:
        while not self._unpaused.is_set() or task_id in self._paused_tasks:
            self._wake.clear()
            if not self._unpaused.is_set():
                await self._unpaused.wait()
            else:
                await self._wake.wait()

    def send_note(self, task_id: str, text: str) -> bool:
        """Give a running agent a note before its next model call; False if it has no loop to take it."""
        run = self._runs.get(task_id)
        if run is None or run.loop is None:
            return False
        run.loop.add_note(text)
        self.session.emit("note_sent", task_id=task_id, text=text)
        return True

    async def review_plan(self, planner: TaskRun) -> bool:
        tasks = self.session.state.plan_tasks
        self._set_status(PLAN_TASK_ID, "waiting", "")
        decision = await self.session.decide("plan", PLAN_TASK_ID, f"Approve the plan of {len(tasks)} tasks?")
        if decision.get("approved"):
            self.session.emit("plan_approved")
            return True
        reason = decision.get("reason") or "no reason given"
        self.session.emit("plan_rejected", reason=reason)
        self._set_status(PLAN_TASK_ID, "running", "")
        planner.loop.add_user_message(f"The human rejected the plan. Reason: {reason}\nSubmit a revised plan, then finish.")
        return False

    def requeue(self, task_id: str, note: str | None = None) -> None:
        """Send a task back to pending (it runs again from a fresh worktree), with an optional note for its agent."""
        ts = self.session.state.tasks[task_id]
        change = self.session.state.changes.get(ts.change_id or "")
        if change is not None and change.status in ("pending", "conflicted"):
            self.session.emit(
                "change_decided", change_id=change.change_id, decision="rejected", hunks=[],
                reason="superseded: the task was restarted",
            )
        feedback = ts.feedback + ([note] if note else [])
        self.session.emit("task_updated", task_id=task_id, status="pending", agent=ts.task.agent, feedback=feedback)

    # -- the main loop -----------------------------------------------------------------------------------------

    async def run(self) -> Outcome:
        self._recover()
        follower = None
        if self.follow_edits:
            from .edits import EditFollower

            follower = EditFollower(self)
            await follower.start()
        try:
            while self._stop is None:
                self._start_ready()
                outcome = self._settled()
                if outcome is not None:
                    return outcome
                self._wake.clear()
                await self._wake.wait()
            return self._stop
        finally:
            # Whatever is still here is parked on a human or cut short by a stop: it carries on at resume,
            # so its end here is not a cancellation.
            self._quiet.update(self._running)
            for task in list(self._running.values()):
                await cancel_and_wait(task)
            if follower is not None:
                await follower.stop()

    def _recover(self) -> None:
        """Carry on a session from its journal: restart what was running, re-ask what was waiting on a human."""
        state = self.session.state
        self.session.expire_stale_decisions()
        if state.paused:
            self.session.emit("session_resumed")
        for task_id, ts in list(state.tasks.items()):
            if task_id == PLAN_TASK_ID and state.plan_status == "approved":
                if ts.status != "done":
                    self._set_status(task_id, "done", "plan approved")
            elif ts.status in ("running", "ready"):
                self.requeue(task_id, None)
            elif ts.status == "waiting":
                change = state.changes.get(ts.change_id or "")
                if change is not None and change.status in OPEN_CHANGE:
                    self._launch(task_id, TaskRun(self, task_id).review_change(change.change_id))
                elif task_id == PLAN_TASK_ID and state.plan_status == "proposed":
                    self._launch(task_id, self._review_plan_again())
                else:
                    self.requeue(task_id, None)

    async def _review_plan_again(self) -> None:
        decision = await self.session.decide("plan", PLAN_TASK_ID, "Approve the plan?")
        ts = self.session.state.tasks[PLAN_TASK_ID]
        if decision.get("approved"):
            self.session.emit("plan_approved")
            self.session.emit("task_updated", task_id=PLAN_TASK_ID, status="done", agent=ts.task.agent)
        else:
            self.session.emit("plan_rejected", reason=decision.get("reason") or "")
            self.requeue(PLAN_TASK_ID, f"The human rejected the plan. Reason: {decision.get('reason') or 'none given'}")

    def _start_ready(self) -> None:
        state = self.session.state
        if not self._unpaused.is_set():
            return
        if state.plan_status != "approved":
            candidates = [PLAN_TASK_ID] if state.tasks[PLAN_TASK_ID].status == "pending" else []
        else:
            candidates = ready_ids(state.plan_tasks, state.status_map())
        for task_id in candidates:
            if task_id in self._running or task_id in self._paused_tasks:
                continue
            if self._busy() >= self.config.max_parallel:
                self._mark_ready(task_id)
                continue
            run = TaskRun(self, task_id)
            self._runs[task_id] = run
            self._launch(task_id, run.run())

    def _mark_ready(self, task_id: str) -> None:
        ts = self.session.state.tasks[task_id]
        if ts.status == "pending":
            self.session.emit("task_updated", task_id=task_id, status="ready", agent=ts.task.agent)

    def _busy(self) -> int:
        """Tasks holding a slot: launched and not parked on a human's decision."""
        parked = self.session.state.parked_tasks()
        return sum(1 for task_id in self._running if task_id not in parked)

    def _launch(self, task_id: str, work) -> None:
        self._running[task_id] = asyncio.create_task(self._guard(task_id, work), name=f"task {task_id}")

    async def _guard(self, task_id: str, work) -> None:
        """Run one task's coroutine; whatever goes wrong is reported on the task, never raised at the session."""
        from .llm import LLMError

        session = self.session
        try:
            await work
        except asyncio.CancelledError:
            quiet = self._stop is not None or task_id in self._quiet
            if not quiet and session.state.tasks[task_id].status not in TERMINAL:
                self._set_status(task_id, "cancelled", "cancelled")
            raise
        except BudgetExceeded as exc:
            session.emit("error", task_id=task_id, kind="budget", message=str(exc))
            self._set_status(task_id, "failed", str(exc))
            if exc.scope == "session":
                self._stop = Outcome("stopped", "budget")
            self._budget_hit = True
        except LLMError as exc:
            session.emit("error", task_id=task_id, kind=f"llm_{exc.kind}", message=str(exc))
            self._set_status(task_id, "failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in one task must not take the session down
            session.emit("error", task_id=task_id, kind="internal", message=f"{type(exc).__name__}: {exc}")
            self._set_status(task_id, "failed", f"{type(exc).__name__}: {exc}")
        finally:
            self._running.pop(task_id, None)
            self._runs.pop(task_id, None)
            self._wake.set()

    def _set_status(self, task_id: str, status: str, summary: str) -> None:
        ts = self.session.state.tasks[task_id]
        extra = {"summary": summary} if summary else {}
        self.session.emit("task_updated", task_id=task_id, status=status, agent=ts.task.agent, **extra)

    def _settled(self) -> Outcome | None:
        """The outcome once nothing can move any more, else None.

        Headless, that is as soon as only human decisions are left. With a human at the controls, a failed or
        cancelled task can still be retried, so only a fully done plan (or `stop`) ends the run.
        """
        state = self.session.state
        parked = state.parked_tasks()
        if any(task_id not in parked for task_id in self._running):
            return None  # some task is still at work
        statuses = state.status_map()
        plan = state.plan_tasks
        if state.plan_status == "approved" and all(statuses[t.id] == "done" for t in plan):
            return Outcome("stopped", "budget") if self._budget_hit else Outcome("completed")
        if self.interactive:
            return None
        if self._budget_hit:
            return Outcome("stopped", "budget")
        if state.plan_status != "approved":
            failed = statuses.get(PLAN_TASK_ID) in ("failed", "cancelled")
            return Outcome("failed") if failed else Outcome("stopped", "awaiting_review")
        blocked = set(blocked_ids(plan, statuses))
        if any(statuses[t.id] not in TERMINAL and t.id not in blocked for t in plan):
            return Outcome("stopped", "awaiting_review")  # the policy answered all it will; the rest is a human's
        return Outcome("failed")

    # -- commands ----------------------------------------------------------------------------------------------

    def _on_event(self, event) -> None:
        if event.type in WAKE_ON:
            self._wake.set()

    def pause(self, task_id: str | None = None) -> None:
        if task_id is None:
            self._unpaused.clear()
            self.session.emit("session_paused")
        else:
            self._paused_tasks.add(task_id)
            self._wake.set()

    def resume(self, task_id: str | None = None) -> None:
        if task_id is None:
            self._unpaused.set()
            self.session.emit("session_resumed")
        else:
            self._paused_tasks.discard(task_id)
            self._wake.set()

    def is_paused(self, task_id: str | None = None) -> bool:
        return not self._unpaused.is_set() if task_id is None else task_id in self._paused_tasks

    async def cancel(self, task_id: str) -> None:
        work = self._running.get(task_id)
        if work is not None:
            await cancel_and_wait(work)
        elif self.session.state.tasks[task_id].status not in TERMINAL:
            self._set_status(task_id, "cancelled", "cancelled")

    async def retry(self, task_id: str, note: str | None = None) -> None:
        await self._stop_quietly(task_id)
        self.requeue(task_id, note)

    async def reassign(self, task_id: str, agent: str | None = None, model: str | None = None) -> None:
        if agent is not None and agent not in self.agents:
            raise ValueError(f"unknown agent {agent!r}")
        was_active = task_id in self._running or self.session.state.tasks[task_id].status in ("running", "waiting")
        await self._stop_quietly(task_id)
        changes = {k: v for k, v in (("agent", agent), ("model", model)) if v is not None}
        self.session.emit("task_edited", task_id=task_id, **changes)
        if was_active or self.session.state.tasks[task_id].status in TERMINAL:
            self.requeue(task_id, None)

    def edit_task(self, task_id: str, **fields: Any) -> None:
        allowed = {k: v for k, v in fields.items() if k in ("title", "description", "depends_on")}
        self.session.emit("task_edited", task_id=task_id, **allowed)

    def edit_context(self, text: str) -> None:
        self.session.emit("context_edited", shared_context=text)

    def add_task(self, raw: dict[str, Any]) -> Task:
        state = self.session.state
        (task,) = parse_tasks([raw], self.agents, existing=[t for t in state.tasks if t != PLAN_TASK_ID])
        if task.id in state.tasks:
            raise ValueError(f"a task {task.id!r} already exists")
        self.session.emit("task_added", task=task.to_dict())
        return task

    async def rerun_tests(self, task_id: str) -> None:
        """Run the tests again on the task's worktree (the user's tree if it has none); results as an event."""
        from .testing import explain_detection, run_tests

        if not self.test_command:
            self.session.emit("error", task_id=task_id, kind="tests", message=explain_detection(self.workspace.root))
            return
        worktree = self.workspace.worktree_path(self.session.session_id, task_id)
        run = await run_tests(worktree if worktree.is_dir() else self.workspace.root, self.test_command,
                              timeout=self.config.test_timeout)
        self.session.emit("tests_finished", task_id=task_id, by="user", **run.to_event())

    async def deploy(self, *, explicit: bool, allow_flag: bool = False) -> bool:
        """Run the configured deploy command, only after the release is approved and only when asked."""
        from .deploy import deploy_allowed, run_deploy

        command = self.config.deploy_command
        allowed, reason = deploy_allowed(self.session.state, command=command, explicit=explicit,
                                         allow_deploy_flag=allow_flag)
        if not allowed:
            self.session.emit("error", task_id=None, kind="deploy", message=reason)
            return False
        result = await run_deploy(self.workspace.root, command)
        self.session.emit("deploy_finished", ok=result.ok, exit_code=result.exit_code, output=result.output[-8000:],
                          command=command, duration=round(result.duration, 3), timed_out=result.timed_out)
        return result.ok

    def stop(self, reason: str = "interrupted") -> None:
        """Stop the run without marking tasks: what was running restarts on resume."""
        self._stop = Outcome("stopped", reason)
        self._wake.set()

    async def _stop_quietly(self, task_id: str) -> None:
        work = self._running.get(task_id)
        if work is not None:
            self._quiet.add(task_id)  # a restart, not a cancel: no "cancelled" event
            try:
                await cancel_and_wait(work)
            finally:
                self._quiet.discard(task_id)


"""One task's life: a fresh worktree, the agent loop, a proposed change, the human's decision, the apply.

`TaskRun.run` is driven by the runner as one asyncio task; cancelling it cancels the model stream and kills any
command the agent started. State changes are events, so a crash at any point is recovered by the runner on resume.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from . import context
from .agent_loop import AgentLoop
from .plan import PLAN_TASK_ID, PlanError, parse_tasks
from .policy import DEFAULT_POLICY
from .tools import ToolOutcome, Toolbox

if TYPE_CHECKING:
    from .runner import Runner

SEVERITIES = ("low", "medium", "high", "critical")


class TaskRun:
    def __init__(self, runner: "Runner", task_id: str) -> None:
        self.runner = runner
        self.session = runner.session
        self.task_id = task_id
        self.loop: AgentLoop | None = None

    @property
    def state(self):
        return self.session.state.tasks[self.task_id]

    # -- the lifecycle -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """From pending to done (or waiting on a human), in one go."""
        ts = self.state
        runner = self.runner
        base = await runner.git(runner.workspace.snapshot_base)
        worktree = await runner.git(runner.workspace.reset_worktree, self.session.session_id, self.task_id, base)
        agent = runner.agents[ts.task.agent]
        model = runner.model_for(ts.task)
        self._emit_status("running", attempt=ts.attempts + 1, base=base, model=model)
        self.loop = self._make_loop(agent, model, worktree)
        for note in ts.feedback:
            self.loop.add_user_message(note)
        while True:
            summary = await self.loop.run()
            if self.task_id == PLAN_TASK_ID:
                if await self._plan_approved(summary):
                    self._emit_status("done", summary=summary)
                    return
                continue
            commit = await runner.git(runner.workspace.record_change, worktree, base, f"cockpit: {ts.task.title}")
            if commit is None:
                self._emit_status("done", summary=summary)
                return
            if await self.review_change(self._propose(base, commit, summary)):
                return

    async def review_change(self, change_id: str) -> bool:
        """Wait for the decision on a change and act on it; True when the task is over, False to work on."""
        change = self.session.state.changes[change_id]
        if change.status == "pending":
            self._emit_status("waiting")
            decision = await self.session.decide(
                "change", self.task_id,
                f"Apply the change of {self.task_id} ({self.state.task.title}) to {', '.join(change.files)}?",
                change_id=change_id,
            )
            if not decision.get("approved"):
                reason = decision.get("reason") or "no reason given"
                self.session.emit("change_decided", change_id=change_id, decision="rejected", hunks=[], reason=reason)
                return self._send_back(f"The human rejected your change. Reason: {reason}\nRevise it and finish again.")
            self.session.emit("change_decided", change_id=change_id, decision="approved", hunks="all")
        if change.status == "approved":
            await self.runner.apply(change_id)
        if change.status == "conflicted":
            return await self._on_conflict(change_id, change.conflicted)
        self._emit_status("done", summary=self.state.summary or "change applied")
        return True

    async def _on_conflict(self, change_id: str, files: list[str]) -> bool:
        self._emit_status("waiting")
        decision = await self.session.decide(
            "conflict", self.task_id,
            f"The change of {self.task_id} conflicts with your edits to {', '.join(files)}; your files were left as "
            "they were. Send it back to the agent to redo on the current files?",
            change_id=change_id, files=files,
        )
        if decision.get("approved"):
            self.runner.requeue(self.task_id, (
                f"Your change conflicted with the user's edits to {', '.join(files)}. "
                "Redo it on the current files; keep the user's edits."
            ))
        else:
            self._emit_status("failed", summary="change conflicted with the user's edits")
        return True

    def _send_back(self, note: str) -> bool:
        if self.loop is None:  # resumed after a crash: start over in a new run with the note
            self.runner.requeue(self.task_id, note)
            return True
        self.loop.add_user_message(note)
        self._emit_status("running")
        return False

    def _propose(self, base: str, commit: str, summary: str) -> str:
        diff = self.runner.workspace.diff(base, commit)
        change_id = f"{self.task_id}.{sum(1 for c in self.session.state.changes.values() if c.task_id == self.task_id) + 1}"
        self.session.emit(
            "change_proposed", change_id=change_id, task_id=self.task_id, files=diff.files, diff=diff.diff,
            base=base, commit=commit, binary=diff.binary, summary=summary,
        )
        return change_id

    async def _plan_approved(self, summary: str) -> bool:
        if self.session.state.plan_status != "proposed":
            self.loop.add_user_message("You have not submitted a plan. Call submit_plan{tasks}, then finish.")
            return False
        return await self.runner.review_plan(self)

    # -- pieces handed to the agent loop ---------------------------------------------------------------------

    def _make_loop(self, agent, model: str, worktree) -> AgentLoop:
        runner = self.runner
        config = runner.config
        policy = DEFAULT_POLICY.extended(allow=config.policy_allow, ask=config.policy_ask, deny=config.policy_deny)
        toolbox = Toolbox(
            worktree, policy=policy, ask=self._ask_command, test_command=runner.test_command,
            command_timeout=config.command_timeout, test_timeout=config.test_timeout, output_cap=config.output_cap,
        )
        return AgentLoop(
            session=self.session, task_id=self.task_id, agent=agent, model=model, llm=runner.llm, toolbox=toolbox,
            system=context.system_prompt(agent.prompt, runner.instructions), make_brief=self._brief,
            engine_tool=self._engine_tool, before_call=self._before_call,
        )

    def _brief(self) -> str:
        state = self.session.state
        return context.brief(state.goal, self.state.task, state.shared_context, state.plan_tasks)

    async def _before_call(self) -> None:
        await self.runner.wait_until_unpaused(self.task_id)
        self.runner.budgets.check(self.session.state, self.task_id)

    async def _ask_command(self, command: str) -> bool:
        decision = await self.session.decide("command", self.task_id, f"Run `{command}` in {self.task_id}'s worktree?", command=command)
        return bool(decision.get("approved"))

    async def _engine_tool(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        if name == "finish":
            summary = str(args.get("summary") or "").strip() or "done"
            return ToolOutcome(True, summary, "finished")
        if name == "submit_plan":
            return self._submit_plan(args)
        if name == "report_findings":
            return self._report_findings(args)
        return ToolOutcome(False, f"error: unknown tool {name!r}", "unknown tool")

    def _submit_plan(self, args: dict[str, Any]) -> ToolOutcome:
        try:
            tasks = parse_tasks(args.get("tasks"), self.runner.agents)
        except PlanError as exc:
            return ToolOutcome(False, f"plan refused: {exc}. Fix it and call submit_plan again.", f"plan refused: {exc}")
        self.session.emit("plan_proposed", tasks=[t.to_dict() for t in tasks])
        return ToolOutcome(True, f"plan of {len(tasks)} tasks recorded; the human will review it. Now call finish.", f"{len(tasks)} tasks")

    def _report_findings(self, args: dict[str, Any]) -> ToolOutcome:
        raw = args.get("findings")
        if not isinstance(raw, list):
            return ToolOutcome(False, "error: findings must be a list of {severity, path, line, message}", "bad findings")
        findings = []
        for item in raw:
            if not isinstance(item, dict) or str(item.get("severity", "")).lower() not in SEVERITIES:
                return ToolOutcome(False, f"error: each finding needs severity in {SEVERITIES}, path, line, message", "bad findings")
            findings.append({
                "severity": str(item["severity"]).lower(), "path": str(item.get("path") or ""),
                "line": int(item.get("line") or 0), "message": str(item.get("message") or ""),
            })
        self.session.emit("findings_reported", task_id=self.task_id, findings=findings)
        return ToolOutcome(True, f"{len(findings)} findings recorded", f"{len(findings)} findings")

    def _emit_status(self, status: str, **extra: Any) -> None:
        ts = self.state
        self.session.emit("task_updated", task_id=self.task_id, status=status, agent=ts.task.agent, **extra)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):  # the task reports its own end; we only wait for it
        pass

"""One task's life: a fresh worktree, the agent loop, a proposed change, the human's decision, the apply.

`TaskRun.run` is driven by the runner as one asyncio task; cancelling it cancels the model stream and kills any
command the agent started. State changes are events, so a crash at any point is recovered by the runner on resume.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from . import context
from .agent_loop import AgentLoop
from .checks import CheckResult, needs_review, needs_tests, parse_findings, review_brief
from .hygiene import copy_worktree_includes
from .plan import PLAN_TASK_ID, PlanError, parse_tasks
from .policy import DEFAULT_POLICY
from .testing import run_tests
from .tools import ToolOutcome, Toolbox

if TYPE_CHECKING:
    from .runner import Runner



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
        await runner.git(copy_worktree_includes, runner.workspace, worktree)  # e.g. .env, listed by the user
        agent = runner.agents[ts.task.agent]
        model = runner.model_for(ts.task)
        self._emit_status("running", attempt=ts.attempts + 1, base=base, model=model)
        self.loop = self._make_loop(agent, model, worktree, self._brief, self._engine_tool)
        for note in ts.feedback:
            self.loop.add_user_message(note)
        rounds = 0
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
            diff = await runner.git(runner.workspace.diff, base, commit)
            checks = await self._check(worktree, commit, diff)
            if checks.needs_improvement() and rounds < runner.config.improve_rounds:
                rounds += 1
                self.loop.add_user_message(checks.improve_message(rounds, runner.config.improve_rounds))
                self._emit_status("running", improve_round=rounds)
                continue
            if await self.review_change(self._propose(base, commit, diff, summary, checks)):
                return

    async def review_change(self, change_id: str) -> bool:
        """Wait for the decision on a change and act on it; True when the task is over, False to work on."""
        change = self.session.state.changes[change_id]
        if change.status == "pending":
            self._emit_status("waiting")
            decision = await self.session.decide(
                "change", self.task_id,
                f"Apply the change of {self.task_id} ({self.state.task.title}) to {', '.join(change.files)}?",
                change_id=change_id, **change.checks,
            )
            if decision.get("superseded_by"):  # rebased onto the user's edits: review the new one instead
                return await self.review_change(decision["superseded_by"])
            if not decision.get("approved"):
                reason = decision.get("reason") or "no reason given"
                self.session.emit("change_decided", change_id=change_id, decision="rejected", hunks=[], reason=reason)
                return self._send_back(f"The human rejected your change. Reason: {reason}\nRevise it and finish again.")
            hunks = decision.get("hunks")
            comment = str(decision.get("comment") or "").strip()
            self.session.emit(
                "change_decided", change_id=change_id, decision="partial" if hunks is not None else "approved",
                hunks=[list(h) for h in hunks] if hunks is not None else "all", **({"reason": comment} if comment else {}),
            )
        if change.status == "approved":
            await self.runner.changes.apply(change_id)
        if change.status == "conflicted":
            return await self._on_conflict(change_id, change.conflicted)
        if isinstance(change.hunks, list) and change.reason:
            # Some hunks were left out with a comment: the applied part stays, the agent hears the review as one note.
            return self._send_back(
                f"The human applied part of your change ({len(change.hunks)} hunks) and left the rest out, saying: "
                f"{change.reason}\nYour worktree still holds the whole change; revise the parts left out and finish again."
            )
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

    def _propose(self, base: str, commit: str, diff, summary: str, checks: CheckResult) -> str:
        change_id = self.session.state.next_change_id(self.task_id)
        self.session.emit(
            "change_proposed", change_id=change_id, task_id=self.task_id, files=diff.files, diff=diff.diff,
            base=base, commit=commit, binary=diff.binary, summary=summary, checks=checks.payload(),
        )
        return change_id

    async def _check(self, worktree, commit: str, diff) -> CheckResult:
        """The engine's own checks: run the tests on the change's tree, and have the reviewer read the diff."""
        runner = self.runner
        result = CheckResult()
        if runner.test_command and needs_tests(diff.files):
            await self.runner.wait_until_unpaused(self.task_id)
            run = await run_tests(worktree, runner.test_command, timeout=runner.config.test_timeout)
            run.tree = commit
            result.tests = run
            self.session.emit("tests_finished", task_id=self.task_id, by="engine", **run.to_event())
        reviewer = runner.agents.get("reviewer")
        if (runner.config.review_each_change and reviewer is not None and self.state.task.agent != "reviewer"
                and needs_review(diff.files)):
            result.findings = await self._review(worktree, reviewer, diff)
        return result

    async def _review(self, worktree, reviewer, diff) -> list[dict[str, Any]]:
        state = self.session.state
        task = self.state.task
        found: list[dict[str, Any]] = []
        brief = review_brief(state.goal, self.task_id, task.title, diff.files, diff.diff, state.shared_context)

        async def engine_tool(name: str, args: dict[str, Any]) -> ToolOutcome:
            if name == "report_findings":
                return self._report_findings(args, found)
            return await self._engine_tool(name, args)

        loop = self._make_loop(reviewer, self.runner.model_for_agent(reviewer.name), worktree, lambda: brief, engine_tool)
        await loop.run()
        return found

    async def _plan_approved(self, summary: str) -> bool:
        if self.session.state.plan_status != "proposed":
            self.loop.add_user_message("You have not submitted a plan. Call submit_plan{tasks}, then finish.")
            return False
        return await self.runner.review_plan(self)

    # -- pieces handed to the agent loop ---------------------------------------------------------------------

    def _make_loop(self, agent, model: str, worktree, make_brief, engine_tool) -> AgentLoop:
        runner = self.runner
        config = runner.config
        policy = DEFAULT_POLICY.extended(allow=config.policy_allow, ask=config.policy_ask, deny=config.policy_deny)
        toolbox = Toolbox(
            worktree, policy=policy, ask=self._ask_command, test_command=runner.test_command,
            command_timeout=config.command_timeout, test_timeout=config.test_timeout, output_cap=config.output_cap,
        )
        return AgentLoop(
            session=self.session, task_id=self.task_id, agent=agent, model=model, llm=runner.llm, toolbox=toolbox,
            system=context.system_prompt(agent.prompt, runner.instructions), make_brief=make_brief,
            engine_tool=engine_tool, before_call=self._before_call,
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

    def _report_findings(self, args: dict[str, Any], into: list[dict[str, Any]] | None = None) -> ToolOutcome:
        try:
            findings = parse_findings(args.get("findings"))
        except ValueError as exc:
            return ToolOutcome(False, f"error: {exc}", "bad findings")
        self.session.emit("findings_reported", task_id=self.task_id, findings=findings)
        if into is not None:
            into.extend(findings)
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

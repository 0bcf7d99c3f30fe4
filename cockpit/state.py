"""Session state as the fold of its journal: `SessionState.fold(events)` rebuilds what `apply` built live.

Front ends read this; only `Session` feeds it. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .events import Event
from .plan import PLAN_TASK_ID, Task

OPEN_CHANGE = ("pending", "approved", "conflicted")  # a change still owed a decision or an apply
TERMINAL = ("done", "failed", "cancelled")  # task statuses nothing moves on from but a retry


@dataclass
class TaskState:
    task: Task
    status: str = "pending"
    attempts: int = 0
    base: str | None = None
    summary: str = ""
    started: float | None = None
    ended: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    change_id: str | None = None  # the change awaiting a decision, if any
    feedback: list[str] = field(default_factory=list)  # reasons and notes to give the agent on its next run


@dataclass
class ChangeState:
    change_id: str
    task_id: str
    files: list[str]
    diff: str
    base: str
    commit: str
    status: str = "pending"  # pending, approved, rejected, applied, conflicted
    reason: str = ""
    conflicted: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)  # the engine's tests and review before the human
    stale: list[str] = field(default_factory=list)  # files the user has edited since the change's base
    hunks: Any = "all"  # what the decision kept: "all", or [path, hunk index] pairs
    commit_sha: str | None = None  # set when cockpit committed it ([git] commit)
    rebased_from: str | None = None


@dataclass
class Decision:
    request_id: str
    kind: str  # plan, change, command, conflict
    task_id: str
    prompt: str
    payload: dict[str, Any]


@dataclass
class SessionState:
    session_id: str = ""
    goal: str = ""
    repo: str = ""
    plan_status: str = "none"  # none, proposed, approved
    tasks: dict[str, TaskState] = field(default_factory=dict)
    changes: dict[str, ChangeState] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)  # open requests, in order of arrival
    shared_context: str = ""
    model: str | None = None  # the --model the session was started with, reused on resume
    api_base: str | None = None
    paused: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)  # last tests_finished per task
    last_tests: dict[str, Any] = field(default_factory=dict)  # the session's most recent tests_finished
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    finished: str | None = None
    applied_order: list[str] = field(default_factory=list)  # applied change ids, oldest first: `u` undoes the last
    deploys: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0

    @classmethod
    def fold(cls, events: Iterable[Event]) -> "SessionState":
        state = cls()
        for event in events:
            state.apply(event)
        return state

    @property
    def plan_tasks(self) -> list[Task]:
        return [ts.task for tid, ts in self.tasks.items() if tid != PLAN_TASK_ID]

    def status_map(self) -> dict[str, str]:
        return {tid: ts.status for tid, ts in self.tasks.items()}

    def apply(self, event: Event) -> None:
        self.last_seq = event.seq
        handler = getattr(self, "_on_" + event.type, None)
        if handler is not None:
            handler(event)

    # One handler per event type that changes state; the others (agent_output, tool_*) are history only.

    def _on_session_started(self, e: Event) -> None:
        self.session_id, self.goal, self.repo = e.session_id, e.get("goal"), e.get("repo")
        self.shared_context = e.get("shared_context", "")
        self.model, self.api_base = e.get("model"), e.get("api_base")
        self.finished = None
        planner = Task(PLAN_TASK_ID, "Plan the work", e.get("goal"), agent="planner")
        self.tasks.setdefault(PLAN_TASK_ID, TaskState(planner))

    def _on_plan_proposed(self, e: Event) -> None:
        self.plan_status = "proposed"
        keep = {PLAN_TASK_ID: self.tasks[PLAN_TASK_ID]} if PLAN_TASK_ID in self.tasks else {}
        for raw in e.get("tasks"):
            task = Task.from_dict(raw)
            keep[task.id] = TaskState(task)
        self.tasks = keep

    def _on_plan_approved(self, e: Event) -> None:
        self.plan_status = "approved"

    def _on_plan_rejected(self, e: Event) -> None:
        self.plan_status = "none"

    def _on_task_added(self, e: Event) -> None:
        task = Task.from_dict(e.get("task"))
        self.tasks[task.id] = TaskState(task)

    def _on_task_edited(self, e: Event) -> None:
        ts = self.tasks[e.get("task_id")]
        for key in ("title", "description", "agent", "model", "depends_on"):
            if key in e.data:
                setattr(ts.task, key, e.get(key))

    def _on_task_updated(self, e: Event) -> None:
        ts = self.tasks.get(e.get("task_id"))
        if ts is None:
            return
        status = e.get("status")
        ts.status = status
        ts.task.agent = e.get("agent", ts.task.agent)
        if "model" in e.data:
            ts.task.model = e.get("model")
        if status == "running":
            ts.started, ts.ended = e.ts, None
            ts.attempts = e.get("attempt", ts.attempts)  # improve rounds and send-backs are not new attempts
            ts.base = e.get("base", ts.base)
        elif status in ("done", "failed", "cancelled"):
            ts.ended = e.ts
            ts.summary = e.get("summary", ts.summary)
        elif status == "pending":
            ts.feedback = list(e.get("feedback", ts.feedback))

    def _on_change_proposed(self, e: Event) -> None:
        change = ChangeState(
            e.get("change_id"), e.get("task_id"), list(e.get("files")), e.get("diff"), e.get("base"), e.get("commit"),
            checks=e.get("checks") or {}, rebased_from=e.get("rebased_from"),
        )
        self.changes[change.change_id] = change
        self.tasks[change.task_id].change_id = change.change_id
        self.tasks[change.task_id].summary = e.get("summary", "")
        run = self.tests.get(change.task_id)
        if run is not None and run.get("tree") and run.get("tree") != change.commit:
            run["stale"] = True  # the results describe a tree this task has since moved on from

    def _on_change_decided(self, e: Event) -> None:
        change = self.changes[e.get("change_id")]
        change.status = "rejected" if e.get("decision") == "rejected" else "approved"
        change.reason = e.get("reason", "")
        change.hunks = e.get("hunks")

    def _on_change_applied(self, e: Event) -> None:
        change = self.changes[e.get("change_id")]
        change.status = "applied"
        change.conflicted = []
        self.applied_order.append(change.change_id)

    def _on_change_undone(self, e: Event) -> None:
        self.changes[e.get("change_id")].status = "undone"
        if e.get("change_id") in self.applied_order:
            self.applied_order.remove(e.get("change_id"))

    def _on_change_committed(self, e: Event) -> None:
        self.changes[e.get("change_id")].commit_sha = e.get("commit")

    def _on_deploy_finished(self, e: Event) -> None:
        self.deploys.append(dict(e.data))

    def _on_change_conflicted(self, e: Event) -> None:
        change = self.changes[e.get("change_id")]
        change.status = "conflicted"
        change.conflicted = list(e.get("files"))

    def _on_change_stale(self, e: Event) -> None:
        self.changes[e.get("change_id")].stale = list(e.get("files"))

    def _on_usage(self, e: Event) -> None:
        self.prompt_tokens += e.get("prompt_tokens") or 0
        self.completion_tokens += e.get("completion_tokens") or 0
        self.cost_usd += e.get("cost_usd") or 0.0
        ts = self.tasks.get(e.get("task_id"))
        if ts is not None:
            ts.tokens += (e.get("prompt_tokens") or 0) + (e.get("completion_tokens") or 0)
            ts.cost_usd += e.get("cost_usd") or 0.0

    def _on_tests_finished(self, e: Event) -> None:
        self.tests[e.get("task_id")] = self.last_tests = dict(e.data)

    def _on_user_edited(self, e: Event) -> None:
        # Runs on the user's tree (`T` on a task without a worktree carries no tree) go stale with any save.
        for run in self.tests.values():
            if not run.get("tree") and run.get("by") == "user":
                run["stale"] = True

    def _on_findings_reported(self, e: Event) -> None:
        self.findings.setdefault(e.get("task_id"), []).extend(e.get("findings"))

    def _on_context_edited(self, e: Event) -> None:
        self.shared_context = e.get("shared_context")

    def _on_decision_requested(self, e: Event) -> None:
        self.decisions[e.get("request_id")] = Decision(
            e.get("request_id"), e.get("kind"), e.get("task_id"), e.get("prompt"), e.get("payload", {})
        )

    def _on_decision_resolved(self, e: Event) -> None:
        self.decisions.pop(e.get("request_id"), None)

    def _on_session_paused(self, e: Event) -> None:
        self.paused = True

    def _on_session_resumed(self, e: Event) -> None:
        self.paused = False

    def _on_session_finished(self, e: Event) -> None:
        self.finished = e.get("status")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def parked_tasks(self) -> set[str]:
        """Tasks waiting on a human's decision: they hold no slot and do no work."""
        return {d.task_id for d in self.decisions.values()}

    def next_change_id(self, task_id: str) -> str:
        return f"{task_id}.{sum(1 for c in self.changes.values() if c.task_id == task_id) + 1}"

    def open_changes(self) -> list[ChangeState]:
        return [c for c in self.changes.values() if c.status in OPEN_CHANGE]

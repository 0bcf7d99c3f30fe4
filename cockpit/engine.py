"""Wiring: open a repository, its config, agents and journal, and start or resume a session on it.

Front ends (the TUI, headless) call `open_engine`, subscribe to `engine.session`, send commands to
`engine.runner`, and await `engine.run()`.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from .agentdefs import AgentDef, load_agents
from .config import Config, load_config
from .journal import Journal, new_session_id
from .llm import LLMClient, preflight
from .offline.provider import RATE_ENV as OFFLINE_RATE_ENV, set_rate as set_offline_rate
from .plan import PLAN_TASK_ID, PlanError, Task, parse_tasks
from .runner import Outcome, Runner
from .session import Session
from .workspace import Workspace

JOURNAL_FILE = "journal.db"


class SessionNotFound(Exception):
    pass


@dataclass
class Engine:
    workspace: Workspace
    config: Config
    agents: dict[str, AgentDef]
    journal: Journal
    session: Session
    runner: Runner
    llm: LLMClient
    model_override: str | None = None
    api_base: str | None = None
    problems: list[str] = field(default_factory=list)  # agent files skipped, one line each
    start: dict = field(default_factory=dict)  # the session_started event, emitted when the run begins
    given_plan: list[Task] | None = None  # from `--plan FILE`: proposed for approval instead of running the planner
    allow_deploy: bool = False  # headless `--allow-deploy`: run the deploy command once the session completes

    async def preflight(self) -> None:
        """Fail fast, before any task starts, on a model litellm cannot route or a missing API key."""
        models = {self.runner.model_for(ts.task) for ts in self.session.state.tasks.values()}
        models |= {self.runner.model_for_agent(name) for name in self.agents}
        for model in sorted(models):
            await preflight(model, self.api_base)

    def set_goal(self, goal: str) -> None:
        """The goal asked for in the UI, before the run starts."""
        self.start["goal"] = goal
        self.journal.set_goal(self.session.session_id, goal)

    async def run(self) -> Outcome:
        """Run the session to its end. Subscribe first: the first event is `session_started`."""
        self.session.emit("session_started", **self.start)
        for problem in self.problems:
            self.session.emit("error", task_id=None, kind="agent_file", message=problem)
        if self.given_plan is not None:
            self.session.emit("plan_proposed", tasks=[task.to_dict() for task in self.given_plan])
            self.session.emit("task_updated", task_id=PLAN_TASK_ID, status="waiting", agent="planner",
                              summary="plan given with --plan")
            self.given_plan = None
        await self._report_orphans()
        outcome = await self.runner.run()
        if outcome.status == "completed" and self.allow_deploy and self.config.deploy_command:
            if not await self.runner.deploy(explicit=False, allow_flag=True):
                outcome = Outcome("failed", "deploy")
        state = self.session.state
        statuses = [ts.status for tid, ts in state.tasks.items()]
        summary = {
            "reason": outcome.reason,
            "tasks": {status: statuses.count(status) for status in sorted(set(statuses))},
            "changes_applied": sum(1 for c in state.changes.values() if c.status == "applied"),
            "changes_pending": len(state.open_changes()),
            "tokens": state.total_tokens,
            "cost_usd": round(state.cost_usd, 6),
        }
        self.session.emit("session_finished", status=outcome.status, summary=summary)
        return outcome

    async def _report_orphans(self) -> None:
        """Worktrees and branches no live task owns: reported, never deleted here (see `clean_orphans`)."""
        from .hygiene import find_orphans

        known = [(self.session.session_id, task_id) for task_id in self.session.state.tasks]
        orphans = await asyncio.to_thread(find_orphans, self.workspace, known)
        if orphans:
            self.session.emit("orphans_found", orphans=[
                {"session_id": o.session_id, "task_id": o.task_id, "empty": o.empty, "description": o.describe()}
                for o in orphans
            ])

    async def clean_orphans(self) -> list[str]:
        """Delete the orphan worktrees and branches that hold no work; those with work are kept."""
        from .hygiene import clean_empty, find_orphans

        known = [(self.session.session_id, task_id) for task_id in self.session.state.tasks]
        orphans = await asyncio.to_thread(find_orphans, self.workspace, known)
        removed = await self.runner.git(clean_empty, self.workspace, orphans)
        return [o.describe() for o in removed]

    def close(self) -> None:
        self.journal.close()


def open_engine(
    repo: Path,
    *,
    goal: str | None = None,
    resume: str | None = None,
    config_path: Path | None = None,
    model: str | None = None,
    api_base: str | None = None,
    interactive: bool = True,
    config: Config | None = None,
    plan_file: Path | None = None,
    follow_edits: bool = True,
) -> Engine:
    """Start a new session with `goal`, or resume session `resume` ("latest" for the newest)."""
    workspace = Workspace(repo)
    config = config or load_config(workspace.root, config_path)
    agents, problems = load_agents(workspace.root)
    given_plan = read_plan_file(plan_file, agents) if plan_file is not None else None
    if config.offline_rate is not None and OFFLINE_RATE_ENV not in os.environ:
        set_offline_rate(config.offline_rate)  # the environment wins over the config, as everywhere
    journal = Journal(workspace.cockpit_dir / JOURNAL_FILE)
    if resume is not None:
        session_id = journal.latest_session() if resume == "latest" else resume
        if session_id is None or not journal.has_session(session_id):
            journal.close()
            raise SessionNotFound(
                f"no session {resume!r} in {workspace.root}" if resume != "latest" else f"no session to resume in {workspace.root}"
            )
        session = Session(journal, session_id, journal.events(session_id))
        model = model or session.state.model
        api_base = api_base or session.state.api_base
        start = {"goal": session.state.goal, "repo": str(workspace.root), "resumed": True,
                 "shared_context": session.state.shared_context}
    else:
        session_id = new_session_id()
        journal.create_session(session_id, goal or "", str(workspace.root))
        session = Session(journal, session_id)
        start = {"goal": goal or "", "repo": str(workspace.root)}
    start.update({key: value for key, value in (("model", model), ("api_base", api_base)) if value})
    api_base = api_base or config.api_base
    llm = LLMClient(
        api_base=api_base, request_timeout=config.request_timeout, stall_timeout=config.stall_timeout,
        max_attempts=config.max_attempts, deadline=config.deadline,
    )
    runner = Runner(session, workspace, config, agents, llm, model_override=model, interactive=interactive,
                    follow_edits=follow_edits)
    return Engine(workspace, config, agents, journal, session, runner, llm, model, api_base, problems, start, given_plan)


def read_plan_file(path: Path, agents: dict[str, AgentDef]) -> list[Task]:
    """A plan written by hand: YAML or JSON, a list of tasks or a mapping with `tasks`."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the plan: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not valid YAML or JSON: {str(exc).splitlines()[0]}") from None
    if isinstance(raw, dict):
        raw = raw.get("tasks")
    try:
        return parse_tasks(raw, agents)
    except PlanError as exc:
        raise PlanError(f"{path}: {exc}") from None

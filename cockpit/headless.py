"""The headless front end: an approval policy instead of a human, and events printed as they happen.

`--approve all` approves the plan, every change and every command the policy would ask about; `--approve none`
approves the plan (it touches nothing) but leaves every change pending for review with `cockpit resume`, and
denies commands that would need a human. Either way, denied commands never run.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any, TextIO

from .events import Event
from .runner import Outcome
from .state import Decision

MAX_CONFLICT_RETRIES = 2
EXIT_CODES = {"completed": 0, "failed": 1}
STOP_EXIT_CODES = {"budget": 3, "interrupted": 130, "awaiting_review": 0}


def approval_policy(mode: str, state) -> Any:
    """The headless stand-in for the human: a function from a decision request to an answer, or None."""

    def decide(request: Decision) -> dict[str, Any] | None:
        if request.kind == "plan":
            return {"approved": True, "by": f"--approve {mode}"}
        if mode != "all":
            if request.kind == "command":
                return {"approved": False, "reason": "headless run with --approve none: commands that need approval are denied"}
            return None  # changes and conflicts wait for a human
        if request.kind == "conflict":
            task = state.tasks.get(request.task_id)
            return {"approved": True} if task is not None and task.attempts <= MAX_CONFLICT_RETRIES else None
        if request.kind == "change" and (request.payload.get("blocking_findings") or request.payload.get("tests_failing")):
            return None  # a high or critical finding, or failing tests: a human must look
        return {"approved": True, "by": "--approve all"}

    return decide


def exit_code(outcome: Outcome) -> int:
    if outcome.status == "stopped":
        return STOP_EXIT_CODES.get(outcome.reason, 1)
    return EXIT_CODES.get(outcome.status, 1)


class Printer:
    """Prints events: one JSON object per line with --json, else short lines a person can follow."""

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json
        self._at_line_start = True
        self._last_task: str | None = None

    def __call__(self, event: Event) -> None:
        if self.as_json:
            self.out.write(event.to_json() + "\n")
        else:
            self._human(event)
        self.out.flush()

    def _human(self, e: Event) -> None:
        if e.type == "agent_output":
            self._text(e.get("task_id"), e.get("agent"), e.get("text"))
            return
        line = _describe(e)
        if line:
            self._line(line)

    def _text(self, task_id: str, agent: str, text: str) -> None:
        if task_id != self._last_task:
            self._line(f"[{task_id} {agent}]")
            self._last_task = task_id
        self.out.write(text)
        self._at_line_start = text.endswith("\n")

    def _line(self, line: str) -> None:
        if not self._at_line_start:
            self.out.write("\n")
        self.out.write(line + "\n")
        self._at_line_start = True
        self._last_task = None


def _describe(e: Event) -> str | None:
    t = e.type
    if t == "session_started":
        return f"● session {e.session_id} {'resumed' if e.get('resumed') else 'started'}: {e.get('goal')}"
    if t == "plan_proposed":
        rows = [f"  {x['id']:<8} {x['agent']:<9} {x['title']}" + (f"  (after {', '.join(x['depends_on'])})" if x["depends_on"] else "") for x in e.get("tasks")]
        return "● plan proposed:\n" + "\n".join(rows)
    if t == "plan_approved":
        return "● plan approved"
    if t == "task_updated":
        extra = f" — {e.get('summary')}" if e.get("summary") else ""
        return f"● {e.get('task_id')} {e.get('status')} ({e.get('agent')}){extra}"
    if t == "tool_result":
        return f"  {e.get('task_id')} {e.get('tool')}: {'ok' if e.get('ok') else 'failed'} {e.get('summary')}"
    if t == "change_proposed":
        return f"● change {e.get('change_id')} proposed: {', '.join(e.get('files'))}"
    if t in ("change_applied", "change_conflicted"):
        return f"● change {e.get('change_id')} {t.split('_')[1]}: {', '.join(e.get('files'))}"
    if t == "change_decided":
        return f"● change {e.get('change_id')} {e.get('decision')}" + (f": {e.get('reason')}" if e.get("reason") else "")
    if t == "tests_finished":
        return f"● tests in {e.get('task_id')}: {e.get('passed')} passed, {e.get('failed')} failed, {e.get('errors')} errors, {e.get('skipped')} skipped"
    if t == "findings_reported":
        return "\n".join(f"● finding [{f['severity']}] {f['path']}:{f['line']} {f['message']}" for f in e.get("findings"))
    if t == "error":
        return f"✗ {e.get('task_id') or 'session'}: {e.get('message')}"
    if t == "decision_requested" and e.get("kind") in ("change", "conflict"):
        return f"? {e.get('prompt')}"
    if t == "change_undone":
        return f"● change {e.get('change_id')} undone: {', '.join(e.get('files'))}"
    if t == "branch_changed":
        return f"! {e.get('message')}"
    if t == "orphans_found":
        return "\n".join(f"! orphan worktree {o['description']}" for o in e.get("orphans"))
    if t == "deploy_finished":
        return f"● deploy {'succeeded' if e.get('ok') else 'failed'} (exit {e.get('exit_code')})"
    if t == "session_finished":
        return f"● session {e.get('status')}: {_summary_line(e.get('summary') or {})}"
    return None


def _summary_line(summary: dict[str, Any]) -> str:
    tasks = ", ".join(f"{count} {status}" for status, count in (summary.get("tasks") or {}).items())
    parts = [f"tasks: {tasks}", f"{summary.get('changes_applied', 0)} changes applied"]
    if summary.get("changes_pending"):
        parts.append(f"{summary['changes_pending']} awaiting review (cockpit resume)")
    parts.append(f"{summary.get('tokens', 0):,} tokens, ${summary.get('cost_usd', 0):.2f}")
    if summary.get("reason"):
        parts.append(f"reason: {summary['reason']}")
    return "; ".join(parts)


async def run_headless(engine, *, approve: str = "none", as_json: bool = False, out: TextIO = sys.stdout) -> int:
    """Run the engine to its end without a UI; the exit code of the CLI contract."""
    engine.session.auto_decider = approval_policy(approve, engine.session.state)
    unsubscribe = engine.session.subscribe(Printer(out, as_json))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, engine.runner.stop, "interrupted")
    try:
        outcome = await engine.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        unsubscribe()
    return exit_code(outcome)

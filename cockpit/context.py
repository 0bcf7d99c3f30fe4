"""What an agent sees on each call: its prompt, the project's instructions, the brief, then its history.

The brief is rebuilt from the session state before every call, so an edit to the task or to the shared context
reaches the very next call. When the conversation grows past the model's window, old observations are condensed;
the system prompt, the instructions and the brief are never dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .plan import PLAN_TASK_ID, Task

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
INSTRUCTIONS_CAP = 20_000
DEFAULT_WINDOW_TOKENS = 128_000
CONDENSED = "[older output condensed to save context; run the tool again if you need it]"


def read_instructions(repo: Path) -> str:
    """The project's own instructions for agents (AGENTS.md, else CLAUDE.md), capped."""
    for name in INSTRUCTION_FILES:
        path = repo / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            return f"# Project instructions ({name})\n{text[:INSTRUCTIONS_CAP]}"
    return ""


def system_prompt(agent_prompt: str, instructions: str) -> str:
    rules = (
        "You work in your own git worktree; paths are relative to its root. Your changes are proposed to a human, "
        "who approves or rejects them; nothing you write reaches their tree without approval. "
        "Call finish{summary} when your task is complete."
    )
    return "\n\n".join(part for part in (agent_prompt.strip(), rules, instructions) if part)


def brief(goal: str, task: Task, shared_context: str, plan: list[Task] | None = None) -> str:
    title = "Plan the work" if task.id == PLAN_TASK_ID else task.title
    parts = [f"# Goal\n{goal}", f"# Task {task.id}: {title}\n{task.description if task.id != PLAN_TASK_ID else ''}".rstrip()]
    parts.append(f"# Shared context\n{shared_context}")
    if plan and task.id != PLAN_TASK_ID:
        lines = [f"- {t.id} ({t.agent}): {t.title}" + (f" [after {', '.join(t.depends_on)}]" if t.depends_on else "") for t in plan]
        parts.append("# The whole plan\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


def build_messages(system: str, brief_text: str, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": brief_text}, *history]


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        total += len(str(message.get("content") or "")) // 4 + 4
        for call in message.get("tool_calls") or ():
            total += len(call["function"]["arguments"]) // 4
    return total


def condense(history: list[dict[str, Any]], keep_last: int = 6) -> bool:
    """Replace the content of old tool observations; True if anything was condensed."""
    changed = False
    tool_indexes = [i for i, m in enumerate(history) if m.get("role") == "tool"]
    for index in tool_indexes[:-keep_last] if keep_last else tool_indexes:
        if history[index]["content"] != CONDENSED:
            history[index] = {**history[index], "content": CONDENSED}
            changed = True
    return changed


def fit_to_window(system: str, brief_text: str, history: list[dict[str, Any]], window: int) -> None:
    """Condense older observations until the conversation fits in about 80% of the window."""
    budget = int(window * 0.8)
    keep = 6
    while estimate_tokens(build_messages(system, brief_text, history)) > budget and keep >= 0:
        condense(history, keep)
        keep -= 2

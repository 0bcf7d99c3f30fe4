"""The offline model's brain: deterministic scripts that play each role from the conversation so far.

`next_turn(role, messages)` replays a role's script (a generator) against the tool calls and results already in the
conversation, then returns the turn the script yields next. A script reacts to what the tools answered (a missing
file, failing tests), so the same conversation always gives the same turn and the play adapts to the repository.
User messages that arrive after the brief (a rejection reason, "the user edited ...") start a revision script once
the current script reaches `finish`.

Where the plays live: demo_play.py (the demo session, its file contents in demo_content.py), generic_play.py (any
other goal, and answers to late messages), play_kit.py (what scripts share). This module is the driver.
"""

from __future__ import annotations

import json
from typing import Any

from cockpit.offline import demo_play, generic_play
from cockpit.offline.play_kit import Brief, Exchange, Observation, Script, finish_summary, finish_turn, is_finish
from cockpit.offline.turns import ScriptedTurn

_MAX_TURNS = 60  # a runaway conversation ends with a finish instead of looping forever


# ----------------------------------------------------------------------------------------------- entry point


def next_turn(role: str, messages: list[dict]) -> ScriptedTurn:
    """The turn the offline model plays next for `role`, given the OpenAI-format conversation so far."""
    brief = parse_brief(_content(messages[1]) if len(messages) > 1 else "")
    exchanges, leading_notes = split_exchanges(messages[2:])
    if len(exchanges) >= _MAX_TURNS:
        return finish_turn("I have used my turn allowance for this task.", "Stopped: turn limit reached.")
    return _replay(role.strip().lower(), brief, exchanges, leading_notes)


def _replay(role: str, brief: Brief, exchanges: list[Exchange], leading_notes: list[str]) -> ScriptedTurn:
    """Run the script from the start, feeding it the recorded results, and return the first turn not yet played."""
    pending_notes = list(leading_notes)
    script = main_script(role, brief)
    turn: ScriptedTurn | None = next(script)
    for index, exchange in enumerate(exchanges):
        pending_notes += exchange.notes
        turn = _advance(script, Observation(tuple(exchange.results)))
        if (turn is None or is_finish(turn)) and pending_notes:
            # Notes are answered once the current work is done, so a mid-task note never cuts a change in half.
            prior = finish_summary(turn) if turn else _last_summary(exchanges[: index + 1])
            script = revision_script(role, brief, pending_notes, exchanges[: index + 1], prior)
            pending_notes = []
            turn = next(script)
    if turn is None:
        return finish_turn("Nothing is left to do on this task.", _last_summary(exchanges) or "Done.")
    return turn


def _advance(script: Script, observation: Observation) -> ScriptedTurn | None:
    try:
        return script.send(observation)
    except StopIteration:
        return None


def main_script(role: str, brief: Brief) -> Script:
    demo = demo_play.demo_script(role, brief) if demo_play.is_demo_goal(brief.goal) else None
    if demo is not None:
        return demo
    return generic_play.GENERIC_SCRIPTS.get(role, generic_play.generic_coder)(brief)


def revision_script(role: str, brief: Brief, notes: list[str], history: list[Exchange], prior: str) -> Script:
    if demo_play.is_demo_goal(brief.goal):
        demo = demo_play.demo_revision(role, brief, notes, history)
        if demo is not None:
            return demo
    if role == "planner":
        return generic_play.revise_plan(brief, notes, history)
    return generic_play.generic_revision(role, brief, notes, history, prior)


# ----------------------------------------------------------------------------------------------- parsing


def parse_brief(text: str) -> Brief:
    """Split the brief the agent loop writes (# Goal / # Task id: title / # Shared context) into its parts."""
    sections: dict[str, list[str]] = {}
    current = None
    task_line = ""
    for line in text.splitlines():
        if line.strip() == "# Goal" and "goal" not in sections:
            current = "goal"
        elif line.startswith("# Task ") and "task" not in sections:
            current, task_line = "task", line[len("# Task "):]
        elif line.strip() == "# Shared context" and "context" not in sections:
            current = "context"
        elif current:
            sections.setdefault(current, []).append(line)
            continue
        if current:
            sections.setdefault(current, [])
    task_id, _, title = task_line.partition(":")
    return Brief(
        goal="\n".join(sections.get("goal", [])).strip(),
        task_id=task_id.strip(),
        title=title.strip(),
        description="\n".join(sections.get("task", [])).strip(),
        shared_context="\n".join(sections.get("context", [])).strip(),
    )


def split_exchanges(messages: list[Any]) -> tuple[list[Exchange], list[str]]:
    """Group the conversation after the brief into exchanges; user messages before any turn are returned apart."""
    exchanges: list[Exchange] = []
    leading_notes: list[str] = []
    tool_messages: list[list[tuple[str, str]]] = []
    for message in messages:
        role = _field(message, "role")
        if role == "assistant":
            exchanges.append(Exchange(_tool_calls(message)))
            tool_messages.append([])
        elif role == "tool" and exchanges:
            tool_messages[-1].append((str(_field(message, "tool_call_id") or ""), _content(message)))
        elif role == "user":
            (exchanges[-1].notes if exchanges else leading_notes).append(_content(message))
    for exchange, answers in zip(exchanges, tool_messages):
        by_id = dict(answers)
        exchange.results = [
            by_id.get(call_id, answers[i][1] if i < len(answers) else "")
            for i, (_, _, call_id) in enumerate(exchange.calls)
        ]
    return exchanges, leading_notes


def _tool_calls(message: Any) -> list[tuple[str, dict, str]]:
    calls = []
    for call in _field(message, "tool_calls") or []:
        function = _field(call, "function") or {}
        raw = _field(function, "arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (ValueError, TypeError):
            arguments = {}
        calls.append((str(_field(function, "name") or ""), arguments, str(_field(call, "id") or "")))
    return calls


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _content(message: Any) -> str:
    content = _field(message, "content")
    if isinstance(content, list):  # OpenAI content parts
        return "".join(str(_field(part, "text") or "") for part in content)
    return content if isinstance(content, str) else ""


def _last_summary(exchanges: list[Exchange]) -> str:
    for exchange in reversed(exchanges):
        for name, arguments, _ in exchange.calls:
            if name == "finish":
                return str(arguments.get("summary", ""))
    return ""

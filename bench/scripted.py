"""Bench-only roles for the offline model, chosen by a marker in the task's description.

`install()` wraps `cockpit.offline.scripts.next_turn` in this process only (the provider looks it up on every call):
a task whose description holds `[bench:stream tokens=N mode=words|lines turns=K]` streams N tokens over K turns
(each but the last reads README.md, so the agent loop goes on) and finishes; `[bench:edit path=P]` edits one line of P and finishes. Any other task plays the normal scripts.
A token is one chunk of the offline provider (a word with the whitespace after it), so N tokens at rate R take
N / R seconds; in `lines` mode every token is a whole line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

from cockpit.offline import scripts
from cockpit.offline.turns import ScriptedTurn

_MARKER = re.compile(r"\[bench:(?P<kind>\w+)(?P<params>(?:\s+\w+=[^\s\]]+)*)\]")
_VOCABULARY = ("the agent reads the module and writes a careful change to keep every test green while it "
               "explains each step of its plan in plain words for the reviewer").split()
WORDS_PER_LINE = 12
LINES_PER_PARAGRAPH = 6
EDITED_LINE = "Guide line 5: how the bench works.\n"


def stream_marker(tokens: int, mode: str = "words", turns: int = 1) -> str:
    return f"[bench:stream tokens={tokens} mode={mode} turns={turns}]"


def edit_marker(path: str) -> str:
    return f"[bench:edit path={path}]"


def stream_token(task_id: str, index: int, mode: str = "words") -> str:
    """Token `index` of a task's text: a word of prose-like lines and paragraphs, or (lines mode) a whole line."""
    if mode == "lines":
        return f"{task_id}-line-{index:07d}\n"
    word = _VOCABULARY[(index + len(task_id)) % len(_VOCABULARY)]
    if (index + 1) % (WORDS_PER_LINE * LINES_PER_PARAGRAPH) == 0:
        return word + "\n\n"
    return word + ("\n" if (index + 1) % WORDS_PER_LINE == 0 else " ")


def stream_text(task_id: str, tokens: int, mode: str = "words") -> str:
    """Exactly `tokens` provider chunks (the offline provider cuts text into words with their whitespace)."""
    return "".join(stream_token(task_id, index, mode) for index in range(tokens))


def stream_tokens(text: str) -> list[str]:
    """The text as the offline provider cuts it into chunks (the same regular expression)."""
    from cockpit.offline.provider import _WORDS

    return _WORDS.findall(text)


def plan_file(path: Path, tasks: int, marker: str, agent: str = "coder") -> Path:
    """A plan of independent tasks t1..tN, each carrying the marker."""
    plan = [{"id": f"t{index}", "title": f"bench task {index}", "agent": agent, "depends_on": [],
             "description": f"Bench task {index}. {marker}"} for index in range(1, tasks + 1)]
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def turn_text(task_id: str, tokens: int, mode: str, turns: int, turn: int) -> str:
    """Turn `turn` of `turns`: a contiguous share of the task's text, so the turns add up to `stream_text`."""
    first, last = turn * tokens // turns, (turn + 1) * tokens // turns
    return "".join(stream_token(task_id, index, mode) for index in range(first, last))


_PREPARED: dict[tuple[str, int, str, int, int], str] = {}  # (task, tokens, mode, turns, turn) -> its text


def prepare_first_turns(task_ids: list[str], tokens: int, mode: str, turns: int) -> None:
    """Make each task's first turn now, before anything is timed, as the bare app's tokens are made before its
    clock starts; otherwise building 16 long turns at the barrier would count as our event-loop lag."""
    for task_id in task_ids:
        _PREPARED[(task_id, tokens, mode, turns, 0)] = turn_text(task_id, tokens, mode, turns, 0)


def _bench_turn(kind: str, params: dict[str, str], task_id: str, turns_played: int) -> ScriptedTurn:
    turns = int(params.get("turns", "1"))
    if kind == "stream" and turns_played < turns:
        key = (task_id, int(params.get("tokens", "100")), params.get("mode", "words"), turns, turns_played)
        text = _PREPARED.pop(key, None) or turn_text(*key)
        if turns_played < turns - 1:  # a cheap tool call keeps the agent loop going to the next turn
            return ScriptedTurn(text, [("read_file", {"path": "README.md"})])
        return ScriptedTurn(text, [("finish", {"summary": "streamed"})])
    if kind == "edit" and turns_played == 0:
        return ScriptedTurn("Editing one line.", [("edit_file", {
            "path": params["path"], "old_text": EDITED_LINE,
            "new_text": EDITED_LINE.replace("works.", "works, as the agent says."),
        })])
    return ScriptedTurn("Done.", [("finish", {"summary": "bench task done"})])


def install() -> Callable[[], None]:
    """Play the bench roles in this process; returns the function that puts the normal scripts back."""
    original = scripts.next_turn

    def next_turn(role: str, messages: list[dict[str, Any]]) -> ScriptedTurn:
        brief = scripts.parse_brief(scripts._content(messages[1]) if len(messages) > 1 else "")
        found = _MARKER.search(brief.description)
        if found is None:
            return original(role, messages)
        params = dict(item.split("=", 1) for item in found.group("params").split())
        played = sum(1 for message in messages[2:] if scripts._field(message, "role") == "assistant")
        return _bench_turn(found.group("kind"), params, brief.task_id, played)

    scripts.next_turn = next_turn

    def uninstall() -> None:
        scripts.next_turn = original

    return uninstall

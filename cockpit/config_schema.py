"""The shape of a cockpit config file and the checks that keep it strict.

The schema is data (tables of checks) so one walker can validate every file the same way and every error names the
dotted key and what was expected. Validation happens per file, before merging, so an error points at the file that
holds the bad value rather than at the merged result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

# Default key bindings, by binding id (Textual key names). The app builds its BINDINGS from these ids, so a user may
# remap exactly these and nothing else: an unknown id in [keys] is a typo we can report instead of ignoring.
DEFAULT_KEYS: dict[str, str] = {
    "approve": "a",
    "reject": "x",
    "toggle_hunk": "space",
    "reassign": "r",
    "edit_context": "e",
    "edit_context_external": "E",
    "pause": "p",
    "cancel": "c",
    "retry": "t",
    "new_task": "n",
    "undo": "u",
    "rerun_tests": "T",
    "deploy": "D",
    "next_decision": "ctrl+n",
    "next_hunk": "right_square_bracket",
    "prev_hunk": "left_square_bracket",
    "focus_stream": "enter",
    "next_pane": "tab",
    "help": "question_mark,f1",
    "palette": "ctrl+p",
    "quit": "q",
}


class SchemaError(Exception):
    """A value that does not fit the schema; `key` is dotted (`budget.task.usd`), `message` says what was wrong."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Check:
    """A leaf value: `expected` is the phrase shown after "expected" when `accepts` says no."""

    expected: str
    accepts: Callable[[Any], bool]


@dataclass(frozen=True)
class Table:
    """A TOML table with a fixed set of keys."""

    fields: Mapping[str, "Spec"]


@dataclass(frozen=True)
class MapOf:
    """A TOML table whose keys are names chosen by the user (agent names, binding ids), all checked by `value`."""

    value: Check
    allowed_keys: tuple[str, ...] | None = None
    key_kind: str = "key"


Spec = Union[Check, Table, MapOf]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    # TOML accepts inf and nan; neither makes sense as a timeout or a budget.
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _is_word(value: Any) -> bool:
    return _is_text(value) and not any(char.isspace() for char in value)


def _is_url(value: Any) -> bool:
    return _is_word(value) and value.startswith(("http://", "https://")) and len(value.split("://", 1)[1]) > 0


def _list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


POSITIVE_INT = Check("a positive integer", lambda v: _is_int(v) and v > 0)
NON_NEGATIVE_INT = Check("an integer of 0 or more", lambda v: _is_int(v) and v >= 0)
POSITIVE_NUMBER = Check("a positive number", lambda v: _is_number(v) and v > 0)
BOOLEAN = Check("true or false", lambda v: isinstance(v, bool))
TEXT = Check("a non-empty string", _is_text)
MODEL = Check('a model string such as "openai/gpt-4.1"', _is_word)
MODEL_LIST = Check('an array of model strings such as ["openai/gpt-4.1"]', _list_of(_is_word))
TEXT_LIST = Check("an array of non-empty strings", _list_of(_is_text))
URL = Check('an http:// or https:// URL such as "http://localhost:11434"', _is_url)
KEY = Check('a key name such as "a", "ctrl+p" or "f2" (several separated by commas)', _is_word)

BUDGET = Table({"tokens": POSITIVE_INT, "usd": POSITIVE_NUMBER, "seconds": POSITIVE_NUMBER})

SCHEMA = Table(
    {
        "max_parallel": POSITIVE_INT,
        "models": Table({"default": MODEL, "choices": MODEL_LIST, "agents": MapOf(MODEL, key_kind="agent name")}),
        "llm": Table(
            {
                "api_base": URL,
                "request_timeout": POSITIVE_NUMBER,
                "stall_timeout": POSITIVE_NUMBER,
                "max_attempts": POSITIVE_INT,
                "deadline": POSITIVE_NUMBER,
            }
        ),
        "tests": Table({"command": TEXT, "timeout": POSITIVE_NUMBER}),
        "budget": Table({"session": BUDGET, "task": BUDGET}),
        "policy": Table(
            {
                "allow": TEXT_LIST,
                "ask": TEXT_LIST,
                "deny": TEXT_LIST,
                "command_timeout": POSITIVE_NUMBER,
                "output_cap": POSITIVE_INT,
            }
        ),
        "keys": MapOf(KEY, allowed_keys=tuple(DEFAULT_KEYS), key_kind="binding id"),
        "ui": Table({"theme": TEXT, "bell": BOOLEAN}),
        "improve": Table({"max_rounds": NON_NEGATIVE_INT}),
        "review": Table({"each_change": BOOLEAN}),
        "git": Table({"commit": BOOLEAN}),
        "deploy": Table({"command": TEXT}),
        "offline": Table({"rate": POSITIVE_NUMBER}),
    }
)


def describe(value: Any) -> str:
    """Show a bad value the way the user wrote it in TOML, short enough for a one-line error."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 60 else shown[:56] + '..."'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def validate(data: Mapping[str, Any], spec: Table = SCHEMA, prefix: str = "") -> None:
    """Raise SchemaError for the first unknown key or badly typed value, in document order."""
    for key, value in data.items():
        dotted = _join(prefix, key)
        if key not in spec.fields:
            expected = ", ".join(spec.fields)
            where = f"[{prefix}]" if prefix else "the top level"
            raise SchemaError(dotted, f"unknown key (expected one of {expected} in {where})")
        _validate_value(value, spec.fields[key], dotted)


def _validate_value(value: Any, spec: Spec, dotted: str) -> None:
    if isinstance(spec, Check):
        if not spec.accepts(value):
            raise SchemaError(dotted, f"expected {spec.expected}, got {describe(value)}")
        return
    if not isinstance(value, dict):
        raise SchemaError(dotted, f"expected a table [{dotted}], got {describe(value)}")
    if isinstance(spec, Table):
        validate(value, spec, dotted)
        return
    for key, item in value.items():
        item_key = _join(dotted, key)
        if spec.allowed_keys is not None and key not in spec.allowed_keys:
            raise SchemaError(item_key, f"unknown {spec.key_kind} (expected one of {', '.join(spec.allowed_keys)})")
        _validate_value(item, spec.value, item_key)

"""One turn of the offline model: what it says and which tools it calls."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScriptedTurn:
    text: str
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)   # (tool name, arguments)

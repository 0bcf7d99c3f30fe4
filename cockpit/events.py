"""The event contract: everything the engine does is one of these, journaled before anyone sees it.

Every event carries `type`, `seq`, `ts` and `session_id`; the rest of its fields depend on the type and are listed
in `EVENT_FIELDS` (the public contract in DESIGN.md). Engine-internal events used to rebuild state on resume are
prefixed with nothing special but are documented in README's "Events" section too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

# The public contract: type -> required data fields. Extra fields are allowed (documented in README).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "session_started": ("goal", "repo"),
    "plan_proposed": ("tasks",),
    "plan_approved": (),
    "task_updated": ("task_id", "status", "agent"),
    "agent_output": ("task_id", "agent", "text"),
    "tool_called": ("task_id", "tool", "args"),
    "tool_result": ("task_id", "tool", "ok", "summary"),
    "change_proposed": ("change_id", "task_id", "files", "diff"),
    "change_decided": ("change_id", "decision", "hunks"),
    "change_applied": ("change_id", "files"),
    "change_conflicted": ("change_id", "files"),
    "tests_finished": ("task_id", "passed", "failed", "errors", "skipped", "tests"),
    "findings_reported": ("task_id", "findings"),
    "usage": ("task_id", "model", "prompt_tokens", "completion_tokens", "cost_usd"),
    "error": ("task_id", "kind", "message"),
    "session_finished": ("status", "summary"),
    # Engine events beyond the minimal contract, needed to rebuild a session from its journal.
    "context_edited": ("shared_context",),
    "task_edited": ("task_id",),
    "task_added": ("task",),
    "plan_rejected": ("reason",),
    "decision_requested": ("request_id", "kind", "task_id", "prompt"),
    "decision_resolved": ("request_id", "decision"),
    "session_paused": (),
    "session_resumed": (),
    "user_edited": ("paths",),
    "change_stale": ("change_id", "files"),
    "note_sent": ("task_id", "text"),
    "change_undone": ("change_id", "files"),
    "change_committed": ("change_id", "commit"),
    "branch_changed": ("message",),
    "orphans_found": ("orphans",),
    "deploy_finished": ("ok", "exit_code", "output"),
}

TASK_STATUSES = ("pending", "ready", "running", "waiting", "done", "failed", "cancelled")
SESSION_STATUSES = ("completed", "failed", "stopped")


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    seq: int
    ts: float
    session_id: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "seq": self.seq, "ts": self.ts, "session_id": self.session_id, **self.data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Event":
        data = {k: v for k, v in row.items() if k not in ("type", "seq", "ts", "session_id")}
        return cls(row["type"], int(row["seq"]), float(row["ts"]), row["session_id"], data)


def check_fields(type_: str, data: dict[str, Any]) -> None:
    """Refuse an event that does not satisfy the contract: a bug in the engine, never user input."""
    try:
        required = EVENT_FIELDS[type_]
    except KeyError:
        raise ValueError(f"unknown event type {type_!r}") from None
    missing = [name for name in required if name not in data]
    if missing:
        raise ValueError(f"event {type_!r} is missing {', '.join(missing)}")


def now() -> float:
    return time.time()

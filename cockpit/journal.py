"""The journal: every event of every session, appended to one SQLite file (WAL) before anyone sees it.

A session's state is the fold of its events (see `state.py`), so this file is the only durable record the
engine needs besides git objects. Each append is its own transaction: a process killed at any instant leaves a
journal that ends at the last whole event.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from .events import Event, check_fields

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    goal TEXT NOT NULL,
    repo TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
"""


class JournalError(Exception):
    """The journal file cannot be opened or read (one line, names the file)."""


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a process crash (not a power cut), at a fraction of FULL's cost.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{path}: cannot open the journal: {exc}") from None
        self._next_seq: dict[str, int] = {}

    def close(self) -> None:
        self._db.close()

    def create_session(self, session_id: str, goal: str, repo: str) -> None:
        self._db.execute(
            "INSERT INTO sessions (id, created, goal, repo) VALUES (?, ?, ?, ?)",
            (session_id, time.time(), goal, repo),
        )
        self._next_seq[session_id] = 1

    def set_goal(self, session_id: str, goal: str) -> None:
        self._db.execute("UPDATE sessions SET goal = ? WHERE id = ?", (goal, session_id))

    def append(self, session_id: str, type_: str, data: dict[str, Any]) -> Event:
        check_fields(type_, data)
        seq = self._seq_for(session_id)
        event = Event(type_, seq, time.time(), session_id, data)
        self._db.execute(
            "INSERT INTO events (session_id, seq, ts, type, data) VALUES (?, ?, ?, ?, ?)",
            (session_id, seq, event.ts, type_, json.dumps(data, ensure_ascii=False, separators=(",", ":"))),
        )
        self._next_seq[session_id] = seq + 1
        return event

    def events(self, session_id: str, after: int = 0) -> Iterator[Event]:
        rows = self._db.execute(
            "SELECT seq, ts, type, data FROM events WHERE session_id = ? AND seq > ? ORDER BY seq",
            (session_id, after),
        )
        for seq, ts, type_, data in rows:
            yield Event(type_, seq, ts, session_id, json.loads(data))

    def sessions(self) -> list[tuple[str, float, str]]:
        """(id, created, goal) of every session, newest first."""
        rows = self._db.execute("SELECT id, created, goal FROM sessions ORDER BY created DESC, id DESC")
        return [tuple(row) for row in rows]

    def latest_session(self) -> str | None:
        found = self.sessions()
        return found[0][0] if found else None

    def has_session(self, session_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return row is not None

    def _seq_for(self, session_id: str) -> int:
        seq = self._next_seq.get(session_id)
        if seq is None:
            row = self._db.execute("SELECT MAX(seq) FROM events WHERE session_id = ?", (session_id,)).fetchone()
            seq = (row[0] or 0) + 1
        return seq

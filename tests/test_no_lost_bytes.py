"""Proofs that applying, rejecting and undoing agents' changes never loses a byte the user wrote.

The property test runs random interleavings on a real repo. Every line is a unique token (u7 from the user, a3
from an agent, i2 at the start), so "the user's bytes" are exact: a token the user wrote must stay in its file
unless the user replaced it, or an approved change whose base held that token removed it (the agent worked on
top of the user's edit and the human approved that hunk). That is the model `Repo.expected` tracks.

Also checked at every step: a conflicted apply or undo leaves every file byte-identical; an applied selection holds
its approved lines and none of the hunks left out; an undo with no file touched since its apply restores the prior
bytes exactly, and any successful undo removes what the apply added and brings back what it removed.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.gitdiff import parse_hunks
from cockpit.workspace import Workspace
from gitrepo import make_repo

FILES = ("a.txt", "b.txt", "c.txt")


def tokens(data: bytes) -> list[str]:
    return data.decode().split()


@dataclass
class Pending:
    change_id: str
    task_id: str
    base: str
    commit: str


@dataclass
class Applied:
    change_id: str
    base: str
    commit: str  # what was applied (the selected hunks)
    before: dict[str, bytes]  # every file's bytes just before the apply
    after: dict[str, bytes]  # and just after it
    versions: dict[str, int]  # file versions right after it


@dataclass
class Repo:
    root: Path
    ws: Workspace
    expected: dict[str, set[str]] = field(default_factory=dict)  # user tokens each file must still hold
    versions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILES, 0))
    pending: list[Pending] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    counter: int = 0

    def next_token(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def all_bytes(self) -> dict[str, bytes]:
        return {name: self.read(name) for name in FILES}

    def at(self, commit: str, name: str) -> set[str]:
        return set(tokens(self.ws.read_blob(self.ws.tree_blobs(commit, [name])[name][1])))

    def check(self) -> None:
        for name in FILES:
            missing = self.expected[name] - set(tokens(self.read(name)))
            assert not missing, f"user bytes lost from {name}: {sorted(missing)}"


def edit_lines(lines: list[str], draw, new_token) -> list[str]:
    """One edit at a random place: replace, insert or delete a line."""
    kind = draw(st.sampled_from(["replace", "insert", "delete"] if lines else ["insert"]))
    at = draw(st.integers(0, max(len(lines) - (kind != "insert"), 0)))
    lines = list(lines)
    if kind == "replace":
        lines[at] = new_token()
    elif kind == "insert":
        lines.insert(at, new_token())
    else:
        del lines[at]
    return lines


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_bytes("".join(f"{line}\n" for line in lines).encode())


def user_edit(repo: Repo, draw) -> None:
    name = draw(st.sampled_from(FILES))
    old = tokens(repo.read(name))
    new = edit_lines(old, draw, lambda: repo.next_token("u"))
    write_lines(repo.root / name, new)
    repo.expected[name] = (repo.expected[name] - set(old)) | {t for t in new if t.startswith("u")}
    repo.versions[name] += 1


def agent_change(repo: Repo, draw) -> None:
    task_id = repo.next_token("t")
    base = repo.ws.snapshot_base()
    names = draw(st.lists(st.sampled_from(FILES), min_size=1, max_size=2, unique=True))

    def edit(worktree: Path) -> None:
        for name in names:
            lines = tokens((worktree / name).read_bytes())
            for _ in range(draw(st.integers(1, 3))):
                lines = edit_lines(lines, draw, lambda: repo.next_token("a"))
            write_lines(worktree / name, lines)

    worktree = repo.ws.create_worktree("s", task_id, base)
    edit(worktree)
    commit = repo.ws.record_change(worktree, base, f"change of {task_id}")
    if commit is None:  # the edits cancelled out
        repo.ws.discard_worktree("s", task_id)
        return
    repo.pending.append(Pending(f"{task_id}.1", task_id, base, commit))


def approve(repo: Repo, draw) -> None:
    change = repo.pending.pop(draw(st.integers(0, len(repo.pending) - 1)))
    keys = [(f.path, i) for f in parse_hunks(repo.ws.diff(change.base, change.commit).diff)
            for i in range(max(len(f.hunks), 1))]
    keep = keys if draw(st.booleans()) else draw(st.lists(st.sampled_from(keys), min_size=1, unique=True))
    selected = repo.ws.select_hunks(change.base, change.commit, keep)
    repo.ws.discard_worktree("s", change.task_id)
    assert selected is not None
    before = repo.all_bytes()
    result = repo.ws.apply_change(change.change_id, change.base, selected)
    if result.conflicted:
        assert result.applied == [] and repo.all_bytes() == before, "a conflicted apply wrote something"
        return
    for name in repo.ws.diff(change.base, selected).files:
        at_base, approved, proposed = (repo.at(c, name) for c in (change.base, selected, change.commit))
        now = set(tokens(repo.read(name)))
        assert approved - at_base <= now, "an approved line is missing"
        assert not (proposed - approved - at_base) & now, "a hunk left out was applied"
        repo.expected[name] -= at_base - approved  # the human approved replacing these
        repo.versions[name] += 1
    after = repo.all_bytes()
    repo.applied.append(Applied(change.change_id, change.base, selected, before, after, dict(repo.versions)))


def reject(repo: Repo, draw) -> None:
    change = repo.pending.pop(draw(st.integers(0, len(repo.pending) - 1)))
    before = repo.all_bytes()
    repo.ws.discard_worktree("s", change.task_id)
    assert repo.all_bytes() == before


def undo_last(repo: Repo, draw) -> None:
    last = repo.applied.pop()
    untouched_since = repo.versions == last.versions
    before = repo.all_bytes()
    result = repo.ws.undo_change(last.change_id)
    if result.conflicted:
        assert not untouched_since, "an undo with nothing in its way conflicted"
        assert repo.all_bytes() == before, "a conflicted undo wrote something"
        return
    if untouched_since:
        assert repo.all_bytes() == last.before, "undo did not restore the prior content"
    for name in FILES:
        was, became = set(tokens(last.before[name])), set(tokens(last.after[name]))
        now = set(tokens(repo.read(name)))
        assert not (became - was) & now, "undo left a line the apply added"
        assert (was - became) <= now, "undo did not bring back a line the apply removed"
        repo.expected[name] |= {t for t in was - became if t.startswith("u")}  # the user's lines are back
        if was != became:
            repo.versions[name] += 1


OPERATIONS = {"user_edit": user_edit, "agent_change": agent_change, "approve": approve, "reject": reject,
              "undo": undo_last}


def possible(repo: Repo) -> list[str]:
    """The operations that make sense now, repeated to weigh them: user edits are cheap and often land between a
    change and its review; agent changes and approvals cost real git work, so at most two are pending."""
    names = ["user_edit"] * 3 + ["agent_change"] * (len(repo.pending) < 2)
    if repo.pending:
        names += ["approve", "approve", "reject"] if len(repo.pending) > 1 else ["approve", "approve"]
    if repo.applied:
        names += ["undo", "undo"]
    return names


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_no_byte_the_user_wrote_is_ever_lost(data) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cockpit-nolost-"))
    try:
        files = {name: "".join(f"i{n}{name[0]}\n" for n in range(10)) for name in FILES}
        root = make_repo(tmp / "repo", files)
        repo = Repo(root, Workspace(root), expected={name: set() for name in FILES})
        for _ in range(data.draw(st.integers(6, 20), label="steps")):
            operation = data.draw(st.sampled_from(possible(repo)), label="operation")
            OPERATIONS[operation](repo, data.draw)
            repo.check()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

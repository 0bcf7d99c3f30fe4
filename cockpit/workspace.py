"""The one place that talks to git: base snapshots, task worktrees, recorded changes, diffs, apply and undo.

Invariants (DESIGN.md, engineering rules): the user's index, HEAD and branch are never touched; the user's files
change only through apply_change/undo_change, 3-way, all or nothing, after a snapshot of their prior content; no
`reset --hard`, `clean` or `checkout -- .` ever runs on the user's tree. Our commits go through plumbing
(write-tree, commit-tree, update-ref) so the user's hooks, signing setup and identity play no part.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import git
from gitdb import IStream

from cockpit.apply import ApplyResult, ChangeApplier

_IDENTITY = {
    "GIT_AUTHOR_NAME": "cockpit", "GIT_AUTHOR_EMAIL": "cockpit@localhost",
    "GIT_COMMITTER_NAME": "cockpit", "GIT_COMMITTER_EMAIL": "cockpit@localhost",
}
# Caches that test runs and tools leave behind: never part of a base snapshot or of an agent's change.
JUNK_PATHSPECS = tuple(
    f":(exclude,glob)**/{pattern}"
    for pattern in ("__pycache__/**", "*.pyc", ".pytest_cache/**", ".mypy_cache/**", ".ruff_cache/**",
                    ".venv/**", "node_modules/**", ".tox/**")
)
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_TEXT_PROBE = 8000  # git's own binary heuristic: a NUL byte in the first 8000 bytes


class NotAGitRepo(Exception):
    """The folder is not inside a git working tree."""


@dataclass
class ChangeDiff:
    files: list[str]
    diff: str
    binary: list[str]


@dataclass(frozen=True)
class _State:
    """What one path holds: a regular file (data, exec bit) or a symlink (data = target)."""

    kind: str  # "file" or "link"
    data: bytes
    executable: bool = False

    @property
    def git_mode(self) -> str:
        return "120000" if self.kind == "link" else ("100755" if self.executable else "100644")

    @property
    def binary(self) -> bool:
        return b"\0" in self.data[:_TEXT_PROBE]


_CONFLICT = _State("conflict", b"")  # what _merged_state answers when a path takes a human


@dataclass
class _Write:
    path: str
    before: _State | None
    after: _State | None


def check_id(value: str, what: str) -> str:
    """Session, task and change ids become ref and folder names: keep them to a safe alphabet."""
    if not _SAFE_ID.fullmatch(value or "") or ".." in value or value.endswith((".", ".lock")):
        raise ValueError(f"invalid {what} {value!r}: use letters, digits, '.', '_' and '-' only")
    return value


def _open_repo(repo_path: Path | str | None) -> git.Repo:
    path = Path(repo_path) if repo_path else Path.cwd()
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise NotAGitRepo(f"not a git repository: {path} (run `git init` or pass --repo)") from None
    if repo.working_tree_dir is None:
        raise NotAGitRepo(f"not a git repository with a working tree (bare): {path}")
    return repo


def find_repo_root(repo_path: Path | str | None = None) -> Path:
    """The root of the git working tree holding `repo_path` (default: the current folder); writes nothing."""
    return Path(_open_repo(repo_path).working_tree_dir).resolve()


class Workspace:
    def __init__(self, repo_path: Path) -> None:
        self.repo = _open_repo(repo_path)
        self.root = Path(self.repo.working_tree_dir).resolve()
        self.cockpit_dir = self.root / ".cockpit"
        self._tmp_dir = self.cockpit_dir / "tmp"
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        # One git conversation at a time: gitpython's persistent cat-file processes are not thread-safe.
        self._lock = threading.RLock()
        self._exclude_cockpit_dir()
        self.applier = ChangeApplier(self)  # hunk selection, apply and undo (cockpit/apply.py)

    # -- git plumbing -------------------------------------------------------------------------------------------

    def _git(self, *args: str, cwd: Path | None = None, env: dict | None = None, check: bool = True) -> str:
        out = self._git_bytes(*args, cwd=cwd, env=env, check=check)
        return out.decode("utf-8", "surrogateescape").strip()

    def _git_bytes(self, *args: str, cwd: Path | None = None, env: dict | None = None, check: bool = True) -> bytes:
        # Hooks are switched off: a user's post-checkout hook has no business running in our worktrees.
        command = ["git", "-C", str(cwd or self.root), "-c", "core.hooksPath=/dev/null", "-c", "core.quotePath=false",
                   *args]
        status, out, err = self.repo.git.execute(
            command, env=env, with_extended_output=True, with_exceptions=False, stdout_as_string=False,
            strip_newline_in_stdout=False,
        )
        if check and status != 0:
            message = err.decode("utf-8", "replace").strip() if isinstance(err, bytes) else str(err).strip()
            raise git.GitCommandError(command, status, message)
        return out

    def _rev(self, revision: str) -> str | None:
        sha = self._git("rev-parse", "--verify", "-q", revision, check=False)
        return sha or None

    def _commit_tree(self, tree: str, message: str, parents: Iterable[str] = (), env: dict | None = None) -> str:
        parent_args = [arg for parent in parents for arg in ("-p", parent)]
        return self._git("commit-tree", tree, *parent_args, "--no-gpg-sign", "-m", message,
                         env={**_IDENTITY, **(env or {})})

    def _store_blob(self, data: bytes) -> str:
        return self.repo.odb.store(IStream("blob", len(data), io.BytesIO(data))).hexsha.decode()

    def read_blob(self, sha: str) -> bytes:
        with self._lock:
            return self.repo.odb.stream(bytes.fromhex(sha)).read()

    @contextlib.contextmanager
    def _temp_index(self, seed: Path | None = None) -> Iterator[dict]:
        """An environment whose GIT_INDEX_FILE is ours alone; `seed` is copied in first (for its stat cache)."""
        with tempfile.TemporaryDirectory(dir=self._tmp_dir) as tmp:
            index = Path(tmp) / "index"
            if seed is not None and seed.is_file():
                shutil.copyfile(seed, index)
            yield {"GIT_INDEX_FILE": str(index)}

    def _tree_of(self, states: dict[str, _State]) -> str:
        """A tree holding exactly these paths, built in a throwaway index."""
        with self._temp_index() as env:
            items = [f"{state.git_mode},{self._store_blob(state.data)},{path}" for path, state in states.items()]
            for start in range(0, len(items), 500):  # stay far below the argument length limit
                chunk = [arg for item in items[start : start + 500] for arg in ("--cacheinfo", item)]
                self._git("update-index", "--add", *chunk, env=env)
            return self._git("write-tree", env=env)

    def _exclude_cockpit_dir(self) -> None:
        exclude = Path(self.repo.common_dir) / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        lines = exclude.read_text(encoding="utf-8").splitlines() if exclude.is_file() else []
        if ".cockpit/" not in (line.strip() for line in lines):
            with exclude.open("a", encoding="utf-8") as handle:
                prefix = "\n" if lines and not exclude.read_text(encoding="utf-8").endswith("\n") else ""
                handle.write(f"{prefix}# cockpit's journal, worktrees and logs\n.cockpit/\n")

    # -- base snapshots and worktrees ---------------------------------------------------------------------------

    def snapshot_base(self) -> str:
        """A commit of what the user sees now: tracked files with their edits plus untracked, non-ignored files."""
        with self._lock:
            user_index = self.root / self._git("rev-parse", "--git-path", "index")  # absolute paths stay absolute
            head = self._rev("HEAD^{commit}")
            with self._temp_index(seed=user_index) as env:
                self._git("add", "--all", "--", ".", *JUNK_PATHSPECS, env=env)
                tree = self._git("write-tree", env=env)
            sha = self._commit_tree(tree, "cockpit: base snapshot of the working tree", [head] if head else [])
            self._git("update-ref", f"refs/cockpit/bases/{sha}", sha)
            return sha

    def worktree_path(self, session_id: str, task_id: str) -> Path:
        return self.cockpit_dir / "worktrees" / check_id(session_id, "session id") / check_id(task_id, "task id")

    @staticmethod
    def branch_name(session_id: str, task_id: str) -> str:
        return f"cockpit/{session_id}/{task_id}"

    def create_worktree(self, session_id: str, task_id: str, base: str) -> Path:
        path = self.worktree_path(session_id, task_id)
        branch = self.branch_name(session_id, task_id)
        with self._lock:
            if (path / ".git").is_file():
                return path  # resumed after a crash: the worktree and its work are still there
            if path.exists():
                shutil.rmtree(path)  # a half-made worktree of ours, with no .git link: nothing to keep
            self._git("worktree", "prune")
            path.parent.mkdir(parents=True, exist_ok=True)
            if self._rev(f"refs/heads/{branch}"):
                self._git("worktree", "add", str(path), branch)
            else:
                self._git("worktree", "add", "--no-track", "-b", branch, str(path), base)
            return path

    def discard_worktree(self, session_id: str, task_id: str) -> None:
        """Remove our worktree and its branch. Callers only do this once its change was applied or rejected."""
        path = self.worktree_path(session_id, task_id)
        with self._lock:
            if (path / ".git").is_file():
                self._git("worktree", "remove", "--force", str(path))
            elif path.exists():
                shutil.rmtree(path)
            self._git("worktree", "prune")
            branch = self.branch_name(session_id, task_id)
            if self._rev(f"refs/heads/{branch}"):
                self._git("branch", "-D", branch)

    def reset_worktree(self, session_id: str, task_id: str, base: str) -> Path:
        """A fresh worktree at `base` for a retry (the previous attempt's branch goes with it)."""
        with self._lock:
            self.discard_worktree(session_id, task_id)
            return self.create_worktree(session_id, task_id, base)

    def _own_worktree(self, worktree: Path) -> Path:
        worktree = Path(worktree).resolve()
        if (self.cockpit_dir / "worktrees").resolve() not in worktree.parents:
            raise ValueError(f"not a cockpit worktree: {worktree}")
        return worktree

    # -- changes ------------------------------------------------------------------------------------------------

    def record_change(self, worktree: Path, base: str, message: str) -> str | None:
        """Commit everything in a task worktree on its branch; None when its tree equals base."""
        worktree = self._own_worktree(worktree)
        with self._lock:
            self._git("add", "--all", "--", ".", *JUNK_PATHSPECS, cwd=worktree)
            tree = self._git("write-tree", cwd=worktree)
            if tree == self._git("rev-parse", f"{base}^{{tree}}"):
                return None
            head = self._git("rev-parse", "HEAD", cwd=worktree)
            if tree == self._git("rev-parse", "HEAD^{tree}", cwd=worktree):
                return head  # already recorded
            sha = self._commit_tree(tree, message, [head])
            self._git("update-ref", "-m", "cockpit: record change", "HEAD", sha, head, cwd=worktree)
            return sha

    # What shapes hunks is pinned, so the hunks a person toggles are the hunks select_hunks finds, whatever the
    # user's diff settings; no textconv, so the text is a patch git can apply.
    _DIFF_OPTIONS = ("--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--no-relative",
                     "--inter-hunk-context=0", "--diff-algorithm=myers", "--indent-heuristic")

    def patch_text(self, base: str, commit: str) -> str:
        """`git diff base commit` as a patch; undecodable bytes kept as surrogates so it applies byte for byte."""
        with self._lock:
            text = self._git_bytes("-c", "diff.suppressBlankEmpty=false", "diff", "--src-prefix=a/",
                                   "--dst-prefix=b/", "-U3", *self._DIFF_OPTIONS, base, commit)
        return text.decode("utf-8", "surrogateescape")

    def diff(self, base: str, commit: str) -> ChangeDiff:
        common = [*self._DIFF_OPTIONS, base, commit]
        text = self.patch_text(base, commit).encode("utf-8", "surrogateescape")
        with self._lock:
            numstat = self._git_bytes("diff", "--numstat", "-z", *common)
        files, binary = [], []
        for record in numstat.decode("utf-8", "surrogateescape").split("\0"):
            if record:
                added, _, path = record.split("\t", 2)
                files.append(path)
                if added == "-":
                    binary.append(path)
        return ChangeDiff(files=files, diff=text.decode("utf-8", "replace"), binary=binary)

    def select_hunks(self, base: str, commit: str, keep: Iterable[tuple[str, int]], message: str = "") -> str | None:
        """A commit on top of `base` holding only the kept (path, hunk index) pairs of base..commit (apply.py)."""
        return self.applier.select_hunks(base, commit, keep, message)

    # -- comparing with the user's tree, rebasing ---------------------------------------------------------------

    def tree_blobs(self, commit: str, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(mode, object sha) of each of `paths` that `commit` holds; paths it does not hold are left out."""
        wanted, found = sorted(set(paths)), {}
        with self._lock:
            for start in range(0, len(wanted), 500):  # stay far below the argument length limit
                chunk = wanted[start : start + 500]
                out = self._git_bytes("--literal-pathspecs", "ls-tree", "-z", commit, "--", *chunk)
                for record in out.decode("utf-8", "surrogateescape").split("\0"):
                    meta, _, path = record.partition("\t")
                    if path in chunk:
                        mode, _kind, sha = meta.split(" ")
                        found[path] = (mode, sha)
        return found

    def working_file(self, path: str) -> tuple[str, bytes] | None:
        """The user's `path` as (git mode, raw bytes or a symlink's target), None when nothing is there.

        A folder in the way, or a path under a symlinked folder (never read: it leads out of the repo), is ("?", b"").
        """
        state = self._user_state(path)
        if isinstance(state, str):
            return ("?", b"")
        return None if state is None else (state.git_mode, state.data)

    def working_blobs(self, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(mode, blob sha) of the user's `paths` as `git add` would store them (filters applied), comparable with
        tree_blobs; paths with nothing there are left out, and what working_file reads as "?" is ("?", "")."""
        found: dict[str, tuple[str, str]] = {}
        regular: list[str] = []
        with self._lock:
            for path in sorted(set(paths)):
                state = self._user_state(path)
                if isinstance(state, str):
                    found[path] = ("?", "")
                elif state is not None and state.kind == "link":  # hash-object would follow the link
                    found[path] = (state.git_mode, self._store_blob(state.data))
                elif state is not None:
                    found[path] = (state.git_mode, "")
                    regular.append(path)
            for start in range(0, len(regular), 500):
                chunk = regular[start : start + 500]
                out = self._git("hash-object", "--", *chunk, check=False).split("\n")
                if len(out) != len(chunk):  # a file went away meanwhile: ask one by one
                    out = [self._git("hash-object", "--", path, check=False) for path in chunk]
                for path, sha in zip(chunk, out):
                    if sha:
                        found[path] = (found[path][0], sha)
                    else:
                        del found[path]
        return found

    def merge_onto(self, base: str, commit: str, onto: str, message: str) -> tuple[str | None, list[str]]:
        """Re-apply base..commit on top of commit `onto`, 3-way per file exactly as apply_change merges, in git
        objects only: no file of the user's is read or written.

        Returns (the new commit, kept by refs/cockpit/rebased/<sha>, []) or (None, the conflicted paths); the
        commit is None too when `onto` already holds the whole change.
        """
        with self._lock:
            entries = self._raw_changes(base, commit)
            there = self.tree_blobs(onto, [entry[0] for entry in entries])
            merged: dict[str, _State | None] = {}
            conflicted = []
            for path, old_mode, old_sha, new_mode, new_sha in entries:
                current = self._blob_state(*there[path]) if path in there else None
                old, new = self._blob_state(old_mode, old_sha), self._blob_state(new_mode, new_sha)
                state = self._merged_state(current, old, new)
                if state is _CONFLICT:
                    conflicted.append(path)
                else:
                    merged[path] = state
            if conflicted:
                return None, conflicted
            with self._temp_index() as env:
                self._git("read-tree", onto, env=env)
                for path, state in merged.items():
                    if state is None:
                        self._git("update-index", "--force-remove", "--", path, env=env)
                    else:
                        info = f"{state.git_mode},{self._store_blob(state.data)},{path}"
                        self._git("update-index", "--add", "--cacheinfo", info, env=env)
                tree = self._git("write-tree", env=env)
            if tree == self._git("rev-parse", f"{onto}^{{tree}}"):
                return None, []
            sha = self._commit_tree(tree, message, [onto])
            self._git("update-ref", f"refs/cockpit/rebased/{sha}", sha)  # kept from gc, like the bases
            return sha, []

    # -- applying to the user's tree ----------------------------------------------------------------------------

    def apply_change(self, change_id: str, base: str, commit: str) -> ApplyResult:
        """Apply base..commit to the user's working tree, 3-way per file, all or nothing, after a snapshot;
        calling it again for the same change finishes an apply that was cut short (apply.py)."""
        return self.applier.apply(check_id(change_id, "change id"), base, commit)

    def undo_change(self, change_id: str) -> ApplyResult:
        """Put back what an applied change replaced, 3-way too: edits the user made since are never discarded."""
        return self.applier.undo(check_id(change_id, "change id"))

    def _raw_changes(self, base: str, commit: str) -> list[tuple[str, str, str, str, str]]:
        raw = self._git_bytes("diff", "--raw", "-z", "--no-abbrev", "--no-renames", "--no-relative", base, commit)
        fields = raw.decode("utf-8", "surrogateescape").split("\0")
        entries = []
        for meta, path in zip(fields[0::2], fields[1::2]):
            old_mode, new_mode, old_sha, new_sha, _status = meta.lstrip(":").split(" ")
            entries.append((path, old_mode, old_sha, new_mode, new_sha))
        return entries

    def _blob_state(self, mode: str, sha: str) -> _State | None:
        if mode == "000000":
            return None
        if mode not in ("100644", "100755", "120000"):
            return _State("submodule", sha.encode())  # never applied: always a conflict
        return _State("link" if mode == "120000" else "file", self.read_blob(sha), mode == "100755")

    def _user_state(self, path: str) -> _State | None | str:
        """The user's current content at `path`; a string explains why the path cannot be written safely."""
        target = self.root / path
        for folder in [target.parent, *target.parent.parents]:
            if folder == self.root or self.root not in folder.parents:
                break
            if folder.is_symlink():
                return "a parent folder is a symlink"  # writing through it would land somewhere else
            if folder.exists() and not folder.is_dir():
                return "a parent folder is a file"
        if os.path.islink(target):
            return _State("link", os.fsencode(os.readlink(target)))
        if target.is_file():
            return _State("file", target.read_bytes(), bool(os.stat(target).st_mode & 0o100))
        if target.exists():
            return "a folder or special file is in the way"
        return None

    def _merged_state(self, current: _State | None, base: _State | None, new: _State | None) -> _State | None:
        """The 3-way result for one path (None: no file), or _CONFLICT when it takes a human."""
        if "submodule" in (getattr(current, "kind", ""), getattr(base, "kind", ""), getattr(new, "kind", "")):
            return _CONFLICT
        if current == new:
            return current  # the other side already has it
        if current == base:
            return new
        if current is None or base is None or new is None:
            return _CONFLICT  # added on both sides differently, or deleted on one side and edited on the other
        if "link" in (current.kind, base.kind, new.kind) or current.binary or base.binary or new.binary:
            return _CONFLICT
        merged = self._merge_text(current.data, base.data, new.data)
        if merged is None:
            return _CONFLICT
        # The change's mode wins only where the user kept the base's mode.
        executable = new.executable if current.executable == base.executable else current.executable
        return _State("file", merged, executable)

    def _merge_text(self, current: bytes, base: bytes, new: bytes) -> bytes | None:
        with tempfile.TemporaryDirectory(dir=self._tmp_dir) as tmp:
            names = []
            for name, data in (("current", current), ("base", base), ("change", new)):
                (Path(tmp) / name).write_bytes(data)
                names.append(str(Path(tmp) / name))
            status, out, _ = self.repo.git.execute(
                ["git", "merge-file", "-p", "-L", "yours", "-L", "base", "-L", "change", *names],
                with_extended_output=True, with_exceptions=False, stdout_as_string=False,
                strip_newline_in_stdout=False,
            )
        return out if status == 0 else None

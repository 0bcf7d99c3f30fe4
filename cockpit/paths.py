"""Path confinement (every path an agent names resolves inside its worktree, or is refused) and safe file writes.

The refusal messages are shown to the model verbatim, so each one says what was wrong in one line.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path, PurePosixPath


class PathRefused(ValueError):
    """A path an agent may not use; str(exc) is the one line the model sees."""


def _is_git_dir_part(part: str) -> bool:
    # Case-insensitive: on macOS and Windows ".GIT/config" is the same file as ".git/config".
    return part.lower() == ".git"


def confine(root: Path, rel: str) -> Path:
    """Return the resolved absolute path of `rel` inside `root`, or raise PathRefused.

    Refused: empty paths, NUL bytes, absolute paths, `..` escapes, symlinks (in any component) that resolve
    outside root, and anything inside `.git` (a directory in a repo, a file in a linked worktree).
    A path that does not exist yet is allowed when it resolves inside root (write_file creates it).
    """
    if not isinstance(rel, str) or not rel.strip():
        raise PathRefused("refused: empty path")
    if "\x00" in rel:
        raise PathRefused("refused: path contains a NUL byte")
    if rel.startswith(("/", "\\", "~")) or os.path.isabs(rel):
        raise PathRefused(f"refused: absolute paths are not allowed, use a path relative to the worktree: {rel}")

    lexical = os.path.normpath(rel)
    if lexical == ".." or lexical.startswith("../"):
        raise PathRefused(f"refused: path escapes the worktree: {rel}")
    if any(_is_git_dir_part(part) for part in PurePosixPath(rel).parts):
        raise PathRefused(f"refused: .git is off limits: {rel}")

    real_root = Path(root).resolve()
    # resolve(strict=False) follows every symlink that exists and keeps the missing tail as written.
    resolved = (real_root / rel).resolve()
    try:
        inside = resolved.relative_to(real_root)
    except ValueError:
        raise PathRefused(f"refused: symlink points outside the worktree: {rel}") from None
    if any(_is_git_dir_part(part) for part in inside.parts):
        # A symlink inside the worktree that lands on .git is as bad as naming .git.
        raise PathRefused(f"refused: .git is off limits: {rel}")
    return resolved


def _default_file_mode() -> int:
    # The umask can only be read by setting it; do it once, at import, before any thread exists.
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


DEFAULT_FILE_MODE = _default_file_mode()


def with_exec_bits(mode: int, executable: bool) -> int:
    """`mode` with execute bits set where read bits are (like git's 100755), or cleared."""
    return mode | ((mode & 0o444) >> 2) if executable else mode & ~0o111


def write_atomic(path: Path, data: bytes, *, executable: bool | None = None) -> None:
    """Replace `path` with `data` in one step (temp file in the same folder, then os.replace).

    An existing file keeps its permission bits; `executable` sets or clears the execute bits. Readers never see
    a half-written file, and a crash leaves either the old or the new content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = os.lstat(path)
        mode = current.st_mode & 0o7777 if not os.path.islink(path) else DEFAULT_FILE_MODE
    except FileNotFoundError:
        mode = DEFAULT_FILE_MODE
    if executable is not None:
        mode = with_exec_bits(mode, executable)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".cockpit-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def symlink_atomic(path: Path, target: str) -> None:
    """Make `path` a symlink to `target`, replacing whatever is there in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{id(target)}.cockpit-tmp"
    os.symlink(target, tmp)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_file(path: Path, stop_at: Path) -> None:
    """Delete a file, then the folders it leaves empty, up to (not including) `stop_at`."""
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    parent = path.parent
    while parent != stop_at and stop_at in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break  # not empty, or not ours to remove
        parent = parent.parent

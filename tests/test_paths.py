from __future__ import annotations

import os
from pathlib import Path

import pytest

from cockpit.paths import PathRefused, confine, remove_file, write_atomic


@pytest.fixture
def root(tmp_path: Path) -> Path:
    tree = tmp_path / "worktree"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "app.py").write_text("print('hi')\n")
    return tree


def refusal(root: Path, rel: str) -> str:
    with pytest.raises(PathRefused) as caught:
        confine(root, rel)
    message = str(caught.value)
    assert message.startswith("refused: ") and "\n" not in message
    return message


def test_relative_path_inside_is_resolved(root: Path) -> None:
    assert confine(root, "src/app.py") == (root / "src" / "app.py").resolve()
    assert confine(root, "./src/../src/app.py") == (root / "src" / "app.py").resolve()
    assert confine(root, ".") == root.resolve()


def test_missing_file_with_parent_inside_is_allowed(root: Path) -> None:
    assert confine(root, "src/new/module.py") == (root / "src" / "new" / "module.py").resolve()


def test_dotdot_escape_is_refused(root: Path) -> None:
    assert "escapes the worktree: ../x" in refusal(root, "../x")
    assert "escapes" in refusal(root, "src/../../x")


def test_absolute_path_is_refused(root: Path) -> None:
    assert "absolute" in refusal(root, "/etc/passwd")
    assert "absolute" in refusal(root, str(root / "src" / "app.py"))


def test_symlink_out_of_worktree_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    (root / "escape").symlink_to(outside)
    (root / "src" / "file_link").symlink_to(outside / "secret")
    assert "symlink points outside" in refusal(root, "escape/secret")
    assert "symlink points outside" in refusal(root, "escape/not-yet")
    assert "symlink points outside" in refusal(root, "src/file_link")


def test_symlink_inside_worktree_is_allowed(root: Path) -> None:
    (root / "alias").symlink_to(root / "src")
    assert confine(root, "alias/app.py") == (root / "src" / "app.py").resolve()


def test_git_directory_is_refused(root: Path) -> None:
    (root / ".git").mkdir()
    assert ".git is off limits" in refusal(root, ".git/config")
    assert ".git is off limits" in refusal(root, "src/../.git/HEAD")
    assert ".git is off limits" in refusal(root, ".GIT/config")


def test_git_file_of_a_linked_worktree_is_refused(root: Path) -> None:
    (root / ".git").write_text("gitdir: /somewhere/.git/worktrees/x\n")
    assert ".git is off limits" in refusal(root, ".git")


def test_symlink_to_git_directory_is_refused(root: Path) -> None:
    (root / ".git").mkdir()
    (root / "sneaky").symlink_to(root / ".git")
    assert ".git is off limits" in refusal(root, "sneaky/config")


def test_nul_byte_and_empty_path_are_refused(root: Path) -> None:
    assert "NUL" in refusal(root, "src/a\x00b")
    assert "empty" in refusal(root, "")
    assert "empty" in refusal(root, "   ")


def test_write_atomic_keeps_mode_and_sets_exec_bits(tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and (target.stat().st_mode & 0o777) == 0o640
    write_atomic(target, b"newer", executable=True)
    assert (target.stat().st_mode & 0o777) == 0o750
    assert [p.name for p in tmp_path.iterdir()] == ["script.sh"]  # no temp file left behind


def test_remove_file_prunes_empty_folders_but_not_root(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "keep.txt").write_text("k")
    (tmp_path / "a" / "b" / "gone.txt").write_text("g")
    remove_file(tmp_path / "a" / "b" / "gone.txt", stop_at=tmp_path)
    assert not (tmp_path / "a" / "b").exists() and (tmp_path / "a" / "keep.txt").exists()

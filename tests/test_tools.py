from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.policy import CommandPolicy
from cockpit.testing import TestRun
from cockpit.tools import ENGINE_TOOLS, TOOL_SCHEMAS, Toolbox, schemas_for

CONTRACT = {"read_file", "list_files", "search_code", "write_file", "edit_file", "run_command", "run_tests",
            "submit_plan", "report_findings", "finish"}


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    root = tmp_path / "wt"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def add(a, b):\n    return a + b\n\n# TODO: more\n")
    (root / "README.md").write_text("# Demo\nTODO: docs\n")
    (root / "build.log").write_text("TODO in a log\n")
    (root / ".gitignore").write_text("*.log\n")
    (root / "blob.bin").write_bytes(b"\0\1\2\3")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


class Asker:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, command: str) -> bool:
        self.asked.append(command)
        return self.answer


def toolbox(worktree: Path, *, answer: bool = False, policy: CommandPolicy | None = None, **kwargs) -> Toolbox:
    policy = policy or CommandPolicy(allow=["echo *", "cat *"], deny=["touch *", "rm *"])
    return Toolbox(worktree, policy=policy, ask=Asker(answer), test_command=kwargs.pop("test_command", None), **kwargs)


def test_schemas_cover_the_contract() -> None:
    assert set(TOOL_SCHEMAS) == CONTRACT
    assert ENGINE_TOOLS == {"submit_plan", "report_findings", "finish"}
    assert [s["function"]["name"] for s in schemas_for(["read_file", "finish"])] == ["read_file", "finish"]
    assert len(schemas_for(None)) == len(CONTRACT)
    task = TOOL_SCHEMAS["submit_plan"]["function"]["parameters"]["properties"]["tasks"]["items"]
    assert set(task["properties"]) == {"id", "title", "description", "agent", "depends_on"}
    with pytest.raises(ValueError, match="unknown tool"):
        schemas_for(["fly"])


async def test_read_file_returns_text_and_caps_it(worktree: Path) -> None:
    box = toolbox(worktree)
    outcome = await box.call("read_file", {"path": "src/app.py"})
    assert outcome.ok and outcome.output.startswith("def add")
    (worktree / "big.txt").write_text("x" * 5000)
    capped = await toolbox(worktree, output_cap=100).call("read_file", {"path": "big.txt"})
    assert capped.ok and "truncated" in capped.output and capped.output.startswith("x" * 100)


@pytest.mark.parametrize("args, expected", [
    ({"path": "../outside"}, "escapes the worktree"),
    ({"path": "/etc/passwd"}, "absolute"),
    ({"path": ".git/config"}, ".git is off limits"),
    ({"path": "missing.py"}, "no such file: missing.py"),
    ({"path": "blob.bin"}, "binary file"),
    ({"path": "src"}, "is a folder"),
    ({}, "missing argument 'path'"),
    ({"path": 3}, "must be a string"),
])
async def test_read_file_errors_are_one_line_outcomes(worktree: Path, args: dict, expected: str) -> None:
    outcome = await toolbox(worktree).call("read_file", args)
    assert not outcome.ok and expected in outcome.output and "\n" not in outcome.output


async def test_symlink_out_of_worktree_is_refused_for_reads_and_writes(worktree: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    (worktree / "link.txt").symlink_to(tmp_path / "secret.txt")
    box = toolbox(worktree)
    assert "symlink points outside" in (await box.call("read_file", {"path": "link.txt"})).output
    assert not (await box.call("write_file", {"path": "link.txt", "content": "x"})).ok
    assert (tmp_path / "secret.txt").read_text() == "secret"
    listing = await box.call("list_files", {})
    assert "link.txt" not in listing.output.splitlines()


async def test_list_files_respects_gitignore_and_filters(worktree: Path) -> None:
    box = toolbox(worktree)
    listing = (await box.call("list_files", {})).output.splitlines()
    assert listing == [".gitignore", "README.md", "blob.bin", "src/app.py"]
    assert (await box.call("list_files", {"pattern": "*.py"})).output == "src/app.py"
    assert (await box.call("list_files", {"path": "src", "pattern": None})).output == "src/app.py"


async def test_search_code_finds_matches_in_text_files(worktree: Path) -> None:
    box = toolbox(worktree)
    outcome = await box.call("search_code", {"pattern": r"TODO"})
    assert outcome.output.splitlines() == ["README.md:2: TODO: docs", "src/app.py:4: # TODO: more"]
    assert (await box.call("search_code", {"pattern": "TODO", "path": "src"})).output == "src/app.py:4: # TODO: more"
    bad = await box.call("search_code", {"pattern": "("})
    assert not bad.ok and "invalid regular expression" in bad.output


async def test_write_and_edit_file_stay_in_worktree(worktree: Path) -> None:
    box = toolbox(worktree)
    assert (await box.call("write_file", {"path": "pkg/new.py", "content": "A = 1\r\nB = 2\n"})).ok
    assert (worktree / "pkg" / "new.py").read_bytes() == b"A = 1\r\nB = 2\n"
    edited = await box.call("edit_file", {"path": "pkg/new.py", "old_text": "B = 2", "new_text": "B = 3"})
    assert edited.ok and (worktree / "pkg" / "new.py").read_bytes() == b"A = 1\r\nB = 3\n"
    refused = await box.call("write_file", {"path": "../evil.py", "content": "x"})
    assert not refused.ok and not (worktree.parent / "evil.py").exists()


@pytest.mark.parametrize("old_text, expected", [
    ("nope", "old_text not found"),
    ("a", "occurs"),
    ("", "old_text is empty"),
])
async def test_edit_file_needs_a_unique_match(worktree: Path, old_text: str, expected: str) -> None:
    before = (worktree / "src" / "app.py").read_bytes()
    outcome = await toolbox(worktree).call("edit_file", {"path": "src/app.py", "old_text": old_text, "new_text": "z"})
    assert not outcome.ok and expected in outcome.output
    assert (worktree / "src" / "app.py").read_bytes() == before


async def test_denied_command_never_runs(worktree: Path) -> None:
    box = toolbox(worktree, answer=True)
    outcome = await box.call("run_command", {"command": "touch marker"})
    assert not outcome.ok and outcome.output == "denied by policy: touch marker"
    assert not (worktree / "marker").exists()
    assert box.ask.asked == []  # a denied command is not even offered to the user


async def test_asked_command_runs_only_when_the_user_agrees(worktree: Path) -> None:
    declined = toolbox(worktree, answer=False)
    outcome = await declined.call("run_command", {"command": "mkdir made"})
    assert not outcome.ok and "declined" in outcome.output and not (worktree / "made").exists()
    assert declined.ask.asked == ["mkdir made"]
    agreed = toolbox(worktree, answer=True)
    assert (await agreed.call("run_command", {"command": "mkdir made"})).ok and (worktree / "made").is_dir()


async def test_allowed_command_runs_in_the_worktree_with_exit_code(worktree: Path) -> None:
    box = toolbox(worktree)
    outcome = await box.call("run_command", {"command": "cat README.md"})
    assert outcome.ok and outcome.output.startswith("exit code 0\n# Demo")
    failing = await toolbox(worktree, policy=CommandPolicy(default="allow")).call("run_command", {"command": "exit 4"})
    assert not failing.ok and failing.output.startswith("exit code 4")


async def test_run_tests_returns_results_as_data(worktree: Path) -> None:
    (worktree / "test_math.py").write_text("def test_ok():\n    assert 1\n\ndef test_bad():\n    assert 0, 'boom'\n")
    command = f"{shlex.quote(sys.executable)} -m pytest test_math.py"
    outcome = await toolbox(worktree, test_command=command).call("run_tests", {})
    assert isinstance(outcome.data, TestRun) and not outcome.ok
    assert (outcome.data.passed, outcome.data.failed) == (1, 1)
    assert outcome.summary == "1 passed, 1 failed" and "FAILED test_math.py::test_bad" in outcome.output
    assert "boom" in outcome.output


async def test_unknown_and_engine_tools_are_outcomes_not_errors(worktree: Path) -> None:
    box = toolbox(worktree)
    assert "unknown tool" in (await box.call("fly", {})).output
    assert "agent loop" in (await box.call("finish", {"summary": "done"})).output
    assert "unknown argument" in (await box.call("read_file", {"path": "README.md", "mode": "r"})).output

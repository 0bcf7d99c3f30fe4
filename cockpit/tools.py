"""The agent tools: their OpenAI function schemas (the contract in DESIGN.md) and the Toolbox that runs them.

Every path is confined to the task's worktree. A tool never raises at the model: whatever goes wrong becomes a
ToolOutcome(ok=False) whose output is one line the model can act on.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

import git

from cockpit import paths, procs, testing
from cockpit.policy import CommandPolicy


def _schema(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }}


_STR = {"type": "string"}
_TASK = {"type": "object", "properties": {
    "id": _STR, "title": _STR, "description": _STR, "agent": _STR,
    "depends_on": {"type": "array", "items": _STR},
}, "required": ["id", "title", "description", "agent", "depends_on"]}
_FINDING = {"type": "object", "properties": {
    "severity": {"type": "string", "enum": ["critical", "high", "medium", "low", "info"]},
    "path": _STR, "line": {"type": "integer"}, "message": _STR,
}, "required": ["severity", "path", "line", "message"]}

TOOL_SCHEMAS: dict[str, dict] = {s["function"]["name"]: s for s in (
    _schema("read_file", "Read a text file of the worktree.", {"path": _STR}, ["path"]),
    _schema("list_files", "List files of the worktree (git-ignored files are left out), optionally under a "
            "folder and filtered by a glob such as '*.py'.", {"path": _STR, "pattern": _STR}, []),
    _schema("search_code", "Search text files for a Python regular expression; returns path:line: text.",
            {"pattern": _STR, "path": _STR}, ["pattern"]),
    _schema("write_file", "Create or overwrite a file with the given content.",
            {"path": _STR, "content": _STR}, ["path", "content"]),
    _schema("edit_file", "Replace old_text, which must occur exactly once in the file, with new_text.",
            {"path": _STR, "old_text": _STR, "new_text": _STR}, ["path", "old_text", "new_text"]),
    _schema("run_command", "Run a shell command in the worktree (subject to the command policy and a timeout).",
            {"command": _STR}, ["command"]),
    _schema("run_tests", "Run the project's test suite; returns counts and the failures.", {}, []),
    _schema("submit_plan", "Submit the plan: tasks with ids, the agent for each, and dependencies.",
            {"tasks": {"type": "array", "items": _TASK}}, ["tasks"]),
    _schema("report_findings", "Report review findings with severity and location.",
            {"findings": {"type": "array", "items": _FINDING}}, ["findings"]),
    _schema("finish", "Finish the task with a short summary of what was done.", {"summary": _STR}, ["summary"]),
)}

ENGINE_TOOLS = {"submit_plan", "report_findings", "finish"}

_LIST_CAP = 1_000
_SEARCH_CAP = 200
_SEARCH_FILE_LIMIT = 1_000_000  # bytes: larger files are skipped by search_code
_LINE_CAP = 240
_TYPES = {"string": str, "integer": int, "array": list, "object": dict}


def schemas_for(names: list[str] | None) -> list[dict]:
    """The schemas of the named tools, in the given order (None: all of them). Unknown names are an error."""
    if names is None:
        return list(TOOL_SCHEMAS.values())
    unknown = [name for name in names if name not in TOOL_SCHEMAS]
    if unknown:
        raise ValueError(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(TOOL_SCHEMAS)}")
    return [TOOL_SCHEMAS[name] for name in names]


@dataclass
class ToolOutcome:
    ok: bool
    output: str  # what the model sees
    summary: str  # one line for the tool_result event and the UI
    data: object | None = None


def _fail(message: str) -> ToolOutcome:
    return ToolOutcome(ok=False, output=message, summary=message.splitlines()[0][:200] if message else "failed")


def check_arguments(name: str, args: dict) -> str | None:
    """A one-line complaint about the arguments, or None when they fit the tool's schema."""
    if not isinstance(args, dict):
        return f"arguments for {name} must be a JSON object"
    parameters = TOOL_SCHEMAS[name]["function"]["parameters"]
    for key in parameters["required"]:
        if key not in args:
            return f"missing argument {key!r} for {name}"
    for key, value in args.items():
        spec = parameters["properties"].get(key)
        if spec is None:
            return f"unknown argument {key!r} for {name}; expected {', '.join(parameters['properties']) or 'none'}"
        expected = _TYPES.get(spec.get("type", ""))
        if expected and (not isinstance(value, expected) or isinstance(value, bool)):
            return f"argument {key!r} of {name} must be a {spec['type']}"
    return None


def _walk_files(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        found.extend(Path(dirpath) / name for name in sorted(filenames))
    return found


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:8000]


class Toolbox:
    def __init__(
        self,
        worktree: Path,
        *,
        policy: CommandPolicy,
        ask: Callable[[str], Awaitable[bool]],
        test_command: str | None,
        command_timeout: float = 120,
        test_timeout: float = 600,
        output_cap: int = 16_000,
    ) -> None:
        self.worktree = Path(worktree).resolve()
        self.policy = policy
        self.ask = ask
        self.test_command = test_command
        self.command_timeout = command_timeout
        self.test_timeout = test_timeout
        self.output_cap = output_cap

    async def call(self, name: str, args: dict) -> ToolOutcome:
        if name in ENGINE_TOOLS:
            return _fail(f"{name} is handled by the agent loop, not the toolbox")
        handler = getattr(self, f"_tool_{name}", None)
        if name not in TOOL_SCHEMAS or handler is None:
            return _fail(f"unknown tool {name!r}; available: {', '.join(sorted(set(TOOL_SCHEMAS) - ENGINE_TOOLS))}")
        if isinstance(args, dict):
            args = {key: value for key, value in args.items() if value is not None}  # null means "not given"
        complaint = check_arguments(name, args)
        if complaint:
            return _fail(complaint)
        try:
            return await handler(**args)
        except paths.PathRefused as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"{name} failed: {exc.strerror or exc}: {args.get('path', '')}".rstrip(": "))
        except Exception as exc:  # a tool bug must not kill the agent loop: the model and the log see it
            return _fail(f"{name} failed: {type(exc).__name__}: {exc}")

    # -- files --------------------------------------------------------------------------------------------------

    def _confine(self, rel: str) -> Path:
        return paths.confine(self.worktree, rel)

    def _rel(self, path: Path) -> str:
        return Path(path).relative_to(self.worktree).as_posix() or "."

    async def _tool_read_file(self, path: str) -> ToolOutcome:
        target = self._confine(path)
        if target.is_dir():
            return _fail(f"{path} is a folder; use list_files to see what it holds")
        if not target.is_file():
            return _fail(f"no such file: {path}")
        data = target.read_bytes()
        if _is_binary(data):
            return _fail(f"refused: {path} is a binary file ({len(data)} bytes); read_file shows text only")
        text = data.decode("utf-8", errors="replace")
        if len(text) > self.output_cap:
            shown = text[: self.output_cap]
            note = (f"\n[... truncated: showing the first {len(shown)} of {len(text)} characters "
                    f"(line {shown.count(chr(10)) + 1} of {text.count(chr(10)) + 1}); use search_code to find the rest]")
            return ToolOutcome(True, shown + note, f"read {path} (truncated, {len(data)} bytes)")
        return ToolOutcome(True, text, f"read {path} ({len(data)} bytes)")

    def _listed_files(self, folder: Path) -> list[Path]:
        """Files under `folder`, the git way (tracked and untracked, not ignored) when the worktree is a repo."""
        try:
            out = git.Git(str(self.worktree)).execute(
                ["git", "-c", "core.quotePath=false", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                 "--", str(folder)], stdout_as_string=False, strip_newline_in_stdout=False,
            )
            names = sorted({name for name in out.decode("utf-8", "surrogateescape").split("\0") if name})
            files = [self.worktree / name for name in names]
        except (OSError, git.GitCommandError):
            files = _walk_files(folder)
        # Deleted files linger in the index, and a symlink may point outside: keep only what the tools may read.
        return [f for f in files if f.is_file() and self._inside(f)]

    def _inside(self, path: Path) -> bool:
        try:
            self._confine(path.relative_to(self.worktree).as_posix())
        except (paths.PathRefused, ValueError):
            return False
        return True

    async def _tool_list_files(self, path: str = ".", pattern: str | None = None) -> ToolOutcome:
        folder = self._confine(path or ".")
        if not folder.is_dir():
            return _fail(f"no such folder: {path}")
        names = [self._rel(f) for f in self._listed_files(folder)]
        if pattern:
            names = [n for n in names if fnmatch.fnmatch(n, pattern) or fnmatch.fnmatch(os.path.basename(n), pattern)]
        shown = names[:_LIST_CAP]
        more = f"\n[... {len(names) - len(shown)} more files; narrow with path or pattern]" if len(names) > len(shown) else ""
        body = "\n".join(shown) if shown else "(no files)"
        return ToolOutcome(True, body + more, f"listed {len(names)} files")

    async def _tool_search_code(self, pattern: str, path: str = ".") -> ToolOutcome:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            return _fail(f"invalid regular expression {pattern!r}: {exc}")
        folder = self._confine(path or ".")
        candidates = [folder] if folder.is_file() else self._listed_files(folder) if folder.is_dir() else None
        if candidates is None:
            return _fail(f"no such file or folder: {path}")
        hits: list[str] = []
        total = 0
        for file in candidates:
            if file.stat().st_size > _SEARCH_FILE_LIMIT:
                continue
            data = file.read_bytes()
            if _is_binary(data):
                continue
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
                if regex.search(line):
                    total += 1
                    if len(hits) < _SEARCH_CAP:
                        hits.append(f"{self._rel(file)}:{number}: {line.strip()[:_LINE_CAP]}")
        more = f"\n[... {total - len(hits)} more matches; narrow the pattern or path]" if total > len(hits) else ""
        body = "\n".join(hits) if hits else f"no matches for {pattern!r}"
        return ToolOutcome(True, body + more, f"{total} matches for {pattern!r}")

    async def _tool_write_file(self, path: str, content: str) -> ToolOutcome:
        target = self._confine(path)
        if target.is_dir():
            return _fail(f"{path} is a folder; give a file path")
        data = content.encode("utf-8", errors="replace")  # JSON can carry lone surrogates
        existed = target.exists()
        paths.write_atomic(target, data)
        verb = "overwrote" if existed else "created"
        return ToolOutcome(True, f"{verb} {path} ({len(data)} bytes)", f"{verb} {path}")

    async def _tool_edit_file(self, path: str, old_text: str, new_text: str) -> ToolOutcome:
        target = self._confine(path)
        if not target.is_file():
            return _fail(f"no such file: {path}; use write_file to create it")
        if not old_text:
            return _fail("old_text is empty; give the exact text to replace (use write_file for a new file)")
        data = target.read_bytes()
        if _is_binary(data):
            return _fail(f"refused: {path} is a binary file; edit_file works on text only")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return _fail(f"refused: {path} is not UTF-8 text; editing it would damage its bytes")
        count = text.count(old_text)
        if count == 0:
            return _fail(f"old_text not found in {path}; read the file and copy the exact text, whitespace included")
        if count > 1:
            return _fail(f"old_text occurs {count} times in {path}; include more surrounding lines so it is unique")
        paths.write_atomic(target, text.replace(old_text, new_text, 1).encode("utf-8"))
        line = text[: text.index(old_text)].count("\n") + 1
        return ToolOutcome(True, f"edited {path} at line {line}", f"edited {path}:{line}")

    # -- commands and tests -------------------------------------------------------------------------------------

    async def _tool_run_command(self, command: str) -> ToolOutcome:
        decision = self.policy.decide(command)
        if decision == "deny":
            return _fail(f"denied by policy: {command}")
        if decision == "ask" and not await self.ask(command):
            return _fail(f"the user declined to run: {command}")
        result = await procs.run_process(
            command, cwd=self.worktree, timeout=self.command_timeout, output_cap=self.output_cap,
            env=procs.safe_env(),
        )
        if result.timed_out:
            status = f"timed out after {self.command_timeout:g}s and was killed"
        else:
            status = f"exit code {result.exit_code}"
        output = f"{status}\n{result.output}".rstrip()
        return ToolOutcome(result.exit_code == 0, output, f"{command[:80]}: {status} ({result.duration:.1f}s)", result)

    async def _tool_run_tests(self) -> ToolOutcome:
        command = self.test_command or testing.detect_test_command(self.worktree)
        if not command:
            return _fail("no test command is configured and none was detected; set one in the cockpit config")
        run = await testing.run_tests(self.worktree, command, timeout=self.test_timeout)
        return ToolOutcome(run.ok, self._test_report(run), run.summary(), run)

    def _test_report(self, run: testing.TestRun) -> str:
        lines = [f"{run.command}: {run.summary()}"]
        for test in run.failures():
            lines.append(f"\n{test.outcome.upper()} {test.file}::{test.name}\n{test.message}".rstrip())
        if not run.tests or (run.exit_code not in (0, 1, 5) and not run.failures()):
            lines.append(f"\n{run.output[-self.output_cap // 2:]}")  # no per-test data: show what happened
        report = "\n".join(lines)
        if len(report) > self.output_cap:
            report = report[: self.output_cap] + "\n[... failures truncated ...]"
        return report

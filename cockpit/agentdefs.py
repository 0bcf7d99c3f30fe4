"""Agent definitions: Markdown files with YAML front matter, in the format Claude Code uses for subagents.

    ---
    name: coder
    description: Implements one task in its own worktree.
    tools: read_file, edit_file, run_tests, finish     # or a YAML list; absent = every tool
    model: inherit                                     # absent or "inherit" = the configured default
    ---
    The body is the system prompt.

Definitions are looked up in four places; by name, the nearest wins:
`<repo>/.cockpit/agents/` > `<repo>/.claude/agents/` > `<user config dir>/agents/` > the built-ins shipped in the
package `cockpit.agents`. A malformed file is skipped and reported as one `path: what is wrong` line; loading
never raises for a user's file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cockpit.config import Config, model_for, user_config_dir
from cockpit.config_schema import describe

# The tool names agents may call (the contract in DESIGN.md).
TOOL_NAMES: tuple[str, ...] = (
    "read_file",
    "list_files",
    "search_code",
    "write_file",
    "edit_file",
    "run_command",
    "run_tests",
    "submit_plan",
    "report_findings",
    "finish",
)

# Claude Code's tool names, as written in `.claude/agents/*.md`, mapped to ours.
CLAUDE_TOOLS: dict[str, str] = {
    "Read": "read_file",
    "Write": "write_file",
    "Edit": "edit_file",
    "MultiEdit": "edit_file",
    "Bash": "run_command",
    "Grep": "search_code",
    "Glob": "list_files",
    "LS": "list_files",
}

CLAUDE_MODEL_ALIASES: dict[str, str] = {
    "sonnet": "anthropic/claude-sonnet-4-5",
    "opus": "anthropic/claude-opus-4-1",
    "haiku": "anthropic/claude-haiku-4-5",
}

# Nearest last: a later source overrides an earlier one with the same name.
SOURCES_FARTHEST_FIRST = ("built-in", "user", "claude", "repo")

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)^---[ \t]*(?:\r?\n|\Z)(?P<body>.*)\Z", re.S | re.M)
_AGENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class AgentDef:
    name: str
    description: str
    tools: tuple[str, ...] | None  # None = every tool
    model: str | None  # None = the configured default ("inherit")
    prompt: str
    source: str  # "built-in", "user", "repo" or "claude"
    path: Path | None

    def allows(self, tool: str) -> bool:
        return self.tools is None or tool in self.tools


class AgentFileError(Exception):
    """Why one agent file cannot be used; str() is the text after `path: `."""


def load_agents(repo: Path | None) -> tuple[dict[str, AgentDef], list[str]]:
    """Every agent definition that applies to `repo`, by name, plus one line per file that was skipped or fixed."""
    agents: dict[str, AgentDef] = {}
    problems: list[str] = []
    for source in SOURCES_FARTHEST_FIRST:
        seen_here: dict[str, str] = {}
        for label, text, path in _files_of(source, repo, problems):
            notes: list[str] = []
            try:
                agent = parse_agent(text, source=source, path=path, notes=notes)
            except AgentFileError as exc:
                problems.append(f"{label}: {exc}")
                continue
            problems.extend(f"{label}: {note}" for note in notes)
            if agent.name in seen_here:
                problems.append(f"{label}: name {agent.name!r} is already defined by {seen_here[agent.name]}; skipped")
                continue
            seen_here[agent.name] = label
            agents[agent.name] = agent
    return agents, problems


def _files_of(source: str, repo: Path | None, problems: list[str]) -> Iterator[tuple[str, str, Path | None]]:
    """(label for messages, text, path) for each `*.md` of one source, in name order."""
    if source == "built-in":
        yield from _builtin_files()
        return
    folder = _folder_of(source, repo)
    if folder is None or not folder.is_dir():
        return
    for path in sorted(folder.glob("*.md")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}")
            continue
        yield str(path), text, path


def _folder_of(source: str, repo: Path | None) -> Path | None:
    if source == "user":
        return user_config_dir() / "agents"
    if repo is None:
        return None
    return Path(repo) / (".cockpit" if source == "repo" else ".claude") / "agents"


def _builtin_files() -> Iterator[tuple[str, str, Path | None]]:
    package = resources.files("cockpit.agents")
    entries = sorted((entry for entry in package.iterdir() if entry.name.endswith(".md")), key=lambda e: e.name)
    for entry in entries:
        path = entry if isinstance(entry, Path) else None
        yield f"built-in {entry.name}", entry.read_text(encoding="utf-8"), path


def parse_agent(text: str, *, source: str, path: Path | None = None, notes: list[str] | None = None) -> AgentDef:
    """Parse one agent file; raise AgentFileError if it cannot be used. Dropped tools are appended to `notes`."""
    notes = notes if notes is not None else []
    meta, body = _split_front_matter(text)
    name = _required_text(meta, "name")
    if not _AGENT_NAME.match(name):
        raise AgentFileError(f"name: expected letters, digits, '-', '_' or '.', got {describe(name)}")
    description = _required_text(meta, "description")
    prompt = body.strip()
    if not prompt:
        raise AgentFileError("no system prompt after the front matter")
    return AgentDef(
        name=name,
        description=" ".join(description.split()),
        tools=_parse_tools(meta.get("tools"), notes),
        model=_parse_model(meta.get("model")),
        prompt=prompt,
        source=source,
        path=path,
    )


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise AgentFileError("no YAML front matter (the file must start with a '---' line and close it with another)")
    try:
        meta = yaml.safe_load(match["yaml"])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +2: the opening '---' and 0-based lines
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AgentFileError(f"invalid YAML front matter{where}: {problem}") from None
    if meta is None:
        raise AgentFileError("empty front matter (expected name and description)")
    if not isinstance(meta, dict):
        raise AgentFileError(f"front matter: expected key: value pairs, got {describe(meta)}")
    return meta, match["body"]


def _required_text(meta: dict[str, Any], key: str) -> str:
    if key not in meta or meta[key] is None:
        raise AgentFileError(f"missing required field '{key}'")
    value = meta[key]
    if not isinstance(value, str) or not value.strip():
        raise AgentFileError(f"{key}: expected a non-empty string, got {describe(value)}")
    return value.strip()


def _parse_tools(raw: Any, notes: list[str]) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        names = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        names = [item.strip() for item in raw if item.strip()]
    else:
        raise AgentFileError(f"tools: expected a comma-separated string or a list of names, got {describe(raw)}")
    tools: list[str] = []
    for name in names:
        ours = _our_tool_name(name)
        if ours is None:
            notes.append(f"tools: unknown tool {name!r} dropped (known: {', '.join(TOOL_NAMES)})")
        elif ours not in tools:
            tools.append(ours)
    # Every agent must be able to end its task, and Claude Code files never list our `finish`.
    if "finish" not in tools:
        tools.append("finish")
    return tuple(tools)


def _our_tool_name(name: str) -> str | None:
    if name in TOOL_NAMES:
        return name
    # Claude Code allows scoped rules such as `Bash(git diff:*)`; the scope is the command policy's business.
    base = name.split("(", 1)[0].strip()
    return CLAUDE_TOOLS.get(base)


def _parse_model(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip() or any(char.isspace() for char in raw.strip()):
        raise AgentFileError(f"model: expected a model string, 'inherit' or sonnet/opus/haiku, got {describe(raw)}")
    model = raw.strip()
    if model == "inherit":
        return None
    return CLAUDE_MODEL_ALIASES.get(model, model)


def format_agents(agents: dict[str, AgentDef], config: Config | None = None, *, override: str | None = None) -> str:
    """A plain-text table for `cockpit agents`: name, source, the model it would run on, and where it came from."""
    config = config or Config()
    header = ("NAME", "SOURCE", "MODEL", "PATH")
    rows = [
        (
            agent.name,
            agent.source,
            model_for(config, agent.name, agent.model, override),
            str(agent.path) if agent.path is not None else "(package)",
        )
        for agent in sorted(agents.values(), key=lambda a: a.name)
    ]
    return _table([header, *rows])


def _table(rows: Iterable[tuple[str, ...]]) -> str:
    rows = list(rows)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)

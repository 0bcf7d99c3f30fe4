from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.agentdefs import TOOL_NAMES, AgentDef, format_agents, load_agents, parse_agent
from cockpit.config import Config

BUILT_INS = ("planner", "coder", "tester", "reviewer", "docs", "release")


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-config"
    folder.mkdir()
    monkeypatch.setenv("COCKPIT_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def write_agent(folder: Path, file_name: str, front: str, body: str = "You are a helpful agent.") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text(f"---\n{front}\n---\n{body}\n", encoding="utf-8")
    return path


def test_built_in_agents_all_load_without_problems(repo: Path) -> None:
    agents, problems = load_agents(repo)
    assert problems == []
    assert set(agents) == set(BUILT_INS)
    for agent in agents.values():
        assert agent.source == "built-in"
        assert agent.description
        assert 15 <= len(agent.prompt.splitlines()) <= 40, agent.name
        assert agent.tools is not None and set(agent.tools) <= set(TOOL_NAMES)
        assert "finish" in agent.tools
        assert agent.model is None  # inherit
        assert "finish{summary}" in agent.prompt and "human" in agent.prompt


def test_built_in_tool_lists_match_roles(repo: Path) -> None:
    agents, _ = load_agents(repo)
    assert agents["planner"].tools == ("read_file", "list_files", "search_code", "submit_plan", "finish")
    assert agents["reviewer"].tools == ("read_file", "list_files", "search_code", "report_findings", "finish")
    for writer in ("coder", "tester", "docs", "release"):
        assert agents[writer].allows("edit_file") and agents[writer].allows("write_file")
    assert not agents["reviewer"].allows("edit_file")
    assert agents["coder"].allows("run_tests") and agents["coder"].allows("run_command")


def test_repo_agent_overrides_built_in(repo: Path) -> None:
    path = write_agent(repo / ".cockpit" / "agents", "coder.md", "name: coder\ndescription: Our coder\nmodel: opus")
    agents, problems = load_agents(repo)
    assert problems == []
    coder = agents["coder"]
    assert (coder.source, coder.path, coder.description) == ("repo", path, "Our coder")
    assert coder.model == "anthropic/claude-opus-4-1"
    assert coder.tools is None  # no tools key: every tool
    assert agents["tester"].source == "built-in"


def test_precedence_repo_over_claude_over_user_over_built_in(repo: Path, user_dir: Path) -> None:
    write_agent(user_dir / "agents", "a.md", "name: tester\ndescription: user tester")
    write_agent(user_dir / "agents", "b.md", "name: docs\ndescription: user docs")
    write_agent(repo / ".claude" / "agents", "t.md", "name: tester\ndescription: claude tester")
    write_agent(repo / ".claude" / "agents", "r.md", "name: reviewer\ndescription: claude reviewer")
    write_agent(repo / ".cockpit" / "agents", "r.md", "name: reviewer\ndescription: repo reviewer")
    agents, problems = load_agents(repo)
    assert problems == []
    assert agents["docs"].source == "user"
    assert agents["tester"].source == "claude"
    assert agents["reviewer"].source == "repo"
    assert agents["planner"].source == "built-in"


def test_claude_agent_tool_names_and_model_alias_are_mapped(repo: Path) -> None:
    write_agent(
        repo / ".claude" / "agents",
        "auditor.md",
        "name: auditor\ndescription: Audits code\ntools: Read, Grep, Glob, LS, Edit, MultiEdit, Bash(git diff:*)\n"
        "model: haiku\ncolor: red",
        body="Audit the code.",
    )
    agents, problems = load_agents(repo)
    assert problems == []
    auditor = agents["auditor"]
    assert auditor.source == "claude"
    assert auditor.tools == ("read_file", "search_code", "list_files", "edit_file", "run_command", "finish")
    assert auditor.model == "anthropic/claude-haiku-4-5"
    assert auditor.prompt == "Audit the code."


def test_unknown_claude_tool_is_reported_and_dropped(repo: Path) -> None:
    path = write_agent(
        repo / ".claude" / "agents",
        "web.md",
        "name: web\ndescription: Browses\ntools:\n  - Read\n  - WebFetch\n  - Write",
    )
    agents, problems = load_agents(repo)
    assert agents["web"].tools == ("read_file", "write_file", "finish")
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: tools: unknown tool 'WebFetch' dropped")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("Just a prompt, no front matter.\n", "no YAML front matter"),
        ("---\nname: [unclosed\ndescription: x\n---\nbody\n", "invalid YAML front matter at line"),
        ("---\ndescription: no name\n---\nbody\n", "missing required field 'name'"),
        ("---\nname: nodesc\n---\nbody\n", "missing required field 'description'"),
        ("---\nname: 42\ndescription: x\n---\nbody\n", "name: expected a non-empty string, got 42"),
        ("---\nname: x\ndescription: d\ntools: 7\n---\nbody\n", "tools: expected a comma-separated string"),
        ("---\nname: x\ndescription: d\nmodel: [a]\n---\nbody\n", "model: expected a model string"),
        ("---\nname: x\ndescription: d\n---\n\n", "no system prompt"),
        ("---\n- a\n- b\n---\nbody\n", "front matter: expected key: value pairs"),
        ("---\n---\nbody\n", "empty front matter"),
        ("---\nname: bad name\ndescription: d\n---\nbody\n", "name: expected letters"),
    ],
)
def test_malformed_agent_is_reported_and_skipped_while_others_load(repo: Path, content: str, reason: str) -> None:
    folder = repo / ".cockpit" / "agents"
    folder.mkdir(parents=True)
    bad = folder / "bad.md"
    bad.write_text(content, encoding="utf-8")
    write_agent(folder, "good.md", "name: good\ndescription: fine")
    agents, problems = load_agents(repo)
    assert "good" in agents and set(BUILT_INS) <= set(agents)
    assert len(problems) == 1
    assert problems[0].startswith(f"{bad}: ")
    assert reason in problems[0]
    assert "\n" not in problems[0]


def test_duplicate_name_in_one_folder_is_reported(repo: Path) -> None:
    folder = repo / ".cockpit" / "agents"
    write_agent(folder, "a.md", "name: twin\ndescription: first")
    second = write_agent(folder, "b.md", "name: twin\ndescription: second")
    agents, problems = load_agents(repo)
    assert agents["twin"].description == "first"
    assert problems == [f"{second}: name 'twin' is already defined by {folder / 'a.md'}; skipped"]


def test_no_repo_loads_built_ins_and_user_agents(user_dir: Path) -> None:
    write_agent(user_dir / "agents", "mine.md", "name: mine\ndescription: my agent\ntools: [read_file, finish]")
    agents, problems = load_agents(None)
    assert problems == []
    assert agents["mine"].source == "user" and agents["mine"].tools == ("read_file", "finish")


def test_parse_agent_accepts_crlf_and_inherit() -> None:
    text = "---\r\nname: crlf\r\ndescription: Windows file\r\nmodel: inherit\r\n---\r\nPrompt line.\r\n"
    agent = parse_agent(text, source="repo")
    assert (agent.name, agent.model, agent.prompt) == ("crlf", None, "Prompt line.")


def test_format_agents_lists_source_model_and_path(repo: Path) -> None:
    path = write_agent(repo / ".cockpit" / "agents", "coder.md", "name: coder\ndescription: c\nmodel: sonnet")
    agents, _ = load_agents(repo)
    config = Config(default_model="openai/gpt-4.1", agent_models={"tester": "ollama_chat/qwen2.5-coder"})
    table = format_agents(agents, config).splitlines()
    assert table[0].split() == ["NAME", "SOURCE", "MODEL", "PATH"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows["coder"] == ["coder", "repo", "anthropic/claude-sonnet-4-5", str(path)]
    assert rows["tester"][1:3] == ["built-in", "ollama_chat/qwen2.5-coder"]
    assert rows["planner"][1:3] == ["built-in", "openai/gpt-4.1"]
    overridden = format_agents(agents, config, override="offline")
    assert all(line.split()[2] == "offline" for line in overridden.splitlines()[1:])


def test_agent_def_is_frozen() -> None:
    agent = AgentDef("a", "d", None, None, "p", "repo", None)
    with pytest.raises(AttributeError):
        agent.name = "b"  # type: ignore[misc]

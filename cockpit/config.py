"""Configuration: TOML files found nearest first, validated strictly, merged key by key into one frozen Config.

Lookup order (nearest first, nearer wins): an explicit `--config FILE`, then `<repo>/.cockpit/config.toml`, then
`<user config dir>/config.toml`. The user config dir is `platformdirs.user_config_dir("cockpit")` unless the
environment variable COCKPIT_CONFIG_DIR names another folder (tests set it so they never read the real user's files).
The layout of every key is documented in docs/configuration.md; the checks live in cockpit/config_schema.py.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.config_schema import DEFAULT_KEYS, SchemaError, validate

__all__ = [
    "CONFIG_DIR_ENV",
    "DEFAULT_KEYS",
    "Budget",
    "Config",
    "ConfigError",
    "load_config",
    "model_for",
    "user_config_dir",
]

CONFIG_DIR_ENV = "COCKPIT_CONFIG_DIR"
CONFIG_FILE_NAME = "config.toml"
DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"


class ConfigError(Exception):
    """A configuration problem the user can fix; str() is one line: `file: key: what was expected, got what`."""


@dataclass(frozen=True)
class Budget:
    """Limits for a session or a task; None means no limit on that measure."""

    tokens: int | None = None
    usd: float | None = None
    seconds: float | None = None

    @property
    def is_unlimited(self) -> bool:
        return self.tokens is None and self.usd is None and self.seconds is None


@dataclass(frozen=True)
class Config:
    default_model: str = DEFAULT_MODEL
    agent_models: dict[str, str] = field(default_factory=dict)
    extra_models: list[str] = field(default_factory=list)
    api_base: str | None = None
    request_timeout: float = 120.0
    stall_timeout: float = 60.0
    max_attempts: int = 5
    deadline: float = 600.0
    max_parallel: int = 3
    test_command: str | None = None
    test_timeout: float = 600.0
    session_budget: Budget = field(default_factory=Budget)
    task_budget: Budget = field(default_factory=Budget)
    policy_allow: list[str] = field(default_factory=list)
    policy_ask: list[str] = field(default_factory=list)
    policy_deny: list[str] = field(default_factory=list)
    command_timeout: float = 120.0
    output_cap: int = 16000
    keys: dict[str, str] = field(default_factory=dict)
    theme: str = "cockpit-dark"
    bell: bool = True
    improve_rounds: int = 2
    review_each_change: bool = True     # [review] each_change: the reviewer checks every code change first
    commit_changes: bool = False
    deploy_command: str | None = None
    offline_rate: float | None = None
    sources: tuple[Path, ...] = ()

    def key_bindings(self) -> dict[str, str]:
        """Every binding id with its key: the defaults overlaid with the user's [keys]."""
        return {**DEFAULT_KEYS, **self.keys}

    def model_choices(self) -> list[str]:
        """Models offered by the reassign picker: the default, the per-agent ones, then [models] choices."""
        ordered = [self.default_model, *self.agent_models.values(), *self.extra_models]
        return list(dict.fromkeys(ordered))


def user_config_dir() -> Path:
    """The folder holding the user's config.toml, agents/ and themes/."""
    override = os.environ.get(CONFIG_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs  # only needed when no override is set

    return Path(platformdirs.user_config_dir("cockpit"))


def model_for(config: Config, agent_name: str, agent_model: str | None, override: str | None) -> str:
    """The model an agent runs on: --model > [models.agents] > the agent file's `model` > [models] default."""
    if override:
        return override
    configured = config.agent_models.get(agent_name)
    if configured:
        return configured
    if agent_model and agent_model != "inherit":
        return agent_model
    return config.default_model


def config_files(repo: Path | None, explicit: Path | None = None) -> list[Path]:
    """The config files that exist, nearest first; a missing explicit file is an error, others are optional."""
    found: list[Path] = []
    if explicit is not None:
        explicit = Path(explicit).expanduser().resolve()
        if not explicit.exists():
            raise ConfigError(f"{explicit}: config file not found")
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: expected a TOML file, got a directory")
        found.append(explicit)
    candidates = [user_config_dir() / CONFIG_FILE_NAME]
    if repo is not None:
        candidates.insert(0, Path(repo) / ".cockpit" / CONFIG_FILE_NAME)
    for candidate in candidates:
        resolved = candidate.expanduser().resolve()
        if resolved.is_file() and resolved not in found:
            found.append(resolved)
    return found


def load_config(repo: Path | None, explicit: Path | None = None) -> Config:
    """Read, validate and merge every config file that applies to `repo`; defaults fill the rest."""
    sources = config_files(repo, explicit)
    merged: dict[str, Any] = {}
    # Farthest first, so each nearer file overrides what came before it.
    for path in reversed(sources):
        merged = merge_tables(merged, read_config_file(path))
    return config_from_table(merged, tuple(sources))


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse and validate one file; every failure becomes a one-line ConfigError naming the file."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {_describe_toml_error(exc)}") from None
    try:
        validate(data)
    except SchemaError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return data


_TOML_POSITION = re.compile(r"^(?P<what>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$", re.DOTALL)


def _describe_toml_error(exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's TOMLDecodeError only carries its position inside the message text: "What (at line 3, column 7)".
    message = " ".join(str(exc).split())
    match = _TOML_POSITION.match(message)
    if match:
        return f"invalid TOML at line {match['line']}, column {match['column']}: {match['what']}"
    return f"invalid TOML: {message.replace(' (at end of document)', ' at end of file')}"


def merge_tables(farther: dict[str, Any], nearer: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two TOML tables: nearer wins key by key, sub-tables merge, arrays and values replace."""
    merged = dict(farther)
    for key, value in nearer.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def _budget(table: dict[str, Any]) -> Budget:
    usd = table.get("usd")
    seconds = table.get("seconds")
    return Budget(
        tokens=table.get("tokens"),
        usd=float(usd) if usd is not None else None,
        seconds=float(seconds) if seconds is not None else None,
    )


def config_from_table(data: dict[str, Any], sources: tuple[Path, ...] = ()) -> Config:
    """Build a Config from an already validated, merged table."""
    defaults = Config()
    models = data.get("models", {})
    llm = data.get("llm", {})
    tests = data.get("tests", {})
    budget = data.get("budget", {})
    policy = data.get("policy", {})
    ui = data.get("ui", {})
    offline_rate = data.get("offline", {}).get("rate")
    return Config(
        default_model=models.get("default", defaults.default_model),
        agent_models=dict(models.get("agents", {})),
        extra_models=list(models.get("choices", [])),
        api_base=llm.get("api_base"),
        request_timeout=float(llm.get("request_timeout", defaults.request_timeout)),
        stall_timeout=float(llm.get("stall_timeout", defaults.stall_timeout)),
        max_attempts=llm.get("max_attempts", defaults.max_attempts),
        deadline=float(llm.get("deadline", defaults.deadline)),
        max_parallel=data.get("max_parallel", defaults.max_parallel),
        test_command=tests.get("command"),
        test_timeout=float(tests.get("timeout", defaults.test_timeout)),
        session_budget=_budget(budget.get("session", {})),
        task_budget=_budget(budget.get("task", {})),
        policy_allow=list(policy.get("allow", [])),
        policy_ask=list(policy.get("ask", [])),
        policy_deny=list(policy.get("deny", [])),
        command_timeout=float(policy.get("command_timeout", defaults.command_timeout)),
        output_cap=policy.get("output_cap", defaults.output_cap),
        keys=dict(data.get("keys", {})),
        theme=ui.get("theme", defaults.theme),
        bell=ui.get("bell", defaults.bell),
        improve_rounds=data.get("improve", {}).get("max_rounds", defaults.improve_rounds),
        review_each_change=data.get("review", {}).get("each_change", defaults.review_each_change),
        commit_changes=data.get("git", {}).get("commit", defaults.commit_changes),
        deploy_command=data.get("deploy", {}).get("command"),
        offline_rate=float(offline_rate) if offline_rate is not None else None,
        sources=sources,
    )

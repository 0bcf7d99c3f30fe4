from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.config import (
    DEFAULT_KEYS,
    Budget,
    Config,
    ConfigError,
    load_config,
    model_for,
    user_config_dir,
)


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user config dir, so no test reads the real user's files."""
    folder = tmp_path / "user-config"
    folder.mkdir()
    monkeypatch.setenv("COCKPIT_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    (path / ".cockpit").mkdir(parents=True)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_files_gives_defaults(repo: Path) -> None:
    config = load_config(repo)
    assert config == Config()
    assert config.default_model == "anthropic/claude-sonnet-4-5"
    assert config.max_parallel == 3
    assert config.sources == ()


def test_user_config_dir_honours_env(user_dir: Path) -> None:
    assert user_config_dir() == user_dir


def test_nearer_file_wins_key_by_key_and_tables_merge(tmp_path: Path, repo: Path, user_dir: Path) -> None:
    user = write(
        user_dir / "config.toml",
        """
max_parallel = 2
[models]
default = "openai/gpt-4.1"
[models.agents]
coder = "openai/gpt-4.1-mini"
reviewer = "anthropic/claude-opus-4-1"
[budget.session]
usd = 5
tokens = 100000
[ui]
theme = "nord"
bell = false
""",
    )
    repo_file = write(
        repo / ".cockpit" / "config.toml",
        """
max_parallel = 4
[models.agents]
coder = "ollama_chat/qwen2.5-coder"
[budget.session]
usd = 2.5
[tests]
command = "pytest -q"
""",
    )
    explicit = write(tmp_path / "explicit.toml", '[ui]\ntheme = "solarized"\n')

    config = load_config(repo, explicit)

    assert config.sources == (explicit.resolve(), repo_file.resolve(), user.resolve())
    assert config.theme == "solarized"  # explicit beats everything
    assert config.bell is False  # the user's key survives: tables merge, they do not replace
    assert config.max_parallel == 4  # repo beats user
    assert config.default_model == "openai/gpt-4.1"
    assert config.agent_models == {"coder": "ollama_chat/qwen2.5-coder", "reviewer": "anthropic/claude-opus-4-1"}
    assert config.session_budget == Budget(tokens=100000, usd=2.5, seconds=None)
    assert config.test_command == "pytest -q"


def test_arrays_are_replaced_not_concatenated(repo: Path, user_dir: Path) -> None:
    write(user_dir / "config.toml", '[policy]\nallow = ["git status", "ls"]\n')
    write(repo / ".cockpit" / "config.toml", '[policy]\nallow = ["pytest"]\n')
    assert load_config(repo).policy_allow == ["pytest"]


def test_every_key_is_read_into_config(repo: Path) -> None:
    write(
        repo / ".cockpit" / "config.toml",
        """
max_parallel = 5
[models]
default = "openai/gpt-4.1"
choices = ["offline", "anthropic/claude-haiku-4-5"]
[models.agents]
docs = "anthropic/claude-haiku-4-5"
[llm]
api_base = "http://127.0.0.1:11434"
request_timeout = 30
stall_timeout = 10.5
max_attempts = 2
deadline = 90
[tests]
command = "make test"
timeout = 300
[budget.session]
seconds = 3600
[budget.task]
tokens = 50000
usd = 0.5
seconds = 600
[policy]
allow = ["pytest"]
ask = ["git *"]
deny = ["rm -rf *"]
command_timeout = 30
output_cap = 4000
[keys]
approve = "y"
help = "question_mark,f1"
[ui]
theme = "cockpit-light"
bell = false
[improve]
max_rounds = 0
[git]
commit = true
[deploy]
command = "make deploy"
[offline]
rate = 400
""",
    )
    config = load_config(repo)
    assert config.extra_models == ["offline", "anthropic/claude-haiku-4-5"]
    assert config.api_base == "http://127.0.0.1:11434"
    assert (config.request_timeout, config.stall_timeout, config.max_attempts, config.deadline) == (30, 10.5, 2, 90)
    assert (config.test_command, config.test_timeout) == ("make test", 300)
    assert config.session_budget == Budget(seconds=3600.0)
    assert config.task_budget == Budget(tokens=50000, usd=0.5, seconds=600.0)
    assert (config.policy_allow, config.policy_ask, config.policy_deny) == (["pytest"], ["git *"], ["rm -rf *"])
    assert (config.command_timeout, config.output_cap) == (30, 4000)
    assert config.keys == {"approve": "y", "help": "question_mark,f1"}
    assert config.key_bindings()["approve"] == "y" and config.key_bindings()["quit"] == DEFAULT_KEYS["quit"]
    assert (config.theme, config.bell) == ("cockpit-light", False)
    assert config.improve_rounds == 0
    assert config.commit_changes is True
    assert config.deploy_command == "make deploy"
    assert config.offline_rate == 400.0
    assert config.model_choices() == [
        "openai/gpt-4.1",
        "anthropic/claude-haiku-4-5",
        "offline",
    ]
    assert isinstance(config.task_budget.usd, float) and isinstance(config.request_timeout, float)


@pytest.mark.parametrize(
    ("toml", "key", "expected", "got"),
    [
        ('max_parallel = "four"', "max_parallel", "expected a positive integer", 'got "four"'),
        ("max_parallel = 0", "max_parallel", "expected a positive integer", "got 0"),
        ("max_parallel = 2.5", "max_parallel", "expected a positive integer", "got 2.5"),
        ("max_parallel = true", "max_parallel", "expected a positive integer", "got true"),
        ("[llm]\nrequest_timeout = -1", "llm.request_timeout", "expected a positive number", "got -1"),
        ("[llm]\nstall_timeout = inf", "llm.stall_timeout", "expected a positive number", "got inf"),
        ('[llm]\napi_base = "localhost:8000"', "llm.api_base", "expected an http:// or https:// URL", "got"),
        ("[budget.task]\nusd = \"1$\"", "budget.task.usd", "expected a positive number", 'got "1$"'),
        ("[budget.session]\ntokens = 1.5", "budget.session.tokens", "expected a positive integer", "got 1.5"),
        ('[policy]\nallow = "pytest"', "policy.allow", "expected an array of non-empty strings", 'got "pytest"'),
        ("[policy]\ndeny = [1, 2]", "policy.deny", "expected an array of non-empty strings", "got an array"),
        ('[ui]\nbell = "yes"', "ui.bell", "expected true or false", 'got "yes"'),
        ('[ui]\ntheme = ""', "ui.theme", "expected a non-empty string", 'got ""'),
        ("[models]\ndefault = 3", "models.default", "expected a model string", "got 3"),
        ('[models.agents]\ncoder = "gpt 4"', "models.agents.coder", "expected a model string", 'got "gpt 4"'),
        ("[improve]\nmax_rounds = -1", "improve.max_rounds", "expected an integer of 0 or more", "got -1"),
        ("llm = 3", "llm", "expected a table [llm]", "got 3"),
        ('[keys]\napprove = ""', "keys.approve", "expected a key name", 'got ""'),
    ],
)
def test_bad_value_error_names_file_key_and_expectation(
    repo: Path, toml: str, key: str, expected: str, got: str
) -> None:
    path = write(repo / ".cockpit" / "config.toml", toml + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    message = str(caught.value)
    assert message.startswith(f"{path.resolve()}: {key}: {expected}")
    assert got in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("toml", "key", "hint"),
    [
        ("max_paralel = 3", "max_paralel", "expected one of max_parallel"),
        ("[budget.sesion]\nusd = 1", "budget.sesion", "expected one of session, task in [budget]"),
        ("[tests]\ncmd = 'make'", "tests.cmd", "expected one of command, timeout"),
        ("[keys]\naprove = 'a'", "keys.aprove", "unknown binding id (expected one of approve"),
        ("[colours]\nx = 1", "colours", "unknown key"),
    ],
)
def test_unknown_key_error_names_file_key_and_known_keys(repo: Path, toml: str, key: str, hint: str) -> None:
    path = write(repo / ".cockpit" / "config.toml", toml + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    message = str(caught.value)
    assert message.startswith(f"{path.resolve()}: {key}: ")
    assert hint in message
    assert "\n" not in message


def test_error_points_at_the_file_that_holds_the_bad_value(repo: Path, user_dir: Path) -> None:
    write(repo / ".cockpit" / "config.toml", "max_parallel = 2\n")
    user = write(user_dir / "config.toml", '[ui]\nbell = "no"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    assert str(caught.value) == f'{user.resolve()}: ui.bell: expected true or false, got "no"'


def test_invalid_toml_is_one_line_with_position(repo: Path) -> None:
    path = write(repo / ".cockpit" / "config.toml", 'max_parallel = 3\n[ui]\ntheme = \n"x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    message = str(caught.value)
    assert message == f"{path.resolve()}: invalid TOML at line 3, column 9: Invalid value"


def test_invalid_toml_at_end_of_file_is_one_line(repo: Path) -> None:
    path = write(repo / ".cockpit" / "config.toml", 'theme = "unterminated')
    with pytest.raises(ConfigError) as caught:
        load_config(repo)
    assert str(caught.value).startswith(f"{path.resolve()}: invalid TOML: ")
    assert "\n" not in str(caught.value)


def test_non_utf8_file_is_a_config_error(repo: Path) -> None:
    path = repo / ".cockpit" / "config.toml"
    path.write_bytes(b"theme = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(repo)


def test_missing_explicit_file_is_an_error(tmp_path: Path, repo: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(repo, missing)
    assert str(caught.value) == f"{missing.resolve()}: config file not found"


def test_explicit_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a TOML file"):
        load_config(None, tmp_path)


def test_explicit_file_that_is_also_the_repo_file_is_read_once(repo: Path) -> None:
    path = write(repo / ".cockpit" / "config.toml", "max_parallel = 7\n")
    config = load_config(repo, path)
    assert config.sources == (path.resolve(),)
    assert config.max_parallel == 7


def test_without_repo_only_user_config_is_read(user_dir: Path) -> None:
    write(user_dir / "config.toml", "max_parallel = 9\n")
    assert load_config(None).max_parallel == 9


def test_model_for_precedence() -> None:
    config = Config(default_model="default/model", agent_models={"coder": "config/coder"})
    # --model beats everything
    assert model_for(config, "coder", "file/model", "cli/model") == "cli/model"
    # [models.agents] beats the agent file
    assert model_for(config, "coder", "file/model", None) == "config/coder"
    # the agent file beats the default
    assert model_for(config, "tester", "file/model", None) == "file/model"
    # "inherit" or no model in the file means the default
    assert model_for(config, "tester", "inherit", None) == "default/model"
    assert model_for(config, "tester", None, None) == "default/model"


def test_documented_example_is_a_valid_config(repo: Path) -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    write(repo / ".cockpit" / "config.toml", example)
    config = load_config(repo)
    assert config.agent_models["coder"] == "openai/gpt-4.1"
    assert config.task_budget == Budget(tokens=300000, usd=1.5, seconds=900.0)
    assert config.keys == {"approve": "y", "reject": "n"}


def test_documented_key_table_matches_default_keys() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    rows = [line.split("|") for line in docs.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    documented = {cells[1].strip().strip("`"): cells[2].strip().strip("`") for cells in rows}
    assert documented == DEFAULT_KEYS

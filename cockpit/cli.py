"""The `cockpit` command. Exit codes: 0 completed, 1 a task failed, 2 usage or configuration, 3 budget, 130 interrupted.

Every user error ends as one line on stderr, `cockpit: error: ...`, and exit code 2; nothing heavy is imported
before the arguments are known to be good.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

COMMANDS = ("run", "demo", "resume", "agents")
USAGE_ERROR = 2


class UsageError(Exception):
    pass


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="litellm model for every agent (e.g. openai/gpt-4.1, offline)")
    parser.add_argument("--api-base", dest="api_base", help="URL of an OpenAI-compatible server")
    parser.add_argument("--config", type=Path, help="a config file, read before the repo's and the user's")


def _headless(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="no TUI: run to the end under an approval policy")
    parser.add_argument("--json", action="store_true", help="with --headless: one JSON event per line on stdout")
    parser.add_argument("--approve", choices=("all", "none"), default="none",
                        help="with --headless: apply every change (all) or leave them for review (none, default)")
    parser.add_argument("--allow-deploy", dest="allow_deploy", action="store_true",
                        help="with --headless --approve all: run the [deploy] command once the session completes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cockpit", description="Direct a team of AI agents from your terminal.")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a goal (headless with --headless)")
    run.add_argument("goal")
    run.add_argument("--repo", type=Path, default=Path.cwd())
    run.add_argument("--plan", type=Path, help="a plan file (YAML or JSON list of tasks) to use instead of the planner")
    _headless(run)
    _common(run)
    demo = sub.add_parser("demo", help="make a sample repo and run a full session on it with the offline model")
    demo.add_argument("--dir", type=Path, help="make the demo repo here (default: a new temporary folder)")
    _headless(demo)
    _common(demo)
    resume = sub.add_parser("resume", help="carry on the latest (or named) session of the repo")
    resume.add_argument("session_id", nargs="?")
    resume.add_argument("--repo", type=Path, default=Path.cwd())
    _headless(resume)
    _common(resume)
    agents = sub.add_parser("agents", help="list the agent definitions, where each came from, and its model")
    agents.add_argument("--repo", type=Path, default=Path.cwd())
    _common(agents)
    return parser


def build_tui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cockpit", description="Open the cockpit on the git repo here.",
                                     epilog=f"commands: {', '.join(COMMANDS)} (cockpit COMMAND --help)")
    parser.add_argument("goal", nargs="?", help="the goal; without one, the cockpit asks for it")
    parser.add_argument("--repo", type=Path, default=Path.cwd())
    _common(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            args = build_parser().parse_args(argv)
        else:
            args = build_tui_parser().parse_args(argv)
            args.command = None
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # argparse: --help is 0, bad usage is 2
        return int(exc.code or 0)
    except Exception as exc:  # noqa: BLE001 - user errors are classified below; anything else is a bug
        message, code = _classify(exc)
        print(f"cockpit: error: {message}", file=sys.stderr)
        return code


def _classify(exc: Exception) -> tuple[str, int]:
    from .agentdefs import AgentFileError
    from .config import ConfigError
    from .engine import SessionNotFound
    from .journal import JournalError
    from .llm import LLMError
    from .plan import PlanError
    from .workspace import NotAGitRepo

    if isinstance(exc, (UsageError, ConfigError, NotAGitRepo, SessionNotFound, JournalError, PlanError, AgentFileError)):
        return str(exc), USAGE_ERROR
    if isinstance(exc, LLMError) and exc.kind in ("auth", "model", "bad_request"):
        return str(exc), USAGE_ERROR
    if isinstance(exc, LLMError):
        return str(exc), 1
    raise exc


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "agents":
        return _list_agents(args)
    if getattr(args, "json", False) and not args.headless:
        raise UsageError("--json needs --headless")
    if args.command == "demo":
        return _demo(args)
    if args.command == "run":
        if not args.goal.strip():
            raise UsageError("the goal is empty")
        return _open(args, repo=args.repo, goal=args.goal, plan_file=args.plan)
    if args.command == "resume":
        return _open(args, repo=args.repo, resume=args.session_id or "latest")
    return _open(args, repo=args.repo, goal=args.goal, headless=False)


def _list_agents(args: argparse.Namespace) -> int:
    from .agentdefs import format_agents, load_agents
    from .config import load_config
    from .workspace import NotAGitRepo, find_repo_root

    try:
        root = find_repo_root(args.repo)
    except NotAGitRepo:
        root = None  # outside a repository: the built-in and the user's own agents still apply
    config = load_config(root, args.config)
    agents, problems = load_agents(root)
    print(format_agents(agents, config, override=args.model))
    for problem in problems:
        print(f"cockpit: skipped {problem}", file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo_repo import DEMO_GOAL, make_demo_repo

    target = args.dir or Path(tempfile.mkdtemp(prefix="cockpit-demo-"))
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; pick an empty or new folder for the demo")
    repo = make_demo_repo(target)
    if not args.json:
        print(f"cockpit: demo repository at {repo}", file=sys.stderr)
    args.model = args.model or "offline"
    return _open(args, repo=repo, goal=DEMO_GOAL, demo=True)


def _open(args, *, repo: Path, goal: str | None = None, resume: str | None = None, headless: bool | None = None,
          demo: bool = False, plan_file: Path | None = None) -> int:
    headless = args.headless if headless is None else headless
    if demo:
        _configure_demo_rate(headless)
    options = dict(goal=goal, resume=resume, config_path=args.config, model=args.model, api_base=args.api_base,
                   interactive=not headless, plan_file=plan_file)
    if not headless:
        _check_repo(repo)  # the one error worth catching before the screen is drawn
        from .heap import pause_collection

        pause_collection()  # the app resumes it once its screen is up
        from .app import run_app  # Textual, and nothing of the engine: the first frame comes before git and litellm

        return run_app(opener=partial(_open_engine, repo, options), ask_goal=goal is None and resume is None)
    engine = _open_engine(repo, options)
    try:
        return asyncio.run(_run_headless(engine, args))
    finally:
        engine.close()


def _open_engine(repo: Path, options: dict):
    from .engine import open_engine

    return open_engine(repo, **options)


def _check_repo(repo: Path) -> None:
    """Fail before the TUI starts when `repo` is not inside a git work tree (open_engine says the same later)."""
    path = repo.resolve()
    if not path.is_dir():
        raise UsageError(f"not a git repository: {repo} (no such folder)")
    if not any((folder / ".git").exists() for folder in (path, *path.parents)):
        raise UsageError(f"not a git repository: {repo} (run `git init` or pass --repo)")


async def _run_headless(engine, args) -> int:
    from .headless import run_headless
    from .heap import settle_heap

    await engine.preflight()
    settle_heap()  # Textual-free, but litellm's long-lived objects would still be walked by every full collection
    engine.allow_deploy = args.allow_deploy and args.approve == "all"
    return await run_headless(engine, approve=args.approve, as_json=args.json)


def _configure_demo_rate(headless: bool) -> None:
    """The demo streams at a readable pace in the TUI and at full speed headless, unless the user chose a rate."""
    os.environ.setdefault("COCKPIT_OFFLINE_RATE", "0" if headless else "60")


if __name__ == "__main__":
    sys.exit(main())

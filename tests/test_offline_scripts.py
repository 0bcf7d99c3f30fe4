from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cockpit.demo_repo import DEMO_FILES, DEMO_GOAL, make_demo_repo
from cockpit.offline.play_kit import parse_test_counts
from cockpit.offline.scripts import next_turn, parse_brief

ROLES = ("planner", "coder", "tester", "reviewer", "docs", "release")
AGENTS = Path(__file__).parents[1] / "agents"


def tools_of(role: str) -> set[str] | None:
    """The tools the built-in agent definition allows (front matter `tools:`), so a script never calls others."""
    path = AGENTS / f"{role}.md"
    if not path.is_file():
        return None
    found = re.search(r"^tools:\s*(.+)$", path.read_text(), re.MULTILINE)
    return {name.strip() for name in found.group(1).split(",")} if found else None


def brief_text(goal: str, task_id: str, title: str, description: str, context: str = "") -> str:
    """Exactly the brief the lead's agent loop writes."""
    return f"# Goal\n{goal}\n\n# Task {task_id}: {title}\n{description}\n\n# Shared context\n{context}"


def run_pytest(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


@dataclass
class Tools:
    """A tiny executor that really applies the tools to a folder, the way a task's worktree would."""

    root: Path
    touched: set[str] = field(default_factory=set)
    plans: list[list[dict]] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)

    def run(self, name: str, args: dict) -> str:
        path = self.root / args.get("path", ".")
        if name == "read_file":
            return path.read_text() if path.is_file() else f"Error: file not found: {args['path']}"
        if name == "list_files":
            skip = (".git", "__pycache__", ".pytest_cache")
            files = [p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()]
            return "\n".join(sorted(f for f in files if not any(part in skip for part in f.split("/"))))
        if name == "write_file":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(args["content"])
            self.touched.add(args["path"])
            return f"wrote {len(args['content'])} characters to {args['path']}"
        if name == "edit_file":
            text = path.read_text() if path.is_file() else ""
            assert text.count(args["old_text"]) == 1, f"old_text must match once in {args['path']}"
            path.write_text(text.replace(args["old_text"], args["new_text"]))
            self.touched.add(args["path"])
            return f"edited {args['path']}"
        if name == "search_code":
            regex = re.compile(args["pattern"])
            hits = [f"{p.relative_to(self.root).as_posix()}:{n}: {line.strip()}"
                    for p in sorted(self.root.rglob("*")) if p.is_file() and ".git" not in p.parts
                    for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if regex.search(line)]
            return "\n".join(hits) or f"no matches for {args['pattern']!r}"
        if name == "run_tests":
            result = run_pytest(self.root)
            return "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        if name == "submit_plan":
            self.plans.append(args["tasks"])
            return f"plan with {len(args['tasks'])} tasks submitted"
        if name == "report_findings":
            self.findings += args["findings"]
            return f"recorded {len(args['findings'])} findings"
        if name == "finish":
            return "finished"
        return f"Error: tool {name} is not available here"


def drive(role: str, brief: str, tools: Tools, messages: list[dict] | None = None) -> list[dict]:
    """Play the conversation until the agent calls finish; return the messages (pass them back in to continue)."""
    messages = messages or [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": brief}]
    for turn_number in range(40):
        turn = next_turn(role, messages)
        assert turn.text.strip() and turn.tool_calls, "every turn says something and calls a tool"
        allowed = tools_of(role)
        assert allowed is None or {name for name, _ in turn.tool_calls} <= allowed, f"{role} used {turn.tool_calls}"
        calls = [{"id": f"call_{len(messages)}_{i}", "type": "function",
                  "function": {"name": name, "arguments": json.dumps(args)}}
                 for i, (name, args) in enumerate(turn.tool_calls)]
        messages.append({"role": "assistant", "content": turn.text, "tool_calls": calls})
        for tool_call, (name, args) in zip(calls, turn.tool_calls):
            messages.append({"role": "tool", "tool_call_id": tool_call["id"], "content": tools.run(name, args)})
        if any(name == "finish" for name, _ in turn.tool_calls):
            return messages
    raise AssertionError(f"{role} never finished")


def calls_in(messages: list[dict]) -> list[tuple[str, dict]]:
    return [(c["function"]["name"], json.loads(c["function"]["arguments"]))
            for m in messages if m["role"] == "assistant" for c in m["tool_calls"]]


def summary_of(messages: list[dict]) -> str:
    return [args for name, args in calls_in(messages) if name == "finish"][-1]["summary"]


def plan_order(tasks: list[dict]) -> list[dict]:
    done: list[str] = []
    ordered = []
    while len(ordered) < len(tasks):
        ready = [t for t in tasks if t["id"] not in done and all(d in done for d in t["depends_on"])]
        assert ready, "the plan has a dependency cycle"
        ordered.append(ready[0])
        done.append(ready[0]["id"])
    return ordered


@dataclass
class DemoSession:
    root: Path
    plan: list[dict]
    transcripts: dict[str, tuple[str, list[dict]]]  # task id -> (role, messages)
    findings: list[dict]


@pytest.fixture(scope="module")
def demo_session(tmp_path_factory) -> DemoSession:
    """The whole demo, each task on the tree the previous ones left (as under --approve all)."""
    root = make_demo_repo(tmp_path_factory.mktemp("demo") / "repo")
    tools = Tools(root)
    planner = drive("planner", brief_text(DEMO_GOAL, "plan", "Plan the work", "Split the goal into tasks."), tools)
    plan = tools.plans[-1]
    transcripts = {"plan": ("planner", planner)}
    for task in plan_order(plan):
        brief = brief_text(DEMO_GOAL, task["id"], task["title"], task["description"])
        transcripts[task["id"]] = (task["agent"], drive(task["agent"], brief, tools))
    return DemoSession(root, plan, transcripts, tools.findings)


def test_demo_plan_has_valid_dependencies_and_two_parallel_coders(demo_session):
    plan = demo_session.plan
    ids = [task["id"] for task in plan]
    assert 4 <= len(plan) <= 6 and len(set(ids)) == len(ids)
    assert all(dep in ids for task in plan for dep in task["depends_on"])
    plan_order(plan)  # acyclic
    roots = [task for task in plan if not task["depends_on"]]
    assert len(roots) >= 2 and {task["agent"] for task in roots} == {"coder"}
    assert {task["agent"] for task in plan} == set(ROLES) - {"planner"}


def test_full_demo_session_leaves_a_green_suite_with_more_tests(demo_session):
    root = demo_session.root
    result = run_pytest(root)
    assert result.returncode == 0, result.stdout
    assert parse_test_counts(result.stdout).passed > 11
    assert "--format" in (root / "invoicer/cli.py").read_text()
    assert "## Output formats" in (root / "README.md").read_text()
    assert "## [0.3.0]" in (root / "CHANGELOG.md").read_text()
    assert '__version__ = "0.3.0"' in (root / "invoicer/__init__.py").read_text()
    data = root / "sample.json"
    data.write_text('{"invoices": [{"number": "A-1", "customer": "Initech, Ltd", "issued": "2024-05-01", '
                    '"items": [{"description": "Staplers", "quantity": 2, "unit_price": "7.50"}]}]}')
    csv_run = subprocess.run([sys.executable, "-m", "invoicer", str(data), "--format", "csv"], cwd=root,
                             capture_output=True, text=True)
    data.unlink()
    assert csv_run.stdout.splitlines() == ["number,customer,issued,subtotal,tax,total",
                                           'A-1,"Initech, Ltd",2024-05-01,15.00,0.00,15.00']


def test_tester_reports_the_counts_the_tool_result_gave(demo_session):
    role, messages = demo_session.transcripts["t3"]
    test_results = [m["content"] for m in messages if m["role"] == "tool" and "passed" in m["content"]]
    counts = parse_test_counts(test_results[-1])
    assert counts.passed == 19 and counts.failed == 0
    assert f"{counts.passed} passed, 0 failed" in summary_of(messages)


def test_reviewer_reports_only_low_and_medium_findings_on_real_lines(demo_session):
    findings = demo_session.findings
    assert 1 <= len(findings) <= 2
    assert {f["severity"] for f in findings} <= {"low", "medium"}
    assert any(f["severity"] == "medium" and "formula" in f["message"].lower() for f in findings)
    for finding in findings:
        lines = (demo_session.root / finding["path"]).read_text().splitlines()
        assert ("writerow(row)" if finding["severity"] == "medium" else "write_text") in lines[finding["line"] - 1]


def test_release_summary_carries_a_conventional_commit_message(demo_session):
    summary = summary_of(demo_session.transcripts["t6"][1])
    assert "chore(release): 0.3.0" in summary and "both read 0.3.0" in summary


def test_every_turn_of_the_demo_is_deterministic(demo_session):
    for role, messages in demo_session.transcripts.values():
        for end in range(2, len(messages)):
            if messages[end - 1]["role"] != "assistant":
                assert next_turn(role, messages[:end]) == next_turn(role, messages[:end])


def test_parallel_coders_edit_disjoint_files_from_the_same_base(tmp_path, demo_session):
    touched = []
    for task in [t for t in demo_session.plan if not t["depends_on"]]:
        tools = Tools(make_demo_repo(tmp_path / task["id"]))
        drive(task["agent"], brief_text(DEMO_GOAL, task["id"], task["title"], task["description"]), tools)
        touched.append(tools.touched)
    assert all(touched) and not set.intersection(*touched)


def test_reviewer_feedback_makes_the_csv_coder_neutralise_formulas(tmp_path):
    tools = Tools(make_demo_repo(tmp_path / "repo"))
    messages = drive("coder", brief_text(DEMO_GOAL, "t1", "Add CSV export", "Write invoicer/export.py."), tools)
    messages.append({"role": "user", "content": "The human rejected your change. Reason: cells starting with = "
                                                "run as formulas in spreadsheets (CSV injection).\n"
                                                "Revise it and finish again."})
    messages = drive("coder", "", tools, messages)
    assert "neutralise_formula" in (tools.root / "invoicer/export.py").read_text()
    assert "tests: 11 passed, 0 failed" in summary_of(messages).lower()
    probe = ("from invoicer.export import render_csv; from invoicer.models import invoice_from_dict as f; "
             "print(render_csv([f({'number': '-1', 'customer': '=HYPERLINK(1)', 'issued': 'x'})]), end='')")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tools.root, capture_output=True, text=True).stdout
    assert out.splitlines()[1] == "'-1,'=HYPERLINK(1),x,0.00,0.00,0.00"


def test_a_note_during_the_task_is_answered_after_the_work_is_done(tmp_path):
    tools = Tools(make_demo_repo(tmp_path / "repo"))
    brief = brief_text(DEMO_GOAL, "t2", "Add --format option to the CLI", "Edit invoicer/cli.py.")
    messages = [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": brief}]
    first = next_turn("coder", messages)
    read_cli = {"name": "read_file", "arguments": '{"path": "invoicer/cli.py"}'}
    messages.append({"role": "assistant", "content": first.text,
                     "tool_calls": [{"id": "c1", "type": "function", "function": read_cli}]})
    messages.append({"role": "tool", "tool_call_id": "c1", "content": tools.run(*first.tool_calls[0])})
    messages.append({"role": "user", "content": "Note: the user edited README.md while you worked."})
    messages = drive("coder", "", tools, messages)
    names = [name for name, _ in calls_in(messages)]
    assert names.count("edit_file") == 4 and names.count("finish") == 1
    assert ("read_file", {"path": "README.md"}) in calls_in(messages)
    assert "--format" in (tools.root / "invoicer/cli.py").read_text()


def test_requeued_coder_keeps_the_users_edit_instead_of_clobbering_it(tmp_path):
    root = make_demo_repo(tmp_path / "repo")
    cli = root / "invoicer/cli.py"
    cli.write_text(cli.read_text().replace("output = render_text(invoices)\n", "output = render_text(invoices).upper()\n"))
    tools = Tools(root)
    note = "Your change conflicted with the user's edits to invoicer/cli.py. Redo it on the current files."
    messages = [{"role": "system", "content": ""},
                {"role": "user", "content": brief_text(DEMO_GOAL, "t2", "Add --format option to the CLI", "")},
                {"role": "user", "content": note}]
    messages = drive("coder", "", tools, messages)
    assert not tools.touched and "render_text(invoices).upper()" in cli.read_text()
    summary = summary_of(messages)
    assert "no longer contains" in summary and "I changed no files" in summary


def test_coder_stops_without_writing_when_its_file_is_missing(tmp_path):
    tools = Tools(tmp_path)
    (tmp_path / "app.py").write_text("print('hi')\n")
    messages = drive("coder", brief_text(DEMO_GOAL, "t2", "Add --format option to the CLI", ""), tools)
    assert not tools.touched
    assert "missing" in summary_of(messages)


def test_tester_never_invents_a_green_run():
    messages = [{"role": "system", "content": ""},
                {"role": "user", "content": brief_text("Make it faster", "t9", "Run tests", "")}]
    messages.append({"role": "assistant", "content": "Running.", "tool_calls": [
        {"id": "r", "type": "function", "function": {"name": "run_tests", "arguments": "{}"}}]})
    messages.append({"role": "tool", "tool_call_id": "r",
                     "content": json.dumps({"passed": 9, "failed": 3, "errors": 0, "skipped": 1,
                                            "tests": [{"name": "test_speed", "outcome": "failed"}]})})
    turn = next_turn("tester", messages)
    assert turn.tool_calls[0][0] == "finish"
    assert "9 passed, 3 failed, 1 skipped (test_speed)" in turn.tool_calls[0][1]["summary"]


def test_generic_goal_runs_end_to_end_and_only_writes_notes(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n")
    tools = Tools(root)
    goal = "Add a subtract function."
    drive("planner", brief_text(goal, "plan", "Plan the work", ""), tools)
    plan = tools.plans[-1]
    assert 2 <= len(plan) <= 3 and sum(1 for t in plan if not t["depends_on"]) >= 2
    summaries = {t["id"]: summary_of(drive(t["agent"], brief_text(goal, t["id"], t["title"], t["description"]),
                                           tools)) for t in plan_order(plan)}
    assert tools.touched == {"NOTES.md"}
    assert "1. Read the modules" in (root / "NOTES.md").read_text()
    assert "1 passed, 0 failed" in summaries["t2"]


def test_demo_goal_on_another_repo_falls_back_to_the_generic_plan(tmp_path):
    (tmp_path / "main.go").write_text("package main\n")
    tools = Tools(tmp_path)
    drive("planner", brief_text(DEMO_GOAL, "plan", "Plan the work", ""), tools)
    assert [t["title"] for t in tools.plans[-1]][0] == "Survey the code"


def test_plan_rejection_resubmits_without_the_dropped_task(tmp_path):
    tools = Tools(make_demo_repo(tmp_path / "repo"))
    messages = drive("planner", brief_text(DEMO_GOAL, "plan", "Plan the work", ""), tools)
    messages.append({"role": "user", "content": "The human rejected the plan. Reason: drop the release task, we "
                                                "ship later.\nSubmit a revised plan, then finish."})
    drive("planner", "", tools, messages)
    revised = tools.plans[-1]
    assert len(tools.plans) == 2 and "release" not in {t["agent"] for t in revised}
    assert all(dep in {t["id"] for t in revised} for t in revised for dep in t["depends_on"])


def test_brief_with_blank_lines_in_the_description_is_parsed():
    brief = parse_brief(brief_text("Ship it.", "t4", "Review: security", "First.\n\nSecond.", "Use tabs."))
    assert (brief.goal, brief.task_id, brief.title) == ("Ship it.", "t4", "Review: security")
    assert brief.description == "First.\n\nSecond." and brief.shared_context == "Use tabs."


@pytest.mark.parametrize("text, expected", [
    ("==== 3 failed, 10 passed, 1 skipped in 0.2s ====", (10, 3, 0, 1)),
    ('{"passed": 4, "failed": 0, "errors": 1, "skipped": 0}', (4, 0, 1, 0)),
    ('ok: {"summary": {"passed": 2, "failed": 1}}', (2, 1, 0, 0)),
    ("passed=7 failed=0", (7, 0, 0, 0)),
])
def test_test_counts_are_read_from_json_or_pytest_summaries(text, expected):
    counts = parse_test_counts(text)
    assert (counts.passed, counts.failed, counts.errors, counts.skipped) == expected


def test_no_counts_in_a_result_is_not_read_as_a_pass():
    assert parse_test_counts("Error: test command timed out") is None


def test_every_demo_edit_matches_the_demo_files_exactly_once():
    from cockpit.offline.demo_content import CLI_EDITS, README_EDITS

    for path, edits in (("invoicer/cli.py", CLI_EDITS), ("README.md", README_EDITS)):
        text = DEMO_FILES[path]
        for _, old, new in edits:
            assert text.count(old) == 1, (path, old)
            text = text.replace(old, new)

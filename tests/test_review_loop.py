"""Review, test, improve: the engine checks each change itself, sends failures back, and gates what a human sees.

The offline model plays small scripts written here (substituted for its demo scripts), so each behaviour is
forced: a coder whose first attempt fails the real tests, a reviewer who finds a high-severity problem.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from cockpit.headless import approval_policy
from cockpit.offline import scripts
from cockpit.offline.turns import ScriptedTurn

from harness import WAIT, Harness, on

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
PLAN = [{"id": "t1", "title": "Write add()", "description": "calc.add", "agent": "coder", "depends_on": []}]


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    (path / "tests").mkdir(parents=True)
    (path / "calc.py").write_text("def add(a, b):\n    raise NotImplementedError\n")
    (path / "tests" / "test_calc.py").write_text("from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (path / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=path, check=True)
    return path


def play(coder_fixes: bool, reviewer_severity: str | None = None):
    """A script: the planner plans one coder task; the coder writes a bug, then fixes it if told to and allowed."""

    def next_turn(role, messages):
        said = [m for m in messages[2:] if m["role"] == "assistant"]
        improve_rounds = sum(1 for m in messages if m["role"] == "user" and "# Improve round" in str(m["content"]))
        if role == "planner":
            if not said:
                return ScriptedTurn("One task.", [("submit_plan", {"tasks": PLAN})])
            return ScriptedTurn("Done.", [("finish", {"summary": "planned"})])
        if role == "reviewer":
            if not said and reviewer_severity:
                finding = {"severity": reviewer_severity, "path": "calc.py", "line": 2, "message": "eval of input"}
                return ScriptedTurn("Found one.", [("report_findings", {"findings": [finding]})])
            return ScriptedTurn("Reviewed.", [("finish", {"summary": "reviewed"})])
        if said and said[-1].get("tool_calls") and json.loads(said[-1]["tool_calls"][0]["function"]["arguments"]).get("content"):
            return ScriptedTurn("Written.", [("finish", {"summary": f"round {improve_rounds}"})])
        content = FIXED if (coder_fixes and improve_rounds) else BUGGY
        return ScriptedTurn("Writing add().", [("write_file", {"path": "calc.py", "content": content})])

    return next_turn


async def test_failing_tests_go_back_to_the_coder_who_fixes_them(repo, monkeypatch):
    monkeypatch.setattr(scripts, "next_turn", play(coder_fixes=True))
    h = Harness(repo, goal="write add")
    await asyncio.wait_for(h.engine.run(), WAIT)
    runs = [e for e in h.events if e.type == "tests_finished" and e.get("by") == "engine"]
    assert [(r.get("passed"), r.get("failed")) for r in runs] == [(0, 1), (1, 0)]
    assert runs[0].get("tree") and runs[0].get("tree") != runs[1].get("tree")
    improve = [m for m in h.calls_of("t1", "coder")[-1]["messages"] if "# Improve round 1 of 2" in str(m.get("content"))]
    assert improve and "test_add" in improve[0]["content"]
    assert (repo / "calc.py").read_text() == FIXED
    assert h.events[-1].get("status") == "completed"


async def test_at_the_round_limit_the_task_waits_on_the_human_with_the_last_results(repo, monkeypatch):
    monkeypatch.setattr(scripts, "next_turn", play(coder_fixes=False))
    h = Harness(repo, goal="write add")
    h.auto["change"] = False
    run = asyncio.create_task(h.engine.run())
    request = await h.wait_for(on("decision_requested", kind="change"))
    runs = [e for e in h.events if e.type == "tests_finished" and e.get("by") == "engine"]
    assert len(runs) == 3 and all(r.get("failed") == 1 for r in runs)  # first pass + 2 improve rounds
    assert request.get("payload")["tests_failing"] is True
    # Headless --approve all would not apply it: failing tests wait for a human.
    decision = h.session.state.decisions[request.get("request_id")]
    assert approval_policy("all", h.session.state)(decision) is None
    assert h.status("t1") == "waiting"
    h.runner.stop()
    await run


async def test_a_high_severity_finding_blocks_auto_approval(repo, monkeypatch):
    monkeypatch.setattr(scripts, "next_turn", play(coder_fixes=True, reviewer_severity="high"))
    h = Harness(repo, goal="write add")
    h.auto["change"] = False
    run = asyncio.create_task(h.engine.run())
    request = await h.wait_for(on("decision_requested", kind="change"))
    findings = [e for e in h.events if e.type == "findings_reported"]
    assert findings and findings[-1].get("findings")[0]["severity"] == "high"
    assert request.get("payload")["blocking_findings"] >= 1
    decision = h.session.state.decisions[request.get("request_id")]
    assert approval_policy("all", h.session.state)(decision) is None
    h.runner.stop()
    await run

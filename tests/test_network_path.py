"""The network path: `cockpit run` against a real OpenAI-compatible server on 127.0.0.1, through litellm.

The server (tests/openai_server.py) plays the offline scripts over SSE, with faults: a 429 once, a 500 once and a
stream cut mid-way. The run must still complete, and no streamed text may appear twice in the journal.
"""

from __future__ import annotations

import json
import subprocess
import threading

from openai_server import FakeOpenAI, ScriptedResponse

from cockpit.journal import Journal
from cockpit.offline.scripts import next_turn

ROLE_MARKERS = {
    "planner": "You are the planner", "coder": "You are the coder", "tester": "You are the tester",
    "reviewer": "You are the security reviewer", "docs": "You are the documentation writer",
    "release": "You are the release agent",
}


def role_of(request: dict) -> str:
    system = request["messages"][0]["content"]
    return next((role for role, marker in ROLE_MARKERS.items() if marker in system), "coder")


class Script:
    """Answers as the offline model would, with faults injected at fixed request numbers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served: list[str] = []  # text of each answer that was streamed to the end
        self.cut_text = ""

    def __call__(self, request: dict, index: int) -> ScriptedResponse:
        if index == 0:
            return ScriptedResponse.status_error(429, retry_after="0")
        if index == 1:
            return ScriptedResponse.status_error(500)
        turn = next_turn(role_of(request), request["messages"])
        response = ScriptedResponse(text=turn.text, tool_calls=list(turn.tool_calls), chunk_chars=3)
        with self.lock:
            if index == 3:
                self.cut_text = turn.text
                response.cut_after = 4  # a few text deltas reach the client, then the connection drops
            else:
                self.served.append(turn.text)
        return response


def test_run_through_a_real_server_survives_faults_without_duplicating_text(tmp_path, run_cockpit):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "app.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    script = Script()
    with FakeOpenAI.run_in_thread(script) as server:
        result = run_cockpit(
            "run", "Survey the project and write notes", "--headless", "--json", "--approve", "all",
            "--model", "openai/fake-model", "--api-base", server.base_url, "--repo", str(repo),
            env={"OPENAI_API_KEY": "sk-test-not-a-real-key"},
        )
        requests = list(server.requests)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(requests) > 5 and all(r.body["model"] == "fake-model" for r in requests)
    assert all(r.body.get("stream") for r in requests)

    journal = Journal(repo / ".cockpit" / "journal.db")
    (session_id, _, _), = journal.sessions()
    events = list(journal.events(session_id))
    output = "".join(e.get("text") for e in events if e.type == "agent_output")
    assert script.cut_text and len(script.cut_text) > 12
    # The cut answer was retried and served again whole: neither it nor the part seen before the cut is repeated.
    assert output.count(script.cut_text) == script.served.count(script.cut_text) >= 1
    prefix = script.cut_text[:6]  # shorter than what reached the client before the cut (3 deltas of 3)
    assert output.count(prefix) == sum(text.count(prefix) for text in script.served)
    for text in set(script.served):
        if text:
            assert output.count(text) == script.served.count(text), text
    assert events[-1].type == "session_finished" and events[-1].get("status") == "completed"
    assert "sk-test-not-a-real-key" not in json.dumps([e.to_dict() for e in events])
    assert (repo / "NOTES.md").exists()

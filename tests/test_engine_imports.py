"""The engine knows nothing of Textual, and starting it costs no litellm import."""

import subprocess
import sys

ENGINE_MODULES = [
    "cockpit.events", "cockpit.journal", "cockpit.plan", "cockpit.state", "cockpit.session", "cockpit.runner",
    "cockpit.task_run", "cockpit.agent_loop", "cockpit.context", "cockpit.budget", "cockpit.config",
    "cockpit.agentdefs", "cockpit.llm", "cockpit.tools", "cockpit.policy", "cockpit.procs", "cockpit.paths",
    "cockpit.workspace", "cockpit.testing", "cockpit.engine", "cockpit.headless", "cockpit.cli", "cockpit.demo_repo",
    "cockpit.offline.scripts", "cockpit.checks", "cockpit.watcher", "cockpit.staleness", "cockpit.rebase",
    "cockpit.apply", "cockpit.commits", "cockpit.hygiene", "cockpit.test_detect", "cockpit.deploy", "cockpit.changes",
    "cockpit.edits", "cockpit.heap",
]

BLOCK_TEXTUAL = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "textual" or name.startswith("textual."):
            raise ImportError("textual is not allowed in the engine")
sys.meta_path.insert(0, Block())
import importlib
for name in {modules!r}:
    importlib.import_module(name)
assert "litellm" not in sys.modules, "litellm imported at engine import time"
print("ok")
"""


def test_engine_imports_without_textual_and_without_litellm():
    code = BLOCK_TEXTUAL.format(modules=ENGINE_MODULES)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

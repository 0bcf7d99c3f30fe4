"""Start-up launcher: run cockpit (or the bare baseline app) headless and leave at its first painted frame.

`python -m bench.first_frame REPORT cockpit ARGS...` runs the real `cockpit ARGS...`; `... REPORT bare` runs the
baseline. At the first frame (the first screen update rendered to terminal bytes) it notes the monotonic time,
whether litellm was imported by then, and how many modules were. cockpit paints before its engine is open, so for
cockpit it also waits for the first frame that shows the opened session (`session_shown`). Then it writes REPORT
and leaves at once with os._exit: the measurement is over, and a graceful shutdown is not part of it.
"""

from __future__ import annotations

import json
import os
import sys
import time

SIZE = (160, 48)


def _report_first_frame(app, path: str) -> None:
    from textual._compositor import CompositorUpdate

    original = app._display
    report: dict = {}

    def display(screen, renderable) -> None:
        painted = renderable is not None and not app._batch_count
        original(screen, renderable)
        if not painted:
            return
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # what a terminal would be sent; headless skips it
        now = time.monotonic()
        if not report:
            report.update(first_frame=now, litellm_imported="litellm" in sys.modules, modules=len(sys.modules),
                          screen=type(app.screen).__name__)
        main_screen = getattr(app, "main_screen", None)
        waiting = main_screen is not None and getattr(main_screen, "engine", None) is None
        if waiting:
            return  # cockpit: its engine is still opening
        report["session_shown"] = now
        with open(path, "w", encoding="utf-8") as out:
            json.dump(report, out)
        sys.stdout.flush()
        os._exit(0)

    app._display = display


def main() -> None:
    report, kind, *args = sys.argv[1:]
    from textual.app import App

    original_run = App.run

    def run(self, *run_args, **run_kwargs):
        run_kwargs["headless"] = True
        run_kwargs.setdefault("size", SIZE)
        _report_first_frame(self, report)
        return original_run(self, *run_args, **run_kwargs)

    App.run = run  # type: ignore[method-assign]
    if kind == "cockpit":
        sys.argv = ["cockpit", *args]
        from cockpit.cli import main as cockpit_main

        cockpit_main()
    else:
        from bench.bare_apps import StartupApp

        StartupApp().run()
    os._exit(1)  # no frame was painted


if __name__ == "__main__":
    main()

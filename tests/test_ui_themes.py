"""Theme files load into Textual themes; a broken user theme is reported in one line and skipped, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from cockpit.ui_themes import BUILTIN_THEMES, ThemeFileError, load_themes, parse_theme, register_themes
from cockpit.widgets.diff_view import DiffView

ADDED_LINE_DIFF = """\
diff --git a/m.py b/m.py
--- a/m.py
+++ b/m.py
@@ -1 +1 @@
-x = 1
+x = 2
"""


class _Host(App):
    def compose(self) -> ComposeResult:
        yield DiffView()


def test_the_three_builtin_themes_load_with_their_palettes():
    themes, problems = load_themes(None)
    assert problems == []
    by_name = {theme.name: theme for theme in themes}
    assert set(BUILTIN_THEMES) <= set(by_name)
    assert by_name["cockpit-dark"].dark and not by_name["cockpit-light"].dark
    ansi = by_name["cockpit-ansi"]
    assert ansi.ansi and ansi.primary.startswith("ansi_") and ansi.success == "ansi_green"


def test_broken_user_theme_is_reported_with_its_path_and_skipped(tmp_path: Path):
    (tmp_path / "bad-colour.toml").write_text('name = "bad"\nprimary = "not-a-colour"\n', encoding="utf-8")
    (tmp_path / "bad-toml.toml").write_text("name = \n", encoding="utf-8")
    (tmp_path / "typo.toml").write_text('name = "typo"\nprimary = "#123456"\nprimry = "#000000"\n', encoding="utf-8")
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#336699"\ndark = false\n', encoding="utf-8")
    themes, problems = load_themes(tmp_path)
    names = {theme.name for theme in themes}
    assert "mine" in names and not {"bad", "typo"} & names
    assert len(problems) == 3
    assert all("\n" not in problem for problem in problems)
    assert f"{tmp_path / 'bad-colour.toml'}: primary: 'not-a-colour' is not a colour" in problems[0]
    assert problems[1].startswith(f"{tmp_path / 'bad-toml.toml'}: not valid TOML")
    assert "unknown key 'primry'" in problems[2]


def test_user_theme_may_replace_a_builtin_one_by_name(tmp_path: Path):
    (tmp_path / "dark.toml").write_text('name = "cockpit-dark"\nprimary = "#FF00FF"\n', encoding="utf-8")
    themes, _ = load_themes(tmp_path)
    assert [theme.primary for theme in themes if theme.name == "cockpit-dark"] == ["#FF00FF"]


@pytest.mark.parametrize(
    "text, error",
    [
        ('primary = "#123456"', "name:"),
        ('name = "has space"\nprimary = "#123456"', "name:"),
        ('name = "x"', "primary: missing"),
        ('name = "x"\nprimary = "#123456"\ndark = "yes"', "dark: expected true or false"),
        ('name = "x"\nprimary = "#123456"\n[variables]\nborder = "nope 50%"', "variables.border"),
        ('name = "x"\nprimary = "#123456"\n[variables]\nlink-style = "sparkly"', "not a text style"),
    ],
)
def test_invalid_theme_text_raises_a_one_line_error(text: str, error: str):
    with pytest.raises(ThemeFileError, match=error.replace(".", r"\.")):
        parse_theme(text)


async def test_every_theme_registers_and_the_diff_view_renders_in_it(tmp_path: Path):
    (tmp_path / "broken.toml").write_text("not toml at all [", encoding="utf-8")
    app = _Host()
    async with app.run_test(size=(60, 10)) as pilot:
        problems = register_themes(app, tmp_path)
        assert len(problems) == 1 and problems[0].startswith(str(tmp_path / "broken.toml"))
        view = app.query_one(DiffView)
        view.show_diff(ADDED_LINE_DIFF)
        added_backgrounds = {}
        for name in BUILTIN_THEMES:
            app.theme = name
            await pilot.pause()
            assert app.current_theme.name == name
            added = view.render_line(3)  # file title, hunk header, "-x = 1", "+x = 2"
            assert "+x = 2" in added.text
            added_backgrounds[name] = {segment.style.bgcolor for segment in added if "x" in segment.text}
        # Truecolour themes tint the added line; the ANSI one leaves the terminal's background alone.
        assert added_backgrounds["cockpit-dark"] != added_backgrounds["cockpit-light"]
        assert all(color is None or color.is_default for color in added_backgrounds["cockpit-ansi"])


async def test_a_theme_picked_in_the_app_is_remembered_for_the_next_run(tmp_path):
    from cockpit.app import CockpitApp
    from cockpit.demo_repo import make_demo_repo
    from cockpit.engine import open_engine

    repo = make_demo_repo(tmp_path / "demo")
    for expected, pick in (("cockpit-dark", "cockpit-light"), ("cockpit-light", None)):
        engine = open_engine(repo, goal="look", model="offline")
        app = CockpitApp(engine, run_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.theme == expected
            if pick:
                app.theme = pick
                await pilot.pause()
        engine.close()

"""Theme files (TOML) turned into Textual themes: the built-in ones shipped in `cockpit.themes`, plus the user's.

A front-end module: it imports Textual, so the engine never imports it. A bad theme file never stops the app; it
is skipped and reported as one line `path: what is wrong`, for the app to show in a notification.

A theme file holds `name` and `primary` (required), then any of `dark`, `ansi`, `secondary`, `accent`,
`background`, `surface`, `panel`, `success`, `warning`, `error`, `foreground`, and an optional `[variables]`
table of Textual theme variables (`block-cursor-background = "#336699"`).
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme

if TYPE_CHECKING:
    from textual.app import App

DEFAULT_THEME = "cockpit-dark"
BUILTIN_THEMES = ("cockpit-dark", "cockpit-light", "cockpit-ansi")
COLOR_KEYS = ("primary", "secondary", "accent", "background", "surface", "panel", "success", "warning", "error",
              "foreground")
FLAG_KEYS = ("dark", "ansi")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # becomes a CSS class (-theme-NAME), so no spaces
_ALPHA = re.compile(r"^(?P<color>.+?)\s+(?P<alpha>\d{1,3})%$")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message is one line saying what is wrong."""


def _check_color(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{key}: expected a colour string, got {type(value).__name__}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"{key}: {value!r} is not a colour (try '#RRGGBB' or an ANSI name like 'ansi_blue')")
    return value


def _check_variable(name: str, value: Any) -> str:
    """Textual variables are colours (optionally `colour N%`) or, for `*-style` names, text style flags."""
    if not isinstance(value, str):
        raise ThemeFileError(f"variables.{name}: expected a string, got {type(value).__name__}")
    if name.endswith("style"):
        unknown = [flag for flag in value.split() if flag not in VALID_STYLE_FLAGS]
        if unknown:
            raise ThemeFileError(f"variables.{name}: {unknown[0]!r} is not a text style")
        return value
    match = _ALPHA.match(value.strip())
    _check_color(f"variables.{name}", match["color"] if match else value)
    return value


def _check_variables(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ThemeFileError("variables: expected a table of name = value")
    return {str(name): _check_variable(str(name), value) for name, value in raw.items()}


def theme_from_dict(data: dict[str, Any]) -> Theme:
    """A Theme from a theme file's parsed TOML; raises ThemeFileError on the first thing wrong."""
    known = {"name", "variables", *COLOR_KEYS, *FLAG_KEYS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ThemeFileError(f"unknown key {unknown[0]!r} (expected: {', '.join(sorted(known))})")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ThemeFileError("name: expected a name of letters, digits, '-' or '_' (e.g. name = \"my-theme\")")
    if "primary" not in data:
        raise ThemeFileError("primary: missing (every theme needs a primary colour)")
    colors = {key: _check_color(key, data[key]) for key in COLOR_KEYS if key in data}
    flags = {}
    for key in FLAG_KEYS:
        if key in data and not isinstance(data[key], bool):
            raise ThemeFileError(f"{key}: expected true or false, got {data[key]!r}")
        flags[key] = data.get(key, key == "dark")  # themes are dark unless they say otherwise
    variables = _check_variables(data.get("variables", {}))
    if flags["ansi"]:
        # Textual's own stylesheet needs these two in ANSI mode, and only themes define them.
        light = not flags["dark"]
        variables.setdefault("ansi-background", "ansi_white" if light else "ansi_black")
        variables.setdefault("ansi-foreground", "ansi_black" if light else "ansi_white")
    theme = Theme(name=name, variables=variables, **colors, **flags)
    try:
        theme.to_color_system().generate()  # shades are derived here: fail now, not when the app switches theme
    except Exception as error:  # noqa: BLE001 - any failure means the file is unusable; say why in one line
        raise ThemeFileError(f"colours do not make a theme: {error}") from None
    return theme


def parse_theme(text: str) -> Theme:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ThemeFileError(f"not valid TOML: {error}") from None
    return theme_from_dict(data)


def load_theme_file(path: Path) -> Theme:
    """The theme in one file; ThemeFileError (message without the path) if it cannot be read or used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ThemeFileError(f"cannot read: {error}") from None
    return parse_theme(text)


def _builtin_themes() -> list[Theme]:
    folder = resources.files("cockpit.themes")
    return [parse_theme(folder.joinpath(f"{name}.toml").read_text(encoding="utf-8")) for name in BUILTIN_THEMES]


def _user_theme_files(extra_dir: Path | None) -> list[Path]:
    if extra_dir is None or not Path(extra_dir).is_dir():
        return []
    return sorted(path for path in Path(extra_dir).glob("*.toml") if path.is_file())


def load_themes(extra_dir: Path | None = None) -> tuple[list[Theme], list[str]]:
    """The built-in themes, then the user's from `extra_dir` (a user theme may replace a built-in one by name).

    Returns the themes and the problems: one line per bad file, `path: what is wrong`. Never raises for a bad file.
    """
    themes = {theme.name: theme for theme in _builtin_themes()}
    problems: list[str] = []
    for path in _user_theme_files(extra_dir):
        try:
            theme = load_theme_file(path)
        except ThemeFileError as error:
            problems.append(f"{path}: {error}")
            continue
        themes[theme.name] = theme
    return list(themes.values()), problems


def register_themes(app: App, extra_dir: Path | None = None) -> list[str]:
    """Register every theme on `app`; returns the problems found (see `load_themes`) for the app to show."""
    themes, problems = load_themes(extra_dir)
    for theme in themes:
        app.register_theme(theme)
    return problems

"""The command policy: which shell commands an agent may run alone, must ask about, or may never run.

Patterns are fnmatch globs matched against the whole command line and against each sub-command (split on `&&`,
`||`, `;`, `|`, `&` and newlines, outside quotes). Deny wins over ask, ask wins over allow, and a command is allowed
only when every sub-command is. Allow patterns are never matched against the whole line: `git status*` would
otherwise allow `git status && rm -rf src`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Iterable, Literal

Decision = Literal["allow", "ask", "deny"]
DECISIONS: tuple[str, ...] = ("allow", "ask", "deny")

# Longest operators first so `||` is not read as two pipes.
_OPERATORS = ("&&", "||", ";", "|", "&", "\n")

# Shell features that can smuggle a second command (or a write outside the worktree) past an allow pattern.
# A command using them is at most "ask"; deny patterns still apply. Redirections to /dev/null or between
# descriptors (`2>&1`) are harmless and removed before looking for `>`.
_SUBSTITUTION = re.compile(r"\$\(|`|<\(|>\(")
_HARMLESS_REDIRECT = re.compile(r"(?:\d*|&)>>?\s*/dev/null|\d*>&\d")
# Prefixes that do not change which program runs: stripped before matching deny and ask patterns,
# so `FOO=1 sudo x` and `(rm -rf /)` meet their patterns.
_PREFIX = re.compile(r"^(?:[({]\s*|[A-Za-z_][A-Za-z0-9_]*=\S*\s+|(?:command|exec|nohup|time|env)\s+)+")


def split_command(command: str) -> tuple[list[str], list[str]] | None:
    """Split a shell line into sub-commands and the operators between them, respecting quotes.

    Returns None when quoting is unbalanced: such a line is never allowed without asking.
    """
    parts: list[str] = []
    ops: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(command):
        char = command[i]
        if quote:
            current.append(char)
            if char == "\\" and quote == '"' and i + 1 < len(command):
                current.append(command[i + 1])
                i += 1
            elif char == quote:
                quote = None
            i += 1
            continue
        if char == "\\" and i + 1 < len(command):
            current.append(command[i : i + 2])
            i += 2
            continue
        if char in "'\"":
            quote = char
            current.append(char)
            i += 1
            continue
        op = next((op for op in _OPERATORS if command.startswith(op, i)), None)
        # `2>&1` and `>&2` are redirections, not the background operator.
        if op == "&" and (command[i - 1 : i] == ">" or command[i + 1 : i + 2] == ">"):
            op = None
        if op:
            parts.append("".join(current))
            ops.append(op.strip() or ";")
            current = []
            i += len(op)
            continue
        current.append(char)
        i += 1
    if quote:
        return None
    parts.append("".join(current))
    subs = [_normalize(part) for part in parts]
    # Drop empty pieces left by a trailing `;` or newline, and the operator that preceded them.
    kept_subs, kept_ops = [], []
    for index, sub in enumerate(subs):
        if sub:
            if kept_subs and index > 0:
                kept_ops.append(ops[index - 1])
            kept_subs.append(sub)
    return kept_subs, kept_ops


def _is_unsafe(command: str) -> bool:
    return bool(_SUBSTITUTION.search(command)) or ">" in _HARMLESS_REDIRECT.sub("", command)


def _normalize(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class CommandPolicy:
    allow: list[str] = field(default_factory=list)
    ask: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    default: str = "ask"

    def __post_init__(self) -> None:
        if self.default not in DECISIONS:
            raise ValueError(f"command policy default must be one of allow, ask, deny, not {self.default!r}")
        for name in ("allow", "ask", "deny"):
            patterns = getattr(self, name)
            if isinstance(patterns, str) or not all(isinstance(p, str) for p in patterns):
                raise ValueError(f"command policy {name} must be a list of glob strings")
            object.__setattr__(self, name, [_normalize(p) for p in patterns if p.strip()])

    def extended(self, allow: Iterable[str] = (), ask: Iterable[str] = (), deny: Iterable[str] = (),
                 default: str | None = None) -> "CommandPolicy":
        """This policy plus more patterns: how a user's config adds to the built-in defaults."""
        return CommandPolicy(
            allow=[*self.allow, *allow],
            ask=[*self.ask, *ask],
            deny=[*self.deny, *deny],
            default=default or self.default,
        )

    def decide(self, command: str) -> Decision:
        split = split_command(command)
        whole = _normalize(command)
        if split is None:
            # Unbalanced quotes: match what we can, never allow.
            return "deny" if self._matches(self.deny, [whole]) else "ask"
        subs, ops = split
        if not subs:
            return "deny"
        # The line rebuilt with single spaces around operators, so `curl x|sh` meets the pattern `curl * | sh`.
        rebuilt = subs[0] + "".join(f" {op} {sub}" for op, sub in zip(ops, subs[1:]))
        bare = [_PREFIX.sub("", sub).rstrip(")} ") for sub in subs]
        candidates = [whole, rebuilt, *subs, *bare]
        if self._matches(self.deny, candidates):
            return "deny"
        if self._matches(self.ask, candidates):
            return "ask"
        if _is_unsafe(command):
            return "ask" if self.default != "deny" else "deny"
        if all(self._matches(self.allow, [sub]) for sub in subs):
            return "allow"
        return self.default  # type: ignore[return-value]

    @staticmethod
    def _matches(patterns: list[str], candidates: list[str]) -> bool:
        return any(fnmatchcase(text, pattern) for pattern in patterns for text in candidates)


DEFAULT_ALLOW: tuple[str, ...] = (
    "ls", "ls *", "pwd", "cat *", "head *", "tail *", "wc *", "file *", "stat *", "du *", "tree", "tree *",
    "grep *", "egrep *", "rg *", "find", "find *", "which *", "echo", "echo *", "sort *", "uniq *", "diff *",
    "true", "false", "basename *", "dirname *", "realpath *",
    "git status", "git status *", "git diff", "git diff *", "git log", "git log *", "git show", "git show *",
    "git blame *", "git ls-files", "git ls-files *", "git grep *", "git branch", "git branch --list*",
    "git branch --show-current",
    "pytest", "pytest *", "python -m pytest", "python -m pytest *", "python3 -m pytest", "python3 -m pytest *",
    "python --version", "python3 --version", "python -V", "python3 -V",
    "ruff check", "ruff check *", "mypy *", "pyflakes *",
)

# Ask about these even though an allow pattern above would match them.
DEFAULT_ASK: tuple[str, ...] = (
    "find *-delete*", "find *-exec*", "find *-execdir*", "find *-ok*", "find *-fprint*",
    "ruff check *--fix*", "git diff *--output*",
)

DEFAULT_DENY: tuple[str, ...] = (
    # Destroying files outside the project.
    "rm -rf /*", "rm -fr /*", "rm -r -f /*", "rm -rf ~*", "rm -fr ~*", "rm -rf .", "rm -rf ./", "rm -rf *..*",
    "rm -rf $HOME*", "mkfs*", "dd *of=/dev/*", "shred *", ":(){*", "chmod -R * /*", "chown -R * /*",
    # Becoming someone else or stopping the machine.
    "sudo", "sudo *", "su", "su *", "doas *", "shutdown*", "reboot*", "halt", "poweroff*",
    # Rewriting or discarding history and publishing anything.
    "git push*", "git reset --hard*", "git clean*", "git checkout -- *", "git checkout .",
    "git filter-branch*", "git update-ref *", "git reflog expire*", "git gc --prune*", "git remote add *",
    "git remote set-url *", "git config --global *", "npm publish*", "yarn publish*", "pnpm publish*",
    "twine upload*", "poetry publish*", "cargo publish*", "gh release *", "docker push*",
    # Running code fetched from the network.
    "curl * | sh*", "curl * | bash*", "wget * | sh*", "wget * | bash*", "* | sudo *",
    "bash <(curl *", "sh <(curl *", "bash <(wget *", "eval *",
)

DEFAULT_POLICY = CommandPolicy(allow=list(DEFAULT_ALLOW), ask=list(DEFAULT_ASK), deny=list(DEFAULT_DENY))

"""Reading a console line as a command: `/search diffusion models since:2025-09-01`.

* Words are split like a shell (quotes group words); a line with an unbalanced quote is split
  on spaces instead.
* The first words pick the command and its subcommand (`/setup channel …`).
* `name:value` sets an option by name; words after it are added to it (`query:diffusion models`).
* Other words, before any `name:value`, fill the required options in order (the optional first
  option when none is required); the last one takes the rest of the words:
  `/setup channel #papers 09:00 Europe/Berlin`, `/paper attention is all you need`.

Completion candidates (for readline) are whole lines, built from the same specs and the
same suggestion functions as Discord's autocomplete.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from bot.commands.errors import UsageError
from bot.commands.registry import TOP
from bot.commands.specs import CommandSpec, OptionSpec


@dataclass
class Parsed:
    name: str  # qualified: "setup channel"
    options: dict[str, str] = field(default_factory=dict)
    spec: CommandSpec | None = None  # None: not a known command (dispatch explains)
    rest: list[str] = field(default_factory=list)  # words after the command path


def split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def resolve(words: list[str]) -> tuple[list[str], CommandSpec | None, list[str]]:
    """(command path, the spec it names, the remaining words)."""
    if not words:
        return [], None, []
    spec = TOP.get(words[0].casefold())
    path = [words[0].casefold()]
    rest = words[1:]
    while spec is not None and spec.is_group and rest:
        child = spec.child(rest[0].casefold())
        if child is None:
            break
        spec, path, rest = child, [*path, child.name], rest[1:]
    return path, spec, rest


def positional_targets(spec: CommandSpec, named: set[str]) -> list[OptionSpec]:
    required = [o for o in spec.options if o.required and o.name not in named]
    if required:
        return required
    first = spec.options[0] if spec.options else None
    return [first] if first is not None and first.name not in named else []


def parse(line: str) -> Parsed:
    text = line.strip()
    if not text.startswith("/"):
        raise UsageError("Commands start with /, e.g. /search diffusion; /help lists them.")
    path, spec, rest = resolve(split(text[1:]))
    if not path:
        raise UsageError("Type a command after the /, e.g. /help.")
    parsed = Parsed(" ".join(path), spec=spec, rest=rest)
    if spec is None or spec.is_group:
        return parsed
    known = {o.name for o in spec.options}
    named: dict[str, list[str]] = {}
    positional: list[str] = []
    current: list[str] | None = None
    for word in rest:
        key, colon, value = word.partition(":")
        if colon and key.casefold() in known:
            current = named.setdefault(key.casefold(), [])
            current.clear()
            if value:
                current.append(value)
        elif current is not None:
            current.append(word)
        else:
            positional.append(word)
    targets = positional_targets(spec, set(named))
    if positional and not targets:
        raise UsageError(f"/{parsed.name} takes no words without a name here; use name:value "
                         f"({', '.join(known) or 'it has no options'})")
    for i, option in enumerate(targets):
        if i >= len(positional):
            break
        named[option.name] = positional[i:] if i == len(targets) - 1 else [positional[i]]
    parsed.options = {k: " ".join(v) for k, v in named.items()}
    return parsed


def quote(value: str) -> str:
    return shlex.quote(value) if any(c.isspace() or c in "'\"\\" for c in value) else value

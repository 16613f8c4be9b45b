"""The chat commands as data: names, options, flags and handlers, written once for every transport.

A transport reads these specs and nothing else to offer the commands:

* the Discord transport turns each top-level `CommandSpec` into an application command
  (`payload()` is the exact API JSON; or build `app_commands` from the same fields), routes
  autocomplete for options with `autocomplete=True` to `bot.commands.suggest`, and calls
  `bot.commands.dispatch` with the option values;
* the console parses `/name value key:value` lines against the same specs.

A spec with `subcommands` is a group (`/setup channel|pause|resume`); only leaves have a
handler and options. Discord allows a group of groups one level deep; so do the checks here.
`problems()` lists every way a spec breaks Discord's limits, and a test keeps it empty.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.chat import limits

if TYPE_CHECKING:
    from bot.chat.replies import Choice, Reply
    from bot.commands.context import Context

Handler = Callable[["Context", Mapping[str, Any]], Awaitable["Reply"]]
Suggester = Callable[["Context", str], Awaitable[list["Choice"]]]

MANAGE_GUILD = 1 << 5  # Discord's "Manage Server" permission bit


class OptionType(enum.IntEnum):
    """Discord's application-command option types (the values are the API's numbers)."""

    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    CHANNEL = 7
    ROLE = 8
    ATTACHMENT = 11


@dataclass(frozen=True, slots=True)
class StaticChoice:
    """A fixed choice offered for an option (at most 25 per option)."""

    name: str
    value: str | int


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option of a command.

    Values reach handlers already checked and converted (bot.commands.options): STRING → str
    (control characters removed, at most `max_length`), INTEGER → int within min/max, BOOLEAN →
    bool, CHANNEL → "discord:123"/"console:papers", ROLE → the role id as a string of digits,
    ATTACHMENT → bot.chat.replies.Attachment (the transport downloads it, refusing more than
    `[ingest] max_download_bytes`). `suggest` gives as-you-type suggestions (Discord autocomplete).
    """

    name: str
    type: OptionType
    description: str
    required: bool = False
    choices: tuple[StaticChoice, ...] = ()
    suggest: Suggester | None = field(default=None, compare=False)
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None

    @property
    def autocomplete(self) -> bool:
        return self.suggest is not None

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": int(self.type), "name": self.name, "description": self.description,
                               "required": self.required}
        if self.choices:
            out["choices"] = [{"name": c.name, "value": c.value} for c in self.choices]
        if self.autocomplete:
            out["autocomplete"] = True
        if self.min_value is not None:
            out["min_value"] = self.min_value
        if self.max_value is not None:
            out["max_value"] = self.max_value
        if self.max_length is not None:
            out["max_length"] = self.max_length
        return out


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command, a subcommand, or a group of subcommands.

    Flags are set on top-level commands and hold for everything under them:
    `admin_only` (Discord: default_member_permissions = Manage Server; the dispatcher checks it
    again, since server owners can change who sees a command), `guild_only` (meaningless in a
    DM), `private` (replies only the asker sees, ephemeral on Discord; a handler may still
    return a public `Reply`, and `Reply.private` is what a transport obeys), `may_be_slow`
    (the transport defers the interaction before dispatching: Discord wants an answer in 3 s).
    """

    name: str
    description: str
    options: tuple[OptionSpec, ...] = ()
    handler: Handler | None = field(default=None, compare=False)
    subcommands: tuple[CommandSpec, ...] = ()
    admin_only: bool = False
    guild_only: bool = False
    private: bool = False
    may_be_slow: bool = False

    @property
    def is_group(self) -> bool:
        return bool(self.subcommands)

    def child(self, name: str) -> CommandSpec | None:
        return next((c for c in self.subcommands if c.name == name), None)

    def leaves(self, prefix: str = "") -> Iterator[tuple[str, CommandSpec]]:
        """(qualified name, spec) of every runnable command under this one: "setup channel"."""
        path = f"{prefix} {self.name}".strip()
        if not self.is_group:
            yield path, self
        for sub in self.subcommands:
            yield from sub.leaves(path)

    def payload(self) -> dict[str, Any]:
        """The Discord API JSON of this top-level command (CHAT_INPUT)."""
        out = self._payload_body()
        out["type"] = 1
        if self.admin_only:
            out["default_member_permissions"] = str(MANAGE_GUILD)
        out["contexts"] = [0] if self.guild_only else [0, 1, 2]  # guild, bot DM, private channel
        return out

    def _payload_body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.is_group:
            out["options"] = [
                {"type": 2 if sub.is_group else 1, **sub._payload_body()} for sub in self.subcommands]
        elif self.options:
            out["options"] = [o.payload() for o in self.options]
        return out


def _name_ok(name: str) -> bool:
    return bool(limits.COMMAND_NAME_RE.match(name)) and name == name.lower()


def _size(spec: CommandSpec) -> int:
    """Characters counted toward Discord's 8000 per command: names, descriptions, choices."""
    total = len(spec.name) + len(spec.description)
    for option in spec.options:
        total += len(option.name) + len(option.description)
        total += sum(len(c.name) + len(str(c.value)) for c in option.choices)
    return total + sum(_size(sub) for sub in spec.subcommands)


def problems(spec: CommandSpec, *, depth: int = 0, path: str = "") -> list[str]:
    """Every way `spec` breaks Discord's rules for application commands (empty when it fits)."""
    where = f"{path} {spec.name}".strip() or "(unnamed)"
    out: list[str] = []
    if not _name_ok(spec.name):
        out.append(f"{where}: name must be 1-32 lowercase letters, digits, - or _")
    if not 1 <= len(spec.description) <= limits.COMMAND_DESCRIPTION:
        out.append(f"{where}: description is {len(spec.description)} characters (1 to 100)")
    if depth and (spec.admin_only or spec.guild_only or spec.private or spec.may_be_slow):
        out.append(f"{where}: flags belong on the top-level command")
    if spec.is_group:
        if spec.options or spec.handler is not None:
            out.append(f"{where}: a group has subcommands only (no options or handler)")
        if depth >= 2 or (depth == 1 and any(s.is_group for s in spec.subcommands)):
            out.append(f"{where}: subcommands nested too deeply (group › subgroup › subcommand at most)")
        if len(spec.subcommands) > limits.OPTIONS_PER_COMMAND:
            out.append(f"{where}: {len(spec.subcommands)} subcommands (limit 25)")
        if len({s.name for s in spec.subcommands}) != len(spec.subcommands):
            out.append(f"{where}: two subcommands share a name")
        for sub in spec.subcommands:
            out += problems(sub, depth=depth + 1, path=where)
    else:
        if spec.handler is None:
            out.append(f"{where}: no handler")
        out += _option_problems(where, spec.options)
    if depth == 0 and _size(spec) > limits.COMMAND_TOTAL:
        out.append(f"{where}: {_size(spec)} characters in names, descriptions and choices (limit 8000)")
    return out


def _option_problems(where: str, options: tuple[OptionSpec, ...]) -> list[str]:
    out: list[str] = []
    if len(options) > limits.OPTIONS_PER_COMMAND:
        out.append(f"{where}: {len(options)} options (limit 25)")
    if len({o.name for o in options}) != len(options):
        out.append(f"{where}: two options share a name")
    seen_optional = False
    for o in options:
        at = f"{where} {o.name}"
        if not _name_ok(o.name):
            out.append(f"{at}: option name must be 1-32 lowercase letters, digits, - or _")
        if not 1 <= len(o.description) <= limits.COMMAND_DESCRIPTION:
            out.append(f"{at}: description is {len(o.description)} characters (1 to 100)")
        if o.required and seen_optional:
            out.append(f"{at}: required options must come before optional ones")
        seen_optional = seen_optional or not o.required
        if len(o.choices) > limits.STATIC_CHOICES:
            out.append(f"{at}: {len(o.choices)} choices (limit 25)")
        if o.choices and o.autocomplete:
            out.append(f"{at}: an option has static choices or autocomplete, not both")
        if o.autocomplete and o.type not in (OptionType.STRING, OptionType.INTEGER):
            out.append(f"{at}: only string and integer options can autocomplete")
        for c in o.choices:
            if not 1 <= len(c.name) <= limits.CHOICE_NAME or not 1 <= len(str(c.value)) <= limits.CHOICE_VALUE:
                out.append(f"{at}: choice {c.name!r} must have a name and value of 1-100 characters")
            if isinstance(c.value, int) != (o.type == OptionType.INTEGER):
                out.append(f"{at}: choice {c.name!r} has a value of the wrong type")
        if o.max_length is not None and not (o.type == OptionType.STRING and 1 <= o.max_length <= limits.STRING_OPTION):
            out.append(f"{at}: max_length applies to string options, 1 to {limits.STRING_OPTION}")
        if (o.min_value is not None or o.max_value is not None) and o.type != OptionType.INTEGER:
            out.append(f"{at}: min_value/max_value apply to integer options")
    return out


def index(specs: tuple[CommandSpec, ...]) -> Mapping[str, CommandSpec]:
    """Qualified name ("search", "setup channel") → runnable spec."""
    return {name: leaf for spec in specs for name, leaf in spec.leaves()}

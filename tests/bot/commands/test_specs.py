"""Every command spec fits Discord's rules for application commands, checked two ways: our own
`problems()` and the loopback fake's validator of the API JSON (`payload()`)."""

from __future__ import annotations

import pytest

from bot.chat.replies import Reply
from bot.commands import BY_NAME, COMMANDS
from bot.commands.specs import CommandSpec, OptionSpec, OptionType, StaticChoice, problems
from testkit.discord_fake.limits import validate_command


async def _noop(ctx: object, options: object) -> Reply:
    return Reply(text="ok")


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.name)
def test_every_command_fits_discords_limits(spec: CommandSpec) -> None:
    assert problems(spec) == []
    assert validate_command(spec.payload()) == []


def test_commands_are_unique_and_every_leaf_has_a_handler() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names)) <= 100
    assert all(leaf.handler is not None for leaf in BY_NAME.values())
    assert {"search", "paper", "digest", "subscribe", "unsubscribe", "subscriptions", "notifications cap", "why",
            "setup channel", "setup pause", "setup resume", "ingest", "status", "help", "about"} <= set(BY_NAME)


def test_admin_commands_ask_discord_for_manage_server() -> None:
    admin = {c.name for c in COMMANDS if c.admin_only}
    assert admin == {"setup", "ingest", "status"}
    for spec in COMMANDS:
        assert ("default_member_permissions" in spec.payload()) == spec.admin_only


def _leaf(*options: OptionSpec, name: str = "x", description: str = "d") -> CommandSpec:
    return CommandSpec(name, description, options=options, handler=_noop)


@pytest.mark.parametrize(("spec", "problem"), [
    (_leaf(name="Search"), "lowercase"),
    (_leaf(name="a" * 33), "lowercase"),
    (_leaf(name="two words"), "lowercase"),
    (_leaf(description=""), "description"),
    (_leaf(description="d" * 101), "description"),
    (_leaf(*[OptionSpec(f"o{i}", OptionType.STRING, "d") for i in range(26)]), "26 options"),
    (_leaf(OptionSpec("o", OptionType.STRING, "d", choices=tuple(StaticChoice(str(i), str(i)) for i in range(26)))),
     "26 choices"),
    (_leaf(OptionSpec("a", OptionType.STRING, "d"), OptionSpec("b", OptionType.STRING, "d", required=True)),
     "required options must come before"),
    (_leaf(OptionSpec("a", OptionType.STRING, "d"), OptionSpec("a", OptionType.INTEGER, "d")), "share a name"),
    (_leaf(OptionSpec("a", OptionType.BOOLEAN, "d", suggest=lambda c, p: None)),  # type: ignore[arg-type,return-value]
     "only string and integer"),
    (_leaf(OptionSpec("a", OptionType.INTEGER, "d", choices=(StaticChoice("x", "x"),))), "wrong type"),
    (_leaf(OptionSpec("a", OptionType.STRING, "d", choices=(StaticChoice("x", "x" * 101),))), "1-100"),
    (CommandSpec("g", "d", subcommands=(CommandSpec("h", "d", subcommands=(
        CommandSpec("i", "d", subcommands=(_leaf(),)),)),)), "nested too deeply"),
    (CommandSpec("g", "d", subcommands=(CommandSpec("h", "d", handler=_noop, admin_only=True),)), "top-level"),
    (_leaf(*[OptionSpec(f"o{i}", OptionType.STRING, "d" * 100,
                        choices=tuple(StaticChoice("c" * 100, str(j) * 1) for j in range(25))) for i in range(4)]),
     "limit 8000"),
    (CommandSpec("x", "d"), "no handler"),
])
def test_problems_finds_what_discord_would_refuse(spec: CommandSpec, problem: str) -> None:
    found = problems(spec)
    assert any(problem in p for p in found), found

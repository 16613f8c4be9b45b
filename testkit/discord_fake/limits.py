"""Discord API v10 limits and validators, answering like Discord does (400, code 50035).

Every validator returns a list of :class:`FieldError`; an empty list means the payload is valid.
:func:`invalid_form_body` turns such a list into the JSON body Discord sends, with the nested
``errors`` object that discord.py flattens into ``In embeds.0.title: ...`` lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# --- messages -------------------------------------------------------------------------------
MESSAGE_CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER_TEXT = 2048
EMBED_AUTHOR_NAME = 256
EMBED_TOTAL = 6000

# --- components -----------------------------------------------------------------------------
ACTION_ROWS = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
SELECT_OPTIONS = 25
SELECT_PLACEHOLDER = 150

# --- application commands -------------------------------------------------------------------
COMMAND_NAME = 32
COMMAND_DESCRIPTION = 100
COMMAND_OPTIONS = 25
COMMAND_CHOICES = 25
COMMAND_CHOICE_NAME = 100
COMMAND_CHOICE_VALUE = 100
COMMAND_TOTAL = 8000
CHAT_INPUT_COMMANDS = 100
# Files on one message: count, and bytes each on a server without boosts (10 MiB since 2024).
ATTACHMENTS_PER_MESSAGE = 10
ATTACHMENT_BYTES = 10 * 1024 * 1024

# --- interactions ---------------------------------------------------------------------------
INTERACTION_DEADLINE_S = 3.0
INTERACTION_TOKEN_S = 15 * 60.0
AUTOCOMPLETE_CHOICES = 25
THREAD_NAME = 100

# --- error codes ----------------------------------------------------------------------------
CODE_INVALID_FORM_BODY = 50035
CODE_EMPTY_MESSAGE = 50006
CODE_CANNOT_DM = 50007
CODE_ALREADY_ACKNOWLEDGED = 40060
CODE_UNKNOWN_INTERACTION = 10062
CODE_UNKNOWN_WEBHOOK = 10015
CODE_UNKNOWN_MESSAGE = 10008
CODE_UNKNOWN_CHANNEL = 10003
CODE_UNKNOWN_USER = 10013
CODE_UNKNOWN_GUILD = 10004
CODE_UNKNOWN_COMMAND = 10063
CODE_INVALID_WEBHOOK_TOKEN = 50027

_NAME_EXTRA = frozenset("-_")


@dataclass(frozen=True)
class FieldError:
    """One invalid field: ``path`` like ``("embeds", 0, "title")``."""

    path: tuple[str | int, ...]
    code: str
    message: str

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path)


def invalid_form_body(errors: Sequence[FieldError]) -> dict[str, Any]:
    """The JSON body of a 400 'Invalid Form Body' answer."""
    tree: dict[str, Any] = {}
    for err in errors:
        node = tree
        for part in err.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": err.code, "message": err.message})
    return {"code": CODE_INVALID_FORM_BODY, "message": "Invalid Form Body", "errors": tree}


def _max_len(errors: list[FieldError], path: tuple[str | int, ...], value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append(FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))


def _len_between(errors: list[FieldError], path: tuple[str | int, ...], value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, str):
        errors.append(FieldError(path, "BASE_TYPE_REQUIRED", "This field is required"))
    elif not lo <= len(value) <= hi:
        errors.append(FieldError(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length."))


def _max_items(errors: list[FieldError], path: tuple[str | int, ...], value: Any, limit: int) -> None:
    if isinstance(value, list) and len(value) > limit:
        errors.append(FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))


# --- embeds and messages --------------------------------------------------------------------


def embed_length(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts toward the 6000 limit of one embed."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for field in embed.get("fields") or []:
        total += len(field.get("name") or "") + len(field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def validate_embeds(embeds: Any, prefix: tuple[str | int, ...] = ("embeds",)) -> list[FieldError]:
    errors: list[FieldError] = []
    if embeds is None:
        return errors
    if not isinstance(embeds, list):
        return [FieldError(prefix, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
    _max_items(errors, prefix, embeds, EMBEDS_PER_MESSAGE)
    total = 0
    for i, embed in enumerate(embeds):
        p = (*prefix, i)
        if not isinstance(embed, dict):
            errors.append(FieldError(p, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"))
            continue
        _max_len(errors, (*p, "title"), embed.get("title"), EMBED_TITLE)
        _max_len(errors, (*p, "description"), embed.get("description"), EMBED_DESCRIPTION)
        fields = embed.get("fields") or []
        _max_items(errors, (*p, "fields"), fields, EMBED_FIELDS)
        for j, field in enumerate(fields):
            _len_between(errors, (*p, "fields", j, "name"), field.get("name"), 1, EMBED_FIELD_NAME)
            _len_between(errors, (*p, "fields", j, "value"), field.get("value"), 1, EMBED_FIELD_VALUE)
        footer = embed.get("footer")
        if isinstance(footer, dict):
            _max_len(errors, (*p, "footer", "text"), footer.get("text"), EMBED_FOOTER_TEXT)
        author = embed.get("author")
        if isinstance(author, dict):
            _max_len(errors, (*p, "author", "name"), author.get("name"), EMBED_AUTHOR_NAME)
        total += embed_length(embed)
    if total > EMBED_TOTAL:
        errors.append(
            FieldError(prefix, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL}")
        )
    return errors


def _collect_custom_ids(component: Mapping[str, Any], out: list[str]) -> None:
    if isinstance(component.get("custom_id"), str):
        out.append(component["custom_id"])
    for child in component.get("components") or []:
        if isinstance(child, dict):
            _collect_custom_ids(child, out)
    accessory = component.get("accessory")
    if isinstance(accessory, dict):
        _collect_custom_ids(accessory, out)


def _validate_interactive(errors: list[FieldError], p: tuple[str | int, ...], comp: Mapping[str, Any]) -> None:
    ctype = comp.get("type")
    if ctype == 2:  # button
        style = comp.get("style")
        _max_len(errors, (*p, "label"), comp.get("label"), BUTTON_LABEL)
        if style == 5:  # link
            if not comp.get("url"):
                errors.append(FieldError((*p, "url"), "BASE_TYPE_REQUIRED", "This field is required"))
            if "custom_id" in comp:
                errors.append(
                    FieldError((*p, "custom_id"), "BUTTON_LINK_CUSTOM_ID", "A link button cannot have a custom_id")
                )
        elif style == 6:  # premium
            pass
        else:
            _len_between(errors, (*p, "custom_id"), comp.get("custom_id"), 1, CUSTOM_ID)
    elif ctype in (3, 5, 6, 7, 8):  # select menus
        _len_between(errors, (*p, "custom_id"), comp.get("custom_id"), 1, CUSTOM_ID)
        _max_len(errors, (*p, "placeholder"), comp.get("placeholder"), SELECT_PLACEHOLDER)
        options = comp.get("options")
        if ctype == 3:
            if not isinstance(options, list) or not options:
                errors.append(FieldError((*p, "options"), "BASE_TYPE_REQUIRED", "This field is required"))
            else:
                _max_items(errors, (*p, "options"), options, SELECT_OPTIONS)
                for k, opt in enumerate(options):
                    _len_between(errors, (*p, "options", k, "label"), opt.get("label"), 1, 100)
                    _len_between(errors, (*p, "options", k, "value"), opt.get("value"), 1, 100)
    elif "custom_id" in comp:
        _len_between(errors, (*p, "custom_id"), comp.get("custom_id"), 1, CUSTOM_ID)


def validate_components(components: Any, flags: int = 0) -> list[FieldError]:
    errors: list[FieldError] = []
    if components is None:
        return errors
    if not isinstance(components, list):
        return [FieldError(("components",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
    components_v2 = bool(flags & (1 << 15))
    if not components_v2:
        _max_items(errors, ("components",), components, ACTION_ROWS)
    for i, row in enumerate(components):
        p: tuple[str | int, ...] = ("components", i)
        if not isinstance(row, dict):
            errors.append(FieldError(p, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"))
            continue
        if row.get("type") != 1:
            if not components_v2:
                errors.append(
                    FieldError((*p, "type"), "UNION_TYPE_CHOICES", "Top-level components must be action rows")
                )
            continue
        children = row.get("components") or []
        if not children:
            errors.append(FieldError((*p, "components"), "BASE_TYPE_REQUIRED", "This field is required"))
        _max_items(errors, (*p, "components"), children, BUTTONS_PER_ROW)
        has_select = any(isinstance(c, dict) and c.get("type") in (3, 5, 6, 7, 8) for c in children)
        if has_select and len(children) > 1:
            errors.append(
                FieldError(
                    (*p, "components"),
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )
            )
        for j, comp in enumerate(children):
            if isinstance(comp, dict):
                _validate_interactive(errors, (*p, "components", j), comp)
    seen: list[str] = []
    for row in components:
        if isinstance(row, dict):
            _collect_custom_ids(row, seen)
    if len(seen) != len(set(seen)):
        errors.append(
            FieldError(("components",), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
        )
    return errors


def validate_message(payload: Mapping[str, Any], *, require_body: bool = True) -> list[FieldError]:
    """Validate a create/edit-message body. ``require_body`` is False for edits."""
    errors: list[FieldError] = []
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors.append(FieldError(("content",), "STRING_TYPE_CONVERT", "Could not interpret value as string."))
    _max_len(errors, ("content",), content, MESSAGE_CONTENT)
    errors.extend(validate_embeds(payload.get("embeds")))
    errors.extend(validate_components(payload.get("components"), int(payload.get("flags") or 0)))
    sizes = list(payload.get("_file_sizes") or [])
    if len(sizes) > ATTACHMENTS_PER_MESSAGE:
        errors.append(FieldError(("files",), "BASE_TYPE_MAX_LENGTH",
                                 f"Must be {ATTACHMENTS_PER_MESSAGE} or fewer in length."))
    for i, size in enumerate(sizes):
        if size > ATTACHMENT_BYTES:
            errors.append(FieldError(("files", i), "BASE_TYPE_MAX_LENGTH", "File exceeds maximum size."))
    return errors


def is_empty_message(payload: Mapping[str, Any]) -> bool:
    return not (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("attachments")
        or payload.get("sticker_ids")
        or payload.get("poll")
    )


# --- application commands -------------------------------------------------------------------


def valid_command_name(name: Any, *, chat_input: bool = True) -> bool:
    """``^[-_\\p{L}\\p{N}]{1,32}$``, lowercase, for chat-input commands and all options."""
    if not isinstance(name, str) or not 1 <= len(name) <= COMMAND_NAME:
        return False
    if not chat_input:  # user/message context menus: any characters, spaces allowed
        return True
    if any(not (ch.isalnum() or ch in _NAME_EXTRA) for ch in name):
        return False
    return name == name.lower()


_NAME_HINT = re.sub(r"\s+", " ", "Command name is invalid (must match ^[-_\\p{L}\\p{N}]{1,32}$ and be lowercase)")


def command_length(command: Mapping[str, Any]) -> int:
    """Characters counted toward the 8000 limit: names, descriptions and choice values."""

    def _opt(option: Mapping[str, Any]) -> int:
        total = len(str(option.get("name") or "")) + len(str(option.get("description") or ""))
        for choice in option.get("choices") or []:
            total += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
        for sub in option.get("options") or []:
            total += _opt(sub)
        return total

    return _opt(command)


def _validate_choices(errors: list[FieldError], p: tuple[str | int, ...], choices: Any) -> None:
    if choices is None:
        return
    _max_items(errors, p, choices, COMMAND_CHOICES)
    for k, choice in enumerate(choices):
        _len_between(errors, (*p, k, "name"), choice.get("name"), 1, COMMAND_CHOICE_NAME)
        value = choice.get("value")
        if isinstance(value, str):
            _len_between(errors, (*p, k, "value"), value, 1, COMMAND_CHOICE_VALUE)
        elif not isinstance(value, int | float) or isinstance(value, bool):
            errors.append(FieldError((*p, k, "value"), "BASE_TYPE_REQUIRED", "This field is required"))


def _validate_options(errors: list[FieldError], p: tuple[str | int, ...], options: Any, depth: int) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        errors.append(FieldError(p, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"))
        return
    _max_items(errors, p, options, COMMAND_OPTIONS)
    names: set[str] = set()
    seen_optional = False
    for i, option in enumerate(options):
        op = (*p, i)
        name = option.get("name")
        if not valid_command_name(name):
            errors.append(FieldError((*op, "name"), "APPLICATION_COMMAND_INVALID_NAME", _NAME_HINT))
        elif name in names:
            errors.append(
                FieldError(
                    (*op, "name"), "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS", "Option name already exists"
                )
            )
        else:
            names.add(name)
        _len_between(errors, (*op, "description"), option.get("description"), 1, COMMAND_DESCRIPTION)
        otype = option.get("type")
        if otype in (1, 2):  # subcommand / group
            if depth >= 2 or (otype == 2 and depth >= 1):
                errors.append(
                    FieldError((*op, "type"), "APPLICATION_COMMAND_TOO_DEEP", "Subcommands nested too deeply")
                )
            _validate_options(errors, (*op, "options"), option.get("options"), depth + 1)
            continue
        if not isinstance(otype, int) or not 3 <= otype <= 11:
            errors.append(
                FieldError((*op, "type"), "BASE_TYPE_CHOICES", f"Value must be one of (1..11), got {otype!r}")
            )
        if option.get("required"):
            if seen_optional:
                errors.append(
                    FieldError(
                        (*op, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            seen_optional = True
        if option.get("autocomplete") and option.get("choices"):
            errors.append(
                FieldError((*op, "autocomplete"), "AUTOCOMPLETE_CHOICES", "Autocomplete cannot be used with choices")
            )
        _validate_choices(errors, (*op, "choices"), option.get("choices"))
        if otype == 3:
            for key in ("min_length", "max_length"):
                if key in option and not 0 <= int(option[key]) <= 6000:
                    errors.append(FieldError((*op, key), "NUMBER_TYPE_MAX", "int value should be <= 6000 and >= 0."))


def validate_command(command: Any, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(command, dict):
        return [FieldError(prefix, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")]
    ctype = command.get("type", 1)
    chat_input = ctype == 1
    if not valid_command_name(command.get("name"), chat_input=chat_input):
        errors.append(FieldError((*prefix, "name"), "APPLICATION_COMMAND_INVALID_NAME", _NAME_HINT))
    description = command.get("description")
    if chat_input:
        _len_between(errors, (*prefix, "description"), description, 1, COMMAND_DESCRIPTION)
        _validate_options(errors, (*prefix, "options"), command.get("options"), 0)
    elif description:
        errors.append(
            FieldError(
                (*prefix, "description"), "CONTEXT_MENU_DESCRIPTION", "Context menu commands have no description"
            )
        )
    if command_length(command) > COMMAND_TOTAL:
        errors.append(
            FieldError(prefix, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({COMMAND_TOTAL})")
        )
    return errors


def validate_command_list(commands: Any) -> list[FieldError]:
    if not isinstance(commands, list):
        return [FieldError(("_",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")]
    errors: list[FieldError] = []
    seen: set[tuple[int, str]] = set()
    chat_inputs = 0
    for i, command in enumerate(commands):
        errors.extend(validate_command(command, (i,)))
        if isinstance(command, dict):
            key = (int(command.get("type", 1)), str(command.get("name")))
            if key in seen:
                errors.append(
                    FieldError(
                        (i, "name"),
                        "APPLICATION_COMMANDS_DUPLICATE_NAME",
                        f"Application command names must be unique: {key[1]}",
                    )
                )
            seen.add(key)
            chat_inputs += key[0] == 1
    if chat_inputs > CHAT_INPUT_COMMANDS:
        errors.append(FieldError(("_",), "BASE_TYPE_MAX_LENGTH", f"Must be {CHAT_INPUT_COMMANDS} or fewer in length."))
    return errors


# --- interaction responses ------------------------------------------------------------------


def validate_autocomplete(data: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return [FieldError(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")]
    choices = data["choices"]
    _max_items(errors, ("data", "choices"), choices, AUTOCOMPLETE_CHOICES)
    for k, choice in enumerate(choices):
        p: tuple[str | int, ...] = ("data", "choices", k)
        _len_between(errors, (*p, "name"), choice.get("name"), 1, COMMAND_CHOICE_NAME)
        value = choice.get("value")
        if isinstance(value, str):
            _max_len(errors, (*p, "value"), value, COMMAND_CHOICE_VALUE)
        elif not isinstance(value, int | float) or isinstance(value, bool):
            errors.append(FieldError((*p, "value"), "BASE_TYPE_REQUIRED", "This field is required"))
    return errors


def prefixed(errors: Sequence[FieldError], *prefix: str | int) -> list[FieldError]:
    return [FieldError((*prefix, *e.path), e.code, e.message) for e in errors]

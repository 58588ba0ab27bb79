"""Reading the YAML file: every failure becomes one ConfigError line naming the field and the value."""

from __future__ import annotations

import difflib
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from config.model import NOW, PAST_ENDS_ALLOWED, REPOSITORY_TAGS, Config

PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# A check that spans fields starts its message with the field it found wrong: consumers[0].account, kms_key.
FIELD_PATH = re.compile(r"[a-z_]+(\[\d+\])?(\.[A-Za-z0-9_-]+(\[\d+\])?)*")
# A config is a page of settings: anything larger is refused unread.
MAX_CONFIG_BYTES = 1_000_000
# How much of a value or a key an error line shows, and the most an error line says.
SHOWN = 120
MAX_LINE = 500
# The config every command reads unless told otherwise (the Makefile's CONFIG default says the same).
DEFAULT_CONFIG = "config/example.yaml"


class ConfigError(Exception):
    """A configuration that cannot be used; the message is one line meant for the user, of bounded length
    whatever the input."""

    def __init__(self, message: str) -> None:
        message = " ".join(message.split("\n"))
        super().__init__(message if len(message) <= MAX_LINE else message[: MAX_LINE - 1] + "…")


class _Refused(Exception):
    """A YAML construct the loader does not accept; the message says which and where."""


def shown(value: Any) -> str:
    """A value as an error line shows it: its repr, shortened."""
    text = value.isoformat() if isinstance(value, (date, datetime)) else repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 5] + "…" + text[-4:]


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, except that
    - a key given twice is an error: plain YAML keeps the last one silently, so a second `consumers:` would drop
      the first list without a word;
    - aliases (`*name`) are refused: nested aliases expand exponentially (a "billion laughs" document), and a
      config has nothing to repeat that it cannot write out."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped
            raise _Refused(
                f"YAML alias *{shown(event.anchor)[1:-1]} at {_where(event.start_mark)}: aliases are not "
                "accepted in a config, write the value out"
            )
        node: yaml.Node | None = super().compose_node(parent, index)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _Refused(f"key {shown(key)} given twice ({_where(key_node.start_mark)})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# What a YAML parser's complaint usually means in a config file, by the words of the complaint (PyYAML's).
_HINTS = (
    ("'\\t'", "YAML indents with spaces only: replace the tab with spaces"),
    ("could not find expected ':'", "a key is missing its colon (key: value), or a quote is not closed"),
    ("expected '<document start>'", "a key is missing its colon (key: value)"),
    ("found '<scalar>'", "a quote is not closed, or text follows a closing quote"),
    ("expected ',' or ']'", "a [list] is not closed with ]"),
    ("expected ',' or '}'", "a {mapping} is not closed with }"),
    ("while scanning a quoted scalar", "a quote is not closed"),
    ("found unexpected end of stream", "a quote is not closed"),
    (
        "expected <block end>",
        "the indentation of this line does not match the lines around it: the keys of one mapping start in the "
        "same column, and list items (- ) under their key",
    ),
    ("found character", "a value starting with this character needs quotes"),
)


def _syntax_error(error: yaml.YAMLError, text: str) -> str:
    """One line: where, the line itself (its indentation shown), what PyYAML found, and what it usually means."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "invalid YAML"
    words = f"{getattr(error, 'context', None) or ''} {problem}"
    if mark is None:
        return f"YAML syntax error: {problem}"
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    shown_line = f" {shown(line.rstrip())}" if line.strip() else ""
    hint = next((hint for key, hint in _HINTS if key in words), "")
    # A missing colon is found on the line after the one that lacks it: show that one too.
    before = next((n for n in range(mark.line - 1, -1, -1) if lines[n].strip() and not _comment(lines[n])), None)
    if before is not None and any(key in words for key in _FOUND_ON_THE_NEXT_LINE):
        hint += f", on this line or line {before + 1} {shown(lines[before].rstrip())}"
    return f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}{shown_line}: {problem}" + (
        f" (hint: {hint})" if hint else ""
    )


_FOUND_ON_THE_NEXT_LINE = ("could not find expected ':'", "expected '<document start>'")


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: {path.stat().st_size:,} bytes, more than a config can be ({MAX_CONFIG_BYTES:,})"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror or error}") from None
    return parse_config(text, source=str(path))


def load_config_or_report(path: str | Path) -> Config | None:
    """For commands: the config, or None after printing its one error line to stderr."""
    try:
        return load_config(path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def parse_config(
    text: str, *, source: str = "<config>", now: datetime | None = None, past_ends_allowed: bool = False
) -> Config:
    """The config a YAML text holds. now: the instant its grants' end dates must be after (default: now);
    past_ends_allowed: take end dates in the past (a config of before, whose expired grants give nothing)."""
    try:
        # Booleans and numbers stay YAML's, but the schema is strict: an unquoted account id is an
        # integer and is rejected with a message rather than silently reformatted.
        data = yaml.load(text, Loader=_StrictLoader)
    except _Refused as error:
        raise ConfigError(f"{source}: {error}") from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: {_syntax_error(error, text)}") from None
    except ValueError as error:
        # What PyYAML's constructors let through: an integer of more digits than Python converts, a bad date.
        raise ConfigError(f"{source}: a YAML value cannot be read: {shown(str(error))[1:-1]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {type(data).__name__}")
    try:
        config = Config.model_validate(data, context={NOW: now, PAST_ENDS_ALLOWED: past_ends_allowed})
    except ValidationError as error:
        raise ConfigError(f"{source}: {named(describe(error), data)}") from None
    from config.physical_names import NameCollision, check_unique  # it builds on the names the model gives

    try:
        check_unique(config)
    except NameCollision as error:
        raise ConfigError(f"{source}: {named(str(error), data)}") from None
    return config


LIST_ELEMENT = re.compile(r"\b(environments|datasets|consumers|consumer_groups)\[(\d+)\]")


def named(message: str, data: dict[str, Any]) -> str:
    """environments[1].consumers[0] -> environments[prod].consumers[analytics]: each element of the config's lists by
    its name, where it has a plain one no other element of its list has (else by its position)."""
    environment: Any = None

    def name_of(match: re.Match[str]) -> str:
        nonlocal environment
        kind, index = match[1], int(match[2])
        parent = data if kind == "environments" else environment
        items = parent.get(kind) if isinstance(parent, dict) else None
        item = items[index] if isinstance(items, list) and index < len(items) else None
        if kind == "environments":
            environment = item
        name = item.get("name") if isinstance(item, dict) else None
        names = [other.get("name") for other in items if isinstance(other, dict)] if isinstance(items, list) else []
        plain = isinstance(name, str) and PLAIN_KEY.fullmatch(name) and names.count(name) == 1
        return f"{kind}[{name}]" if plain else match[0]  # by position where the name is not one of a kind

    return LIST_ELEMENT.sub(name_of, message)


def describe(error: ValidationError) -> str:
    """The first problem of a validation error as 'field.path: value: what is wrong'."""
    first = error.errors(include_url=False)[0]
    location = _location(tuple(part for part in first["loc"] if part not in REPOSITORY_TAGS))
    kind = first["type"]
    message = first["msg"].removeprefix("Value error, ")
    if kind == "missing":
        return f"{location}: required field is missing"
    if kind == "extra_forbidden":
        return f"{location}: unknown key{_where_it_belongs(first['loc'])}"
    if kind == "value_error" and ": " in message and FIELD_PATH.fullmatch(message.split(": ", 1)[0]):
        # A check that spans fields already names the nested field it found wrong.
        nested, rest = message.split(": ", 1)
        return f"{_join(location, nested)}: {rest}"
    value = first.get("input")
    if kind == "too_short":
        return f"{location}: must list at least one entry (got {shown(value)})"
    if kind == "too_long":
        limit = first.get("ctx", {}).get("max_length")
        count = len(value) if isinstance(value, (list, tuple)) else "more"
        return f"{location}: lists {count} entries, at most {limit} are allowed"
    if kind in {"string_type", "bool_type", "dict_type", "tuple_type", "model_type", "literal_error"} or (
        kind == "value_error"
    ):
        return f"{location}: {shown(value)} {_normalize(kind, message)}"
    return f"{location}: {message} (got {shown(value)})"


def _submodel(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a tuple, optional or in a union), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _submodel(argument)
        if found is not None:
            return found
    return None


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {field.alias or name: field.annotation for name, field in model.model_fields.items()}


def _where_it_belongs(loc: tuple[int | str, ...]) -> str:
    """For an unknown key: the block beside it that takes that key (kms_key under bucket:), or the key of that level
    it is closest to (a misspelling)."""
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        if model is None:
            return ""
        if isinstance(part, str) and part in _fields(model):
            model = _submodel(_fields(model)[part])
    if model is None:
        return ""
    key = str(loc[-1])
    blocks = [name for name, annotation in _fields(model).items() if key in _fields(_submodel(annotation) or Config)]
    blocks = [name for name in blocks if _submodel(_fields(model)[name]) is not None]
    if blocks:
        return f": it belongs under {' or '.join(f'{name}:' for name in blocks)}"
    close = difflib.get_close_matches(key, list(_fields(model)), n=1)
    return f": did you mean {close[0]}?" if close else ""


def _normalize(kind: str, message: str) -> str:
    if kind == "string_type":
        return "must be a string (quote it in YAML)"
    if kind == "bool_type":
        return "must be true or false"
    if kind in {"dict_type", "model_type"}:
        return "must be a mapping of settings"
    if kind == "tuple_type":
        return "must be a list"
    if kind == "literal_error":
        return message.replace("Input should be", "must be")
    return message


def _location(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        if part == "[key]":  # pydantic's mark of a mapping's key that failed, after the key itself
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        elif not PLAIN_KEY.fullmatch(str(part)):
            # A key that is not a plain word (a newline, a space, a colon) is shown quoted, so the line stays one.
            text += f"[{shown(str(part))}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<top level>"


def _join(location: str, nested: str) -> str:
    return nested if location == "<top level>" else f"{location}.{nested}"

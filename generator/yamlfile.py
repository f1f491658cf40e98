"""YAML that remembers where each value came from, and a checker that reports ``path:line``.

Every problem found in a file is collected, not raised, so ``kb check`` can report all of them at
once. PyYAML's ``SafeLoader`` is used (no arbitrary objects); mappings and sequences come back as
:class:`LineDict` / :class:`LineList`, which carry the line of every key and element.
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from .exceptions import ConfigError
from .printable import printable

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.S | re.M)
"""YAML front matter between two '---' lines at the top of a Markdown file."""


class LineDict(dict[str, Any]):
    """A mapping with the (1-based) line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A sequence with the (1-based) line of itself and of each element."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    line_offset = 0
    duplicates: list[tuple[int, str]]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1 + loader.line_offset
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = str(key) if not isinstance(key, str) else key
        line = key_node.start_mark.line + 1 + loader.line_offset
        if key in result:
            loader.duplicates.append((line, f"duplicate key '{key}'"))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1 + loader.line_offset
    result.item_lines = [child.start_mark.line + 1 + loader.line_offset for child in node.value]
    return result


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    """A date-looking value that is not a real date (2026-13-45) stays text for the checker."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser (when PyYAML has it), about ten times faster than the Python one: a
    team's thousand account files load in a second, not ten. A file it refuses is parsed again
    by :class:`_Loader`, so syntax errors read the same whichever parser is installed."""

    line_offset = 0
    duplicates: list[tuple[int, str]]


for _cls in (_Loader, _FastLoader):
    _cls.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _fast(text: str, path: Path, line_offset: int) -> tuple[Any, list[ConfigError]] | None:
    loader = _FastLoader(text)
    loader.line_offset = line_offset
    loader.duplicates = []
    try:
        value = loader.get_single_data()
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None
    finally:
        loader.dispose()
    return value, [ConfigError(path, line, msg) for line, msg in loader.duplicates]


def parse_yaml(text: str, path: Path, line_offset: int = 0) -> tuple[Any, list[ConfigError]]:
    """Parse ``text``; return the value and the problems (syntax errors, duplicate keys)."""
    fast = _fast(text, path, line_offset)
    if fast is not None:
        return fast
    loader = _Loader(text)
    loader.line_offset = line_offset
    loader.duplicates = []
    try:
        value = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 + line_offset if mark else None
        problem = e.problem or e.context or "invalid YAML"
        if (
            e.problem
            and e.context
            and e.context_mark
            and e.context_mark.line + 1 + line_offset != line
        ):
            problem = f"{e.context} (line {e.context_mark.line + 1 + line_offset}): {e.problem}"
        return None, [ConfigError(path, line, f"YAML syntax error: {problem}")]
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as e:
        return None, [ConfigError(path, None, f"YAML error: {e}")]
    finally:
        loader.dispose()
    return value, [ConfigError(path, line, msg) for line, msg in loader.duplicates]


def read_text(path: Path, errors: list[ConfigError]) -> str | None:
    """A user-edited file's text; a file that is not UTF-8 is an error on the line of its first
    bad byte (a byte-order mark, which some editors write, is dropped)."""
    try:
        data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    except OSError as e:
        errors.append(ConfigError(path, None, f"cannot read: {e.strerror or e}"))
        return None
    try:
        return _newlines(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        line = _newlines(data[: e.start].decode("utf-8")).count("\n") + 1
        errors.append(ConfigError(path, line, "not UTF-8 text"))
    return None


def _newlines(text: str) -> str:
    """Windows' and old Macs' line ends as ``\\n``, as a file opened as text reads them."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def line_of(container: Any, key: str | int, default: int | None = None) -> int | None:
    if isinstance(container, LineDict) and isinstance(key, str):
        return container.key_lines.get(key, container.line)
    if isinstance(container, LineList) and isinstance(key, int) and key < len(container):
        return container.item_lines[key]
    return getattr(container, "line", default) or default


class Checker:
    """Reads typed fields out of one file's YAML, recording every problem with its line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[ConfigError] = []

    def error(self, line: int | None, message: str) -> None:
        self.errors.append(ConfigError(self.path, line, message))

    def mapping(self, value: Any, what: str, line: int | None = None) -> LineDict | None:
        if isinstance(value, LineDict):
            return value
        self.error(line, f"{what} must be a mapping of fields, not {describe(value)}")
        return None

    def fields(
        self, data: LineDict, required: Iterable[str], optional: Iterable[str], what: str
    ) -> None:
        required = list(required)
        known = [*required, *optional]
        for key in data:
            if key not in known:
                hint = did_you_mean(key, known)
                self.error(line_of(data, key), f"unknown field '{key}' in {what}{hint}")
        for key in required:
            value = data.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.error(data.line, f"{what} is missing required field '{key}'")

    def text(self, data: LineDict, key: str, default: str = "") -> str:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(line_of(data, key), f"'{key}' must be text, not {describe(value)}")
            return default
        if "\0" in str(value):
            self.error(line_of(data, key), f"'{key}' contains a NUL character")
            return default
        return printable(str(value)).strip()

    def slug(self, data: LineDict, key: str) -> str:
        value = self.text(data, key)
        if value and not SLUG.match(value):
            self.error(
                line_of(data, key),
                f"'{key}' must be a slug (lowercase letters, digits, '-' or '_'),"
                f" got {quote(value)}",
            )
        return value

    def text_list(self, data: LineDict, key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = printable(value).strip()
            return (value,) if value else ()
        if not isinstance(value, list):
            self.error(line_of(data, key), f"'{key}' must be a list of text, not {describe(value)}")
            return ()
        out: list[str] = []
        for index, element in enumerate(value):
            if isinstance(element, bool) or not isinstance(element, str | int | float):
                self.error(
                    line_of(value, index, line_of(data, key)),
                    f"'{key}' entries must be text, not {describe(element)}",
                )
            elif printable(str(element)).strip():
                out.append(printable(str(element)).strip())
        return tuple(out)

    def number(
        self, data: LineDict, key: str, default: float, low: float = 0.0, high: float = 1e12
    ) -> float:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(line_of(data, key), f"'{key}' must be a number, not {describe(value)}")
            return default
        if not low <= value <= high:
            self.error(line_of(data, key), f"'{key}' must be between {low:g} and {high:g}")
            return default
        return float(value)

    def boolean(self, data: LineDict, key: str, default: bool) -> bool:
        value = data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(line_of(data, key), f"'{key}' must be true or false, not {describe(value)}")
            return default
        return value

    def integer(
        self, data: LineDict, key: str, default: int, low: int = 0, high: int = 10**9
    ) -> int:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            self.error(line_of(data, key), f"'{key}' must be a whole number, not {describe(value)}")
            return default
        return int(self.number(data, key, default, low, high))

    def date(self, data: LineDict, key: str) -> date | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(line_of(data, key), f"'{key}' must be a date like 2026-11-16, got {value!r}")
        return None

    def ids(
        self,
        data: LineDict,
        key: str,
        known: Collection[str],
        kind: str,
        extra: Callable[[str], bool] = lambda _: False,
    ) -> tuple[str, ...]:
        """A list of references that must name existing things (topic ids, account slugs).

        ``known``: in the order to suggest from; a dict (``dict.fromkeys``) when it is long, so
        a look-up does not scan 10,000 account slugs for each of 2,000 notes."""
        values = self.text_list(data, key)
        raw = data.get(key)
        for index, value in enumerate(values):
            if value not in known and not extra(value):
                line = line_of(raw, index, line_of(data, key))
                self.error(line, f"unknown {kind} {quote(value)}{did_you_mean(value, known)}")
        return values


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return quote(str(value))


def quote(value: str, limit: int = 80) -> str:
    """``value`` in quotes for a message, cut to about ``limit`` characters and printable: a
    message must not copy a whole file (or a secret behind a symlink) into a CI log."""
    text = printable(value).replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"

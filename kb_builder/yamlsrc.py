"""Read YAML keeping the line of every key, so errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from .errors import Problem

# libyaml's parser when PyYAML has it (10x faster on 10,000 files), else the Python one.
if TYPE_CHECKING:
    _Base = yaml.SafeLoader
else:
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """Safe loader that leaves dates as text: pydantic parses them and names the field
    (PyYAML would raise a bare ValueError for 2026-13-45)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# Nesting deeper than this is refused: front matter and kb.yml need five levels.
MAX_DEPTH = 40

# Line numbers of keys, by their path: ("categories", 3, "id") -> 17.
Lines = dict[tuple, int]


def _walk(node: yaml.Node, path: tuple, lines: Lines, offset: int) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            lines[sub] = key.start_mark.line + 1 + offset
            _walk(value, sub, lines, offset)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1 + offset
            _walk(item, path + (i,), lines, offset)


def _refuse_aliases(root: yaml.Node, path: Path | str, line_offset: int) -> None:
    """Raise on an alias (`*name`, `<<: *name`) or nesting deeper than MAX_DEPTH.

    An alias makes a node appear twice in the tree; nine lines of aliases of
    aliases (304 bytes) expand to a billion values, and everything that walks
    the data after parsing (line numbers, validation) hangs. Nothing here
    needs aliases, so the first repeated node stops the walk: linear in the
    file's size, whatever it expands to.
    """
    seen: set[int] = set()
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise _Invalid(Problem(path, "YAML aliases (*name) and merge keys (<<) are not allowed",
                                   line=node.start_mark.line + 1 + line_offset,
                                   fix="write the value out in full instead of referring to an &anchor"))
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise _Invalid(Problem(path, f"YAML nested more than {MAX_DEPTH} levels deep",
                                   line=node.start_mark.line + 1 + line_offset, fix="flatten the structure"))
        if isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def load(text: str, path: Path | str, line_offset: int = 0) -> tuple[Any, Lines]:
    """Parse YAML; on a syntax error, an alias or deep nesting raise one Problem with its line."""
    try:
        # Parse once: the node tree gives the lines, and the data is constructed from it.
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _refuse_aliases(node, path, line_offset)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + line_offset if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise _Invalid(Problem(path, f"YAML syntax error: {reason}", line=line,
                               fix="check indentation and quote values containing ': ' or starting with special characters")) from None
    lines: Lines = {}
    if node is not None:
        _walk(node, (), lines, line_offset)
    return data, lines


class _Invalid(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


YamlSyntaxError = _Invalid


def line_of(lines: Lines, loc: tuple) -> int | None:
    """The line of the deepest known key on loc's path."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def validation_problems(exc: ValidationError, path: Path | str, lines: Lines,
                        fixes: dict[str, str] | None = None) -> list[Problem]:
    """Turn pydantic's errors into Problems naming field, line and fix."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or None
        top = str(loc[0]) if loc else ""
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "is missing"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known field"
        # Pydantic prefixes custom messages with "Value error, ".
        msg = msg.removeprefix("Value error, ")
        fix = (fixes or {}).get(top)
        if err["type"] == "extra_forbidden":
            fix = "remove it or check its spelling"
        problems.append(Problem(path, msg, line=line_of(lines, loc), field=field, fix=fix))
    return problems

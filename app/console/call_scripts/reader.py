"""Call-script YAML read as nodes, so every value keeps its file and line.

The YAML is composed into nodes (not loaded into dicts): an error points at the offending
key or value, 1-based. Scalars are read as written (`equals: no` is the text "no", not
YAML's false).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.console.call_scripts.catalog import LoadError
from app.console.call_scripts.model import BranchKind, FieldType, StepKind

E = TypeVar("E", StepKind, FieldType, BranchKind)
Entries = dict[str, tuple[ScalarNode, Node]]  # a mapping's keys, with the key and value nodes

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"


def compose(path: Path) -> Node:
    """The file's document as nodes; an unreadable or empty file, or bad YAML, is a LoadError."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LoadError(file, 0, f"cannot read the file: {e}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise LoadError(file, line, f"not valid YAML: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise LoadError(file, 0, f"not valid YAML: {e}") from None
    if root is None:
        raise LoadError(file, 0, "the file is empty")
    return root


def line(node: Node) -> int:
    return node.start_mark.line + 1


def choices(values: Sequence[str]) -> str:
    return ", ".join(values)


class Reader:
    """Typed reads from YAML nodes; every failure is a LoadError at the node's line."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: Node, message: str) -> LoadError:
        return LoadError(self.file, line(node), message)

    def mapping(
        self, node: Node, where: str, allowed: Sequence[str], required: Sequence[str]
    ) -> Entries:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{where}expected a mapping of keys to values")
        found: Entries = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"{where}keys must be plain names")
            if key.value in found:
                raise self.fail(key, f'{where}duplicate key "{key.value}"')
            if key.value not in allowed:
                raise self.fail(
                    key, f'{where}unknown key "{key.value}" (allowed: {choices(allowed)})'
                )
            found[key.value] = (key, value)
        for name in required:
            if name not in found:
                raise self.fail(node, f'{where}missing required key "{name}"')
        return found

    def name(self, node: Node, key: str, where: str) -> tuple[str, Node]:
        """The id of an entry, read first so every later error can name the entry."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{where}expected a mapping of keys to values")
        for k, value in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return self.text(value, f"{where}{key}: "), value
        raise self.fail(node, f'{where}missing required key "{key}"')

    def sequence(self, node: Node, where: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{where}expected a list")
        return list(node.value)

    def text(self, node: Node, where: str) -> str:
        """A scalar as written; empty or a list/mapping is an error."""
        if not isinstance(node, ScalarNode) or node.tag == _NULL or not node.value.strip():
            raise self.fail(node, f"{where}expected a non-empty text")
        return str(node.value)

    def texts(self, node: Node, where: str) -> tuple[str, ...]:
        return tuple(self.text(item, where) for item in self.sequence(node, where))

    def flag(self, node: Node, where: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            raise self.fail(node, f"{where}expected true or false")
        return node.value.lower() in ("true", "yes", "on")

    def count(self, node: Node, where: str) -> int:
        if isinstance(node, ScalarNode) and node.tag == _INT and node.value.isdigit():
            return int(node.value)
        raise self.fail(node, f"{where}expected a whole number (0 or more)")

    def enum(self, node: Node, where: str, what: str, kind: type[E]) -> E:
        value = self.text(node, where)
        try:
            return kind(value)
        except ValueError:
            expected = choices([k.value for k in kind])
            raise self.fail(
                node, f'{where}unknown {what} "{value}" (expected one of {expected})'
            ) from None

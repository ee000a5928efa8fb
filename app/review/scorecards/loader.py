"""A scorecard from YAML: the criteria QA scores a call on, checked so that an operator's
mistake names its file, its line and the criterion, e.g.
`scorecard.yaml:14: criterion "courtesy": max must be a whole number from 1 to 1000`.

The shipped scorecard is `default.yaml` next to this module; CALLASSIST_SCORECARD_FILE
replaces it as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

DEFAULT_FILE = Path(__file__).parent / "default.yaml"
TOP_KEYS = ("id", "title", "criteria")
CRITERION_KEYS = ("id", "label", "label_zh", "max", "description")
CRITERION_REQUIRED = ("id", "label", "label_zh", "max")
CRITERION_ID = re.compile(r"[a-z0-9_]{1,64}")  # stored with each score (64 characters)
MAX_POINTS = 1000
MAX_CRITERIA = 100


class ScorecardError(ValueError):
    """A scorecard file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    label: str
    label_zh: str
    max: int
    description: str = ""

    def contract(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "label_zh": self.label_zh,
            "max": self.max,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    id: str
    title: str
    criteria: tuple[Criterion, ...]
    source: str = ""  # the file it came from, for operators' messages

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    def contract(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "criteria": [c.contract() for c in self.criteria],
        }


def load_scorecard(path: Path | None) -> Scorecard:
    """The scorecard in ``path``, or the shipped one; raises ScorecardError."""
    path = path or DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScorecardError(f"{path}: cannot read the scorecard: {error}") from None
    return parse_scorecard(text, str(path))


def parse_scorecard(text: str, source: str) -> Scorecard:
    node, data = _parse(text, source)
    if not isinstance(data, Mapping):
        raise ScorecardError(f"{source}: a scorecard is a mapping with {', '.join(TOP_KEYS)}")
    _known_keys(data, TOP_KEYS, f"{source}:{_line(node)}")
    for key in TOP_KEYS:
        if key not in data:
            raise ScorecardError(f"{source}: missing {key!r}")
    card_id = _text(data["id"], f"{source}: id")
    title = _text(data["title"], f"{source}: title")
    criteria = data["criteria"]
    items = _value_node(node, "criteria")
    if not isinstance(criteria, list) or not criteria:
        raise ScorecardError(f"{source}:{_line(items)}: criteria must be a non-empty list")
    if len(criteria) > MAX_CRITERIA:
        raise ScorecardError(f"{source}: at most {MAX_CRITERIA} criteria")
    lines = [_line(n) for n in items.value] if isinstance(items, SequenceNode) else []
    parsed: list[Criterion] = []
    for index, raw in enumerate(criteria):
        where = f"{source}:{lines[index] if index < len(lines) else '?'}"
        criterion = _criterion(raw, where, index)
        if any(c.id == criterion.id for c in parsed):
            raise ScorecardError(f'{where}: criterion "{criterion.id}" is listed twice')
        parsed.append(criterion)
    return Scorecard(card_id, title, tuple(parsed), source)


def _parse(text: str, source: str) -> tuple[Node | None, Any]:
    """The document as nodes (for line numbers) and as plain values."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScorecardError(f"{source}{line}: not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ScorecardError(f"{source}: not valid YAML: {error}") from None
    finally:
        loader.dispose()
    return node, data


def _criterion(raw: object, where: str, index: int) -> Criterion:
    if not isinstance(raw, Mapping):
        raise ScorecardError(f"{where}: criterion {index + 1} must be a mapping")
    given_id = raw.get("id")
    name = f'criterion "{given_id}"' if isinstance(given_id, str) else f"criterion {index + 1}"
    _known_keys(raw, CRITERION_KEYS, f"{where}: {name}")
    for key in CRITERION_REQUIRED:
        if key not in raw:
            raise ScorecardError(f"{where}: {name}: missing {key!r}")
    criterion_id = _text(raw["id"], f"{where}: {name}: id")
    if not CRITERION_ID.fullmatch(criterion_id):
        raise ScorecardError(
            f"{where}: {name}: id must be 1 to 64 of a-z, 0-9 and _ (scores refer to it)"
        )
    points = raw["max"]
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise ScorecardError(f"{where}: {name}: max must be a whole number from 1 to {MAX_POINTS}")
    description = raw.get("description")
    return Criterion(
        id=criterion_id,
        label=_text(raw["label"], f"{where}: {name}: label"),
        label_zh=_text(raw["label_zh"], f"{where}: {name}: label_zh"),
        max=points,
        description="" if description is None else _text(description, f"{where}: {name}"),
    )


def _known_keys(data: Mapping[Any, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [str(key) for key in data if key not in allowed]
    if unknown:
        raise ScorecardError(
            f"{where}: unknown key {unknown[0]!r} (expected one of: {', '.join(allowed)})"
        )


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScorecardError(
            f"{what} must be text (quote it if YAML reads it as a number or yes/no)"
        )
    return value.strip()


def _value_node(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def _line(node: Node | None) -> int | str:
    return node.start_mark.line + 1 if node is not None else "?"

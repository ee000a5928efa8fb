"""Call scripts from YAML files, checked so an operator's mistake names its file and line.

The YAML is composed into nodes (not loaded into dicts) so every value keeps its position:
an error points at the offending key or value, 1-based, and names the step or field, e.g.
`general.en.yaml:23: step "collect": field "contact": unknown type "phone_number" (...)`.
Scalars are read as written (`equals: no` is the text "no", not YAML's false).

A catalog is the shipped defaults plus the operator's directory: an invalid file is refused
and its error kept, the others load; a file with the same id and language as a shipped one
replaces it, and an operator's default replaces the shipped default of its language.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.console.call_scripts.engine import CALLBACK
from app.console.call_scripts.model import (
    Branch,
    BranchKind,
    CallScript,
    Disposition,
    FieldSpec,
    FieldType,
    Jump,
    Match,
    Option,
    Step,
    StepKind,
    Transfer,
)
from app.console.call_scripts.prompts import CONTEXT_TEMPLATES, TEMPLATE
from app.console.call_scripts.values import parse_date

DEFAULTS_DIR = Path(__file__).parent / "defaults"
LANGUAGES = ("en", "zh-CN")
FALLBACK_LANGUAGE = "en"

TOP_KEYS = ("id", "language", "title", "match", "default", "dispositions", "steps", "branches")
TOP_REQUIRED = ("id", "language", "title", "dispositions", "steps")
STEP_KEYS = (
    "id",
    "kind",
    "title",
    "prompt",
    "fields",
    "jumps",
    "next",
    "return",
    "notes",
    "checklist",
    "transfer",
)
FIELD_KEYS = (
    "name",
    "label",
    "type",
    "required",
    "options",
    "min_length",
    "max_length",
    "pattern",
    "pattern_hint",
    "not_before",
    "not_after",
)
TYPE_KEYS: dict[FieldType, tuple[str, ...]] = {
    FieldType.TEXT: ("min_length", "max_length", "pattern", "pattern_hint"),
    FieldType.CHOICE: ("options",),
    FieldType.DATE: ("not_before", "not_after"),
}
BRANCH_KEYS = ("id", "kind", "label", "key", "to")
PAIR_KEYS = ("id", "label")  # dispositions and choice options
STEP_ID = re.compile(r"[A-Za-z0-9_-]+")
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*")

E = TypeVar("E", StepKind, FieldType, BranchKind)
P = TypeVar("P", Option, Disposition)

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"


class LoadError(Exception):
    """A call-script file that cannot be used, and where the problem is."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(file, line, message)
        self.file = file
        self.line = line  # 1-based; 0 when the problem is not on a line (a missing directory)
        self.message = message

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}: {self.message}"


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _choices(values: Sequence[str]) -> str:
    return ", ".join(values)


class _Reader:
    """Typed reads from YAML nodes; every failure is a LoadError at the node's line."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: Node, message: str) -> LoadError:
        return LoadError(self.file, _line(node), message)

    def mapping(
        self, node: Node, where: str, allowed: Sequence[str], required: Sequence[str]
    ) -> dict[str, tuple[ScalarNode, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{where}expected a mapping of keys to values")
        found: dict[str, tuple[ScalarNode, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"{where}keys must be plain names")
            if key.value in found:
                raise self.fail(key, f'{where}duplicate key "{key.value}"')
            if key.value not in allowed:
                raise self.fail(
                    key, f'{where}unknown key "{key.value}" (allowed: {_choices(allowed)})'
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
            expected = _choices([k.value for k in kind])
            raise self.fail(
                node, f'{where}unknown {what} "{value}" (expected one of {expected})'
            ) from None


@dataclass(frozen=True, slots=True)
class _Parsed:
    call_script: CallScript
    id_line: int
    default_line: int


@dataclass(slots=True)
class _Checks:
    """Cross-references seen while reading, checked once every step and field is known."""

    step_refs: list[tuple[Node, str, str]] = dataclasses.field(default_factory=list)
    templates: list[tuple[Node, str, str]] = dataclasses.field(default_factory=list)
    conditions: list[tuple[Node, Node, str, str, str]] = dataclasses.field(default_factory=list)
    sensitive: list[tuple[Node, str, str]] = dataclasses.field(default_factory=list)
    line_fault: list[tuple[Node, str, str]] = dataclasses.field(default_factory=list)
    fields: dict[str, FieldSpec] = dataclasses.field(default_factory=dict)


class _FileLoader:
    """One call-script file: read it all, then check what refers to what."""

    def __init__(self, file: str) -> None:
        self.r = _Reader(file)
        self.checks = _Checks()

    def load(self, root: Node) -> _Parsed:
        r = self.r
        top = r.mapping(root, "", TOP_KEYS, TOP_REQUIRED)
        language = r.text(top["language"][1], "language: ")
        if language not in LANGUAGES:
            raise r.fail(
                top["language"][1],
                f'unknown language "{language}" (expected one of {_choices(LANGUAGES)})',
            )
        steps = self._steps(top["steps"][1])
        branches = self._branches(top["branches"][1]) if "branches" in top else ()
        self._check_references(steps)
        default = top.get("default")
        call_script = CallScript(
            id=r.text(top["id"][1], "id: "),
            language=language,
            title=r.text(top["title"][1], "title: "),
            steps=steps,
            dispositions=self._pairs(top["dispositions"][1], "dispositions: ", Disposition),
            branches=branches,
            match=self._match(top["match"][1]) if "match" in top else Match(),
            default=r.flag(default[1], "default: ") if default else False,
            source=r.file,
        )
        return _Parsed(
            call_script, _line(top["id"][1]), _line(default[1]) if default else _line(root)
        )

    # ------------------------------------------------------------------ steps

    def _steps(self, node: Node) -> tuple[Step, ...]:
        items = self.r.sequence(node, "steps: ")
        if not items:
            raise self.r.fail(node, "steps: a call script needs at least one step")
        steps: list[Step] = []
        for item in items:
            step = self._step(item)
            if any(s.id == step.id for s in steps):
                raise self.r.fail(item, f'step "{step.id}": duplicate step id')
            steps.append(step)
        return tuple(steps)

    def _step(self, node: Node) -> Step:
        r = self.r
        step_id, id_node = r.name(node, "id", "step: ")
        if STEP_ID.fullmatch(step_id) is None:
            raise r.fail(id_node, f'step "{step_id}": ids use letters, digits, _ and -')
        where = f'step "{step_id}": '
        m = r.mapping(node, where, STEP_KEYS, ("id", "kind", "title"))
        kind = r.enum(m["kind"][1], where, "kind", StepKind)
        fields = self._fields(m["fields"][1], where) if "fields" in m else ()
        step = Step(
            id=step_id,
            kind=kind,
            title=r.text(m["title"][1], where + "title: "),
            prompt=self._template(m, "prompt", where) if "prompt" in m else "",
            fields=fields,
            jumps=self._jumps(m["jumps"][1], where) if "jumps" in m else (),
            next=self._step_ref(m["next"][1], where + "next: ") if "next" in m else None,
            returns=r.flag(m["return"][1], where + "return: ") if "return" in m else False,
            notes=self._template_list(m, "notes", where),
            checklist=self._template_list(m, "checklist", where),
            transfer=self._transfer(m["transfer"][1], where) if "transfer" in m else None,
        )
        self._check_kind(node, step, where)
        return step

    def _check_kind(self, node: Node, step: Step, where: str) -> None:
        if step.kind is StepKind.IDENTITY_CHECK and not any(
            f.type is FieldType.YES_NO and f.required for f in step.fields
        ):
            raise self.r.fail(
                node, f"{where}an identity check needs a required yes_no field (confirmed or not)"
            )
        if step.kind is StepKind.COMPLAINT and not any(f.name == "content" for f in step.fields):
            raise self.r.fail(node, f'{where}a complaint step needs a "content" field')
        if step.kind is StepKind.LINE_FAULT and not any(
            f.type is FieldType.CHOICE and f.required and f.option_label(CALLBACK) is not None
            for f in step.fields
        ):
            raise self.r.fail(
                node,
                f"{where}a line_fault step needs a required choice field with a "
                f'"{CALLBACK}" option (the callback when the line is back)',
            )

    def _template(self, m: dict[str, tuple[ScalarNode, Node]], key: str, where: str) -> str:
        node = m[key][1]
        text = self.r.text(node, f"{where}{key}: ")
        self.checks.templates.append((node, f"{where}{key}: ", text))
        return text

    def _template_list(
        self, m: dict[str, tuple[ScalarNode, Node]], key: str, where: str
    ) -> tuple[str, ...]:
        if key not in m:
            return ()
        out: list[str] = []
        for item in self.r.sequence(m[key][1], f"{where}{key}: "):
            text = self.r.text(item, f"{where}{key}: ")
            self.checks.templates.append((item, f"{where}{key}: ", text))
            out.append(text)
        return tuple(out)

    def _step_ref(self, node: Node, where: str) -> str:
        target = self.r.text(node, where)
        self.checks.step_refs.append((node, where, target))
        return target

    def _jumps(self, node: Node, where: str) -> tuple[Jump, ...]:
        r = self.r
        jumps: list[Jump] = []
        for item in r.sequence(node, where + "jumps: "):
            m = r.mapping(item, where + "jump: ", ("when", "to"), ("when", "to"))
            when = r.mapping(
                m["when"][1], where + "jump: when: ", ("field", "equals"), ("field", "equals")
            )
            field_node, equals_node = when["field"][1], when["equals"][1]
            name = r.text(field_node, where + "jump: when: field: ")
            equals = r.text(equals_node, where + "jump: when: equals: ")
            self.checks.conditions.append((field_node, equals_node, where, name, equals))
            jumps.append(Jump(name, equals, self._step_ref(m["to"][1], where + "jump: to: ")))
        return tuple(jumps)

    def _transfer(self, node: Node, where: str) -> Transfer:
        keys = ("target", "department")
        m = self.r.mapping(node, where + "transfer: ", keys, keys)
        return Transfer(
            self.r.text(m["target"][1], where + "transfer: target: "),
            self.r.text(m["department"][1], where + "transfer: department: "),
        )

    # ------------------------------------------------------------------ fields

    def _fields(self, node: Node, where: str) -> tuple[FieldSpec, ...]:
        specs: list[FieldSpec] = []
        for item in self.r.sequence(node, where + "fields: "):
            spec = self._field(item, where)
            if spec.name in self.checks.fields:
                raise self.r.fail(item, f'{where}field "{spec.name}": duplicate field name')
            self.checks.fields[spec.name] = spec
            specs.append(spec)
        return tuple(specs)

    def _field(self, node: Node, step_where: str) -> FieldSpec:
        r = self.r
        name, name_node = r.name(node, "name", step_where + "field: ")
        where = f'{step_where}field "{name}": '
        if FIELD_NAME.fullmatch(name) is None:
            raise r.fail(name_node, f"{where}names use lowercase letters, digits and _")
        m = r.mapping(node, where, FIELD_KEYS, ("name", "label", "type"))
        kind = r.enum(m["type"][1], where, "type", FieldType)
        for key, (key_node, _) in m.items():
            owner = next((t for t, keys in TYPE_KEYS.items() if key in keys), None)
            if owner is not None and owner is not kind:
                raise r.fail(key_node, f'{where}"{key}" only applies to {owner.value} fields')
        spec = FieldSpec(
            name=name,
            label=r.text(m["label"][1], where + "label: "),
            type=kind,
            required=r.flag(m["required"][1], where + "required: ") if "required" in m else False,
            options=self._options(m, where) if kind is FieldType.CHOICE else (),
            min_length=self._optional_count(m, "min_length", where),
            max_length=self._optional_count(m, "max_length", where),
            pattern=self._pattern(m, where),
            pattern_hint=r.text(m["pattern_hint"][1], where) if "pattern_hint" in m else None,
            not_before=self._date_bound(m, "not_before", where),
            not_after=self._date_bound(m, "not_after", where),
        )
        self._check_bounds(m, spec, where)
        return spec

    def _options(self, m: dict[str, tuple[ScalarNode, Node]], where: str) -> tuple[Option, ...]:
        if "options" not in m:
            raise self.r.fail(m["type"][1], f'{where}a choice field needs "options"')
        options = self._pairs(m["options"][1], where + "options: ", Option)
        if not options:
            raise self.r.fail(m["options"][1], f"{where}a choice field needs at least one option")
        return options

    def _optional_count(
        self, m: dict[str, tuple[ScalarNode, Node]], key: str, where: str
    ) -> int | None:
        return self.r.count(m[key][1], f"{where}{key}: ") if key in m else None

    def _pattern(self, m: dict[str, tuple[ScalarNode, Node]], where: str) -> str | None:
        if "pattern" not in m:
            return None
        node = m["pattern"][1]
        pattern = self.r.text(node, where + "pattern: ")
        try:
            re.compile(pattern)
        except re.error as e:
            raise self.r.fail(
                node, f'{where}pattern "{pattern}" is not a valid regex: {e}'
            ) from None
        return pattern

    def _date_bound(
        self, m: dict[str, tuple[ScalarNode, Node]], key: str, where: str
    ) -> str | None:
        if key not in m:
            return None
        node = m[key][1]
        value = self.r.text(node, f"{where}{key}: ")
        if value != "today" and parse_date(value) is None:
            raise self.r.fail(
                node, f'{where}{key} "{value}" must be a date written YYYY-MM-DD, or "today"'
            )
        return value

    def _check_bounds(
        self, m: dict[str, tuple[ScalarNode, Node]], spec: FieldSpec, where: str
    ) -> None:
        low, high = spec.min_length, spec.max_length
        if low is not None and high is not None and low > high:
            raise self.r.fail(m["min_length"][1], f"{where}min_length is more than max_length")
        first, last = parse_date(spec.not_before or ""), parse_date(spec.not_after or "")
        if first is not None and last is not None and first > last:
            raise self.r.fail(m["not_before"][1], f"{where}not_before is after not_after")

    # ------------------------------------------------------------------ the rest

    def _pairs(self, node: Node, where: str, make: type[P]) -> tuple[P, ...]:
        pairs: list[P] = []
        for item in self.r.sequence(node, where):
            m = self.r.mapping(item, where, PAIR_KEYS, PAIR_KEYS)
            pair = make(self.r.text(m["id"][1], where + "id: "), self.r.text(m["label"][1], where))
            if any(p.id == pair.id for p in pairs):
                raise self.r.fail(m["id"][1], f'{where}duplicate id "{pair.id}"')
            pairs.append(pair)
        return tuple(pairs)

    def _match(self, node: Node) -> Match:
        m = self.r.mapping(node, "match: ", ("queues", "numbers"), ())
        queues = self.r.texts(m["queues"][1], "match: queues: ") if "queues" in m else ()
        numbers = self.r.texts(m["numbers"][1], "match: numbers: ") if "numbers" in m else ()
        return Match(queues, numbers)

    def _branches(self, node: Node) -> tuple[Branch, ...]:
        r = self.r
        branches: list[Branch] = []
        for item in r.sequence(node, "branches: "):
            branch_id, id_node = r.name(item, "id", "branch: ")
            where = f'branch "{branch_id}": '
            m = r.mapping(item, where, BRANCH_KEYS, ("id", "kind", "label", "to"))
            key = r.text(m["key"][1], where + "key: ") if "key" in m else None
            if key is not None and len(key) != 1:
                raise r.fail(m["key"][1], f'{where}key "{key}" must be a single character')
            if any(b.id == branch_id for b in branches):
                raise r.fail(id_node, f"{where}duplicate branch id")
            if key is not None and any(b.key == key for b in branches):
                raise r.fail(m["key"][1], f'{where}key "{key}" is already used by another branch')
            branch = Branch(
                id=branch_id,
                kind=r.enum(m["kind"][1], where, "kind", BranchKind),
                label=r.text(m["label"][1], where + "label: "),
                to=self._step_ref(m["to"][1], where + "to: "),
                key=key,
            )
            if branch.kind is BranchKind.SENSITIVE:
                self.checks.sensitive.append((m["to"][1], where, branch.to))
            if branch.kind is BranchKind.LINE_FAULT:
                self.checks.line_fault.append((m["to"][1], where, branch.to))
            branches.append(branch)
        return tuple(branches)

    def _check_references(self, steps: tuple[Step, ...]) -> None:
        kinds = {s.id: s.kind for s in steps}
        for node, where, target in self.checks.step_refs:
            if target not in kinds:
                raise self.r.fail(node, f'{where}unknown step "{target}"')
        for node, where, target in self.checks.sensitive:
            if kinds[target] is not StepKind.IDENTITY_CHECK:
                raise self.r.fail(
                    node, f"{where}a sensitive branch must lead to an identity_check step"
                )
        for node, where, target in self.checks.line_fault:
            if kinds[target] is not StepKind.LINE_FAULT:
                raise self.r.fail(
                    node, f"{where}a line_fault branch must lead to a line_fault step"
                )
        for node, where, text in self.checks.templates:
            self._check_templates(node, where, text)
        for field_node, equals_node, where, name, equals in self.checks.conditions:
            self._check_condition(field_node, equals_node, where, name, equals)

    def _check_templates(self, node: Node, where: str, text: str) -> None:
        """Only the agent's and the centre's names and declared fields: a typo must not reach
        a customer."""
        for found in TEMPLATE.finditer(text):
            offset, name = found.start(), found.group(1)
            if name in CONTEXT_TEMPLATES:
                continue
            field = name.removeprefix("fields.")
            if not name.startswith("fields."):
                allowed = _choices([*sorted(CONTEXT_TEMPLATES), "fields.<name>"])
                raise self._fail_in(
                    node,
                    text,
                    offset,
                    f'{where}unknown template "{{{{{name}}}}}" (allowed: {allowed})',
                )
            if field not in self.checks.fields:
                raise self._fail_in(
                    node,
                    text,
                    offset,
                    f'{where}template "{{{{{name}}}}}" names an undeclared field "{field}"',
                )

    def _check_condition(
        self, field_node: Node, equals_node: Node, where: str, name: str, equals: str
    ) -> None:
        spec = self.checks.fields.get(name)
        if spec is None:
            raise self.r.fail(field_node, f'{where}jump: when: undeclared field "{name}"')
        allowed: list[str] | None = None
        if spec.type is FieldType.YES_NO:
            allowed = ["yes", "no"]
        elif spec.type is FieldType.CHOICE:
            allowed = [o.id for o in spec.options]
        if allowed is not None and equals not in allowed:
            raise self.r.fail(
                equals_node,
                f'{where}jump: field "{name}" is never "{equals}" '
                f"(expected one of {_choices(allowed)})",
            )

    def _fail_in(self, node: Node, text: str, offset: int, message: str) -> LoadError:
        """Point inside a `|` block at the template's own line."""
        line = _line(node)
        if isinstance(node, ScalarNode) and node.style == "|":
            line += 1 + text.count("\n", 0, offset)
        return LoadError(self.r.file, line, message)


# ---------------------------------------------------------------------------- files


def _parse(path: Path) -> _Parsed:
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
    return _FileLoader(file).load(root)


def load_file(path: Path) -> CallScript:
    """One call-script file; raises LoadError naming the file, the line and the problem."""
    return _parse(path).call_script


@dataclass(frozen=True, slots=True)
class Catalog:
    """The call scripts in use, and the files that were refused (shown on /api/status)."""

    call_scripts: tuple[CallScript, ...]
    errors: tuple[LoadError, ...] = ()

    def get(self, call_script_id: str, language: str | None) -> CallScript | None:
        """One call script in a language, falling back to English, then to any variant."""
        variants = [c for c in self.call_scripts if c.id == call_script_id]
        for wanted in (language, FALLBACK_LANGUAGE):
            found = next((c for c in variants if c.language == wanted), None)
            if found is not None:
                return found
        return variants[0] if variants else None

    def choose(self, queue: str | None, dialled: str | None, language: str | None) -> CallScript:
        """The call script for a call: queue rule, then dialled-number rule, then the default.

        Raises LookupError only when no call script loaded at all.
        """
        chosen = (
            (queue and next((c for c in self.call_scripts if queue in c.match.queues), None))
            or (
                dialled and next((c for c in self.call_scripts if dialled in c.match.numbers), None)
            )
            or self._default(language)
        )
        return self.get(chosen.id, language) or chosen

    def _default(self, language: str | None) -> CallScript:
        defaults = [c for c in self.call_scripts if c.default]
        for wanted in (language, FALLBACK_LANGUAGE):
            found = next((c for c in defaults if c.language == wanted), None)
            if found is not None:
                return found
        if defaults:
            return defaults[0]
        if self.call_scripts:
            return self.call_scripts[0]
        raise LookupError("no call script is loaded")


def load_catalog(dirs: Sequence[Path] = ()) -> Catalog:
    """The shipped defaults, then each directory in turn; later files override earlier ones."""
    loaded: dict[tuple[str, str], CallScript] = {}
    errors: list[LoadError] = []
    for directory in (DEFAULTS_DIR, *dirs):
        if not directory.is_dir():
            errors.append(LoadError(str(directory), 0, "no such directory of call scripts"))
            continue
        here = _load_directory(directory, errors)
        for key, call_script in here.items():
            if call_script.default:
                _demote_defaults(loaded, call_script.language)
            loaded[key] = call_script
    return Catalog(tuple(loaded.values()), tuple(errors))


def _load_directory(directory: Path, errors: list[LoadError]) -> dict[tuple[str, str], CallScript]:
    here: dict[tuple[str, str], CallScript] = {}
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in paths:
        try:
            parsed = _parse(path)
        except LoadError as e:
            errors.append(e)
            continue
        call_script = parsed.call_script
        key = (call_script.id, call_script.language)
        if key in here:
            errors.append(
                LoadError(
                    str(path),
                    parsed.id_line,
                    f'call script "{call_script.id}" ({call_script.language}) is already '
                    f"defined in {here[key].source}",
                )
            )
            continue
        other = next(
            (c for c in here.values() if c.default and c.language == call_script.language), None
        )
        if call_script.default and other is not None:
            errors.append(
                LoadError(
                    str(path),
                    parsed.default_line,
                    f'a second default for language "{call_script.language}" '
                    f"(the default is {other.source})",
                )
            )
            continue
        here[key] = call_script
    return here


def _demote_defaults(loaded: dict[tuple[str, str], CallScript], language: str) -> None:
    for key, call_script in loaded.items():
        if call_script.default and call_script.language == language:
            loaded[key] = dataclasses.replace(call_script, default=False)

"""One call-script file's content, checked so an operator's mistake names its file and line.

Every error names the step or field and points at the offending key or value, e.g.
`general.en.yaml:23: step "collect": field "contact": unknown type "phone_number" (...)`.
Steps, fields and branches are read first; what refers to what (a jump's step, a template's
field, a sensitive branch's identity check) is checked once everything is known, so a
reference may point forward.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TypeVar

from yaml.nodes import Node, ScalarNode

from app.console.call_scripts.catalog import LANGUAGES, LoadError
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
from app.console.call_scripts.reader import Entries, Reader, choices, line
from app.console.call_scripts.values import parse_date

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

P = TypeVar("P", Option, Disposition)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A checked call script, and the lines the catalog's own errors point at (the same id
    twice, a second default)."""

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


class _FileChecker:
    """One call-script file: read it all, then check what refers to what."""

    def __init__(self, file: str) -> None:
        self.r = Reader(file)
        self.checks = _Checks()

    def check(self, root: Node) -> Parsed:
        r = self.r
        top = r.mapping(root, "", TOP_KEYS, TOP_REQUIRED)
        language = r.text(top["language"][1], "language: ")
        if language not in LANGUAGES:
            raise r.fail(
                top["language"][1],
                f'unknown language "{language}" (expected one of {choices(LANGUAGES)})',
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
        return Parsed(call_script, line(top["id"][1]), line(default[1]) if default else line(root))

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

    def _template(self, m: Entries, key: str, where: str) -> str:
        node = m[key][1]
        text = self.r.text(node, f"{where}{key}: ")
        self.checks.templates.append((node, f"{where}{key}: ", text))
        return text

    def _template_list(self, m: Entries, key: str, where: str) -> tuple[str, ...]:
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

    def _options(self, m: Entries, where: str) -> tuple[Option, ...]:
        if "options" not in m:
            raise self.r.fail(m["type"][1], f'{where}a choice field needs "options"')
        options = self._pairs(m["options"][1], where + "options: ", Option)
        if not options:
            raise self.r.fail(m["options"][1], f"{where}a choice field needs at least one option")
        return options

    def _optional_count(self, m: Entries, key: str, where: str) -> int | None:
        return self.r.count(m[key][1], f"{where}{key}: ") if key in m else None

    def _pattern(self, m: Entries, where: str) -> str | None:
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

    def _date_bound(self, m: Entries, key: str, where: str) -> str | None:
        if key not in m:
            return None
        node = m[key][1]
        value = self.r.text(node, f"{where}{key}: ")
        if value != "today" and parse_date(value) is None:
            raise self.r.fail(
                node, f'{where}{key} "{value}" must be a date written YYYY-MM-DD, or "today"'
            )
        return value

    def _check_bounds(self, m: Entries, spec: FieldSpec, where: str) -> None:
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
                allowed = choices([*sorted(CONTEXT_TEMPLATES), "fields.<name>"])
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
                f"(expected one of {choices(allowed)})",
            )

    def _fail_in(self, node: Node, text: str, offset: int, message: str) -> LoadError:
        """Point inside a `|` block at the template's own line."""
        at = line(node)
        if isinstance(node, ScalarNode) and node.style == "|":
            at += 1 + text.count("\n", 0, offset)
        return LoadError(self.r.file, at, message)


def check(root: Node, file: str) -> Parsed:
    """The call script a composed file holds; raises LoadError naming the line and problem."""
    return _FileChecker(file).check(root)

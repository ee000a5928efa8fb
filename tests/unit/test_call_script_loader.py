"""Loading call scripts: every mistake names its file and line; a catalog survives bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.console.call_scripts.catalog import Catalog, LoadError
from app.console.call_scripts.loader import DEFAULTS_DIR, load_catalog, load_file
from app.console.call_scripts.model import (
    BranchKind,
    CallScript,
    Disposition,
    FieldType,
    Match,
    Step,
    StepKind,
)

VALID = """\
id: support
language: en
title: Support line
match:
  queues: [support]
  numbers: [6100]
dispositions:
  - {id: resolved, label: Resolved}
steps:
  - id: greet
    kind: greet
    title: Greeting
    prompt: "Hello, {{company}}, {{agent.name}} ({{agent.position}}, {{agent.id}})"
  - id: collect
    kind: collect
    title: Details
    prompt: |
      May I have your name?
      Thanks {{fields.customer_name}}.
    fields:
      - {name: customer_name, label: Name, type: text, required: true, max_length: 80}
      - name: product
        label: Product
        type: choice
        options:
          - {id: broadband, label: Broadband}
          - {id: mobile, label: Mobile}
      - {name: since, label: Since, type: date, not_after: today}
    jumps:
      - {when: {field: product, equals: mobile}, to: close}
  - id: close
    kind: close
    title: Closing
  - id: verify
    kind: identity_check
    title: Identity
    fields:
      - {name: verified, label: Verified, type: yes_no, required: true}
    jumps:
      - {when: {field: verified, equals: no}, to: close}
  - id: complaint
    kind: complaint
    title: Complaint
    fields:
      - {name: content, label: Complaint, type: text, required: true}
    return: true
branches:
  - {id: complaint, kind: complaint, label: Complaint, key: c, to: complaint}
  - {id: sensitive, kind: sensitive, label: Sensitive, key: s, to: verify}
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line where `needle` occurs for the nth time."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[nth - 1]


def test_a_valid_file_loads_into_the_model(tmp_path: Path) -> None:
    call_script = load_file(write(tmp_path, "support.en.yaml", VALID))
    assert (call_script.id, call_script.language, call_script.default) == ("support", "en", False)
    assert call_script.match == Match(("support",), ("6100",))  # numbers read as written
    assert [s.id for s in call_script.steps] == ["greet", "collect", "close", "verify", "complaint"]
    collect = call_script.steps[1]
    assert collect.prompt == "May I have your name?\nThanks {{fields.customer_name}}.\n"
    assert [f.type for f in collect.fields] == [FieldType.TEXT, FieldType.CHOICE, FieldType.DATE]
    assert collect.fields[0].max_length == 80 and collect.fields[0].required
    assert collect.fields[2].not_after == "today"
    verify = call_script.step("verify")
    assert verify is not None and verify.jumps[0].equals == "no"  # not YAML's false
    assert call_script.steps[4].returns is True
    assert [b.kind for b in call_script.branches] == [BranchKind.COMPLAINT, BranchKind.SENSITIVE]
    assert call_script.dispositions == (Disposition("resolved", "Resolved"),)
    assert call_script.source.endswith("support.en.yaml")


def _replace(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


# (broken text, the text on the offending line [and which occurrence], expected message)
BROKEN: list[tuple[str, tuple[str, int], str]] = [
    (
        _replace("title: Support line\n", ""),
        ("id: support", 1),
        'missing required key "title"',
    ),
    (
        _replace('    prompt: "Hello', '    promt: "Hello'),
        ("promt:", 1),
        'step "greet": unknown key "promt" (allowed: id, kind, title, prompt, fields, jumps, '
        "next, return, notes, checklist, transfer)",
    ),
    (
        _replace("title: Support line\n", "title: Support line\ntitle: Again\n"),
        ("title: Again", 1),
        'duplicate key "title"',
    ),
    (
        _replace("  - id: close\n", "  - id: greet\n"),
        ("- id: greet", 2),
        'step "greet": duplicate step id',
    ),
    (
        _replace("{name: since,", "{name: customer_name,"),
        ("{name: customer_name,", 2),
        'step "collect": field "customer_name": duplicate field name',
    ),
    (
        _replace("{id: sensitive, kind: sensitive", "{id: complaint, kind: sensitive"),
        ("kind: sensitive", 1),
        'branch "complaint": duplicate branch id',
    ),
    (
        _replace("equals: mobile}, to: close}", "equals: mobile}, to: nowhere}"),
        ("to: nowhere", 1),
        'step "collect": jump: to: unknown step "nowhere"',
    ),
    (
        _replace("key: c, to: complaint}", "key: c, to: complain}"),
        ("to: complain}", 1),
        'branch "complaint": to: unknown step "complain"',
    ),
    (
        _replace("{{agent.id}}", "{{agent.email}}"),
        ("agent.email", 1),
        'step "greet": prompt: unknown template "{{agent.email}}" (allowed: agent.id, '
        "agent.name, agent.position, alternate.email, alternate.number, company, "
        "fields.<name>)",
    ),
    (
        _replace("Thanks {{fields.customer_name}}", "Thanks {{fields.surname}}"),
        ("fields.surname", 1),  # inside the | block: the template's own line
        'step "collect": prompt: template "{{fields.surname}}" names an undeclared field "surname"',
    ),
    (
        _replace(
            "        options:\n          - {id: broadband, label: Broadband}\n"
            "          - {id: mobile, label: Mobile}\n",
            "",
        ).replace("{field: product, equals: mobile}", "{field: since, equals: x}"),
        ("type: choice", 1),
        'step "collect": field "product": a choice field needs "options"',
    ),
    (
        _replace("max_length: 80}", 'max_length: 80, pattern: "[A-Z"}'),
        ("pattern:", 1),
        'step "collect": field "customer_name": pattern "[A-Z" is not a valid regex',
    ),
    (
        _replace("not_after: today}", "not_after: tomorrow}"),
        ("not_after: tomorrow", 1),
        'step "collect": field "since": not_after "tomorrow" must be a date written '
        'YYYY-MM-DD, or "today"',
    ),
    (
        _replace("not_after: today}", "not_after: 2024-02-30}"),
        ("not_after: 2024-02-30", 1),
        'step "collect": field "since": not_after "2024-02-30" must be a date',
    ),
    (
        _replace("not_after: today}", "not_before: 2024-06-01, not_after: 2024-01-01}"),
        ("not_before: 2024-06-01", 1),
        'step "collect": field "since": not_before is after not_after',
    ),
    (
        _replace("    kind: collect\n", "    kind: gather\n"),
        ("kind: gather", 1),
        'step "collect": unknown kind "gather" (expected one of greet, collect, answer, '
        "confirm, close, complaint, identity_check, lookup, emergency, line_fault)",
    ),
    (
        _replace("type: date,", "type: phone_number,"),
        ("phone_number", 1),
        'step "collect": field "since": unknown type "phone_number" (expected one of text, '
        "phone, choice, yes_no, date)",
    ),
    (
        _replace("kind: complaint, label", "kind: grumble, label"),
        ("kind: grumble", 1),
        'branch "complaint": unknown kind "grumble" (expected one of complaint, sensitive, '
        "complex, emergency, line_fault)",
    ),
    (
        _replace("language: en\n", "language: fr\n"),
        ("language: fr", 1),
        'unknown language "fr" (expected one of en, zh-CN)',
    ),
    (
        _replace("key: s, to: verify}", "key: s, to: close}"),
        ("key: s, to: close}", 1),
        'branch "sensitive": a sensitive branch must lead to an identity_check step',
    ),
    (
        _replace("type: yes_no, required: true}", "type: yes_no}"),
        ("- id: verify", 1),
        'step "verify": an identity check needs a required yes_no field',
    ),
    (
        _replace("equals: mobile}", "equals: tablet}"),
        ("equals: tablet", 1),
        'step "collect": jump: field "product" is never "tablet" (expected one of '
        "broadband, mobile)",
    ),
    (
        _replace("max_length: 80}", "max_length: 80, options: []}"),
        ("options: []", 1),
        'step "collect": field "customer_name": "options" only applies to choice fields',
    ),
    (
        _replace("    return: true\n", "    return: sometimes\n"),
        ("return: sometimes", 1),
        'step "complaint": return: expected true or false',
    ),
    (
        _replace("{name: content, label: Complaint", "{name: details, label: Complaint"),
        ("- id: complaint", 1),
        'step "complaint": a complaint step needs a "content" field',
    ),
    (
        _replace("{field: product, equals", "{field: colour, equals"),
        ("field: colour", 1),
        'step "collect": jump: when: undeclared field "colour"',
    ),
    (
        _replace("  - {id: resolved, label: Resolved}\n", "  - {id: resolved}\n"),
        ("{id: resolved}", 1),
        'dispositions: missing required key "label"',
    ),
    (
        _replace("    title: Greeting\n", "    title: Greeting\n   bad: [\n"),
        ("bad: [", 1),
        "not valid YAML",
    ),
]

LINE_FAULT = """\
  - id: line_problem
    kind: line_fault
    title: Line problem
    prompt: "Our line is faulty. Call {{alternate.number}} or write to {{alternate.email}}."
    fields:
      - name: channel
        label: Customer chose
        type: choice
        required: true
        options:
          - {id: callback, label: Callback when the line is back}
          - {id: email, label: E-mail}
    return: true
"""
WITH_LINE_FAULT = _replace("branches:\n", LINE_FAULT + "branches:\n") + (
    "  - {id: line, kind: line_fault, label: Line problem, key: l, to: line_problem}\n"
)


def _line_fault(old: str, new: str) -> str:
    assert old in WITH_LINE_FAULT, old
    return WITH_LINE_FAULT.replace(old, new, 1)


BROKEN += [
    (
        _line_fault(
            "{id: callback, label: Callback when the line is back}", "{id: later, label: L}"
        ),
        ("- id: line_problem", 1),
        'step "line_problem": a line_fault step needs a required choice field with a "callback"'
        " option",
    ),
    (
        _line_fault(
            "        required: true\n        options:\n          - {id: callback",
            "        options:\n          - {id: callback",
        ),
        ("- id: line_problem", 1),
        'step "line_problem": a line_fault step needs a required choice field',
    ),
    (
        _line_fault("key: l, to: line_problem}", "key: l, to: complaint}"),
        ("key: l, to: complaint}", 1),
        'branch "line": a line_fault branch must lead to a line_fault step',
    ),
    (
        _line_fault("{{alternate.email}}", "{{alternate.fax}}"),
        ("alternate.fax", 1),
        'step "line_problem": prompt: unknown template "{{alternate.fax}}"',
    ),
]


def test_a_line_fault_step_and_branch_load_with_the_centres_other_channels(
    tmp_path: Path,
) -> None:
    call_script = load_file(write(tmp_path, "support.en.yaml", WITH_LINE_FAULT))
    step = call_script.step("line_problem")
    assert step is not None and step.kind is StepKind.LINE_FAULT and step.returns
    assert "{{alternate.number}}" in step.prompt
    branch = call_script.branch("line")
    assert branch is not None and branch.kind is BranchKind.LINE_FAULT
    assert (branch.to, branch.key) == ("line_problem", "l")


@pytest.mark.parametrize(("text", "where", "message"), BROKEN, ids=[b[2][:60] for b in BROKEN])
def test_each_mistake_is_refused_with_its_file_and_line(
    tmp_path: Path, text: str, where: tuple[str, int], message: str
) -> None:
    path = write(tmp_path, "support.en.yaml", text)
    with pytest.raises(LoadError) as caught:
        load_file(path)
    error = caught.value
    assert (error.file, error.line) == (str(path), line_of(text, *where))
    assert str(error).startswith(f"{path}:{error.line}: ")
    assert message in error.message


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.yaml", "# nothing yet\n")
    with pytest.raises(LoadError, match="the file is empty") as caught:
        load_file(path)
    assert str(caught.value) == f"{path}: the file is empty"


# ---------------------------------------------------------------------------- catalog


def test_the_shipped_defaults_load_in_both_languages() -> None:
    catalog = load_catalog()
    assert catalog.errors == ()
    assert {(c.id, c.language, c.default) for c in catalog.call_scripts} == {
        ("general", "en", True),
        ("general", "zh-CN", True),
    }
    assert all(Path(c.source).parent == DEFAULTS_DIR for c in catalog.call_scripts)


def test_an_invalid_file_is_refused_while_the_others_load(tmp_path: Path) -> None:
    write(tmp_path, "a_broken.en.yaml", _replace("type: date,", "type: phone_number,"))
    write(tmp_path, "b_support.en.yaml", VALID)
    catalog = load_catalog([tmp_path])
    assert [(c.id, c.language) for c in catalog.call_scripts] == [
        ("general", "en"),
        ("general", "zh-CN"),
        ("support", "en"),
    ]
    assert len(catalog.errors) == 1
    assert str(catalog.errors[0]).startswith(f"{tmp_path / 'a_broken.en.yaml'}:")


def test_a_missing_directory_is_reported_not_fatal(tmp_path: Path) -> None:
    catalog = load_catalog([tmp_path / "nope"])
    assert len(catalog.call_scripts) == 2
    assert [str(e) for e in catalog.errors] == [
        f"{tmp_path / 'nope'}: no such directory of call scripts"
    ]


def test_an_operator_file_replaces_the_shipped_one_with_the_same_id_and_language(
    tmp_path: Path,
) -> None:
    text = VALID.replace("id: support", "id: general").replace("title: Support line", "title: Ours")
    write(tmp_path, "general.en.yaml", text.replace("match:", "default: true\nmatch:"))
    catalog = load_catalog([tmp_path])
    assert catalog.errors == ()
    english = catalog.get("general", "en")
    assert english is not None and english.title == "Ours"
    chinese = catalog.get("general", "zh-CN")
    assert chinese is not None and Path(chinese.source).parent == DEFAULTS_DIR
    assert len(catalog.call_scripts) == 2


def test_an_operator_default_takes_over_from_the_shipped_default(tmp_path: Path) -> None:
    write(tmp_path, "ours.en.yaml", VALID.replace("match:", "default: true\nmatch:"))
    catalog = load_catalog([tmp_path])
    assert catalog.errors == ()
    assert catalog.choose(None, None, "en").id == "support"
    assert catalog.choose(None, None, "zh-CN").id == "general"  # the shipped zh-CN default


def test_two_defaults_for_one_language_in_one_directory_refuse_the_second(
    tmp_path: Path,
) -> None:
    first = VALID.replace("match:", "default: true\nmatch:")
    write(tmp_path, "a.en.yaml", first)
    second = first.replace("id: support", "id: other")
    path = write(tmp_path, "b.en.yaml", second)
    catalog = load_catalog([tmp_path])
    assert [c.id for c in catalog.call_scripts if c.language == "en" and c.default] == ["support"]
    assert len(catalog.errors) == 1
    assert str(catalog.errors[0]).startswith(f"{path}:{line_of(second, 'default: true')}: ")
    assert 'a second default for language "en"' in catalog.errors[0].message


def test_the_same_call_script_twice_in_one_directory_refuses_the_second(tmp_path: Path) -> None:
    write(tmp_path, "a.en.yaml", VALID)
    path = write(tmp_path, "b.en.yaml", VALID)
    catalog = load_catalog([tmp_path])
    assert [c.id for c in catalog.call_scripts].count("support") == 1
    assert str(catalog.errors[0]).startswith(f"{path}:1: ")


def _call_script(
    cs_id: str, language: str, *, default: bool = False, **match: tuple[str, ...]
) -> CallScript:
    return CallScript(
        id=cs_id,
        language=language,
        title=cs_id,
        steps=(Step("greet", StepKind.GREET, "Greeting"),),
        dispositions=(Disposition("resolved", "Resolved"),),
        match=Match(**match),
        default=default,
    )


CATALOG = Catalog(
    (
        _call_script("general", "en", default=True),
        _call_script("general", "zh-CN", default=True),
        _call_script("support", "en", queues=("support",)),
        _call_script("support", "zh-CN"),
        _call_script("sales", "zh-CN", numbers=("6100",)),
        _call_script("vip", "en", queues=("vip",), numbers=("6200",)),
    )
)


@pytest.mark.parametrize(
    ("queue", "dialled", "language", "expected"),
    [
        ("support", None, "en", ("support", "en")),
        ("support", "6100", "zh-CN", ("support", "zh-CN")),  # queue rule before number rule
        ("other", "6100", "zh-CN", ("sales", "zh-CN")),
        (None, "6100", "en", ("sales", "zh-CN")),  # no en variant: any
        (None, "6200", "zh-CN", ("vip", "en")),  # no zh-CN variant: en
        ("vip", None, None, ("vip", "en")),
        (None, None, "zh-CN", ("general", "zh-CN")),
        (None, None, "en", ("general", "en")),
        (None, "9999", "fr", ("general", "en")),  # unknown language: the en variant
        (None, None, None, ("general", "en")),
    ],
)
def test_choose_follows_queue_then_number_then_default_then_language(
    queue: str | None, dialled: str | None, language: str | None, expected: tuple[str, str]
) -> None:
    chosen = CATALOG.choose(queue, dialled, language)
    assert (chosen.id, chosen.language) == expected


def test_choose_without_any_default_takes_the_first_call_script() -> None:
    catalog = Catalog((_call_script("only", "zh-CN"),))
    assert catalog.choose(None, None, "en").id == "only"


def test_an_empty_catalog_cannot_choose() -> None:
    with pytest.raises(LookupError):
        Catalog(()).choose(None, None, "en")

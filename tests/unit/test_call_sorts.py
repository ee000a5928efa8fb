"""The sorts the calls API accepts are exactly the columns the query knows how to order by."""

from __future__ import annotations

from typing import get_args

from app.records.api import Sort
from app.records.query import SORTS


def test_every_sort_the_api_offers_has_a_column() -> None:
    assert set(get_args(Sort)) == set(SORTS)

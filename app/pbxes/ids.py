"""A call's identity among several PBXs, (pbx, Linkedid), as one string: the bare Linkedid
on the default PBX, ``<pbx>:<Linkedid>`` on another (app/pbxes/config.py says why). Pure."""

from __future__ import annotations

import re

from telephony.scope import SEPARATOR, IdScope

DEFAULT_PBX = "default"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$"  # no ":" (the id separator); short: ids fit 64


def split_call_id(call_id: str) -> tuple[str, str]:
    """(pbx, Linkedid) of a call id: ``south:1733490000.12`` -> ("south", "1733490000.12");
    a bare Linkedid is the default PBX's."""
    pbx, separator, linkedid = call_id.partition(SEPARATOR)
    if separator and re.fullmatch(NAME_PATTERN, pbx):
        return pbx, linkedid
    return DEFAULT_PBX, call_id


def id_scope(pbx: str) -> IdScope:
    """How the ids of that PBX look past its link: the default PBX's bare."""
    return IdScope.of(None if pbx == DEFAULT_PBX else pbx)

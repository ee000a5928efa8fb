"""Call scripts from YAML files: the shipped defaults plus the operator's directory.

An invalid file is refused and its error kept, the others load; a file with the same id and
language as a shipped one replaces it, and an operator's default replaces the shipped
default of its language. Reading the YAML is reader.py's work, checking a file's content
validation.py's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from app.console.call_scripts.catalog import Catalog, LoadError
from app.console.call_scripts.model import CallScript
from app.console.call_scripts.reader import compose
from app.console.call_scripts.validation import Parsed, check

DEFAULTS_DIR = Path(__file__).parent / "defaults"


def _parse(path: Path) -> Parsed:
    return check(compose(path), str(path))


def load_file(path: Path) -> CallScript:
    """One call-script file; raises LoadError naming the file, the line and the problem."""
    return _parse(path).call_script


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

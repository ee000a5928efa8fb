"""The tree keeps the shape docs/architecture.md draws, so a newcomer finds a feature's room in
a minute: a small top level in app/, no module over 500 lines, no function over 50, and the
database libraries only where the database code lives. Checked on the source with ast, so a
new module is held to it without being listed anywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = {"__init__.py", "main.py", "settings.py", "cli.py", "logs.py", "wiring.py"}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 50
DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel", "alembic")


def sources() -> list[Path]:
    found = [*(ROOT / "app").rglob("*.py"), *(ROOT / "telephony").rglob("*.py")]
    return sorted(path for path in found if "migrations" not in path.parts)


def name_of(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Functions longer than ``limit`` lines, from ``def`` to the end, docstring included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append(f"{node.name} ({length} lines, line {node.lineno})")
    return found


def database_imports(source: str) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.append(node.module)
    return [m for m in modules if m.split(".")[0] in DATABASE_LIBRARIES]


def may_touch_the_database(path: Path) -> bool:
    """app/db, a feature's store.py and query.py (what people read of it)."""
    relative = path.relative_to(ROOT / "app").as_posix() if "app" in path.parts else ""
    return relative.startswith("db/") or path.name in {"store.py", "query.py"}


def test_app_keeps_only_the_entry_points_at_its_top() -> None:
    modules = {path.name for path in (ROOT / "app").glob("*.py")}
    assert modules == TOP_LEVEL


@pytest.mark.parametrize("path", sources(), ids=name_of)
def test_module_stays_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name_of(path)} has {lines} lines: split it by role"


@pytest.mark.parametrize("path", sources(), ids=name_of)
def test_functions_stay_short(path: Path) -> None:
    assert long_functions(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", sources(), ids=name_of)
def test_only_the_database_rooms_import_the_database_libraries(path: Path) -> None:
    if may_touch_the_database(path):
        return
    assert database_imports(path.read_text(encoding="utf-8")) == []


def test_the_checks_catch_what_they_are_for() -> None:
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def too_long() -> None:\n{body}") == ["too_long (51 lines, line 1)"]
    assert long_functions(f"def fits() -> None:\n{body[: body.rindex('    x')]}") == []
    assert database_imports("from sqlalchemy.exc import SQLAlchemyError") == ["sqlalchemy.exc"]
    assert database_imports("def f():\n    import sqlmodel") == ["sqlmodel"]
    assert database_imports("from app.db.engine import Database") == []
    assert may_touch_the_database(ROOT / "app" / "callbacks" / "store.py")
    assert not may_touch_the_database(ROOT / "app" / "callbacks" / "desk.py")

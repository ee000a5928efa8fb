"""The pure core reads no clock and does no I/O: it imports only the standard library and
itself, and never touches time, files, sockets or the console (DESIGN.md, "one direction of
flow"). Checked on the source with ast, so an import inside a function counts too.

`from datetime import date` is allowed: the call-script engine takes the day as a `date`
and compares dates; asking one for today (date.today(), datetime.now()) is still caught."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pure_packages() -> tuple[str, ...]:
    """The pure core as pyproject.toml's first import contract lists it: one list to keep."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = config["tool"]["importlinter"]["contracts"][0]
    assert contract["name"].startswith("the pure core")
    return tuple(contract["source_modules"])


def files_of(package: str) -> list[Path]:
    base = ROOT.joinpath(*package.split("."))
    return sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]


PURE_PACKAGES = pure_packages()
PURE_MODULES = sorted(path for package in PURE_PACKAGES for path in files_of(package))
CLOCKS_AND_IO = frozenset(
    {
        "time",
        "datetime",
        "socket",
        "asyncio",
        "os",
        "random",
        "io",
        "pathlib",
        "subprocess",
        "threading",
    }
)
IO_BUILTINS = frozenset({"open", "print", "input"})
DATE_VALUES = frozenset({"date", "timedelta"})  # plain values from datetime, no clock
CLOCK_CALLS = frozenset({"today", "now", "utcnow"})


def imported_modules(tree: ast.AST, package: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.module == "datetime" and {a.name for a in node.names} <= DATE_VALUES:
                continue
            if node.level:  # relative: resolve against the module's own package
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                found.append(".".join([*base, node.module] if node.module else base))
            else:
                found.append(node.module or "")
    return found


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parent.parts)


def problems_in(source: str, package: str = "telephony.calls") -> list[str]:
    """What makes a module impure: foreign imports, clocks or I/O modules, I/O builtins."""
    tree = ast.parse(source)
    problems: list[str] = []
    for module in imported_modules(tree, package):
        top = module.split(".")[0]
        if top in CLOCKS_AND_IO:
            problems.append(f"imports {module} (a clock or I/O)")
        elif module.startswith(("telephony.", "app.")):
            if not module.startswith(PURE_PACKAGES):
                problems.append(f"imports {module}, which is not part of the pure core")
        elif top not in sys.stdlib_module_names:
            problems.append(f"imports {module}, which is not in the standard library")
    for node in ast.walk(tree):
        called = node.func if isinstance(node, ast.Call) else None
        if isinstance(called, ast.Name) and called.id in IO_BUILTINS:
            problems.append(f"line {node.lineno}: calls {called.id}()")
        if isinstance(node, ast.Name) and node.id == "__import__":
            problems.append(f"line {node.lineno}: uses __import__")
        if isinstance(called, ast.Attribute) and called.attr in CLOCK_CALLS:
            problems.append(f"line {called.lineno}: asks for the time with .{called.attr}()")
    return problems


def test_the_pure_modules_are_all_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in PURE_MODULES}
    assert {
        "telephony/calls/tracker.py",
        "telephony/calls/outcome.py",
        "telephony/calls/model.py",
        "telephony/calls/causes.py",
        "telephony/calls/trunks.py",
        "telephony/lines/watch.py",
        "telephony/switchboard.py",
        "app/console/call_scripts/model.py",
        "app/console/call_scripts/catalog.py",
        "app/console/call_scripts/engine.py",
        "app/console/call_scripts/prompts.py",
        "app/console/call_scripts/values.py",
        "app/console/call_scripts/view.py",
        "app/review/adherence.py",
        "app/incidents/rules.py",
        "app/callbacks/rules.py",
        "app/complaints/rules.py",
        "app/console/pops.py",
        "app/console/rules.py",
    } <= names


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pure_module_imports_only_the_standard_library_and_does_no_io(path: Path) -> None:
    assert problems_in(path.read_text(encoding="utf-8"), package_of(path)) == []


@pytest.mark.parametrize(
    "source",
    [
        "import time",
        "from datetime import datetime",
        "import os.path",
        "from asyncio import sleep",
        "def f():\n    import socket",
        "import panoramisk",
        "from telephony.capture import read_capture",
        "from telephony.ami.wire import AmiDecoder",
        "from app.cli import main",
        "def f():\n    return open('x')",
        "print('hello')",
        "x = input()",
        "m = __import__('time')",
        "from ..ami import wire",
        "from .. import capture",
        "import datetime",
        "from datetime import date, datetime",
        "from datetime import date\nx = date.today()",
        "from app.console.call_scripts.loader import load_catalog",
        "import yaml",
    ],
)
def test_the_purity_check_catches_an_impure_module(source: str) -> None:
    assert problems_in(source) != []


def test_the_purity_check_accepts_the_standard_library_and_the_core() -> None:
    source = (
        "from __future__ import annotations\n"
        "import re\n"
        "from collections import deque\n"
        "from telephony.calls.model import Call\n"
        "from telephony.lines.watch import LineWatch\n"
        "from .causes import describe\n"
        "from ..lines import watch\n"
        "from datetime import date, timedelta\n"
        "from app.console.call_scripts.model import CallScript\n"
    )
    assert problems_in(source) == []

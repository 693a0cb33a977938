"""The package's import direction (issue 12): the tree reads as the data flow.

ledger ← engine ← (workbook, documents, exchange) ← jobs ← faces.  A module may
import only the rooms listed for its own room; ``resources`` (where shipped
files live) and ``demo`` (the sample estate) sit at the top; ``alongside`` (work
done in a child process) imports nothing of the package.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xlwings_addin"

ALLOWED = {
    "ledger": {"ledger"},
    "engine": {"ledger", "engine"},
    "workbook": {"ledger", "workbook", "alongside"},
    "documents": {"ledger", "engine", "documents", "resources"},
    "exchange": {"ledger", "engine", "exchange", "resources"},
    "jobs": {"ledger", "engine", "workbook", "documents", "exchange", "jobs", "resources", "alongside"},
    "faces": {"ledger", "engine", "workbook", "documents", "exchange", "jobs", "faces", "resources", "demo"},
    "resources": set(),
    "alongside": set(),
    "demo": {"ledger", "engine", "workbook", "jobs", "faces", "resources"},
    "__main__": {"faces"},
    "__init__": set(),
}


def _room(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_rooms(path: Path) -> set[tuple[str, int]]:
    """Top-level rooms of xlwings_addin that ``path`` imports, with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if module_parts[-1] == "__init__":
        module_parts = module_parts[:-1]
        base = module_parts
    else:
        base = module_parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[:len(base) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            if target[:1] != ["xlwings_addin"]:
                continue
            if len(target) == 1:  # from xlwings_addin import x / from .. import x
                found |= {(alias.name, node.lineno) for alias in node.names}
            else:
                found.add((target[1], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "xlwings_addin" and len(parts) > 1:
                    found.add((parts[1], node.lineno))
    return found


def test_every_module_imports_only_the_rooms_it_may():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = _room(path)
        assert room in ALLOWED, f"{path.relative_to(PACKAGE)}: room “{room}” has no import rule"
        for target, line in _imported_rooms(path):
            if target != room and target not in ALLOWED[room]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert wrong == []


def test_engine_never_imports_io_or_the_clock():
    """Engine modules are pure: no workbook, jobs, faces, file or clock access."""
    for path in (PACKAGE / "engine").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("openpyxl", "python_calamine", "import xlwings", "date.today(", "datetime.now(", "time.time("):
            assert banned not in text, f"{path.name} uses {banned}"
        assert not re.search(r"(?<!def )(?<![\w.])open\(", text), f"{path.name} opens a file"


def test_the_rule_catches_a_wrong_import(tmp_path):
    """The checker itself: an engine module importing the workbook layer is found."""
    fake = PACKAGE / "engine" / "_layout_probe.py"
    fake.write_text("from ..workbook.reader import read_workbook\n", encoding="utf-8")
    try:
        assert ("workbook", 1) in _imported_rooms(fake)
        assert "workbook" not in ALLOWED["engine"]
    finally:
        fake.unlink()


def test_every_room_says_what_lives_there():
    for room in ("ledger", "engine", "workbook", "jobs", "documents", "exchange", "faces"):
        doc = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc.lower(), f"{room}/__init__.py needs a docstring saying what it may import"

"""Shared fixtures: the sample estate built once per test session, and LibreOffice if installed."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for ledger_builders
# the parsed-sheet cache of this test session lives in a folder of its own, never the user's
os.environ["FEEBOOK_CACHE_DIR"] = tempfile.mkdtemp(prefix="feebook-test-cache-")

DEMO_AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(scope="session")
def demo_workbook(tmp_path_factory) -> Path:
    """The ``feebook demo`` estate (300 units, 2025Q3–2026Q4), billed and run as of 2026-11-22.  Read-only!"""
    from xlwings_addin.demo import build_demo_workbook
    from xlwings_addin.jobs.ledger import apply_to_file, job_bill, job_run, load

    path = tmp_path_factory.mktemp("demo") / "示例花园_收费大表.xlsx"
    periods = build_demo_workbook(path, as_of=DEMO_AS_OF)
    for p in periods:
        book = load(path)
        apply_to_file(book, job_bill(book.ledger, p))
    book = load(path)
    apply_to_file(book, job_run(book.ledger, DEMO_AS_OF))
    return path


@pytest.fixture
def demo_copy(demo_workbook, tmp_path) -> Path:
    """A private copy of the demo workbook that a test may change."""
    target = tmp_path / demo_workbook.name
    shutil.copyfile(demo_workbook, target)
    return target


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of LibreOffice's soffice, or skip (CI installs it; see .ci/run)."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if not path:
        pytest.skip("LibreOffice (soffice) 未安装")
    return path

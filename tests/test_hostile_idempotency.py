"""Running a command twice in a row leaves the data sheets as the first run left them (issue 8).

"Data sheets" = every sheet but 操作日志 (which logs each run by design).
Each command runs through the real CLI (in-process ``cli.main``) on a private
copy of the demo estate.
"""
from __future__ import annotations

import datetime as dt
import importlib.util

import pytest

import hostile_corpus as hc
from xlwings_addin.ledger import schema

pytestmark = pytest.mark.hostile


def data_sheets(path) -> dict:
    return {n: v for n, v in hc.sheet_values(path).items() if n != schema.AUDIT}


def audit_rows(path) -> int:
    return len(hc.sheet_values(path, [schema.AUDIT])[schema.AUDIT][1])


def twice(path, argv: list, expect_first_change=True):
    before = data_sheets(path)
    code1, out1, err1, crashed1 = hc.run_cli(argv)
    assert not crashed1 and code1 in (0, 1), err1
    first = data_sheets(path)
    if expect_first_change:
        assert first != before  # the first run did something (else the test proves nothing)
    code2, out2, err2, crashed2 = hc.run_cli(argv)
    assert not crashed2 and code2 == code1, err2
    second = data_sheets(path)
    changed = sorted(n for n in set(first) | set(second) if first.get(n) != second.get(n))
    return changed, out2


def test_bill_twice(demo_copy):
    # the demo is billed through 2026Q4; 2027Q1 is new, then "already billed"
    changed, out = twice(demo_copy, ["bill", demo_copy, "--period", "2027Q1"])
    assert changed == []
    assert "已计费（跳过，不重复）" in out


def test_run_twice(demo_copy):
    changed, _ = twice(demo_copy, ["run", demo_copy, "--as-of", "2026-12-01"])
    assert changed == []


def test_bank_import_twice(demo_copy, tmp_path):
    if importlib.util.find_spec("xlwings_addin.faces.commands.bank") is None:
        pytest.skip("feebook bank 尚未提供")
    from xlwings_addin.faces.commands.bank import demo_step

    demo_step(demo_copy, tmp_path, dt.date(2026, 11, 22))  # export + 回盘 with 2 failures + first import
    (returned,) = (tmp_path / "bank").glob("回盘_*")
    before = data_sheets(demo_copy)
    argv = ["bank", "import", demo_copy, returned, "--bank", "csv_gbk", "--as-of", "2026-11-23"]
    changed, _ = twice(demo_copy, argv, expect_first_change=False)
    assert changed == []
    assert data_sheets(demo_copy) == before  # the demo step's import already posted it: nothing new


def test_letters_twice(demo_copy, tmp_path):
    if importlib.util.find_spec("xlwings_addin.faces.commands.letters") is None:
        pytest.skip("feebook letters 尚未提供")
    argv = ["letters", demo_copy, "--kind", "催费通知单", "--building", "1", "--out", tmp_path / "letters",
            "--as-of", "2026-11-22"]
    changed, _ = twice(demo_copy, argv)
    assert changed == [], f"second run changed {changed}"

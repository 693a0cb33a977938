"""Hostile workbooks (issue 8, SPEC §7): every case has one exact expected outcome.

The corpus itself is :mod:`hostile_corpus` (generated on the fly, no blobs).
Each case runs one ``feebook`` command in-process; a few also run as real
processes to prove that no traceback ever reaches a clerk's terminal.
"""
from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import hostile_corpus as hc
from xlwings_addin.ledger.money import MoneyError, to_decimal, to_money

pytestmark = pytest.mark.hostile
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("case", hc.CASES, ids=[c.name for c in hc.CASES])
def test_corpus_case(case, tmp_path):
    if case.needs_soffice and not hc.available_cases().count(case):
        pytest.skip("LibreOffice (soffice) 未安装：无法生成真实的 .xls 文件")
    outcome = hc.run_case(case, tmp_path)
    assert not outcome.crashed and "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.failures == []
    assert outcome.lost == []


@pytest.mark.parametrize("name", ["password_protected", "huge_and_tiny_amounts"])
def test_real_process_never_prints_a_traceback(name, tmp_path):
    case = next(c for c in hc.CASES if c.name == name)
    path = case.build(tmp_path)
    r = subprocess.run([sys.executable, "-m", "xlwings_addin.faces.cli", case.command[0], str(path), *case.command[1:]],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in r.stderr
    assert r.returncode == case.exit_code
    if case.refusal:
        assert case.refusal in r.stderr
    else:
        assert "问题：" in r.stdout  # the summary names the errors, the run went on


def test_corpus_counts_add_up(tmp_path):
    """The figures scripts/hostile_report.py prints, for the cases that need no LibreOffice."""
    cases = [c for c in hc.CASES if not c.needs_soffice]
    outcomes = [hc.run_case(c, tmp_path / c.name) for c in cases]
    counts = hc.counts(outcomes)
    assert counts["crashes"] == 0 and counts["data lost (rows)"] == 0 and counts["cases not as expected"] == 0
    # issue 14: no traceback, no silently dropped row, nothing misleading
    assert counts["tracebacks"] == 0 and counts["silent drops (cases)"] == 0 and counts["misleading results"] == 0
    assert counts["refusals"] == sum(1 for c in cases if c.refuses)
    assert counts["cases tried"] == len(cases)


# --------------------------------------------------------------------------- regressions found by the corpus


def test_huge_amounts_are_problems_not_crashes():
    # found by the corpus: to_money(1e308) quantized before the range check → decimal.InvalidOperation
    for value in (1e308, -1e308, "1E+400", 1e14):
        with pytest.raises(MoneyError, match="超出合理范围"):
            to_money(value)
    with pytest.raises(MoneyError, match="超出合理范围"):
        to_decimal(1e308)  # an area of 1e308 ㎡ would crash billing's rounding later
    assert to_money(999999999999.99) == Decimal("999999999999.99")
    assert to_decimal("89.50") == Decimal("89.50")
    with pytest.raises(MoneyError, match="两位小数"):
        to_money(0.001)

"""The memoised parse (issue 19) gives exactly the ledger the plain per-cell parse gives.

Every converter's result is memoised by the cell's value; with the memo off
(limit 0) each cell is converted afresh.  Both must yield equal records and
equal problems, on the demo estate and on every workbook of the hostile corpus.
"""
from __future__ import annotations

import pytest

import hostile_corpus as hc
from xlwings_addin.workbook import parse
from xlwings_addin.workbook.reader import WorkbookError, read_workbook


def _both_ways(path, monkeypatch):
    raw = read_workbook(path, clean=False)
    parse._CONVERTED.clear()
    memoised = parse.parse_ledger(raw)
    again = parse.parse_ledger(raw)  # second pass: every conversion now comes from the memo
    with monkeypatch.context() as m:
        m.setattr(parse, "_CONVERTED_LIMIT", 0)
        parse._CONVERTED.clear()
        plain = parse.parse_ledger(raw)
    return memoised, again, plain


def test_demo_estate_parses_the_same_with_and_without_the_memo(demo_workbook, monkeypatch):
    memoised, again, plain = _both_ways(demo_workbook, monkeypatch)
    assert len(plain.charges) > 1000 and len(plain.payments) > 100
    assert memoised == plain
    assert again == plain


@pytest.mark.parametrize("case", [c for c in hc.available_cases() if not c.refuses and not c.needs_soffice],
                         ids=lambda c: c.name)
def test_hostile_workbooks_parse_the_same_with_and_without_the_memo(case, tmp_path, monkeypatch):
    path = case.build(tmp_path)
    try:
        memoised, again, plain = _both_ways(path, monkeypatch)
    except WorkbookError:
        pytest.skip("a file the reader refuses has nothing to parse")
    assert memoised == plain
    assert again == plain
    assert memoised.problems == plain.problems

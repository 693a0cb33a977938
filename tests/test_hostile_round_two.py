"""Hostile inputs, round two (issue 14): the defects that are not a workbook mutation.

The workbook mutations (renamed sheets, credits, 参数 ranges, XFD1048576, DOCTYPE…) are
cases of :mod:`hostile_corpus` (``ROUND_TWO``); here: receipt/letter injection, the lock
checked before letters, a read-only folder, the parse cache on a full disk, masking.
"""
from __future__ import annotations

import datetime as dt
import errno
import os
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

import hostile_corpus as hc
from xlwings_addin.workbook import cache

pytestmark = pytest.mark.hostile

# a field code is markup (an element), not text: escaped "&lt;w:fldChar" shown as text is harmless
FIELD_CODES = re.compile(rb"<w:fldChar\b[^>]*>|<w:instrText\b[^>]*>[^<]*|<w:fldSimple\b[^>]*>")
# an owner name carrying WordprocessingML: closes the run and opens a live DDEAUTO field
INJECTION = ('张三</w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>'
             ' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc" </w:instrText></w:r><w:r>'
             '<w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>')


def _field_codes(docx: Path) -> list[bytes]:
    with zipfile.ZipFile(docx) as z:
        return [m.group(0) for n in z.namelist() if n.endswith(".xml") for m in FIELD_CODES.finditer(z.read(n))]


def _book_with_owner(tmp_path: Path, owner: str) -> Path:
    book = hc.Book()
    book.sheets["收款"] = book.sheets["收款"][:2]  # 1-1-102 keeps owing its 671.25
    book.sheets["房屋"][2][4] = hc.Text(owner)
    return hc.save_book(book, tmp_path / "收费大表.xlsx")


def test_receipt_escapes_owner_name_and_note(tmp_path):
    from xlwings_addin.documents.receipt import template_path

    path = _book_with_owner(tmp_path, INJECTION)
    out = tmp_path / "收据"
    code, stdout, err, crashed = hc.run_cli(["receive", path, "--room", "1-1-102", "--amount", "671.25",
                                             "--channel", "现金", "--date", "2026-03-01", "--note", INJECTION,
                                             "--out", out])
    assert not crashed and code == 0, err
    [docx] = out.glob("*.docx")
    assert _field_codes(docx) == _field_codes(template_path())  # nothing the template did not have
    with zipfile.ZipFile(docx) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert "&lt;w:fldChar" in xml  # the markup is visible text, escaped
    # the terminal shows the owner masked (张*), never the full name (14.11)
    assert "张*" in stdout and INJECTION not in stdout


def test_letters_escape_owner_name(tmp_path):
    from xlwings_addin.resources import resource_dirs

    path = _book_with_owner(tmp_path, INJECTION)
    out = tmp_path / "文书"
    code, stdout, err, crashed = hc.run_cli(["letters", path, "--kind", "催缴函", "--as-of", hc.AS_OF,
                                             "--units", "1-1-102", "--out", out, "--no-merge"])
    assert not crashed and code in (0, 1), err
    template = next(d / "催缴函.docx" for d in resource_dirs("letters") if (d / "催缴函.docx").exists())
    letters = list(out.rglob("*.docx"))
    assert letters
    for docx in letters:
        assert _field_codes(docx) == _field_codes(template), docx


def test_letters_refuse_a_locked_workbook_before_generating_anything(tmp_path):
    path = _book_with_owner(tmp_path, "李四")
    lock = path.with_name("~$" + path.name)
    lock.write_text("x")
    out = tmp_path / "文书"
    before = path.read_bytes()
    code, stdout, err, crashed = hc.run_cli(["letters", path, "--kind", "催缴函", "--as-of", hc.AS_OF, "--out", out])
    assert not crashed and code == 1
    assert "正在被" in err
    assert not out.exists() or not list(out.rglob("*.docx"))  # no letter without its 催缴记录 row
    assert path.read_bytes() == before


def test_read_only_folder_says_no_write_permission(tmp_path, monkeypatch):
    # root may write anywhere, so the folder's permission is simulated where the writer asks for it
    path = hc.save_book(hc.Book(), tmp_path / "收费大表.xlsx")
    before = path.read_bytes()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == tmp_path else real_access(p, mode))
    code, stdout, err, crashed = hc.run_cli(["run", path, "--as-of", hc.AS_OF])
    assert not crashed and code == 1
    assert "没有写入权限" in err and "程序内部错误" not in err
    assert path.read_bytes() == before


def test_a_lock_file_that_cannot_be_created_is_no_internal_error(tmp_path, monkeypatch):
    path = hc.save_book(hc.Book(), tmp_path / "收费大表.xlsx")
    real_open = os.open

    def deny(p, flags, *a, **kw):
        if str(p).endswith(".feebook-lock"):
            raise PermissionError(errno.EACCES, "Permission denied", str(p))
        return real_open(p, flags, *a, **kw)

    monkeypatch.setattr(os, "open", deny)
    code, stdout, err, crashed = hc.run_cli(["run", path, "--as-of", hc.AS_OF])
    assert not crashed and code == 1 and "没有写入权限" in err


def test_parse_cache_leaves_no_temp_file_on_a_full_disk(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.pickle, "dump", full)
    from xlwings_addin.ledger.records import Charge, Source
    from xlwings_addin.ledger.periods import Period
    charge = Charge("B1", Period.parse("2026Q1"), "1-1-101", "WYF", Decimal("750.00"), dt.date(2026, 1, 25),
                    source=Source("应收", "E2"))
    cache._store_entry(folder, folder / "x.pickle", ("k",), [charge], [], ["账单号"])
    assert list(folder.iterdir()) == []  # neither the entry nor its temp file


def test_near_sheet_names():
    from xlwings_addin.workbook.parse import near_sheet_names

    names = ["参数设置", "收费项目", "房屋", "应收(2025-2026)", "收款 ", "欠费明细", "收款2026"]
    assert near_sheet_names("收款", names) == ["收款 ", "收款2026"]
    assert near_sheet_names("应收", names) == ["应收(2025-2026)"]
    assert near_sheet_names("参数", names) == ["参数设置"]
    assert near_sheet_names("减免", names) == []  # nothing like it: an optional sheet may be absent


@pytest.mark.parametrize("cell", [
    b'<c t="n" r="XFD7"><v>5</v></c>',  # r not the first attribute
    b'<c r="ZZZ7" t="n"><v>5</v></c>',  # three-letter column 18,278
])
def test_far_value_found_whatever_the_attribute_order(tmp_path, cell):
    from xlwings_addin.workbook.reader import read_workbook

    path = hc.save_book(hc.Book(), tmp_path / "far.xlsx")
    hc._zip_replace(path, "应收", b"</sheetData>", b'<row r="7">' + cell + b"</row></sheetData>")
    sheet = read_workbook(path, ["应收"])["应收"]
    assert sheet.refused and sheet.rows == [] and sheet.refused_cell == cell.split(b'r="')[1].split(b'"')[0].decode()


def test_far_styled_cell_without_a_value_is_read_normally(tmp_path):
    from xlwings_addin.workbook.reader import read_workbook

    path = hc.save_book(hc.Book(), tmp_path / "styled.xlsx")
    hc._zip_replace(path, "应收", b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>')
    sheet = read_workbook(path, ["应收"])["应收"]
    assert not sheet.refused and [r for r, _v in sheet.rows] == [2, 3]  # the two 应收 rows of the base book


def test_payments_dated_after_as_of_are_counted_in_the_summary():
    """A 收款日期 after as_of but within a year (2026-12-05 typed for 2025-12-05) is not counted as of
    2026-11-22 — legitimately, for a run as of a past day — but the summary says so instead of staying silent.
    Hand-worked: 1-1-101 owes 300.00 for 2026Q4; receipts 100.00 on 2026-11-20 (counted), 250.00 on
    2026-12-05 and 50.00 on 2027-06-30 (both later, within 366 days → 2 笔, 300.00); 10.00 on 2028-01-01 is
    more than a year later → an error at its cell, not in the count."""
    from ledger_builders import Q4, charge, ledger, pay, unit
    from xlwings_addin.jobs.ledger import job_run

    book = ledger(units=[unit("1-1-101")], charges=[charge("1-1-101", Q4, "300.00", due="2026-10-25")],
                  payments=[pay("R1", "1-1-101", "2026-11-20", "100.00"), pay("R2", "1-1-101", "2026-12-05", "250.00"),
                            pay("R3", "1-1-101", "2027-06-30", "50.00"), pay("R4", "1-1-101", "2028-01-01", "10.00")])
    changes = job_run(book, dt.date(2026, 11, 22))
    assert "收款日期晚于截至日期 2026-11-22 的收款 2 笔，合计 300.00 元，本次未计入（如是日期输错，请改正）" in changes.summary
    assert [p.message.split("，")[0] for p in changes.errors] == ["“收款日期”2028-01-01 比截至日期 2026-11-22 晚一年以上"]
    # as of 2028-01-01 everything is counted: no such line
    assert not any("晚于截至日期" in line for line in job_run(book, dt.date(2028, 1, 1)).summary)

"""The live-book face (xlwings_addin/workbook/live.py) against the in-memory fake book."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fake_xlwings import book_from_file, book_from_rows
from xlwings_addin.ledger import schema
from xlwings_addin.jobs.ledger import Changes, apply_to_file, job_run, load
from xlwings_addin.workbook.live import apply_changes, read_book
from xlwings_addin.workbook.parse import parse_ledger
from xlwings_addin.workbook.reader import read_workbook
from xlwings_addin.workbook.writer import Formula, SheetOutput

AS_OF = dt.date(2026, 11, 22)


def test_read_normalises_like_the_file_reader():
    book = book_from_rows({"房屋": []})
    sheet = book.sheets["房屋"]
    # used range starting at B1; a blank row 3; a number typed as 101.0; a midnight datetime; padded header
    sheet.cells.update({(1, 2): "  房号 ", (1, 3): "建筑面积", (1, 4): "入住日期", (1, 6): None,
                        (2, 2): 101.0, (2, 3): 88.5, (2, 4): dt.datetime(2026, 1, 25),
                        (4, 2): "1-1-102", (4, 4): dt.datetime(2026, 1, 25, 9, 30)})
    raw = read_book(book)["房屋"]
    assert raw.headers == ["", "房号", "建筑面积", "入住日期"]
    assert raw.rows == [(2, [None, 101, 88.5, dt.date(2026, 1, 25)]),
                        (4, [None, "1-1-102", None, dt.datetime(2026, 1, 25, 9, 30)])]
    assert raw.cell(4, 1) == "B4"


def test_demo_read_live_parses_like_the_file(demo_workbook):
    book = book_from_file(demo_workbook)
    live = parse_ledger(read_book(book))
    disk = load(demo_workbook).ledger
    assert len(live.units) == len(disk.units) == 300
    assert len(live.charges) == len(disk.charges)
    assert len(live.payments) == len(disk.payments)
    assert [(c.bill_no, c.amount, c.due_date) for c in live.charges] == \
           [(c.bill_no, c.amount, c.due_date) for c in disk.charges]
    assert [(p.receipt_no, p.amount, p.paid_on) for p in live.payments] == \
           [(p.receipt_no, p.amount, p.paid_on) for p in disk.payments]
    assert len(live.problems) == len(disk.problems)


def test_apply_job_run_writes_the_same_sheets_as_the_file_writer(demo_copy):
    book = book_from_file(demo_copy)
    ledger = parse_ledger(read_book(book))
    changes = job_run(ledger, AS_OF)
    book.writes.clear()
    apply_changes(book, changes, now=dt.datetime(2026, 11, 22, 9, 0), user="前台")
    # one `.value =` block per replaced sheet (欠费明细, 收缴率, 问题) and one for the 操作日志 rows
    assert sorted(w[0] for w in book.writes) == sorted([schema.ARREARS, schema.RATES, schema.PROBLEMS, schema.AUDIT])
    apply_to_file(load(demo_copy), job_run(load(demo_copy).ledger, AS_OF))
    disk = read_workbook(demo_copy, sheets=[schema.ARREARS])[schema.ARREARS]
    live = read_book(book, sheets=[schema.ARREARS])[schema.ARREARS]
    assert live.headers == disk.headers
    room, total = disk.headers.index("房号"), disk.headers.index("应缴合计")
    assert [(v[room], v[total]) for _n, v in live.rows if isinstance(v[total], float)] == \
           [(v[room], v[total]) for _n, v in disk.rows if isinstance(v[total], float)]
    # the 合计 rows are native SUM formulas in both
    sheet = book.sheets[schema.ARREARS]
    assert any(f.startswith("=SUM(G2:G") for f in sheet.formulas.values())
    # money columns carry the money format on every data row
    money = disk.headers.index("欠费本金") + 1
    assert sheet.formats[(2, money)] == "#,##0.00"
    assert sheet.formats[(len(live.rows), money)] == "#,##0.00"
    # the audit row: time, user, action
    log = read_book(book, sheets=[schema.AUDIT])[schema.AUDIT]
    last = dict(zip(log.headers, log.rows[-1][1]))
    assert last["时间"] == dt.datetime(2026, 11, 22, 9, 0) and last["用户"] == "前台"
    assert last["操作"] == "刷新欠费 截至2026-11-22"


def test_append_goes_under_headers_by_name():
    book = book_from_rows({
        "收款": [["备注", "房号", "收据号", "金额", "收款日期", "渠道", "自定义"],
                 ["首行", "1-1-101", "R1", 100, dt.date(2026, 1, 5), "现金", "保留"]],
        "操作日志": [["时间", "用户", "操作", "数量", "说明"]],
    })
    changes = Changes("测试")
    changes.append[schema.PAYMENTS] = [
        {"收据号": "R2", "收款日期": dt.date(2026, 2, 4), "房号": "1-1-102", "金额": Decimal("600.50"),
         "渠道": "微信", "备注": "=HYPERLINK(\"http://x\")", "经办人": "小张"},
    ]
    changes.audit.append({"操作": "测试", "数量": 1, "说明": "追加一行"})
    apply_changes(book, changes, now=dt.datetime(2026, 2, 4, 10, 0), user="小张")
    sheet = book.sheets["收款"]
    # 经办人 was not a header: it gets the first free column (H); the row lands on row 3 by header name
    assert sheet.row_values(1) == ["备注", "房号", "收据号", "金额", "收款日期", "渠道", "自定义", "经办人"]
    assert sheet.row_values(3) == ['=HYPERLINK("http://x")', "1-1-102", "R2", 600.5,
                                   dt.datetime(2026, 2, 4), "微信", None, "小张"]
    assert (3, 1) not in sheet.formulas  # user text that looks like a formula stays text
    assert sheet.formats[(3, 4)] == "#,##0.00" and sheet.formats[(3, 5)] == "yyyy-mm-dd"
    assert sheet.row_values(2)[6] == "保留"  # other cells untouched
    log = book.sheets["操作日志"]
    assert log.row_values(2) == [dt.datetime(2026, 2, 4, 10, 0), "小张", "测试", 1.0, "追加一行"]


def test_replace_creates_a_missing_sheet_and_clears_old_content():
    book = book_from_rows({"问题": [["级别", "工作表", "单元格", "说明"], ["错误", "收款", "D9", "旧问题"],
                                    ["错误", "收款", "D10", "旧问题2"]]})
    changes = Changes("测试")
    changes.replace["问题"] = SheetOutput("问题", ["级别", "工作表", "单元格", "说明"], [["警告", "房屋", "C2", "新"]])
    changes.replace["佣金"] = SheetOutput("佣金", ["服务助理", "佣金"], [["小王", Decimal("275.00")],
                                                                       ["合计", Formula("SUM(B2:B2)")]],
                                         {"佣金": "money"})
    apply_changes(book, changes)
    assert [s.name for s in book.sheets] == ["问题", "佣金", "操作日志"]
    assert book.sheets["问题"].row_values(3) == [None, None, None, None]  # the old row 3 is gone
    assert book.sheets["佣金"].row_values(2) == ["小王", 275.0]
    assert book.sheets["佣金"].formulas[(3, 2)] == "=SUM(B2:B2)"
    assert book.sheets["操作日志"].row_values(1) == ["时间", "用户", "操作", "数量", "说明"]


def test_nothing_to_write_writes_nothing():
    book = book_from_rows({"问题": [["级别"]]})
    assert apply_changes(book, Changes("校验")) == 0
    assert book.writes == []

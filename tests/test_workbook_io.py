"""The workbook file layer: reading, change-only writing, template, and SPEC §7 safety."""
from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from xlwings_addin.ledger import schema
from xlwings_addin.workbook import package, writer
from xlwings_addin.workbook.reader import WorkbookError, file_digest, read_workbook
from xlwings_addin.workbook.template import build_template
from xlwings_addin.workbook.writer import (
    Formula,
    SheetOutput,
    WorkbookChanged,
    WorkbookLocked,
    list_backups,
    save_changes,
    write_new_workbook,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def template(tmp_path) -> Path:
    return build_template(tmp_path / "收费大表.xlsx")


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def sheet_part(path, name) -> str:
    from xlwings_addin.workbook.reader import sheet_parts
    with zipfile.ZipFile(path) as z:
        return next(s["part"] for s in sheet_parts(z) if s["name"] == name)


def ws_values(path, sheet):
    wb = openpyxl.load_workbook(path)
    return [list(r) for r in wb[sheet].iter_rows(values_only=True)]


# --------------------------------------------------------------------------- reading


def test_template_reads_back_headers_and_params(template):
    book = read_workbook(template)
    assert list(book) == ["使用说明", *schema.INPUT_SHEETS, *schema.OUTPUT_SHEETS]  # issue 21: the guide comes first
    for name, spec in schema.ALL_SHEETS.items():
        assert book[name].headers == list(spec.headers), name
    params = {row[0]: row[1] for _n, row in book[schema.PARAMS].rows}
    for key, value, _note in schema.PARAM_DEFAULTS:
        assert params[key] == (value or None), key  # text kept exactly: "0.030" not 0.03
    assert params["LPR年利率"] == "0.030"
    rules = [row for _n, row in book[schema.COMMISSION_RULES].rows]
    assert rules[1] == [1, 0.8, 0.95, "2000*收缴率-1400"]
    assert rules[2][2] is None  # blank upper bound
    assert [n for n, _ in book[schema.PARAMS].rows][0] == 2


def test_template_formats_and_validations(template):
    wb = openpyxl.load_workbook(template)
    ws = wb[schema.PAYMENTS]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b and not ws["F1"].font.b  # 收据号 required, 指定期间 optional
    col = {c.value: c.column_letter for c in ws[1]}
    assert ws.column_dimensions[col["金额"]].number_format == "#,##0.00"
    assert ws.column_dimensions[col["收款日期"]].number_format == "yyyy-mm-dd"
    dvs = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    # issue 15: 退款 (a refund of 预存) is typed in 收款 too
    assert dvs[f"{col['渠道']}2:{col['渠道']}5000"] == '"' + ",".join(schema.CHANNELS + (schema.REFUND,)) + '"'
    assert ws.max_row == 1  # no styled empty rows
    rules = wb[schema.COMMISSION_RULES]
    assert rules["B3"].number_format == "0.00%"


def test_committed_template_matches_schema():
    book = read_workbook(ROOT / "workbooks" / "收费大表.xlsx", sheets=[schema.PAYMENTS, "不存在"])
    assert list(book) == [schema.PAYMENTS]
    assert book[schema.PAYMENTS].headers == list(schema.INPUT_SHEETS[schema.PAYMENTS].headers)


def test_read_text_numbers_blank_rows_hidden_sheets_and_uncached_formulas(tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "房屋"
    ws.append([" 房号 ", "建筑面积", 2024, None, "业主\u3000姓名"])
    ws.append(["0101", 89.5, 3, None, "张三"])          # row 2: text-number stays text
    ws.append([None, None, None, None, None])            # row 3 blank: skipped
    ws.append([101, "89.50", None, None, None])          # row 4: number stays number
    ws["A6"] = "1-102"
    ws["B6"] = "=B2*2"                                   # openpyxl writes no cached value
    ws["C8"] = dt.date(2026, 1, 25)
    ws["C8"].number_format = "yyyy-mm-dd"
    hidden = wb.create_sheet("辅助")
    hidden["A1"] = "x"
    hidden.sheet_state = "hidden"
    wb.save(path)

    book = read_workbook(path)
    units = book["房屋"]
    assert units.headers == ["房号", "建筑面积", "2024", "", "业主 姓名"]
    assert [n for n, _ in units.rows] == [2, 4, 6, 8]
    assert units.rows[0][1] == ["0101", 89.5, 3, None, "张三"]
    assert units.rows[1][1] == [101, "89.50", None, None, None]
    assert units.rows[2][1][:2] == ["1-102", None]
    assert units.rows[3][1][2] == dt.date(2026, 1, 25)
    assert units.uncached_formulas == {(6, 1)}
    assert units.cell(6, 1) == "B6"
    assert not units.hidden and book["辅助"].hidden


def test_cached_formula_is_not_reported(tmp_path):
    """A formula written with its cached value (as Excel does) is an ordinary value."""
    path = tmp_path / "b.xlsx"
    write_new_workbook(path, [SheetOutput("表", ["a"], [[1]])])
    save_changes(path, replace={"表": SheetOutput("表", ["a", "b"], [[1, Formula("A2*2", value=2)],
                                                                    [2, Formula("A3*2")]])}, backups=0)
    sheet = read_workbook(path)["表"]
    assert sheet.rows[0][1] == [1, 2]
    assert sheet.uncached_formulas == {(3, 1)}


@pytest.mark.parametrize("content, words", [
    (b"", "0 字节"),
    ("房号,金额\n1-101,100\n".encode("utf-8"), "不是 Excel 工作簿"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048, ".xls"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 500,
     "密码"),
    (b"PK\x03\x04" + b"\x14\x00" + os.urandom(200), "损坏"),
])
def test_refusals(tmp_path, content, words):
    path = tmp_path / "收费大表.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookError) as e:
        read_workbook(path)
    assert words in str(e.value) and "收费大表.xlsx" in str(e.value)
    with pytest.raises(WorkbookError):
        save_changes(path, audit=[{"操作": "x"}])
    assert path.read_bytes() == content


def test_missing_file_refused(tmp_path):
    with pytest.raises(WorkbookError, match="找不到"):
        read_workbook(tmp_path / "无.xlsx")


def test_truncated_zip_refused(template):
    data = template.read_bytes()
    template.write_bytes(data[: len(data) // 2])
    with pytest.raises(WorkbookError, match="损坏"):
        read_workbook(template)


# --------------------------------------------------------------------------- writing


def test_replace_and_append_round_trip(template):
    before = members(template)
    tricky = "A&B <c> 物业费\x07催缴 _x0041_"
    arrears = SheetOutput(
        schema.ARREARS, ["房号", "欠费本金", "最早应缴日期", "说明", "合计"],
        [["1-101", Decimal("1234.50"), dt.date(2026, 1, 25), tricky, Formula("=B2*2")],
         ["1-102", Decimal("0.10"), dt.date(2025, 10, 25), "  前后空格 ", True]],
        {"欠费本金": "money", "最早应缴日期": "date"})
    payments = [
        {"金额": Decimal("300.00"), "收款日期": dt.date(2026, 2, 3), "收据号": "R0001", "房号": "1-101",
         "渠道": "微信"},
        {"房号": "1-102", "收据号": "R0002", "金额": Decimal("-0.01"), "渠道": "现金", "冲销收据号": "R0001",
         "新增列": "附加"},
    ]
    save_changes(template, replace={schema.ARREARS: arrears}, append={schema.PAYMENTS: payments})

    rows = ws_values(template, schema.ARREARS)
    assert rows[0] == ["房号", "欠费本金", "最早应缴日期", "说明", "合计"]
    # openpyxl does not decode Excel's _xHHHH_ escapes; Excel and calamine do (checked below)
    assert rows[1][:4] == ["1-101", 1234.5, dt.datetime(2026, 1, 25), "A&B <c> 物业费催缴 _x005F_x0041_"]
    assert read_workbook(template, [schema.ARREARS])[schema.ARREARS].rows[0][1][3] == "A&B <c> 物业费催缴 _x0041_"
    assert rows[1][4] == "=B2*2"
    assert rows[2] == ["1-102", 0.1, dt.datetime(2025, 10, 25), "  前后空格 ", True]
    wb = openpyxl.load_workbook(template)
    assert wb[schema.ARREARS]["B2"].number_format == "#,##0.00"
    assert wb[schema.ARREARS]["C2"].number_format == "yyyy-mm-dd"
    assert wb[schema.ARREARS].freeze_panes == "A2"

    pay = ws_values(template, schema.PAYMENTS)
    headers = list(schema.INPUT_SHEETS[schema.PAYMENTS].headers) + ["新增列"]
    assert pay[0] == headers
    got = [dict(zip(headers, r)) for r in pay[1:]]
    assert got[0]["收据号"] == "R0001" and got[0]["金额"] == 300 and got[0]["收款日期"] == dt.datetime(2026, 2, 3)
    assert got[1]["冲销收据号"] == "R0001" and got[1]["金额"] == -0.01 and got[1]["新增列"] == "附加"
    assert wb[schema.PAYMENTS]["D2"].number_format == "#,##0.00"

    # exact Decimal text in the XML (no float round trip)
    with zipfile.ZipFile(template) as z:
        xml = z.read(sheet_part(template, schema.ARREARS)).decode()
    assert "<v>1234.50</v>" in xml and 't="inlineStr"' in xml

    after = members(template)
    touched = {sheet_part(template, schema.ARREARS), sheet_part(template, schema.PAYMENTS),
               "xl/styles.xml", "xl/workbook.xml"}
    assert set(after) == set(before)
    for name in before:
        if name not in touched:
            assert after[name] == before[name], name
    # the reader agrees
    book = read_workbook(template, [schema.ARREARS, schema.PAYMENTS])
    assert book[schema.PAYMENTS].rows[1] == (3, ["R0002", None, "1-102", -0.01, "现金", None, None, None,
                                                "R0001", None, None, "附加"])  # None: 交易单号 (issue 17)


def test_append_finds_shuffled_headers_and_skips_styled_empty_rows(tmp_path):
    path = tmp_path / "b.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = schema.CONTACTS
    ws.append(["备注", "方式", "日期", "房号"])            # shuffled order, shared strings
    ws.append(["首次", "电话", dt.date(2026, 1, 3), "1-101"])
    for r in range(3, 40):                               # formatted but empty rows
        ws.cell(row=r, column=3).number_format = "yyyy-mm-dd"
    ws["Z1"] = None
    wb.save(path)
    before = members(path)

    save_changes(path, append={schema.CONTACTS: [
        {"日期": dt.date(2026, 2, 1), "房号": "1-102", "方式": "短信", "结果": "已送达"}]}, backups=0)
    rows = ws_values(path, schema.CONTACTS)
    assert rows[0][:5] == ["备注", "方式", "日期", "房号", "结果"]
    assert rows[2][:5] == [None, "短信", dt.datetime(2026, 2, 1), "1-102", "已送达"]
    assert read_workbook(path)[schema.CONTACTS].rows[-1][0] == 3
    after = members(path)
    for name in before:
        if name not in ("xl/worksheets/sheet1.xml", "xl/styles.xml"):
            assert after[name] == before[name], name


def test_new_sheets_and_audit(tmp_path):
    path = tmp_path / "b.xlsx"
    write_new_workbook(path, [SheetOutput("房屋", ["房号"], [["1-101"]])])
    before = members(path)
    save_changes(path, replace={schema.PROBLEMS: SheetOutput(
        schema.PROBLEMS, ["级别", "工作表", "单元格", "说明"], [["错误", "收款", "D7", "金额不是数字：“abc”"]])},
        append={schema.PAYMENTS: [{"收据号": "R1", "金额": Decimal("5")}]},
        audit=[{"操作": "刷新欠费", "数量": 3, "说明": "问题 1 行"}], backups=0)
    book = read_workbook(path)
    assert list(book) == ["房屋", schema.PROBLEMS, schema.PAYMENTS, schema.AUDIT]
    assert book[schema.PROBLEMS].rows == [(2, ["错误", "收款", "D7", "金额不是数字：“abc”"])]
    assert book[schema.PAYMENTS].headers == list(schema.INPUT_SHEETS[schema.PAYMENTS].headers)
    assert book[schema.PAYMENTS].rows[0][1][0] == "R1"
    audit = book[schema.AUDIT]
    assert audit.headers == ["时间", "用户", "操作", "数量", "说明"]
    when, user, action, count, note = audit.rows[0][1]
    assert abs((dt.datetime.now() - when).total_seconds()) < 60
    assert user and action == "刷新欠费" and count == 3 and note == "问题 1 行"
    assert members(path)["xl/worksheets/sheet1.xml"] == before["xl/worksheets/sheet1.xml"]
    # second audit appends below
    save_changes(path, audit=[{"操作": "计费", "数量": 0, "用户": "财务小李"}], backups=0)
    audit = read_workbook(path)[schema.AUDIT]
    assert [r[1][1:4] for r in audit.rows] == [[user, "刷新欠费", 3], ["财务小李", "计费", 0]]


def test_calcchain_dropped_and_full_calc_set(tmp_path):
    path = tmp_path / "b.xlsx"
    write_new_workbook(path, [SheetOutput("表", ["a"], [[1]]), SheetOutput("欠费明细", ["x"], [[1]])])
    # graft a calcChain naming sheet 2 (as Excel would have written it)
    chain = '<?xml version="1.0"?><calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="A2" i="2"/></calcChain>'
    src = members(path)
    src["[Content_Types].xml"] = src["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
    src["xl/_rels/workbook.xml.rels"] = src["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
    src["xl/calcChain.xml"] = chain.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in src.items():
            z.writestr(n, d)
    save_changes(path, replace={"欠费明细": SheetOutput("欠费明细", ["x", "y"], [[1, Formula("A2+1")]])}, backups=0)
    after = members(path)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["[Content_Types].xml"] + after["xl/_rels/workbook.xml.rels"]
    assert b'fullCalcOnLoad="1"' in after["xl/workbook.xml"]
    assert ws_values(path, "欠费明细")[1] == [1, "=A2+1"]


def test_hypothesis_text_survives(tmp_path):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import given, settings, strategies as st

    path = tmp_path / "b.xlsx"
    write_new_workbook(path, [SheetOutput("问题", ["说明"], [])])
    base = path.read_bytes()

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
    def check(texts):
        path.write_bytes(base)
        save_changes(path, replace={"问题": SheetOutput("问题", ["说明"], [[t] for t in texts])}, backups=0)
        got = [r[0] for r in ws_values(path, "问题")[1:]]
        legal = [writer._ILLEGAL_XML.sub("", t) for t in texts]
        expected = [(t.replace("\r\n", "\n").replace("\r", "\n") or None) for t in legal]
        got = [None if g in (None, "") else g.replace("\r", "\n") for g in got]
        # rows that became entirely blank are not written as cells
        assert [g for g in got] == [e for e in expected][: len(got)]

    check()


# --------------------------------------------------------------------------- LibreOffice


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_computes_sum(tmp_path):
    path = tmp_path / "b.xlsx"
    write_new_workbook(path, [SheetOutput("欠费明细", ["x"], [[1]])])
    amounts = [Decimal("1234.50"), Decimal("0.10"), Decimal("0.20")]
    rows = [["1-10%d" % i, None, None, None, None, None, a] for i, a in enumerate(amounts, 1)]
    rows.append(["合计", None, None, None, None, None, Formula("SUM(G2:G4)")])
    save_changes(path, replace={"欠费明细": SheetOutput(
        "欠费明细", ["房号", "楼栋", "业主姓名", "欠费期数", "最早应缴日期", "逾期天数", "欠费本金"], rows,
        {"欠费本金": "money"})}, backups=0)
    out = tmp_path / "out"
    profile = tmp_path / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", "xlsx", "--outdir", str(out), str(path)],
                   check=True, timeout=120, capture_output=True)
    book = read_workbook(out / "b.xlsx")
    sheet = book["欠费明细"]
    total_row = sheet.rows[-1][1]
    assert total_row[0] == "合计"
    assert Decimal(str(total_row[6])).quantize(Decimal("0.01")) == sum(amounts) == Decimal("1234.80")
    assert sheet.uncached_formulas == set()


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize("lock_name, program", [("~$收费大表.xlsx", "Excel/WPS"),
                                                 (".~lock.收费大表.xlsx#", "LibreOffice")])
def test_office_lock_files_refuse(template, lock_name, program):
    (template.parent / lock_name).write_text("x")
    data = template.read_bytes()
    with pytest.raises(WorkbookLocked) as e:
        save_changes(template, audit=[{"操作": "测试"}])
    assert lock_name in str(e.value) and program in str(e.value)
    assert template.read_bytes() == data
    assert not (template.parent / "备份").exists()


def test_expect_digest_mismatch_refused(template):
    digest = file_digest(template)
    save_changes(template, audit=[{"操作": "一"}], expect_digest=digest)  # matches: written
    changed = template.read_bytes()
    with pytest.raises(WorkbookChanged, match="工作簿在读取后已被修改，请重新运行|在读取后已被修改"):
        save_changes(template, audit=[{"操作": "二"}], expect_digest=digest)
    assert template.read_bytes() == changed


def test_backups_created_and_capped(template):
    versions = []
    for i in range(13):
        versions.append(template.read_bytes())
        save_changes(template, audit=[{"操作": f"第{i}次"}])
    backups = list_backups(template)
    assert len(backups) == 10
    assert all(b.name.startswith("收费大表_") and b.suffix == ".xlsx" for b in backups)
    # the newest backup is the file before the last save; the oldest kept is version 3
    assert backups[-1].read_bytes() == versions[-1]
    assert backups[0].read_bytes() == versions[3]


def test_second_writer_waits_then_is_refused(template, monkeypatch):
    monkeypatch.setattr(writer, "LOCK_TIMEOUT", 0.5)
    with writer._ProcessLock(template, 1):
        # we hold the OS lock; a second feebook process must wait, then be refused
        code = textwrap.dedent(f"""
            import sys
            from xlwings_addin.workbook import writer
            writer.LOCK_TIMEOUT = 0.5
            try:
                writer.save_changes({str(template)!r}, audit=[{{"操作": "x"}}])
            except writer.WorkbookLocked as e:
                print("LOCKED", e)
        """)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert "LOCKED" in r.stdout and "另一个收费大表程序正在写入" in r.stdout, r.stderr
    save_changes(template, audit=[{"操作": "x"}])  # released
    data = template.read_bytes()
    save_changes(template)  # nothing to write: untouched
    assert template.read_bytes() == data


def test_exception_mid_write_leaves_original(template, monkeypatch):
    data = template.read_bytes()

    def boom(*a, **k):
        raise OSError("磁盘已满（模拟）")

    monkeypatch.setattr(package, "_copy_member", boom)
    with pytest.raises(OSError):
        save_changes(template, audit=[{"操作": "x"}])
    assert template.read_bytes() == data
    assert [p.name for p in template.parent.iterdir() if "feebook-tmp" in p.name] == []

    monkeypatch.undo()
    monkeypatch.setattr(writer, "_before_replace_hook", boom)
    with pytest.raises(OSError):
        save_changes(template, audit=[{"操作": "x"}])
    assert template.read_bytes() == data
    assert [p.name for p in template.parent.iterdir() if "feebook-tmp" in p.name] == []


CRASH_SCRIPT = """
import os, sys, time
from decimal import Decimal
from xlwings_addin.workbook import package, safety, writer
point = sys.argv[2]
def slow(orig):
    def f(*a, **k):
        print("AT", flush=True)
        time.sleep(30)
        return orig(*a, **k)
    return f
if point == "copy":
    package._copy_member = slow(package._copy_member)
elif point == "replace":
    writer._before_replace_hook = slow(writer._before_replace_hook)
elif point == "backup":
    safety._prune_backups = slow(safety._prune_backups)
else:
    print("AT", flush=True)
rows = [["1-%d" % i, Decimal("%d.25" % i)] for i in range(3000)]
writer.save_changes(sys.argv[1], replace={"欠费明细": writer.SheetOutput("欠费明细", ["房号", "欠费本金"], rows,
                    {"欠费本金": "money"})}, audit=[{"操作": "崩溃测试"}])
print("DONE", flush=True)
"""


@pytest.mark.hostile
def test_kill_at_any_point_never_breaks_the_workbook(template):
    old = template.read_bytes()
    rng = random.Random(8)
    plans = [("copy", None), ("backup", None), ("replace", None)] + [("random", rng.uniform(0, 1.2)) for _ in range(17)]
    outcomes = set()
    for point, delay in plans:
        p = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(template), point], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "AT"
        if delay is not None:
            time.sleep(delay)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        data = template.read_bytes()
        if data == old:
            outcomes.add("old")
        else:
            book = read_workbook(template, [schema.ARREARS])  # a complete, valid new file
            rows = book[schema.ARREARS].rows
            assert len(rows) == 3000 and rows[-1][1] == ["1-2999", 2999.25]
            outcomes.add("new")
            template.write_bytes(old)
        strays = [f.name for f in template.parent.iterdir() if f.name.endswith(".xlsx") and f.name != template.name]
        assert strays == []
    assert "old" in outcomes
    # the lock died with the process and a stray temp is swept by the next save
    save_changes(template, audit=[{"操作": "恢复后"}])
    assert [f for f in template.parent.iterdir() if f.name.endswith(".feebook-tmp")] == []
    assert read_workbook(template)[schema.AUDIT].rows[-1][1][2] == "恢复后"

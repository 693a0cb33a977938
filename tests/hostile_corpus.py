"""A corpus of hostile 收费大表 workbooks, generated on the fly (issue 8; SPEC §7).

Every case builds one bad workbook into a folder (openpyxl, or by editing the
zip XML, or raw bytes — nothing binary is committed), runs one ``feebook``
command on it in-process and states the exact expected outcome:

* a refusal: exit code 1 or 2, a phrase of the Chinese message on stderr, and
  the file left byte-for-byte as it was; or
* a run that goes on: the exit code and the 问题 rows (级别, 工作表, 单元格, a key
  phrase) the command writes into the workbook's 问题 sheet.

For every case that is read, :func:`lost_rows` checks that every data row of
every input sheet is either parsed into a record or named in a 问题 row —
"never a silently dropped row".  :func:`run_corpus` gives the counts that
``scripts/hostile_report.py`` prints.

The base workbook (as of 2026-03-31, 2026Q1; figures for the assertions)::

    收费项目  row 2  WYF 物业管理费 面积 2.50 计违约金 是
              row 3  SF  水费       用量 4.10 计违约金 否
    房屋      row 2  1-1-101 住宅 100.00 ㎡  张三
              row 3  1-1-102 住宅  89.50 ㎡  李四
              row 4  1-1-201 住宅 120.00 ㎡  王五
    抄表      row 2  2026Q1 1-1-101 水 100 → 112
    应收      row 2  2026Q1-1-1-101-WYF 750.00 (100 × 2.50 × 3), due 2026-01-25
              row 3  2026Q1-1-1-102-WYF 671.25 (89.50 × 2.50 × 3), due 2026-01-25
    收款      row 2  R001 2026-02-04 1-1-101 750.00 微信
              row 3  R002 2026-01-20 1-1-102 671.25 现金
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import shutil
import subprocess
import sys
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import openpyxl

from xlwings_addin.ledger import schema
from xlwings_addin.workbook.raw import column_letter

AS_OF = "2026-03-31"
RUN = ["run", "--as-of", AS_OF]
BILL = ["bill", "--period", "2026Q1"]
ERR, WARN = "错误", "警告"


def base_sheets() -> dict[str, list[list]]:
    """Sheet name → rows (row 1 = headers) of the valid base workbook."""
    return {
        "参数": [["参数", "值", "说明"], ["违约金日费率", "0.0003", "日万分之三"], ["缴费截止日", 25, None]],
        "收费项目": [["项目编码", "项目名称", "计费方式", "单价", "计费单位", "计违约金"],
                   ["WYF", "物业管理费", "面积", 2.5, "元/㎡·月", "是"],
                   ["SF", "水费", "用量", 4.1, "元/吨", "否"]],
        "房屋": [["房号", "楼栋", "房屋类型", "建筑面积", "业主姓名", "手机"],
               ["1-1-101", "1", "住宅", 100, "张三", "13800000001"],
               ["1-1-102", "1", "住宅", 89.5, "李四", "13800000002"],
               ["1-1-201", "1", "住宅", 120, "王五", "13800000003"]],
        "抄表": [["期间", "房号", "表类型", "上期读数", "本期读数"],
               ["2026Q1", "1-1-101", "水", 100, 112]],
        "应收": [["账单号", "期间", "房号", "项目编码", "金额", "应缴日期", "来源"],
               ["2026Q1-1-1-101-WYF", "2026Q1", "1-1-101", "WYF", 750, dt.date(2026, 1, 25), "计费"],
               ["2026Q1-1-1-102-WYF", "2026Q1", "1-1-102", "WYF", 671.25, dt.date(2026, 1, 25), "计费"]],
        "收款": [["收据号", "收款日期", "房号", "金额", "渠道", "冲销收据号"],
               ["R001", dt.date(2026, 2, 4), "1-1-101", 750, "微信", None],
               ["R002", dt.date(2026, 1, 20), "1-1-102", 671.25, "现金", None]],
    }


class Text(str):
    """A cell value that must be stored as text even if it starts with '=' (openpyxl would make a formula)."""


@dataclass
class Book:
    """What a case changes before the workbook is saved."""

    sheets: dict[str, list[list]] = field(default_factory=base_sheets)
    hidden: set = field(default_factory=set)
    merges: dict = field(default_factory=dict)  # sheet → ["A3:A4", ...]
    xml_edits: list = field(default_factory=list)  # (sheet, old bytes, new bytes) on the saved sheet XML


def save_book(book: Book, path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in book.sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append([str(v) if isinstance(v, Text) else v for v in r])
            for col, v in enumerate(r, start=1):
                if isinstance(v, Text):
                    ws.cell(ws.max_row, col).data_type = "s"
        for col in range(1, ws.max_column + 1):
            for cell in ws.iter_cols(min_col=col, max_col=col, min_row=2):
                for c in cell:
                    if isinstance(c.value, dt.date):
                        c.number_format = "yyyy-mm-dd"
        for ref in book.merges.get(name, []):
            ws.merge_cells(ref)
        if name in book.hidden:
            ws.sheet_state = "hidden"
    wb.save(path)
    if book.xml_edits:
        _edit_zip(path, book)
    return path


def _edit_zip(path: Path, book: Book) -> None:
    from xlwings_addin.workbook.reader import sheet_parts

    with zipfile.ZipFile(path) as z:
        parts = {p["name"]: p["part"] for p in sheet_parts(z)}
        members = {i: z.read(i.filename) for i in z.infolist()}
    for sheet, old, new in book.xml_edits:
        part = parts[sheet]
        for info in members:
            if info.filename == part:
                assert old in members[info], (sheet, old)
                members[info] = members[info].replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members.items():
            z.writestr(info, data)


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Want:
    """One expected 问题 row: level, sheet, cell (None = any) and a phrase of the message."""

    level: str
    sheet: str
    cell: Optional[str]
    phrase: str

    def matches(self, row: tuple) -> bool:
        level, sheet, cell, message = row
        return (level == self.level and sheet == self.sheet and (self.cell is None or cell == self.cell)
                and self.phrase in message)


@dataclass
class Case:
    name: str
    build: Callable[[Path], Path]  # folder → workbook path
    command: list
    exit_code: int
    problems: tuple = ()  # Want rows that must be in 问题
    refusal: str = ""  # phrase on stderr when the command refuses the file
    exact: bool = False  # 问题 holds exactly the wanted rows, nothing else
    check: Optional[Callable] = None  # extra check(path, outcome) → None or an error text
    needs_soffice: bool = False
    # issue 14: the workbook cannot be fully read → every sheet but 问题 and 操作日志 stays as it was
    withheld: bool = False
    output: str = ""  # a phrase the command prints (stdout or stderr), e.g. for `check`, which writes nothing
    defect: str = ""  # the issue and defect the case reproduces, e.g. "14.1"
    # False for commands that never write 问题 (export sms, hang-list, letters, schedule): there the
    # "every row parsed or named in 问题" check does not apply (the same rows are checked under `run`)
    writes_problems: bool = True

    @property
    def refuses(self) -> bool:
        return bool(self.refusal)


def _case(name, edit: Callable[[Book], None], command=RUN, exit_code=1, problems=(), after=None, **kw) -> Case:
    def build(folder: Path) -> Path:
        book = Book()
        edit(book)
        path = save_book(book, folder / f"{name}.xlsx")
        if after is not None:
            after(path)
        return path
    return Case(name, build, list(command), exit_code, tuple(problems), **kw)


def _raw_case(name, content: Callable[[Path], bytes], phrase: str, exit_code=2, suffix=".xlsx", **kw) -> Case:
    def build(folder: Path) -> Path:
        path = folder / f"{name}{suffix}"
        path.write_bytes(content(folder))
        return path
    return Case(name, build, list(RUN), exit_code, refusal=phrase, **kw)


def _set(book: Book, sheet: str, ref: str, value) -> None:
    """Set a cell by Excel reference in the row lists (rows grow as needed)."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
    col = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(m.group(1)))) - 1
    row = int(m.group(2)) - 1
    rows = book.sheets[sheet]
    while len(rows) <= row:
        rows.append([])
    while len(rows[row]) <= col:
        rows[row].append(None)
    rows[row][col] = value


def _header_col(book: Book, sheet: str, header: str) -> str:
    return column_letter(book.sheets[sheet][0].index(header))


def _pay_row(receipt, on, room, amount, channel="微信", reverses=None):
    return [receipt, on, room, amount, channel, reverses]


# --------------------------------------------------------------------------- the corpus

def _dates_text(book: Book) -> None:
    # six text formats and an Excel serial (46057 = 2026-02-04), one per payment row
    book.sheets["收款"][1:] = [
        _pay_row("D1", "2026-02-04", "1-1-101", 100),
        _pay_row("D2", "2026/2/4", "1-1-101", 100),
        _pay_row("D3", "2026.2.4", "1-1-101", 100),
        _pay_row("D4", "20260204", "1-1-101", 100),
        _pay_row("D5", "2026年2月4日", "1-1-101", 100),
        _pay_row("D6", "２０２６－０２－０４", "1-1-101", 100),
        _pay_row("D7", 46057, "1-1-101", 100),
        _pay_row("D8", "2026-02-04 10:30:00", "1-1-101", 50),
    ]


def _dates_bad(book: Book) -> None:
    book.sheets["收款"][1:] = [
        _pay_row("B1", "04/02/2026", "1-1-101", 100),  # row 2: day/month order unknown
        _pay_row("B2", "2026-02-30", "1-1-101", 100),  # row 3: no such day
        _pay_row("B3", "46057", "1-1-101", 100),  # row 4: a serial typed as text
        _pay_row("B4", "下周一", "1-1-101", 100),  # row 5
        _pay_row("B5", -3, "1-1-101", 100),  # row 6: a negative "serial"
    ]


def _check_dates_text(path: Path, outcome) -> Optional[str]:
    # D1..D8 all read as 2026-02-04: 7 × 100 + 50 = 750.00 pays 1-1-101's 750.00 with 10 days' late fee
    # 750 × 0.0003 × 10 = 2.25 (nothing in 欠费明细 for principal, and no 问题 from 收款)
    from xlwings_addin.jobs.ledger import load
    ledger = load(path).ledger
    days = {p.receipt_no: p.paid_on for p in ledger.payments}
    if len(days) != 8 or set(days.values()) != {dt.date(2026, 2, 4)}:
        return f"dates read as {days}"
    return None


def _blank_rows(book: Book) -> None:
    rows = book.sheets["收款"]
    rows[1:] = [rows[1], [], [], rows[2], [], _pay_row("R003", dt.date(2026, 3, 1), "1-1-201", "三百")]
    # R003 lands on Excel row 7 (rows 3, 4 and 6 blank): its bad 金额 must be D7, not D4


def _merged(book: Book) -> None:
    # a clerk merges 楼栋 over rows 2–4 and 房号 over rows 3–4 (only the top-left cell keeps a value)
    book.merges["房屋"] = ["B2:B4", "A3:A4"]
    _set(book, "房屋", "A4", None)
    _set(book, "房屋", "B3", None)
    _set(book, "房屋", "B4", None)


def _formulas(book: Book) -> None:
    book.sheets["收款"][1][3] = "=700+50"  # row 2 金额: cached 750 added below
    book.sheets["收款"][2][3] = "=600+71.25"  # row 3 金额: no cached value
    book.xml_edits.append(("收款", b"<f>700+50</f><v></v>", b"<f>700+50</f><v>750</v>"))


def _emoji(book: Book) -> None:
    # emoji and control characters in a name (Excel stores BEL as _x0007_ in the XML)
    book.sheets["房屋"][1][4] = "张三😀_x0007__x001B_"
    book.sheets["房屋"][2][4] = "\u200b李四\u3000"
    book.sheets["房屋"][3][4] = "_x0007_"  # nothing left but a control character: a blank name


def _check_emoji(path: Path, outcome) -> Optional[str]:
    from xlwings_addin.jobs.ledger import load
    owners = {u.room: u.owner for u in load(path).ledger.units}
    if owners.get("1-1-101") != "张三😀":
        return f"owner 1-1-101 read as {owners.get('1-1-101')!r}"
    return None


def _huge(book: Book) -> None:
    book.sheets["收款"][1][3] = 1e308  # row 2
    book.sheets["收款"][2][3] = 0.001  # row 3
    book.sheets["房屋"][1][3] = 1e308  # 房屋 D2: area
    book.sheets["房屋"][2][3] = "1e-300"  # 房屋 D3: area — a silly but finite number
    book.sheets["应收"][1][4] = "1E+400"  # 应收 E2


def _full_width(book: Book) -> None:
    book.sheets["收款"][1][3] = "７５０．００"
    book.sheets["收款"][2][3] = "６７１．２５元"
    book.sheets["房屋"][1][0] = " １-１-１０１ "


def _params(book: Book) -> None:
    book.sheets["参数"] += [[None, "0.0005", "键被删掉了"], ["违约金日费率", "0.0005", "第二次出现"],
                          ["缴费截止日", "=20+5", "公式，没有计算结果"]]


CASES: list[Case] = [
    _case("missing_sheet", lambda b: b.sheets.pop("房屋"), exit_code=1, problems=[
        Want(ERR, "房屋", "", "缺少工作表“房屋”"),
        Want(ERR, "收款", "C2", "不在“房屋”表中"), Want(ERR, "应收", "C3", "不在“房屋”表中")], withheld=True),
    _case("renamed_header", lambda b: _set(b, "收款", "D1", "金额(元)"), exit_code=1, problems=[
        Want(ERR, "收款", "1", "缺少必需的表头：金额")], exact=True, withheld=True),
    _case("spaced_header", lambda b: _set(b, "收款", "D1", " 金\u3000额 "), exit_code=0, exact=True),
    _case("duplicated_header", lambda b: (_set(b, "收款", "G1", "金额"), _set(b, "收款", "G2", 9999)),
          exit_code=0, problems=[Want(WARN, "收款", "G1", "表头“金额”重复")], exact=True),
    _case("merged_cells", _merged, problems=[
        Want(WARN, "房屋", "B2", "合并单元格"), Want(WARN, "房屋", "A3", "合并单元格"),
        Want(ERR, "房屋", "A4", "“房号”不能为空")]),
    _case("text_in_number", lambda b: _set(b, "房屋", "D3", "八十九点五"), problems=[
        Want(ERR, "房屋", "D3", "应为数字"), Want(ERR, "应收", "C3", "“1-1-102”不在“房屋”表中"),
        Want(ERR, "收款", "C3", "“1-1-102”不在“房屋”表中")], exact=True),
    _case("full_width_digits", _full_width, exit_code=0, exact=True),
    _case("text_dates_six_formats_and_serial", _dates_text, exit_code=0, exact=True, check=_check_dates_text),
    _case("bad_dates", _dates_bad, problems=[
        Want(ERR, "收款", "B2", "无法识别的日期“04/02/2026”"), Want(ERR, "收款", "B3", "不存在"),
        Want(ERR, "收款", "B4", "无法识别的日期“46057”"), Want(ERR, "收款", "B5", "无法识别的日期“下周一”"),
        Want(ERR, "收款", "B6", "应为日期")], exact=True),
    _case("blank_rows_inside_data", _blank_rows, problems=[Want(ERR, "收款", "D7", "应为数字，实为“三百”")],
          exact=True),
    _case("hidden_sheet", lambda b: b.hidden.add("收款"), exit_code=0,
          problems=[Want(WARN, "收款", "", "隐藏")], exact=True),
    _case("formulas_cached_and_uncached", _formulas, problems=[
        Want(ERR, "收款", "D3", "是公式但没有计算结果")], exact=True),
    _case("duplicate_room", lambda b: b.sheets["房屋"].append(["1-1-101", "2", "住宅", 50, "赵六"]), problems=[
        Want(ERR, "房屋", "A5", "房号“1-1-101”重复")], exact=True),
    _case("duplicate_receipt", lambda b: b.sheets["收款"].append(
        _pay_row("R001", dt.date(2026, 3, 1), "1-1-201", 100)), problems=[
        Want(ERR, "收款", "A4", "收据号“R001”重复")], exact=True),  # at the repeated 收据号 itself
    _case("negative_meter_usage", lambda b: _set(b, "抄表", "E2", 90), command=BILL, problems=[
        Want(ERR, "抄表", "E2", "用量为负")]),
    _case("unknown_room_payment", lambda b: b.sheets["收款"].append(
        _pay_row("R009", dt.date(2026, 3, 1), "9-9-999", 100)), problems=[
        Want(ERR, "收款", "C4", "房号“9-9-999”不在“房屋”表中")], exact=True),
    _case("huge_and_tiny_amounts", _huge, problems=[
        Want(ERR, "收款", "D2", "超出合理范围"), Want(ERR, "收款", "D3", "超过两位小数"),
        Want(ERR, "房屋", "D2", "超出合理范围"), Want(ERR, "应收", "E2", "超出合理范围")]),
    _case("emoji_and_control_chars", _emoji, problems=[Want(ERR, "房屋", "E4", "“业主姓名”不能为空")],
          check=_check_emoji),
    _case("params_blank_key_duplicate_and_formula", _params, exit_code=1, problems=[
        Want(WARN, "参数", "A4", "参数名为空"), Want(WARN, "参数", "A5", "参数“违约金日费率”重复"),
        Want(ERR, "参数", "B6", "是公式但没有计算结果")], exact=True),
    _raw_case("zero_bytes", lambda d: b"", "0 字节"),
    _raw_case("csv_renamed", lambda d: "房号,金额\n1-1-101,750\n".encode("utf-8-sig"), "不是 Excel 工作簿"),
    _raw_case("password_protected", lambda d: _encrypted(d), "密码"),
    _raw_case("legacy_xls_biff", lambda d: _biff(d), ".xls", needs_soffice=True),
    _raw_case("truncated_zip", lambda d: _truncated(d), "损坏"),
    _raw_case("zip_not_workbook", lambda d: _plain_zip(d), "缺少 xl/workbook.xml"),
    Case("missing_file", lambda d: d / "没有这个文件.xlsx", list(RUN), 2, refusal="找不到"),
]


def _base_bytes(folder: Path) -> bytes:
    path = save_book(Book(), folder / "_base.xlsx")
    data = path.read_bytes()
    path.unlink()
    return data


def _encrypted(folder: Path) -> bytes:
    """A real password-protected workbook (ECMA-376 agile encryption, as Excel writes it)."""
    import msoffcrypto.format.ooxml

    plain = io.BytesIO(_base_bytes(folder))
    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt("密码123", out)
    return out.getvalue()


def _biff(folder: Path) -> bytes:
    """A real Excel 97-2003 (.xls, BIFF8) file saved as .xlsx, converted by LibreOffice."""
    src = save_book(Book(), folder / "_biff_src.xlsx")
    profile = folder / "_lo_profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                    "xls:MS Excel 97", "--outdir", str(folder), str(src)],
                   check=True, capture_output=True, timeout=120)
    data = (folder / "_biff_src.xls").read_bytes()
    for f in (src, folder / "_biff_src.xls"):
        f.unlink()
    shutil.rmtree(profile, ignore_errors=True)
    return data


def _truncated(folder: Path) -> bytes:
    data = _base_bytes(folder)
    return data[: len(data) * 2 // 3]


def _plain_zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "不是工作簿")
    return buf.getvalue()


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    case: str
    exit_code: Optional[int]
    stdout: str
    stderr: str
    crashed: bool
    problems: list  # (级别, 工作表, 单元格, 说明) rows read back from the 问题 sheet
    lost: list  # (sheet, excel row) of data rows neither parsed nor named in 问题
    unchanged: Optional[bool] = None  # for refusals: the file is byte-for-byte as before
    failures: list = field(default_factory=list)  # what did not match the expectation
    # results that would mislead a clerk: exit 0 for a damaged workbook, figures published from
    # a workbook not fully read, figures that differ from the hand-worked ones
    misleading: list = field(default_factory=list)


def run_cli(argv: list) -> tuple[Optional[int], str, str, bool]:
    """``feebook argv`` in-process: (exit code, stdout, stderr, crashed)."""
    from xlwings_addin.faces import cli

    out, err = io.StringIO(), io.StringIO()
    crashed = False
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # any exception escaping main is a crash
            crashed = True
            err.write(traceback.format_exc())
    return code, out.getvalue(), err.getvalue(), crashed


def problem_rows(path: Path) -> list[tuple]:
    from xlwings_addin.workbook.reader import read_workbook

    sheet = read_workbook(path, [schema.PROBLEMS]).get(schema.PROBLEMS)
    if sheet is None:
        return []
    out = []
    for _n, values in sheet.rows:
        values = (list(values) + [None] * 4)[:4]
        out.append(tuple("" if v is None else str(v) for v in values))
    return out


def _row_of(cell: str) -> Optional[int]:
    m = re.fullmatch(r"[A-Z]*(\d+)", cell or "")
    return int(m.group(1)) if m else None


def lost_rows(path: Path, problems: list[tuple]) -> list[tuple[str, int]]:
    """Data rows of input sheets that are neither a parsed record nor named in a 问题 row."""
    from xlwings_addin.workbook.parse import parse_ledger
    from xlwings_addin.workbook.reader import read_workbook

    raw = read_workbook(path)
    ledger = parse_ledger(raw)
    accounted: set[tuple[str, int]] = set()
    whole_sheet: set[str] = set()
    for level, sheet, cell, message in problems:
        row = _row_of(cell)
        if cell == "1" and "整张表未读取" in message:
            whole_sheet.add(sheet)
        elif row is not None:
            accounted.add((sheet, row))
    for name in ("items", "units", "readings", "shared_costs", "charges", "payments", "waivers", "contacts",
                 "plans", "complaints", "assistants", "commission_rules", "bank_batches", "bank_debits"):
        for record in getattr(ledger, name, ()):
            source = getattr(record, "source", None)
            if source is not None and _row_of(source.cell) is not None:
                accounted.add((source.sheet, _row_of(source.cell)))
    params = {k for k, _v in ledger.settings.extra}
    lost = []
    # a sheet that is plainly meant to be an input sheet ('收款2026') holds rows too: they are lost
    # unless a 问题 row names that sheet
    try:
        from xlwings_addin.workbook.parse import near_sheet_names
    except ImportError:  # the corpus run against code before issue 14 (to show what it finds there)
        def near_sheet_names(name, names):
            return [n for n in names if n != name and n not in schema.ALL_SHEETS and name in n.replace(" ", "")]
    near = {other: name for name in schema.INPUT_SHEETS for other in near_sheet_names(name, list(raw))}
    for other in near:
        if not any(f"“{other}”" in message for _l, _s, _c, message in problems):
            lost.extend((other, excel_row) for excel_row, _values in raw[other].rows)
    for name, sheet in raw.items():
        if name not in schema.INPUT_SHEETS or name in whole_sheet:
            continue
        for excel_row, values in sheet.rows:
            if (name, excel_row) in accounted:
                continue
            if name == schema.PARAMS and values and values[0] is not None and str(values[0]).strip() in params:
                continue
            lost.append((name, excel_row))
    return lost


INTERNAL_ERROR = "程序内部错误"  # what cli.main prints when an exception escapes a command


def _command(case: Case, folder: Path) -> list:
    """The command line, with ``{out}`` standing for a fresh output folder of this case."""
    return [str(a).replace("{out}", str(folder / "out")) for a in case.command]


def run_case(case: Case, folder: Path) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    path = case.build(folder)
    before = path.read_bytes() if path.exists() else None
    sheets_before = _sheets_or_none(path) if case.withheld else None
    command = _command(case, folder)
    if "{book}" in command:  # a two-word command (export sms {book} …)
        argv = [str(path) if a == "{book}" else a for a in command]
    else:
        argv = command[:1] + [path] + command[1:]
    code, out, err, crashed = run_cli(argv)
    crashed = crashed or INTERNAL_ERROR in err
    outcome = Outcome(case.name, code, out, err, crashed, [], [])
    fail = outcome.failures
    if crashed or "Traceback" in err:
        fail.append("crash: " + err[-2000:])
    if code != case.exit_code:
        fail.append(f"exit code {code}, expected {case.exit_code}; stderr: {err[-500:]}")
        if code == 0 and case.exit_code != 0:
            outcome.misleading.append(f"exit 0 where {case.exit_code} was expected")
    if case.output and case.output not in out + err:
        fail.append(f"output lacks “{case.output}”: {(out + err)[-500:]}")
        outcome.misleading.append(f"output lacks “{case.output}”")
    if case.refuses:
        outcome.unchanged = (path.read_bytes() if path.exists() else None) == before
        if case.refusal not in err:
            fail.append(f"stderr lacks “{case.refusal}”: {err[-500:]}")
        if not re.search(r"[\u4e00-\u9fff]", err):
            fail.append("refusal message is not Chinese")
        if not outcome.unchanged:
            fail.append("a refused file was changed")
        if case.check:
            msg = case.check(path, outcome)
            if msg:
                fail.append(msg)
                outcome.misleading.append(msg)
        return outcome
    if crashed:
        return outcome
    outcome.problems = problem_rows(path)
    if case.withheld:
        after = _sheets_or_none(path) or {}
        changed = [n for n in set(after) | set(sheets_before or {})
                   if n not in (schema.PROBLEMS, schema.AUDIT) and after.get(n) != (sheets_before or {}).get(n)]
        if changed:
            fail.append(f"results published from a workbook that cannot be fully read: {sorted(changed)}")
            outcome.misleading.append(f"published {sorted(changed)}")
    for want in case.problems:
        if not any(want.matches(r) for r in outcome.problems):
            fail.append(f"missing 问题 {want}; got {outcome.problems}")
    if case.exact:
        extra = [r for r in outcome.problems if not any(w.matches(r) for w in case.problems)]
        if extra:
            fail.append(f"unexpected 问题 rows {extra}")
    outcome.lost = lost_rows(path, outcome.problems) if case.writes_problems else []
    if outcome.lost:
        fail.append(f"rows silently dropped: {outcome.lost}")
    if case.check:
        msg = case.check(path, outcome)
        if msg:
            fail.append(msg)
            outcome.misleading.append(msg)
    return outcome


def _sheets_or_none(path: Path):
    try:
        return sheet_values(path)
    except Exception:  # noqa: BLE001 — a file the reader refuses has no sheets to compare
        return None


def available_cases() -> list[Case]:
    have_soffice = bool(shutil.which("soffice") or shutil.which("libreoffice"))
    return [c for c in CASES if have_soffice or not c.needs_soffice]


def run_corpus(folder: Path) -> list[Outcome]:
    return [run_case(c, folder / c.name) for c in available_cases()]


def counts(outcomes: list[Outcome]) -> dict:
    return {
        "cases tried": len(outcomes),
        "refusals": sum(1 for o in outcomes if o.unchanged is not None and o.exit_code in (1, 2) and not o.crashed),
        "问题 rows": sum(len(o.problems) for o in outcomes),
        "crashes": sum(1 for o in outcomes if o.crashed or "Traceback" in o.stderr),
        "tracebacks": sum(1 for o in outcomes if "Traceback" in o.stderr + o.stdout or INTERNAL_ERROR in o.stderr),
        "silent drops (cases)": sum(1 for o in outcomes if o.lost),
        "data lost (rows)": sum(len(o.lost) for o in outcomes),
        "misleading results": sum(1 for o in outcomes if o.misleading),
        "cases not as expected": sum(1 for o in outcomes if o.failures),
    }


# --------------------------------------------------------------------------- kill during save (through the CLI)

FEEBOOK = [sys.executable, "-m", "xlwings_addin.faces.cli"]
REPO = Path(__file__).resolve().parent.parent


def sheet_values(path: Path, names=None) -> dict:
    """Sheet → list of (row number, values): what a reader sees, for comparisons."""
    from xlwings_addin.workbook.reader import read_workbook

    return {n: (s.headers, s.rows) for n, s in read_workbook(path, names).items()}


def kill_trials(workbook: Path, folder: Path, trials: int = 30, seed: int = 8,
                command=("run", "--as-of", "2026-11-22")) -> dict:
    """SIGKILL ``feebook <command>`` at random moments; the file must be the old one or the new one.

    Returns counts: old (killed before the write began), old_mid_write (a
    temp file was left: the kill landed while the new file was being written),
    new, broken (must be 0), and the list of failures.
    """
    import random
    import signal
    import time

    folder.mkdir(parents=True, exist_ok=True)
    old = workbook.read_bytes()
    old_sheets = sheet_values(workbook)
    # the reference "new" file: one full run
    ref = folder / workbook.name
    ref.write_bytes(old)
    t0 = time.monotonic()
    r = subprocess.run(FEEBOOK + [command[0], str(ref), *command[1:]], capture_output=True, text=True, cwd=REPO)
    duration = time.monotonic() - t0
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    new_sheets = sheet_values(ref)
    rng = random.Random(seed)
    result = {"trials": 0, "old": 0, "old_mid_write": 0, "new": 0, "broken": 0, "failures": []}
    target = folder / "trial" / workbook.name
    target.parent.mkdir(exist_ok=True)
    for i in range(trials):
        target.write_bytes(old)
        for f in target.parent.iterdir():
            if f.name != target.name and f.is_file():
                f.unlink()
        p = subprocess.Popen(FEEBOOK + [command[0], str(target), *command[1:]], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.05) * duration)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        result["trials"] += 1
        data = target.read_bytes()
        temps = [f for f in target.parent.iterdir() if f.name.endswith(".feebook-tmp")]
        strays = [f.name for f in target.parent.iterdir()
                  if f.suffix == ".xlsx" and f.name != target.name]
        if strays:
            result["failures"].append(f"trial {i}: stray workbook-looking files {strays}")
        if data == old:
            result["old_mid_write" if temps else "old"] += 1
            continue
        try:
            got = sheet_values(target)
        except Exception as exc:  # noqa: BLE001 — a broken file is exactly what we look for
            result["broken"] += 1
            result["failures"].append(f"trial {i}: unreadable after kill: {exc}")
            continue
        same = all(got.get(n) == v for n, v in new_sheets.items() if n != schema.AUDIT)
        audit_ok = len(got[schema.AUDIT][1]) == len(old_sheets.get(schema.AUDIT, ([], []))[1]) + 1
        if same and audit_ok:
            result["new"] += 1
        else:
            result["broken"] += 1
            result["failures"].append(f"trial {i}: a changed file that is not the complete new one")
    return result


# --------------------------------------------------------------------------- round two (issue 14)
#
# Each case names the defect of issue 14 it reproduces ("14.1" … "14.11").  A case with
# ``withheld=True`` also checks that every sheet but 问题 and 操作日志 is exactly as before.

def _rename(old: str, new: str) -> Callable[[Book], None]:
    def edit(book: Book) -> None:
        book.sheets = {(new if k == old else k): v for k, v in book.sheets.items()}
    return edit


def _title_row(book: Book) -> None:
    book.sheets["收款"].insert(0, ["2026年收款登记表"])  # the headers are now on row 2


def _credit_without_charge(book: Book) -> None:
    # row 4: a 红冲 of −500.00 for 水费 2026Q1 of 1-1-101, where no 水费 was billed
    book.sheets["应收"].append(["HC-1", "2026Q1", "1-1-101", "SF", -500, dt.date(2026, 1, 25), "手工"])


def _check_credit_without_charge(path: Path, outcome) -> Optional[str]:
    # The credit reduces 1-1-101's other charge (WYF 750.00 → 250.00).  R001 paid 750.00 on
    # 2026-02-04, 10 days after 2026-01-25: principal 250.00, late fee 250 × 0.0003 × 10 = 0.75,
    # 预存 750.00 − 250.00 − 0.75 = 499.25; nothing owed.
    from decimal import Decimal
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.jobs.ledger import load
    account = allocate(load(path).ledger, dt.date(2026, 3, 31)).accounts["1-1-101"]
    got = (account.open_principal, account.prepaid_balance)
    if got != (Decimal("0.00"), Decimal("499.25")):
        return f"1-1-101 (open principal, 预存) = {got}, expected (0.00, 499.25)"
    return None


def _credit_larger_than_charge(book: Book) -> None:
    # row 4: −1,000.00 against 1-1-102's WYF 671.25 (R002 paid it on 2026-01-20)
    book.sheets["应收"].append(["HC-2", "2026Q1", "1-1-102", "WYF", -1000, dt.date(2026, 1, 25), "手工"])


def _check_credit_larger(path: Path, outcome) -> Optional[str]:
    # 671.25 of the credit cancels the charge, so R002's 671.25 is all 预存; 328.75 cannot be
    # applied to anything and is named in a warning (never dropped silently)
    from decimal import Decimal
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.jobs.ledger import load
    account = allocate(load(path).ledger, dt.date(2026, 3, 31)).accounts["1-1-102"]
    if (account.open_principal, account.prepaid_balance) != (Decimal("0.00"), Decimal("671.25")):
        return f"1-1-102 (open, 预存) = {(account.open_principal, account.prepaid_balance)}"
    return None


def _plans(book: Book, first_due, count, interval=1) -> None:
    # an installment plan for 1-1-102, which owes its 671.25 (R002 removed): dunning, SMS, the hang
    # list and letters all look at its plan
    book.sheets["收款"] = book.sheets["收款"][:2]
    book.sheets["分期协议"] = [["协议号", "房号", "签订日期", "总额", "期数", "首期日期", "间隔月数", "状态"],
                           ["FQ1", "1-1-102", dt.date(2026, 1, 5), 671.25, count, first_due, interval, "履行中"]]


def _contacts_promise(book: Book) -> None:
    book.sheets["催缴记录"] = [["日期", "房号", "方式", "经办人", "结果", "承诺缴费日"],
                           ["2026-03-01", "1-1-201", "电话", "小王", "承诺缴费", dt.date(9999, 12, 31)]]


def _far_value(ref: str) -> Callable[[Path], None]:
    """Put one value in ``应收!ref`` by editing the saved XML (openpyxl would pad nothing, Excel neither)."""
    def after(path: Path) -> None:
        row = re.sub(r"[A-Z]", "", ref)
        _zip_replace(path, "应收", b"</sheetData>", f'<row r="{row}"><c r="{ref}" t="n"><v>5</v></c></row></sheetData>'
                     .encode())
    return after


def _far_value_row2(path: Path) -> None:
    _zip_replace(path, "应收", b'</c></row><row r="3"', b'</c><c r="XFD2" t="n"><v>5</v></c></row><row r="3"')


def _zip_replace(path: Path, sheet: str, old: bytes, new: bytes, member: Optional[str] = None) -> None:
    from xlwings_addin.workbook.reader import sheet_parts

    with zipfile.ZipFile(path) as z:
        part = member or {p["name"]: p["part"] for p in sheet_parts(z)}[sheet]
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == part:
                assert old in data, (part, old)
                data = data.replace(old, new, 1)
            z.writestr(info, data)


def _workbook_xml(content: Callable[[bytes], bytes]) -> Callable[[Path], bytes]:
    def build(folder: Path) -> bytes:
        src = save_book(Book(), folder / "_wb_src.xlsx")
        with zipfile.ZipFile(src) as z:
            items = [(i, z.read(i.filename)) for i in z.infolist()]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in items:
                z.writestr(info, content(data) if info.filename == "xl/workbook.xml" else data)
        src.unlink()
        return buf.getvalue()
    return build


_XXE = b'<?xml version="1.0"?><!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10)) + b"]>")


def _doctype(prefix: bytes) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
        return prefix + body
    return edit


def _styles_laughs(path: Path) -> None:
    """The package's styles part opens with a "billion laughs" DOCTYPE."""
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    assert any(i.filename == "xl/styles.xml" for i, _d in items)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == "xl/styles.xml":
                data = _LAUGHS + data.split(b"?>", 1)[-1]
            z.writestr(info, data)


def _read_only(path: Path) -> None:
    path.chmod(0o444)


def _pay_reversals(book: Book) -> None:
    book.sheets["收款"] += [
        ["R003", dt.date(2026, 3, 1), "1-1-101", -100, "微信", "R999"],  # row 4: no such receipt
        ["R004", dt.date(2026, 3, 2), "1-1-102", -100, "现金", "R002"],  # row 5: reverses R002 (fine)
        ["R005", dt.date(2026, 3, 3), "1-1-102", -100, "现金", "R002"],  # row 6: R002 a second time
    ]


def _zero_width_room(book: Book) -> None:
    book.sheets["房屋"][1][0] = "1-1-101\u200b"  # a zero-width space pasted from a chat message


RUN_BLOCKED = dict(exit_code=1, withheld=True)
PLAN_COMMANDS = [
    ("dunning", ["dunning", "--as-of", AS_OF]),
    ("export_sms", ["export", "sms", "{book}", "--as-of", AS_OF, "--out", "{out}"]),
    ("hang_list", ["hang-list", "--as-of", AS_OF, "--out", "{out}"]),
    ("letters", ["letters", "--kind", "催缴函", "--as-of", AS_OF, "--out", "{out}", "--no-record"]),
    ("schedule", ["schedule", "--once", "--as-of", "2026-03-31", "--out", "{out}"]),
]

ROUND_TWO: list[Case] = [
    # 14.1 missing or renamed input sheets
    _case("payments_sheet_renamed_with_year", _rename("收款", "收款2026"), defect="14.1", problems=[
        Want(ERR, "收款", "", "找不到工作表“收款”；是否为“收款2026”？")], exact=True, **RUN_BLOCKED),
    _case("payments_sheet_renamed_trailing_space", _rename("收款", "收款 "), defect="14.1", problems=[
        Want(ERR, "收款", "", "是否为“收款 ”")], exact=True, **RUN_BLOCKED),
    _case("payments_sheet_full_width", _rename("收款", "收款（２０２６）"), defect="14.1", problems=[
        Want(ERR, "收款", "", "是否为“收款（２０２６）”")], exact=True, **RUN_BLOCKED),
    _case("payments_sheet_deleted", lambda b: b.sheets.pop("收款"), defect="14.1", problems=[
        Want(ERR, "收款", "", "缺少工作表“收款”")], exact=True, **RUN_BLOCKED),
    _case("payments_sheet_renamed_check", _rename("收款", "收款2026"), command=["check", "--as-of", AS_OF],
          exit_code=1, defect="14.1", output="是否为“收款2026”", writes_problems=False),
    _case("charges_sheet_renamed", _rename("应收", "应收(2025-2026)"), defect="14.1", problems=[
        Want(ERR, "应收", "", "是否为“应收(2025-2026)”")], exact=True, **RUN_BLOCKED),
    _case("params_sheet_renamed", _rename("参数", "参数设置"), defect="14.1", problems=[
        Want(ERR, "参数", "", "是否为“参数设置”")], exact=True, **RUN_BLOCKED),
    # 14.2 a wholly unusable sheet never overwrites the results
    _case("title_row_above_payments_header", _title_row, defect="14.2", problems=[
        Want(ERR, "收款", "1", "第 2 行才是表头")], exact=True, **RUN_BLOCKED),
    _case("amount_header_with_unit", lambda b: _set(b, "收款", "D1", "金额(元)"), defect="14.2", problems=[
        Want(ERR, "收款", "1", "D1“金额(元)”应为“金额”")], exact=True, **RUN_BLOCKED),
    _case("price_header_cleared", lambda b: _set(b, "收费项目", "D1", None), defect="14.2", problems=[
        Want(ERR, "收费项目", "1", "缺少必需的表头：单价")], **RUN_BLOCKED),
    _case("items_sheet_deleted", lambda b: b.sheets.pop("收费项目"), defect="14.2", problems=[
        Want(ERR, "收费项目", "", "缺少工作表“收费项目”"), Want(ERR, "应收", "D2", "项目编码“WYF”不在“收费项目”表中")],
          **RUN_BLOCKED),
    _case("units_sheet_deleted_bill", lambda b: b.sheets.pop("房屋"), command=BILL, defect="14.2", problems=[
        Want(ERR, "房屋", "", "缺少工作表“房屋”")], **RUN_BLOCKED),
    # 14.3 credits
    _case("credit_for_a_period_with_nothing_billed", _credit_without_charge, exit_code=0, defect="14.3",
          problems=[Want(WARN, "应收", "E4", "已冲减该户其他应收")], exact=True, check=_check_credit_without_charge),
    _case("credit_larger_than_its_charge", _credit_larger_than_charge, exit_code=0, defect="14.3",
          problems=[Want(WARN, "应收", "E4", "328.75 元无可冲减的应收")], exact=True, check=_check_credit_larger),
    # 14.4 implausible parameters and dates
    _case("late_fee_rate_3", lambda b: _set(b, "参数", "B2", "3"), defect="14.4", problems=[
        Want(ERR, "参数", "B2", "超出合理范围")], exact=True, **RUN_BLOCKED),
    _case("late_fee_rate_ref_error", lambda b: _set(b, "参数", "B2", "#REF!"), defect="14.4", problems=[
        Want(ERR, "参数", "B2", "错误值 #REF!")], exact=True, **RUN_BLOCKED),
    _case("payment_date_typed_800", lambda b: _set(b, "收款", "B2", 800), defect="14.4", problems=[
        Want(ERR, "收款", "B2", "不在合理范围")], exact=True),
    _case("payment_year_typo_2062", lambda b: _set(b, "收款", "B3", dt.date(2062, 1, 20)), defect="14.4",
          problems=[Want(ERR, "收款", "B3", "晚一年以上")], exact=True),
    _case("plan_interval_negative", lambda b: _plans(b, dt.date(2026, 2, 1), 3, -3), defect="14.4", problems=[
        Want(ERR, "分期协议", "G2", "“间隔月数”-3 超出合理范围")], exact=True),
    _case("promise_date_9999", _contacts_promise, defect="14.4", problems=[
        Want(ERR, "催缴记录", "F2", "不在合理范围")], exact=True),
    # 14.5 crashes
    _raw_case("workbook_xml_truncated", _workbook_xml(lambda d: d[: len(d) // 2]), "已损坏", defect="14.5a"),
    _raw_case("workbook_xml_external_entity", _workbook_xml(_doctype(_XXE)), "DOCTYPE", defect="14.5a"),
    _raw_case("workbook_xml_billion_laughs", _workbook_xml(_doctype(_LAUGHS)), "DOCTYPE", defect="14.5a"),
    _case("sheet_xml_external_entity", lambda b: None, defect="14.5a", refusal="DOCTYPE", exit_code=2,
          after=lambda p: _zip_replace(p, "收款", b"<worksheet", _XXE + b"<worksheet")),
    _case("styles_billion_laughs", lambda b: None, defect="14.5a", refusal="DOCTYPE", exit_code=2,
          after=_styles_laughs),
    _case("value_in_XFD1048576", lambda b: None, after=_far_value("XFD1048576"), defect="14.5b", problems=[
        Want(ERR, "应收", "XFD1048576", "超出可读取的范围")], exact=True, **RUN_BLOCKED),
    _case("value_in_XFD2", lambda b: None, after=_far_value_row2, defect="14.5b", problems=[
        Want(ERR, "应收", "XFD2", "超出可读取的范围")], exact=True, **RUN_BLOCKED),
    # `dunning` writes 问题 (the plan row is named there, exit 1); the others write no 问题 and must
    # simply not crash ("year 10002 is out of range" before); `run` names the same rows
    _case("plan_first_due_9999_run", lambda b: _plans(b, dt.date(9999, 12, 1), 3), defect="14.5c", problems=[
        Want(ERR, "分期协议", "F2", "不在合理范围")], exact=True),
    _case("plan_count_1e9_run", lambda b: _plans(b, dt.date(2026, 2, 1), 1_000_000_000), defect="14.5c", problems=[
        Want(ERR, "分期协议", "E2", "“期数”1000000000 超出合理范围")], exact=True),
    *[_case(f"plan_first_due_9999_{name}", lambda b: _plans(b, dt.date(9999, 12, 1), 3), command=cmd,
            exit_code=1 if name == "dunning" else 0, defect="14.5c", writes_problems=name == "dunning",
            problems=[Want(ERR, "分期协议", "F2", "不在合理范围")] if name == "dunning" else ())
      for name, cmd in PLAN_COMMANDS],
    *[_case(f"plan_count_1e9_{name}", lambda b: _plans(b, dt.date(2026, 2, 1), 1_000_000_000), command=cmd,
            exit_code=1 if name == "dunning" else 0, defect="14.5c", writes_problems=name == "dunning",
            problems=[Want(ERR, "分期协议", "E2", "超出合理范围")] if name == "dunning" else ())
      for name, cmd in PLAN_COMMANDS],
    # 14.6 a read-only workbook is refused, as Excel does
    Case("read_only_workbook", lambda d: _read_only_book(d), list(RUN), 1, refusal="只读", defect="14.6"),
    # 14.9 cell addresses name the cell holding the bad value
    _case("unknown_item_code", lambda b: _set(b, "应收", "D3", "XX"), defect="14.9", problems=[
        Want(ERR, "应收", "D3", "项目编码“XX”不在“收费项目”表中")], exact=True),
    _case("zero_width_space_in_room", _zero_width_room, exit_code=0, defect="14.9", exact=True),
    # 14.10 check runs every validation run does
    _case("reversals_run", _pay_reversals, defect="14.10", problems=[
        Want(ERR, "收款", "F4", "冲销收据号“R999”不存在"), Want(ERR, "收款", "F6", "已被冲销过")], exact=True),
    _case("reversals_check", _pay_reversals, command=["check", "--as-of", AS_OF], defect="14.10",
          output="收款!F6 收据“R002”已被冲销过", writes_problems=False),
]


# 14.7 / 14.11: an owner name carrying WordprocessingML (a live DDEAUTO field) and a long 账户名
INJECTED_OWNER = ('张三</w:t></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>'
                  ' DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc" </w:instrText></w:r><w:r>'
                  '<w:fldChar w:fldCharType="end"/></w:r><w:r><w:t>')
LONG_ACCOUNT_NAME = "欧阳" + "深圳市示例花园物业服务有限公司代收账户专户"  # 23 characters = 46 GBK bytes > 40


def _owner_injected(book: Book) -> None:
    book.sheets["收款"] = book.sheets["收款"][:2]  # 1-1-102 keeps owing its 671.25
    book.sheets["房屋"][2][4] = Text(INJECTED_OWNER)


_FIELD_CODE = re.compile(rb"<w:fldChar\b[^>]*>|<w:instrText\b[^>]*>[^<]*|<w:fldSimple\b[^>]*>")


def field_codes(docx: Path) -> list[bytes]:
    """Field-code elements in a .docx (escaped text that merely looks like one is not counted)."""
    with zipfile.ZipFile(docx) as z:
        return [m.group(0) for n in z.namelist() if n.endswith(".xml") for m in _FIELD_CODE.finditer(z.read(n))]


def _check_receipt(path: Path, outcome) -> Optional[str]:
    from xlwings_addin.documents.receipt import template_path
    docs = list((path.parent / "out").glob("*.docx"))
    if len(docs) != 1:
        return f"expected one receipt, found {docs}"
    extra = field_codes(docs[0])
    if extra != field_codes(template_path()):
        return f"the receipt carries field codes its template does not: {extra[:3]}"
    if INJECTED_OWNER in outcome.stdout or "张三<" in outcome.stdout:
        return "the terminal shows the owner's full name"
    return None


def _check_no_letters(path: Path, outcome) -> Optional[str]:
    docs = list((path.parent / "out").rglob("*.docx")) if (path.parent / "out").exists() else []
    return f"letters written although the workbook is locked: {docs}" if docs else None


def _lock_file(path: Path) -> None:
    path.with_name("~$" + path.name).write_text("x")


def _bank_account(book: Book) -> None:
    book.sheets["收款"] = book.sheets["收款"][:2]  # 1-1-102 keeps owing its 671.25
    rows = book.sheets["房屋"]
    rows[0] += ["托收", "开户银行", "银行账号", "账户名"]
    rows[1] += ["否", None, None, None]
    rows[2] += ["是", "示例银行", Text("6222020200001234567"), LONG_ACCOUNT_NAME]
    rows[3] += ["否", None, None, None]


def _check_account_masked(path: Path, outcome) -> Optional[str]:
    shown = outcome.stdout + outcome.stderr
    return "the terminal shows the full 账户名" if LONG_ACCOUNT_NAME in shown else None


ROUND_TWO += [
    _case("receipt_owner_name_injection", _owner_injected, defect="14.7", exit_code=0,
          command=["receive", "--room", "1-1-102", "--amount", "671.25", "--channel", "现金", "--date", "2026-03-01",
                   "--note", INJECTED_OWNER, "--out", "{out}"], check=_check_receipt, writes_problems=False),
    _case("letters_while_open_in_excel", lambda b: None, after=_lock_file, defect="14.8",
          command=["letters", "--kind", "催缴函", "--as-of", AS_OF, "--out", "{out}"], refusal="正在被",
          check=_check_no_letters),
    _case("schedule_every_job_skipped_for_a_lock", lambda b: None, after=_lock_file, defect="14.11",
          command=["schedule", "--once", "--as-of", "2026-10-25", "--out", "{out}"],
          refusal="所有任务都因工作簿被占用而跳过"),
    _case("bank_export_refusal_masks_account_name", _bank_account, defect="14.11",
          command=["bank", "export", "{book}", "--period", "2026Q1", "--bank", "fixed_gbk", "--out", "{out}",
                   "--as-of", AS_OF],
          problems=[Want(ERR, "房屋", "A3", "不能写入托收盘")], check=_check_account_masked),
]


def _read_only_book(folder: Path) -> Path:
    path = save_book(Book(), folder / "read_only.xlsx")
    path.chmod(0o444)
    return path


CASES.extend(ROUND_TWO)

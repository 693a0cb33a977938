"""Bank collection (银行托收): the 托收盘 sent to the bank and the 回盘 it sends back (SPEC §3, §6).

The round trip, as the seed's quarterly calendar runs it (seed 004 §4.1 steps 10–12):

1. **Export** (day 18): one debit per unit with 托收 = 是 and money owing —
   amount = open principal of the unit's payable bills of the period and
   earlier, as of ``as_of`` (plus the accrued late fee only when 参数
   ``托收含违约金`` = 是).  Units whose 银行账号 is not 12–19 digits are a 问题
   and left out; the rest still go.  The batch is recorded in 托收批次
   (状态 待回盘) and its rows in 托收明细 (结果 待回盘).  While the batch is
   open its units are **locked**: no second batch and no front-desk receipt
   may take them.
2. **Import** (day 25): the 回盘 is matched to the batch by 批次号 + 序号
   (and the account, amount and room must agree).  Successes are posted as
   收款 rows (渠道 托收, 托收批次, 收据号 ``TS<批次号>-<序号>``, dated the
   bank's debit date); failures keep their reason (余额不足, 账户冻结, 户名不符
   …) and 回盘日期 in 托收明细, where the dunning list and 催收日报 read them.
   The batch becomes 已回盘 and its units unlock.  The file's sha256 is kept
   in 回盘文件摘要: the same file imported twice posts nothing.  A file whose
   totals or rows do not match the batch is refused whole, listing what
   differs, and nothing is written.

托收批次 and 托收明细 are engine-maintained sheets: every export/import
rewrites them whole from the parsed records plus the change (a 回盘 updates
existing rows, which an append cannot do).  Rows there that cannot be read
would be lost by such a rewrite, so export and import refuse to run while
either sheet has an unreadable row.

Bank profiles are data (``workbooks/bank_profiles/*.json``; a center may put
its own next to its workbook in ``bank_profiles/``): file kind (``csv`` with a
delimiter, or ``fixed`` with field widths in *bytes* of the encoding and
padding), encoding (GBK for most Chinese banks), amount unit (元 or 分), the
fields of the header, column-title, detail and trailer lines for the export
and for the return, and the bank's result codes.  Field names:
``batch_id seq account name amount room memo date merchant_no count total
success_count success_total result reason``; ``{"const": "H"}`` is a literal.

Worked example (profile ``csv_gbk``, amounts in 元): a unit owing 2026Q4
物业管理费 1,200.00 of which 500.00 is paid gives the detail line
``1,6222020200112233445,张三,700.00,1-1-101,物业费2026Q4``; a batch of it and
one 300.00 debit has the header ``H,2026Q4-01,4403000123,20261018,2,1000.00``.
In ``fixed_gbk`` the same 700.00 is ``000000070000`` (12 bytes, 分, zero-padded)
and 张三 is 4 bytes of GBK followed by 36 spaces.

Everything here is pure (bytes in, bytes and :class:`~xlwings_addin.jobs.Changes`
out) except :func:`load_profile`, which reads a JSON file.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Optional

from . import schema
from .engine.allocation import allocate
from .jobs import Changes, problems_sheet
from .money import ZERO, MoneyError, to_money
from .periods import Period
from .records import BankBatch, BankDebit, Ledger, Problem, Source
from .workbook.writer import SheetOutput

OPEN = "待回盘"
RETURNED = "已回盘"
VOID = "已作废"
SUCCESS = "成功"
FAILURE = "失败"
CHANNEL = "托收"
RETURN_SOURCE = Source("回盘文件")

FIELDS = ("batch_id", "seq", "account", "name", "amount", "room", "memo", "date", "merchant_no", "count",
          "total", "success_count", "success_total", "result", "reason")
_INT_FIELDS = {"seq", "count", "success_count"}
_MONEY_FIELDS = {"amount", "total", "success_total"}
ACCOUNT_RE = re.compile(r"\d{12,19}")


class ProfileError(ValueError):
    """A bank profile file that cannot be used; the message is Chinese."""


class BankFileError(ValueError):
    """A bank file that is refused; ``messages`` lists every reason (Chinese)."""

    def __init__(self, messages):
        if isinstance(messages, str):
            messages = [messages]
        self.messages = list(messages)
        super().__init__("；".join(self.messages))


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class FieldSpec:
    name: str = ""  # one of FIELDS, or '' for a constant
    const: Optional[str] = None
    width: Optional[int] = None  # bytes, fixed-width files only
    align: str = "left"
    pad: str = " "

    @property
    def label(self) -> str:
        return self.name or f"常量“{self.const}”"


@dataclass(frozen=True)
class Layout:
    header: tuple[FieldSpec, ...] = ()
    titles: tuple[str, ...] = ()
    detail: tuple[FieldSpec, ...] = ()
    trailer: tuple[FieldSpec, ...] = ()

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.detail)


@dataclass(frozen=True)
class BankProfile:
    id: str
    name: str
    kind: str  # csv / fixed
    encoding: str
    amount_unit: str  # 元 / 分
    export: Layout
    returns: Layout
    success_codes: tuple[str, ...]
    result_codes: tuple[tuple[str, str], ...]
    delimiter: str = ","
    newline: str = "\r\n"
    date_format: str = "%Y%m%d"
    merchant_no: str = ""
    memo: str = "物业费{period}"
    description: str = ""

    @property
    def suffix(self) -> str:
        return ".csv" if self.kind == "csv" else ".txt"

    def reason_for(self, code: str) -> Optional[str]:
        return dict(self.result_codes).get(code)


def _field(spec, kind: str, where: str) -> FieldSpec:
    if isinstance(spec, str):
        spec = {"field": spec}
    if not isinstance(spec, dict):
        raise ProfileError(f"{where}：字段应为名称或对象，实为 {spec!r}")
    name = spec.get("field", "")
    const = spec.get("const")
    if bool(name) == (const is not None):
        raise ProfileError(f"{where}：每个字段须有 field 或 const 之一")
    if name and name not in FIELDS:
        raise ProfileError(f"{where}：未知字段“{name}”，可用：{'、'.join(FIELDS)}")
    width = spec.get("width")
    if kind == "fixed":
        if not isinstance(width, int) or width < 1:
            raise ProfileError(f"{where}：定长文件的字段“{name or const}”须有正整数 width（字节数）")
    align = spec.get("align", "left")
    pad = spec.get("pad", " ")
    if align not in ("left", "right") or len(pad) != 1 or not pad.isascii():
        raise ProfileError(f"{where}：align 应为 left/right，pad 应为一个 ASCII 字符")
    return FieldSpec(name, None if const is None else str(const), width, align, pad)


def _layout(data: dict, kind: str, where: str) -> Layout:
    if not isinstance(data, dict) or not data.get("detail"):
        raise ProfileError(f"{where}：缺少 detail（明细行字段）")
    parts = {}
    for key in ("header", "detail", "trailer"):
        parts[key] = tuple(_field(f, kind, f"{where}.{key}") for f in data.get(key) or ())
    titles = tuple(str(t) for t in data.get("titles") or ())
    if kind == "fixed" and titles:
        raise ProfileError(f"{where}：定长文件不支持 titles（列标题行）")
    layout = Layout(parts["header"], titles, parts["detail"], parts["trailer"])
    for needed in ("seq", "account", "amount"):
        if not layout.has(needed):
            raise ProfileError(f"{where}：明细行必须有字段 {needed}")
    names = {f.name for f in layout.header + layout.trailer}
    if "batch_id" not in names or "count" not in names or "total" not in names:
        raise ProfileError(f"{where}：汇总行（header 或 trailer）必须有 batch_id、count、total")
    return layout


def profile_from_dict(data: dict, profile_id: str) -> BankProfile:
    """A profile from its JSON data (see the module docstring); raises :class:`ProfileError`."""
    kind = data.get("kind")
    if kind not in ("csv", "fixed"):
        raise ProfileError(f"银行方案“{profile_id}”：kind 应为 csv 或 fixed")
    encoding = data.get("encoding", "gbk")
    try:
        "".encode(encoding)
    except LookupError:
        raise ProfileError(f"银行方案“{profile_id}”：未知编码“{encoding}”") from None
    unit = data.get("amount_unit", "元")
    if unit not in ("元", "分"):
        raise ProfileError(f"银行方案“{profile_id}”：amount_unit 应为 元 或 分")
    export = _layout(data.get("export"), kind, f"银行方案“{profile_id}”.export")
    returns = _layout(data.get("return"), kind, f"银行方案“{profile_id}”.return")
    if not returns.has("result"):
        raise ProfileError(f"银行方案“{profile_id}”.return：明细行必须有字段 result（处理结果）")
    codes = data.get("result_codes") or {}
    success = tuple(str(c) for c in data.get("success_codes") or ())
    if not success:
        raise ProfileError(f"银行方案“{profile_id}”：缺少 success_codes")
    delimiter = data.get("delimiter", ",")
    if kind == "csv" and len(delimiter) != 1:
        raise ProfileError(f"银行方案“{profile_id}”：delimiter 应为一个字符")
    return BankProfile(
        id=profile_id, name=data.get("名称") or data.get("name") or profile_id, kind=kind, encoding=encoding,
        amount_unit=unit, export=export, returns=returns, success_codes=success,
        result_codes=tuple((str(k), str(v)) for k, v in codes.items()), delimiter=delimiter,
        newline=data.get("newline", "\r\n"), date_format=data.get("date_format", "%Y%m%d"),
        merchant_no=str(data.get("merchant_no", "")), memo=data.get("memo", "物业费{period}"),
        description=data.get("说明") or data.get("description") or "",
    )


def profile_dirs(workbook: Optional[Path] = None) -> list[Path]:
    """Where profiles are looked up: beside the workbook first, then the shipped ones."""
    here = Path(__file__).resolve().parent
    dirs = []
    if workbook is not None:
        dirs.append(Path(workbook).resolve().parent / "bank_profiles")
    dirs += [here / "data" / "bank_profiles", here.parent / "workbooks" / "bank_profiles"]
    return dirs


def load_profile(name: str, workbook: Optional[Path] = None) -> BankProfile:
    """``--bank NAME``: a profile file stem (``csv_gbk``) or a path to a .json file."""
    candidate = Path(name)
    paths = [candidate] if candidate.suffix.lower() == ".json" else [d / f"{name}.json" for d in profile_dirs(workbook)]
    for path in paths:
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ProfileError(f"银行方案文件“{path}”无法读取：{exc}") from None
            return profile_from_dict(data, path.stem)
    known = sorted({p.stem for d in profile_dirs(workbook) if d.is_dir() for p in d.glob("*.json")})
    raise ProfileError(f"找不到银行方案“{name}”；可用：{'、'.join(known) or '（无）'}")


# --------------------------------------------------------------------------- file lines


@dataclass(frozen=True)
class DebitLine:
    """One detail line of a 托收盘 or 回盘."""

    seq: int
    account: str
    amount: Decimal
    name: str = ""
    room: str = ""
    memo: str = ""
    result: str = ""
    reason: str = ""
    line_no: int = 0


@dataclass(frozen=True)
class BankFile:
    """A parsed (or to-be-rendered) bank file: its summary values and detail lines."""

    batch_id: str
    date: Optional[dt.date]
    count: int
    total: Decimal
    lines: tuple[DebitLine, ...]
    merchant_no: str = ""
    success_count: Optional[int] = None
    success_total: Optional[Decimal] = None


def format_amount(profile: BankProfile, amount: Decimal) -> str:
    if profile.amount_unit == "分":
        return str(int((amount * 100).to_integral_value()))
    return f"{amount:.2f}"


def _format(profile: BankProfile, name: str, value) -> str:
    if value is None:
        return ""
    if name in _MONEY_FIELDS:
        return format_amount(profile, value)
    if name == "date":
        return value.strftime(profile.date_format)
    return str(value)


_USER_TEXT_FIELDS = {"name", "room", "memo"}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _render_fields(profile: BankProfile, specs: tuple[FieldSpec, ...], values: dict) -> bytes:
    """One line's bytes (without newline); raises ValueError (Chinese) for a value that does not fit."""
    texts = [spec.const if spec.const is not None else _format(profile, spec.name, values.get(spec.name))
             for spec in specs]
    if profile.kind == "csv":
        for spec, text in zip(specs, texts):
            if profile.delimiter in text or "\n" in text or '"' in text:
                raise ValueError(f"“{spec.label}”的值含有分隔符或引号：{text}")
            # a bank file is opened in Excel by someone sooner or later: text from users that a
            # spreadsheet would take as a formula is refused (an apostrophe would change the name the bank checks)
            if spec.name in _USER_TEXT_FIELDS and text[:1] in _FORMULA_STARTS:
                raise ValueError(f"“{spec.label}”以“{text[:1]}”开头，表格软件会当作公式：{text}")
        out = io.StringIO()
        csv.writer(out, delimiter=profile.delimiter, lineterminator="").writerow(texts)
        try:
            return out.getvalue().encode(profile.encoding)
        except UnicodeEncodeError as exc:
            raise ValueError(f"含有 {profile.encoding.upper()} 无法表示的字“{exc.object[exc.start:exc.end]}”") from None
    parts = []
    for spec, text in zip(specs, texts):
        try:
            raw = text.encode(profile.encoding)
        except UnicodeEncodeError as exc:
            raise ValueError(f"“{spec.label}”含有 {profile.encoding.upper()} 无法表示的字"
                             f"“{exc.object[exc.start:exc.end]}”") from None
        if len(raw) > spec.width:
            raise ValueError(f"“{spec.label}”的值“{text}”占 {len(raw)} 字节，超过定长 {spec.width} 字节")
        padding = spec.pad.encode("ascii") * (spec.width - len(raw))
        parts.append(padding + raw if spec.align == "right" else raw + padding)
    return b"".join(parts)


def _summary_values(f: BankFile) -> dict:
    return {"batch_id": f.batch_id, "date": f.date, "count": f.count, "total": f.total,
            "merchant_no": f.merchant_no, "success_count": f.success_count, "success_total": f.success_total}


def _line_values(line: DebitLine, f: BankFile, profile: BankProfile) -> dict:
    return {"batch_id": f.batch_id, "seq": line.seq, "account": line.account, "name": line.name,
            "amount": line.amount, "room": line.room, "memo": line.memo, "result": line.result,
            "reason": line.reason, "date": f.date, "merchant_no": f.merchant_no}


def render_file(profile: BankProfile, f: BankFile, returned: bool = False) -> bytes:
    """A 托收盘 (or, with ``returned``, a 回盘) as the bank's bytes."""
    layout = profile.returns if returned else profile.export
    nl = profile.newline.encode("ascii")
    lines = []
    if layout.header:
        lines.append(_render_fields(profile, layout.header, _summary_values(f)))
    if layout.titles:
        out = io.StringIO()
        csv.writer(out, delimiter=profile.delimiter, lineterminator="").writerow(layout.titles)
        lines.append(out.getvalue().encode(profile.encoding))
    for line in f.lines:
        lines.append(_render_fields(profile, layout.detail, _line_values(line, f, profile)))
    if layout.trailer:
        lines.append(_render_fields(profile, layout.trailer, _summary_values(f)))
    return nl.join(lines) + nl


# --------------------------------------------------------------------------- parsing


def _decode_check(profile: BankProfile, data: bytes) -> None:
    """Refuse a file in the wrong encoding with a message that says which."""
    enc = profile.encoding.lower().replace("-", "").replace("_", "")
    gb = enc in ("gbk", "gb2312", "gb18030", "cp936")
    if data.startswith(b"\xef\xbb\xbf") and gb:
        raise BankFileError(f"文件是 UTF-8 编码（带 BOM），但银行方案“{profile.id}”要求 {profile.encoding.upper()}；"
                            f"请使用银行原始文件，不要用其他软件另存")
    if gb and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise BankFileError(f"文件是 UTF-8 编码，但银行方案“{profile.id}”要求 {profile.encoding.upper()}；"
                                f"请使用银行原始文件，不要用其他软件另存")
    try:
        data.decode(profile.encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        if exc.end >= len(data) and "incomplete" in str(exc.reason) or "unexpected end" in str(exc.reason):
            raise BankFileError(f"文件在第 {line} 行中途结束（半个汉字），文件不完整，可能被截断") from None
        hint = ""
        if enc in ("utf8", "utf8sig"):
            try:
                data.decode("gbk")
                hint = "，文件看来是 GBK 编码"
            except UnicodeDecodeError:
                pass
        raise BankFileError(f"文件第 {line} 行无法按 {profile.encoding.upper()} 解码{hint}：编码与银行方案“{profile.id}”"
                            f"不符或文件已损坏") from None


def _typed(profile: BankProfile, spec: FieldSpec, text: str, where: str):
    text = text.strip()
    name = spec.name
    if name in _INT_FIELDS:
        if not text.isdigit():
            raise BankFileError(f"{where}“{name}”应为数字，实为“{text}”")
        return int(text)
    if name in _MONEY_FIELDS:
        if profile.amount_unit == "分":
            if not text.isdigit():
                raise BankFileError(f"{where}金额“{text}”应为整数（单位分）")
            return Decimal(int(text)) / 100
        try:
            return to_money(text)
        except MoneyError as exc:
            raise BankFileError(f"{where}金额{exc}") from None
    if name == "date":
        try:
            return dt.datetime.strptime(text, profile.date_format).date()
        except ValueError:
            raise BankFileError(f"{where}日期“{text}”不符合格式 {profile.date_format}") from None
    return text


def _split(profile: BankProfile, specs: tuple[FieldSpec, ...], raw: bytes, line_no: int) -> dict:
    where = f"第 {line_no} 行"
    if profile.kind == "csv":
        text = raw.decode(profile.encoding)
        cells = next(csv.reader([text], delimiter=profile.delimiter), [])
        if len(cells) != len(specs):
            raise BankFileError(f"{where}有 {len(cells)} 个字段，应为 {len(specs)} 个（文件不完整或格式不符）")
        pieces = cells
    else:
        expected = sum(s.width for s in specs)
        if len(raw) != expected:
            raise BankFileError(f"{where}长 {len(raw)} 字节，应为 {expected} 字节（文件不完整或格式不符）")
        pieces, pos = [], 0
        for spec in specs:
            chunk = raw[pos:pos + spec.width]
            pos += spec.width
            try:
                pieces.append(chunk.decode(profile.encoding))
            except UnicodeDecodeError:
                raise BankFileError(f"{where}“{spec.label}”无法按 {profile.encoding.upper()} 解码"
                                    f"（字段宽度与银行方案不符）") from None
    values = {}
    for spec, piece in zip(specs, pieces):
        if spec.const is not None:
            if piece.strip() != spec.const:
                raise BankFileError(f"{where}记录类型应为“{spec.const}”，实为“{piece.strip()}”")
            continue
        values[spec.name] = _typed(profile, spec, piece, where)
    return values


def parse_file(profile: BankProfile, data: bytes, returned: bool = True) -> BankFile:
    """Bytes of a 回盘 (or, with ``returned=False``, a 托收盘) → :class:`BankFile`.

    Raises :class:`BankFileError` listing what is wrong: wrong encoding,
    truncated (missing trailer, fewer lines than the count, a short line),
    a count or sum that does not add up.
    """
    layout = profile.returns if returned else profile.export
    if not data.strip():
        raise BankFileError("文件是空的")
    _decode_check(profile, data)
    lines = [(n + 1, raw.rstrip(b"\r")) for n, raw in enumerate(data.split(b"\n"))]
    lines = [(n, raw) for n, raw in lines if raw.strip()]
    summary: dict = {}
    if layout.header:
        if not lines:
            raise BankFileError("缺少汇总行")
        n, raw = lines.pop(0)
        summary.update(_split(profile, layout.header, raw, n))
    if layout.titles:
        if not lines:
            raise BankFileError("缺少列标题行（文件不完整）")
        n, raw = lines.pop(0)
        titles = tuple(c.strip() for c in next(csv.reader([raw.decode(profile.encoding)], delimiter=profile.delimiter)))
        if titles != layout.titles:
            raise BankFileError(f"第 {n} 行列标题应为“{profile.delimiter.join(layout.titles)}”（文件格式与银行方案不符）")
    if layout.trailer:
        if not lines:
            raise BankFileError("缺少汇总行（文件不完整）")
        n, raw = lines[-1]
        try:
            summary.update(_split(profile, layout.trailer, raw, n))
        except BankFileError as exc:
            raise BankFileError(f"末行不是完整的汇总记录，文件可能被截断（{exc}）") from None
        lines.pop()
    details = []
    for n, raw in lines:
        v = _split(profile, layout.detail, raw, n)
        details.append(DebitLine(seq=v["seq"], account=re.sub(r"\s", "", v.get("account", "")), amount=v["amount"],
                                 name=v.get("name", ""), room=re.sub(r"\s", "", v.get("room", "")),
                                 memo=v.get("memo", ""), result=v.get("result", ""), reason=v.get("reason", ""),
                                 line_no=n))
    f = BankFile(batch_id=summary.get("batch_id", ""), date=summary.get("date"), count=summary.get("count", 0),
                 total=summary.get("total", ZERO), lines=tuple(details), merchant_no=summary.get("merchant_no", ""),
                 success_count=summary.get("success_count"), success_total=summary.get("success_total"))
    problems = []
    if len(details) != f.count:
        problems.append(f"文件不完整或有多余行：汇总笔数 {f.count}，明细 {len(details)} 行")
    total = sum((d.amount for d in details), ZERO)
    if total != f.total:
        problems.append(f"明细金额合计 {total:.2f} 与汇总金额 {f.total:.2f} 不符")
    if returned:
        ok = [d for d in details if d.result in profile.success_codes]
        if f.success_count is not None and len(ok) != f.success_count:
            problems.append(f"成功笔数：汇总 {f.success_count}，明细 {len(ok)}")
        ok_total = sum((d.amount for d in ok), ZERO)
        if f.success_total is not None and ok_total != f.success_total:
            problems.append(f"成功金额：汇总 {f.success_total:.2f}，明细 {ok_total:.2f}")
    if problems:
        raise BankFileError(problems)
    return f


# --------------------------------------------------------------------------- locks and lists


def open_batches(ledger: Ledger) -> dict[str, BankBatch]:
    return {b.batch_id: b for b in ledger.bank_batches if b.status == OPEN}


def locked_rooms(ledger: Ledger) -> dict[str, str]:
    """Room → batch id, for every unit with a debit in a batch still 待回盘 (its bills are locked)."""
    batches = open_batches(ledger)
    return {d.room: d.batch_id for d in ledger.bank_debits if d.batch_id in batches and d.result == OPEN}


def lock_message(room: str, batch_id: str) -> str:
    return (f"房号 {room} 的账单已在托收批次 {batch_id} 中（待回盘），回盘导入前不能再收款或再次托收；"
            f"如银行未受理此批次，请在“托收批次”表把状态改为“已作废”")


def failed_debits(ledger: Ledger, on: Optional[dt.date] = None) -> list[BankDebit]:
    """托收明细 rows whose debit failed (optionally only those returned on ``on``), with reason and date."""
    return [d for d in ledger.bank_debits if d.result == FAILURE and (on is None or d.returned_on == on)]


def batch_row(b: BankBatch) -> dict:
    return {"批次号": b.batch_id, "银行方案": b.profile, "生成日期": b.created_on, "笔数": b.rows, "总金额": b.total,
            "状态": b.status, "期间": str(b.period) if b.period else "", "回盘日期": b.returned_on,
            "回盘文件摘要": b.file_digest, "审批人": b.approver, "备注": b.note}


def debit_row(d: BankDebit) -> dict:
    return {"批次号": d.batch_id, "序号": d.seq, "房号": d.room, "金额": d.amount, "结果": d.result,
            "银行账号": d.account_no, "账户名": d.account_name, "账单号": ",".join(d.bill_nos),
            "失败原因": d.reason, "回盘日期": d.returned_on, "收据号": d.receipt_no}


def _sheet(name: str, rows: list[dict]) -> SheetOutput:
    spec = schema.INPUT_SHEETS[name]
    headers = list(spec.headers)
    return SheetOutput(name, headers, [[r.get(h) for h in headers] for r in rows], dict(spec.formats))


def batches_sheet(batches: Iterable[BankBatch]) -> SheetOutput:
    return _sheet(schema.BANK_BATCHES, [batch_row(b) for b in batches])


def debits_sheet(debits: Iterable[BankDebit]) -> SheetOutput:
    return _sheet(schema.BANK_DEBITS, [debit_row(d) for d in debits])


def _unreadable_bank_rows(ledger: Ledger) -> list[Problem]:
    return [p for p in ledger.problems
            if p.level == "错误" and p.sheet in (schema.BANK_BATCHES, schema.BANK_DEBITS)]


def _mask_account(account: str) -> str:
    return f"…{account[-4:]}" if len(account) > 4 else account


def compact_period(period: Period) -> str:
    return str(period).replace("-", "")


def next_batch_id(ledger: Ledger, period: Period) -> str:
    """``2026Q4-01``, ``2026Q4-02`` …: the period and a sequence never reused (even for 已作废 batches)."""
    prefix = compact_period(period) + "-"
    used = [int(b.batch_id[len(prefix):]) for b in ledger.bank_batches
            if b.batch_id.startswith(prefix) and b.batch_id[len(prefix):].isdigit()]
    used += [int(d.batch_id[len(prefix):]) for d in ledger.bank_debits
             if d.batch_id.startswith(prefix) and d.batch_id[len(prefix):].isdigit()]
    return f"{prefix}{max(used, default=0) + 1:02d}"


def receipt_for(batch_id: str, seq: int) -> str:
    return f"TS{batch_id}-{seq:04d}"


# --------------------------------------------------------------------------- export


@dataclass
class BatchPlan:
    batch: Optional[BankBatch]
    debits: list[BankDebit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped_locked: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # rooms left out for a bad account number or name


def plan_batch(ledger: Ledger, period: Period, profile: BankProfile, as_of: dt.date,
               batch_id: Optional[str] = None) -> BatchPlan:
    """Who is debited and for how much (no file, no changes)."""
    allocation = allocate(ledger, as_of)
    include_fee = ledger.settings.get("托收含违约金", "否").strip() == "是"
    locks = locked_rooms(ledger)
    batch_id = batch_id or next_batch_id(ledger, period)
    memo = profile.memo.format(period=period, batch=batch_id)
    plan = BatchPlan(None)
    merchant = ledger.settings.get("托收单位代码", "") or profile.merchant_no
    probe = BankFile(batch_id, as_of, 0, ZERO, (), merchant)
    for unit in ledger.units:
        if not unit.bank_debit:
            continue
        account = allocation.accounts.get(unit.room)
        if account is None:
            continue
        owing = [c for c in account.charges if c.charge.period <= period and c.open > 0]
        amount = sum((c.open for c in owing), ZERO)
        if include_fee:
            amount += sum((c.fee_outstanding for c in account.charges if c.charge.period <= period), ZERO)
        if amount <= 0:
            continue
        if unit.room in locks:
            plan.skipped_locked.append(unit.room)
            plan.problems.append(Problem.warning(unit.source, lock_message(unit.room, locks[unit.room])))
            continue
        number = re.sub(r"\s", "", unit.account_no)
        if not ACCOUNT_RE.fullmatch(number):
            shown = f"“{_mask_account(number)}”，共 {len(number)} 位" if number else "空白"
            plan.problems.append(Problem.error(
                unit.source, f"房号 {unit.room} 托收=是，但银行账号无效（{shown}；应为12–19位数字），未列入托收盘"))
            plan.rejected.append(unit.room)
            continue
        name = unit.account_name or unit.owner
        line = DebitLine(len(plan.debits) + 1, number, amount, name, unit.room, memo)
        try:
            _render_fields(profile, profile.export.detail, _line_values(line, probe, profile))
        except ValueError as exc:
            plan.problems.append(Problem.error(unit.source, f"房号 {unit.room} 不能写入托收盘：{exc}，未列入"))
            plan.rejected.append(unit.room)
            continue
        bills = tuple(c.charge.bill_no for c in owing)
        plan.debits.append(BankDebit(batch_id, line.seq, unit.room, amount, OPEN, number, name, bills,
                                     source=Source(schema.BANK_DEBITS)))
    if plan.debits:
        total = sum((d.amount for d in plan.debits), ZERO)
        plan.batch = BankBatch(batch_id, profile.id, as_of, len(plan.debits), total, OPEN, period,
                               note=f"{profile.name}" + ("，含违约金" if include_fee else ""),
                               source=Source(schema.BANK_BATCHES))
    return plan


def export_batch(ledger: Ledger, period: Period, profile: BankProfile, as_of: dt.date,
                 batch_id: Optional[str] = None) -> tuple[bytes, Changes]:
    """The 托收盘 bytes and the changes that record the batch (empty bytes when nobody is to be debited)."""
    changes = Changes("托收盘")
    blocked = _unreadable_bank_rows(ledger)
    if blocked:
        changes.problems = blocked
        changes.summary.append("“托收批次”或“托收明细”有无法读取的行，改写这两张表会丢失它们；请先修正（本次未生成托收盘）")
        return b"", changes
    plan = plan_batch(ledger, period, profile, as_of, batch_id)
    problems = list(ledger.problems) + plan.problems
    changes.problems = problems
    if plan.batch is None:
        changes.summary.append(f"{period} 没有需要托收的房屋（托收=是且有欠费），未生成托收盘")
        if plan.problems:
            changes.replace[schema.PROBLEMS] = problems_sheet(problems)
        return b"", changes
    batch = plan.batch
    merchant = ledger.settings.get("托收单位代码", "") or profile.merchant_no
    memo = profile.memo.format(period=period, batch=batch.batch_id)
    lines = tuple(DebitLine(d.seq, d.account_no, d.amount, d.account_name, d.room, memo) for d in plan.debits)
    data = render_file(profile, BankFile(batch.batch_id, as_of, batch.rows, batch.total, lines, merchant))
    changes.replace[schema.BANK_BATCHES] = batches_sheet(list(ledger.bank_batches) + [batch])
    changes.replace[schema.BANK_DEBITS] = debits_sheet(list(ledger.bank_debits) + plan.debits)
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    bad = plan.rejected
    changes.audit.append({"操作": f"托收盘 {batch.batch_id}", "数量": batch.rows,
                          "说明": f"{profile.name}；{period}；{batch.rows} 笔，合计 {batch.total:.2f} 元；"
                                  f"账号问题 {len(bad)} 户；待回盘户跳过 {len(plan.skipped_locked)} 户"})
    changes.summary.append(f"托收批次 {batch.batch_id}（{profile.name}）：{batch.rows} 笔，合计 {batch.total:,.2f} 元，"
                           f"状态 待回盘；这些房屋的账单在回盘前已锁定")
    if bad:
        changes.summary.append(f"未列入（银行账号等问题，见“问题”表）：{len(bad)} 户：" +
                               "、".join(bad[:10]) + ("……" if len(bad) > 10 else ""))
    if plan.skipped_locked:
        changes.summary.append(f"已在待回盘批次中、本批次不含：{len(plan.skipped_locked)} 户")
    return data, changes


# --------------------------------------------------------------------------- import


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refuse(changes: Changes, messages: list[str], head: str) -> Changes:
    changes.problems.extend(Problem.error(RETURN_SOURCE, m) for m in messages)
    changes.summary.append(f"{head}，回盘未导入，工作簿未改动：")
    changes.summary.extend(f"  {m}" for m in messages[:30])
    if len(messages) > 30:
        changes.summary.append(f"  …… 另有 {len(messages) - 30} 处")
    return changes


def reconcile(batch: BankBatch, debits: dict[int, BankDebit], f: BankFile, profile: BankProfile) -> list[str]:
    """Every difference between a 回盘 and its batch (empty when they agree)."""
    diffs = []
    if f.count != batch.rows:
        diffs.append(f"笔数：回盘 {f.count}，批次 {batch.rows}")
    if f.total != batch.total:
        diffs.append(f"总金额：回盘 {f.total:.2f}，批次 {batch.total:.2f}")
    seen: Counter = Counter(line.seq for line in f.lines)
    for seq, n in sorted(seen.items()):
        if n > 1:
            diffs.append(f"序号 {seq} 在回盘中出现 {n} 次")
    known = set(profile.success_codes) | {code for code, _ in profile.result_codes}
    for line in f.lines:
        where = f"第 {line.line_no} 行（序号 {line.seq}）"
        debit = debits.get(line.seq)
        if debit is None:
            diffs.append(f"{where}账号 {_mask_account(line.account)} 不在批次 {batch.batch_id} 中")
            continue
        if line.account != debit.account_no:
            diffs.append(f"{where}账号 {_mask_account(line.account)} 与批次中的 {_mask_account(debit.account_no)} 不符")
        if line.amount != debit.amount:
            diffs.append(f"{where}金额 {line.amount:.2f} 与批次中的 {debit.amount:.2f} 不符")
        if profile.returns.has("room") and line.room and line.room != debit.room:
            diffs.append(f"{where}用户编号 {line.room} 与批次中的房号 {debit.room} 不符")
        if line.result not in known:
            diffs.append(f"{where}处理结果代码“{line.result}”不在银行方案“{profile.id}”中")
    missing = sorted(set(debits) - set(seen))
    if missing:
        shown = "、".join(str(s) for s in missing[:20]) + ("……" if len(missing) > 20 else "")
        diffs.append(f"批次中有 {len(missing)} 笔不在回盘中：序号 {shown}")
    return diffs


def import_return(ledger: Ledger, data: bytes, profile: BankProfile, as_of: dt.date,
                  existing_receipts: Iterable[str] = ()) -> Changes:
    """A 回盘's bytes → the changes that post it (nothing to write when it is refused or already in).

    ``existing_receipts``: every 收据号 in the 收款 sheet, including rows the
    parser could not read (so a generated number never collides).
    """
    changes = Changes("回盘导入")
    blocked = _unreadable_bank_rows(ledger)
    if blocked:
        changes.problems = blocked
        changes.summary.append("“托收批次”或“托收明细”有无法读取的行，改写这两张表会丢失它们；请先修正（回盘未导入）")
        return changes
    try:
        f = parse_file(profile, data, returned=True)
    except BankFileError as exc:
        return _refuse(changes, exc.messages, f"回盘文件无法按银行方案“{profile.id}”读取")
    digest = file_sha256(data)
    done = next((b for b in ledger.bank_batches if b.file_digest == digest), None)
    if done is not None:
        changes.summary.append(f"此回盘文件已于 {done.returned_on or '之前'} 导入（批次 {done.batch_id}），"
                               f"本次未入账任何款项，工作簿未改动")
        return changes
    batch = next((b for b in ledger.bank_batches if b.batch_id == f.batch_id), None)
    if batch is None:
        return _refuse(changes, [f"回盘的批次号“{f.batch_id}”不在“托收批次”表中"], "批次不符")
    if batch.status == VOID:
        return _refuse(changes, [f"批次 {batch.batch_id} 已作废"], "批次不符")
    debits = {d.seq: d for d in ledger.bank_debits if d.batch_id == batch.batch_id}
    diffs = reconcile(batch, debits, f, profile)
    if diffs:
        return _refuse(changes, diffs, f"回盘与托收批次 {batch.batch_id} 不符")

    day = f.date or as_of
    outcome = {}
    for line in f.lines:
        if line.result in profile.success_codes:
            outcome[line.seq] = (SUCCESS, "")
        else:
            outcome[line.seq] = (FAILURE, line.reason.strip() or profile.reason_for(line.result) or line.result)

    if batch.status == RETURNED:  # a re-sent file (other bytes) for a batch already in: match by 批次号+序号
        differ = [f"序号 {seq}：已入账“{debits[seq].result}{' ' + debits[seq].reason if debits[seq].reason else ''}”，"
                  f"此文件为“{res}{' ' + why if why else ''}”"
                  for seq, (res, why) in sorted(outcome.items())
                  if (debits[seq].result, debits[seq].reason if debits[seq].result == FAILURE else "") != (res, why)]
        if differ:
            return _refuse(changes, [f"批次 {batch.batch_id} 已于 {batch.returned_on} 回盘，此文件结果与已入账不一致"] + differ,
                           "重复回盘")
        changes.summary.append(f"批次 {batch.batch_id} 已于 {batch.returned_on} 回盘，此文件结果与已入账一致，"
                               f"本次未入账任何款项，工作簿未改动")
        return changes

    taken = set(existing_receipts) | {p.receipt_no for p in ledger.payments}
    clash = [receipt_for(batch.batch_id, s) for s, (res, _) in outcome.items()
             if res == SUCCESS and receipt_for(batch.batch_id, s) in taken]
    if clash:
        return _refuse(changes, [f"收据号 {'、'.join(clash[:10])} 已存在于“收款”表"], "收据号重复")

    payments, updated = [], {}
    for seq, (res, why) in sorted(outcome.items()):
        d = debits[seq]
        receipt = receipt_for(batch.batch_id, seq) if res == SUCCESS else ""
        updated[seq] = replace(d, result=res, reason=why, returned_on=day, receipt_no=receipt)
        if res == SUCCESS:
            payments.append({"收据号": receipt, "收款日期": day, "房号": d.room, "金额": d.amount, "渠道": CHANNEL,
                             "经办人": "银行托收", "托收批次": batch.batch_id,
                             "备注": f"回盘 {profile.id} 序号{seq}"})
    new_batch = replace(batch, status=RETURNED, returned_on=day, file_digest=digest)
    all_debits = [updated.get(d.seq, d) if d.batch_id == batch.batch_id else d for d in ledger.bank_debits]
    changes.append[schema.PAYMENTS] = payments
    changes.replace[schema.BANK_BATCHES] = batches_sheet(
        [new_batch if b.batch_id == batch.batch_id else b for b in ledger.bank_batches])
    changes.replace[schema.BANK_DEBITS] = debits_sheet(all_debits)
    ok = [u for u in updated.values() if u.result == SUCCESS]
    bad = [u for u in updated.values() if u.result == FAILURE]
    ok_total = sum((u.amount for u in ok), ZERO)
    bad_total = sum((u.amount for u in bad), ZERO)
    reasons = Counter(u.reason for u in bad)
    reason_text = "，".join(f"{r} {n}" for r, n in reasons.most_common())
    changes.audit.append({"操作": f"回盘导入 {batch.batch_id}", "数量": len(updated),
                          "说明": f"扣款日 {day:%Y-%m-%d}；成功 {len(ok)} 笔 {ok_total:.2f} 元；失败 {len(bad)} 笔 "
                                  f"{bad_total:.2f} 元（{reason_text or '无'}）；文件摘要 {digest[:16]}"})
    changes.summary.append(f"批次 {batch.batch_id} 回盘（扣款日 {day:%Y-%m-%d}）：成功 {len(ok)} 笔 {ok_total:,.2f} 元"
                           f"（已记入“收款”，渠道 托收），失败 {len(bad)} 笔 {bad_total:,.2f} 元"
                           + (f"（{reason_text}）" if bad else ""))
    if bad:
        changes.summary.append("托收失败（已记入“托收明细”，转入催缴）：" +
                               "；".join(f"{u.room} {u.amount:.2f} {u.reason}" for u in bad[:10]) +
                               ("……" if len(bad) > 10 else ""))
    changes.summary.append(f"批次已关闭（已回盘），{len(updated)} 户账单解锁")
    if day > as_of:
        changes.summary.append(f"注意：回盘扣款日 {day} 晚于截至日期 {as_of}")
    return changes


# --------------------------------------------------------------------------- the bank's side (tests, demo)


def simulate_return(profile: BankProfile, export_data: bytes, failures: dict[int, str],
                    debit_date: dt.date) -> bytes:
    """What the bank would send back for a 托收盘: every line succeeds except ``failures`` (序号 → result code)."""
    f = parse_file(profile, export_data, returned=False)
    success = profile.success_codes[0]
    lines = tuple(replace(line, result=failures.get(line.seq, success),
                          reason=profile.reason_for(failures[line.seq]) or "" if line.seq in failures else "")
                  for line in f.lines)
    ok = [line for line in lines if line.seq not in failures]
    return render_file(profile, replace(f, date=debit_date, lines=lines, success_count=len(ok),
                                        success_total=sum((x.amount for x in ok), ZERO)), returned=True)

"""Bank files (托收盘 and 回盘) as data: profiles, rendering and parsing (SPEC §6).

A profile (``bank_profiles/*.json``) describes one bank's file: kind (``csv``
or ``fixed`` width in bytes of the encoding), encoding, amount unit, the
fields of each line and the bank's result codes.  Bytes in, records out; the
ledger side (batches, locks, posting) is :mod:`xlwings_addin.jobs.bank`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..resources import resource_dirs
from .profiles import read_profile
from ..ledger.money import ZERO, MoneyError, to_money
from ..ledger.records import Source

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
    """Where profiles are looked up: the center's 模板/bank_profiles (or bank_profiles/) beside the workbook first, then the shipped ones."""
    return resource_dirs("bank_profiles", workbook)


def load_profile(name: str, workbook: Optional[Path] = None) -> BankProfile:
    """``--bank NAME``: a profile file stem (``csv_gbk``) or a path to a .json file."""
    data, stem = read_profile(name, profile_dirs(workbook), "银行方案", ProfileError)
    return profile_from_dict(data, stem)


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



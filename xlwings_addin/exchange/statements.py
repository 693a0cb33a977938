"""Payment-channel statements as data: WeChat Pay, Alipay and bank statements (issue 17).

A *statement profile* (``statement_profiles/<id>.json``, shipped: ``wechat``,
``alipay``, ``bank_csv``; a center's own beside its workbook win) describes
one channel's file, the way ``bank_profiles`` describe 托收盘/回盘:

``container``  ``text`` or ``zip`` (then ``member``: a regular expression the
               file inside the zip must match, e.g. Alipay's ``…_业务明细.csv``
               and not ``…_业务明细(汇总).csv``)
``encoding``   ``utf-8-sig`` (WeChat) or ``gbk`` (Alipay, most banks)
``strip``      characters stripped from the front of every field (WeChat
               prefixes each value with a backtick so Excel keeps it as text;
               Alipay pads with tabs)
``comment``    a line starting with this is a comment (Alipay ``#`` lines);
               comment lines may carry the summary (see ``summary``)
``columns``    column title → field: ``time`` (or ``date`` + ``clock``),
               ``trade_no`` (the channel's order number), ``merchant_no``,
               ``refund_no``, ``status``, ``amount``, ``refund_amount``,
               ``credit``, ``debit``, ``fee``, ``goods``, ``attach``, ``memo``
``kind``       how a row is a payment, a refund or other: ``{"column": field,
               "payment": [...], "refund": [...]}`` (WeChat ``交易状态``
               SUCCESS/REFUND, Alipay ``业务类型`` 交易/退款) or
               ``{"credit_debit": true}`` (a bank: money in is a payment,
               money out is "other" and not reconciled)
``payment_amount`` / ``refund_amount``  the field holding each kind's amount
               (taken without its sign: a refund is a positive amount refunded)
``end``        a line (regular expression) that must close the table (Alipay
               ``#---…业务明细列表结束``); a file without it is truncated
``summary``    the totals the file states, each checked against the rows:
               ``{"label", "title" | "pattern", "measure": "count"|"sum",
               "field", "rows": "all"|"payment"|"refund"|"other", "abs"}``.
               ``title`` reads the value under that title in the summary table
               after the rows (WeChat's ``总交易单数,应结订单总金额,…`` line and
               the line of values below it: ``summary_first`` names the title
               that starts it); ``pattern`` reads the named group ``value`` of
               a comment line (Alipay ``#交易合计：3笔，商家实收共3,000.00元``).

The WeChat merchant 交易账单 (bill type ALL, UTF-8 with BOM): a title line,
one line per SUCCESS payment and per REFUND (REFUND rows carry 应结订单金额
0.00, the refund in 退款金额 and a negative 手续费 — the fee returned), then
``总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额``
and its values: 总交易单数 counts every row, 应结订单总金额 = Σ 应结订单金额,
退款总金额 = Σ 退款金额, 手续费总金额 = Σ 手续费 (fees carry 5 decimals).

A file that does not add up, ends early, has another layout or another
encoding is refused whole (:class:`StatementError`, Chinese messages naming
the line) — the reconciliation never sees half a statement.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..ledger.money import ZERO, MoneyError, to_decimal, to_money
from ..resources import resource_dirs
from .profiles import read_profile

PAYMENT, REFUND, OTHER = "payment", "refund", "other"
FIELDS = ("time", "date", "clock", "trade_no", "merchant_no", "refund_no", "status", "amount", "refund_amount",
          "credit", "debit", "fee", "goods", "attach", "memo", "counterparty")
_MONEY = {"amount", "refund_amount", "credit", "debit"}
_ROWS = ("all", PAYMENT, REFUND, OTHER)


class StatementError(ValueError):
    """A statement refused whole; ``messages`` (Chinese) name the lines."""

    def __init__(self, messages):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("；".join(self.messages))


class StatementProfileError(ValueError):
    """A statement profile that cannot be used (Chinese message)."""


@dataclass(frozen=True)
class SummaryCheck:
    label: str
    measure: str  # count / sum
    rows: str = "all"
    field: str = ""
    title: str = ""
    pattern: str = ""
    absolute: bool = False


@dataclass(frozen=True)
class StatementProfile:
    id: str
    name: str
    channel: str  # the 收款 渠道 this statement settles (微信 / 支付宝 / 转账)
    source: str  # the 对账 来源 label
    container: str
    encoding: str
    columns: tuple[tuple[str, str], ...]
    kind: dict
    payment_amount: str
    refund_amount: str
    summary: tuple[SummaryCheck, ...]
    member: str = ""
    strip: str = ""
    comment: str = ""
    end: str = ""
    summary_first: str = ""
    time_formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S",)
    text_fields: tuple[str, ...] = ("goods", "attach", "memo")
    description: str = ""

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(t for t, _f in self.columns)


def profile_from_dict(data: dict, profile_id: str) -> StatementProfile:
    where = f"对账单方案“{profile_id}”"
    if not isinstance(data, dict):
        raise StatementProfileError(f"{where}应为 JSON 对象")
    container = data.get("container", "text")
    if container not in ("text", "zip"):
        raise StatementProfileError(f"{where}：container 应为 text 或 zip")
    encoding = data.get("encoding", "utf-8")
    try:
        "".encode(encoding)
    except LookupError:
        raise StatementProfileError(f"{where}：未知编码“{encoding}”") from None
    columns = data.get("columns") or {}
    if not isinstance(columns, dict) or not columns:
        raise StatementProfileError(f"{where}：缺少 columns（列标题 → 字段）")
    for title, name in columns.items():
        if name not in FIELDS:
            raise StatementProfileError(f"{where}：列“{title}”的字段“{name}”未知，可用：{'、'.join(FIELDS)}")
    fields = set(columns.values())
    if "time" not in fields and not {"date", "clock"} <= fields and "date" not in fields:
        raise StatementProfileError(f"{where}：须有 time 或 date 字段")
    if "trade_no" not in fields:
        raise StatementProfileError(f"{where}：须有 trade_no（交易单号）字段")
    kind = data.get("kind") or {}
    if not (kind.get("credit_debit") or (kind.get("column") in fields and kind.get("payment"))):
        raise StatementProfileError(f"{where}：kind 须为 {{\"column\", \"payment\", \"refund\"}} "
                                    f"或 {{\"credit_debit\": true}}")
    pay_amount = data.get("payment_amount", "credit" if kind.get("credit_debit") else "amount")
    refund_amount = data.get("refund_amount", pay_amount)
    for name in (pay_amount, refund_amount):
        if name not in fields:
            raise StatementProfileError(f"{where}：金额字段“{name}”不在 columns 中")
    checks = []
    for i, c in enumerate(data.get("summary") or []):
        measure = c.get("measure")
        rows = c.get("rows", "all")
        if measure not in ("count", "sum") or rows not in _ROWS or not (c.get("title") or c.get("pattern")):
            raise StatementProfileError(f"{where}：summary 第 {i + 1} 项应有 measure（count/sum）、rows、title 或 pattern")
        if measure == "sum" and c.get("field") not in fields:
            raise StatementProfileError(f"{where}：summary 第 {i + 1} 项的 field 不在 columns 中")
        if c.get("pattern"):
            try:
                if "value" not in re.compile(c["pattern"]).groupindex:
                    raise StatementProfileError(f"{where}：summary 第 {i + 1} 项的 pattern 须有 (?P<value>…)")
            except re.error as exc:
                raise StatementProfileError(f"{where}：summary 第 {i + 1} 项的 pattern 无效（{exc}）") from None
        checks.append(SummaryCheck(c.get("label") or c.get("title") or f"汇总{i + 1}", measure, rows,
                                   c.get("field", ""), c.get("title", ""), c.get("pattern", ""), bool(c.get("abs"))))
    if not checks:
        raise StatementProfileError(f"{where}：缺少 summary（用于核对文件完整性的汇总项）")
    if any(c.title for c in checks) and not data.get("summary_first"):
        raise StatementProfileError(f"{where}：按标题读取的汇总须有 summary_first（汇总标题行的第一个标题）")
    channel = data.get("channel", "转账")
    return StatementProfile(
        id=profile_id, name=data.get("名称") or data.get("name") or profile_id, channel=channel,
        source=data.get("source") or channel, container=container, encoding=encoding,
        columns=tuple(columns.items()), kind=dict(kind), payment_amount=pay_amount, refund_amount=refund_amount,
        summary=tuple(checks), member=data.get("member", ""), strip=data.get("strip", ""),
        comment=data.get("comment", ""), end=data.get("end", ""), summary_first=data.get("summary_first", ""),
        time_formats=tuple(data.get("time_formats") or ("%Y-%m-%d %H:%M:%S",)),
        text_fields=tuple(data.get("text_fields") or ("goods", "attach", "memo")),
        description=data.get("说明") or data.get("description") or "",
    )


def profile_dirs(workbook: Optional[Path] = None) -> list[Path]:
    """The center's 模板/statement_profiles (or statement_profiles/) beside the workbook first, then the shipped ones."""
    return resource_dirs("statement_profiles", workbook)


def load_profile(name: str, workbook: Optional[Path] = None) -> StatementProfile:
    """``wechat``, ``alipay``, a bank profile's stem, or a path to a .json file."""
    data, stem = read_profile(name, profile_dirs(workbook), "对账单方案", StatementProfileError)
    return profile_from_dict(data, stem)


# --------------------------------------------------------------------------- parsed statement


@dataclass(frozen=True)
class StatementRow:
    line_no: int
    kind: str  # payment / refund / other
    trade_no: str
    time: dt.datetime
    amount: Decimal  # positive: money received, or refunded
    fee: Decimal = ZERO
    merchant_no: str = ""
    refund_no: str = ""
    text: str = ""  # 商品名称 / 附加数据 / 备注, where a room may be named
    values: dict = field(default_factory=dict, compare=False, hash=False, repr=False)  # money fields as in the file

    @property
    def day(self) -> dt.date:
        return self.time.date()


@dataclass(frozen=True)
class Statement:
    profile: StatementProfile
    rows: tuple[StatementRow, ...]
    member: str = ""  # the file read inside a zip

    @property
    def fee_total(self) -> Decimal:
        return sum((r.fee for r in self.rows), ZERO)

    def of_kind(self, kind: str) -> list[StatementRow]:
        return [r for r in self.rows if r.kind == kind]

    @property
    def first_day(self) -> Optional[dt.date]:
        return min((r.day for r in self.rows), default=None)

    @property
    def last_day(self) -> Optional[dt.date]:
        return max((r.day for r in self.rows), default=None)


def _unzip(profile: StatementProfile, data: bytes) -> tuple[bytes, str]:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise StatementError(f"文件不是完整的 zip 压缩包（可能下载不完整）：{profile.name}应为下载得到的 .zip 文件，"
                             f"原样导入，不要解压另存") from None
    with z:
        names = []
        for info in z.infolist():
            # zip files made on Chinese Windows store GBK names without the UTF-8 flag
            name = info.filename
            if not info.flag_bits & 0x800:
                try:
                    name = name.encode("cp437").decode("gbk")
                except (UnicodeEncodeError, UnicodeDecodeError):
                    pass
            names.append((name, info))
        pattern = re.compile(profile.member) if profile.member else None
        chosen = [(n, i) for n, i in names if not i.is_dir() and (pattern is None or pattern.search(n))]
        if len(chosen) != 1:
            listed = "、".join(n for n, _ in names) or "（空）"
            what = "没有" if not chosen else f"有 {len(chosen)} 个"
            raise StatementError(f"压缩包中{what}符合“{profile.member}”的明细文件（包内：{listed}）")
        name, info = chosen[0]
        try:
            return z.read(info), name
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            raise StatementError(f"压缩包中的“{name}”无法读取，文件可能不完整：{exc}") from None


def _decode(profile: StatementProfile, data: bytes) -> str:
    enc = profile.encoding.lower().replace("-", "").replace("_", "")
    gb = enc in ("gbk", "gb2312", "gb18030", "cp936")
    if gb and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise StatementError(f"文件是 UTF-8 编码，但{profile.name}应为 {profile.encoding.upper()} 编码；"
                                 f"请使用下载的原始文件，不要用其他软件另存")
    try:
        return data.decode(profile.encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        if exc.end >= len(data) - 1 and ("unexpected end" in str(exc.reason) or "incomplete" in str(exc.reason)):
            raise StatementError(f"文件在第 {line} 行中途结束（半个汉字），文件不完整，可能被截断") from None
        hint = ""
        if not gb:
            try:
                data.decode("gbk")
                hint = "，文件看来是 GBK 编码"
            except UnicodeDecodeError:
                pass
        raise StatementError(f"文件第 {line} 行无法按 {profile.encoding.upper()} 解码{hint}："
                             f"不是{profile.name}的原始文件（编码不符）或文件已损坏") from None


def _cells(profile: StatementProfile, line: str) -> list[str]:
    cells = next(csv.reader([line]), [])
    return [c.strip().lstrip(profile.strip).strip() if profile.strip else c.strip() for c in cells]


def _parse_time(profile: StatementProfile, text: str, where: str) -> dt.datetime:
    text = " ".join(text.split())
    for fmt in profile.time_formats:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    example = dt.datetime(2026, 11, 21, 10, 5).strftime(profile.time_formats[0])
    raise StatementError(f"{where}交易时间“{text}”无法识别（应如 {example}）")


def _money(text: str, name: str, where: str, exact_cents: bool = True) -> Decimal:
    if text in ("", "-", "--"):
        return ZERO
    try:
        return to_money(text) if exact_cents else to_decimal(text)
    except MoneyError as exc:
        raise StatementError(f"{where}“{name}”{exc}") from None


def parse_statement(profile: StatementProfile, data: bytes) -> Statement:
    """The bytes of a statement → :class:`Statement`; raises :class:`StatementError` (nothing half-read)."""
    if not data.strip():
        raise StatementError("文件是空的")
    member = ""
    if profile.container == "zip":
        data, member = _unzip(profile, data)
    text = _decode(profile, data)
    lines = text.splitlines()
    titles = profile.titles
    fields = dict(profile.columns)

    # the table's title line: the first non-comment line holding every column title
    header_at, index = None, {}
    for n, line in enumerate(lines):
        if profile.comment and line.lstrip().startswith(profile.comment):
            continue
        cells = [unicodedata.normalize("NFKC", c) for c in _cells(profile, line.lstrip("\ufeff"))]
        wanted = [unicodedata.normalize("NFKC", t) for t in titles]
        if cells and all(t in cells for t in wanted):
            header_at = n
            index = {fields[t]: cells.index(w) for t, w in zip(titles, wanted)}
            width = len(cells)
            break
        if n >= 30:
            break
    if header_at is None:
        raise StatementError(f"前 {min(len(lines), 31)} 行中没有找到表头（应含 {'、'.join(titles[:6])}……）："
                             f"文件不是{profile.name}，或格式已变（未知格式）")

    rows: list[StatementRow] = []
    summary_titles: Optional[tuple[int, list[str]]] = None
    summary_values: Optional[tuple[int, list[str]]] = None
    comments: list[tuple[int, str]] = []
    ended = not profile.end
    end_re = re.compile(profile.end) if profile.end else None
    n = header_at + 1
    in_table = True
    while n < len(lines):
        line = lines[n]
        line_no = n + 1
        n += 1
        if not line.strip():
            continue
        if profile.comment and line.lstrip().startswith(profile.comment):
            comments.append((line_no, line.strip()))
            if end_re is not None and end_re.search(line.strip()):
                ended = True
                in_table = False
            continue
        cells = _cells(profile, line)
        if profile.summary_first and cells and cells[0] == profile.summary_first:
            summary_titles = (line_no, cells)
            in_table = False
            # the values line follows
            while n < len(lines) and not lines[n].strip():
                n += 1
            if n < len(lines):
                summary_values = (n + 1, _cells(profile, lines[n]))
                n += 1
            continue
        if not in_table:
            raise StatementError(f"第 {line_no} 行在汇总之后还有内容（文件被改动或格式不符）")
        where = f"第 {line_no} 行"
        if len(cells) != width:
            raise StatementError(f"{where}有 {len(cells)} 个字段，应为 {width} 个（文件不完整或被改动）")
        value = {name: cells[i] for name, i in index.items()}
        rows.append(_row(profile, value, line_no, where))

    last = len(lines)
    if not ended:
        raise StatementError(f"文件在第 {last} 行结束，缺少表尾“{profile.end}”：文件不完整，可能被截断")
    if any(c.title for c in profile.summary):
        if summary_titles is None:
            raise StatementError(f"文件在第 {last} 行结束，缺少汇总行“{profile.summary_first}……”：文件不完整，可能被截断")
        if summary_values is None or len(summary_values[1]) != len(summary_titles[1]):
            raise StatementError(f"第 {summary_titles[0] + 1} 行汇总数值不完整：文件不完整，可能被截断")
    problems = []
    for check in profile.summary:
        if check.title:
            if check.title not in summary_titles[1]:
                raise StatementError(f"第 {summary_titles[0]} 行汇总标题中没有“{check.title}”（未知格式）")
            line_no = summary_values[0]
            stated_text = summary_values[1][summary_titles[1].index(check.title)]
        else:
            pattern = re.compile(check.pattern)
            found = next(((ln, m) for ln, c in comments for m in [pattern.search(c)] if m), None)
            if found is None:
                raise StatementError(f"文件在第 {last} 行结束，缺少汇总“{check.label}”：文件不完整，可能被截断")
            line_no, m = found
            stated_text = m.group("value")
        try:
            stated = to_decimal(stated_text)
        except MoneyError as exc:
            raise StatementError(f"第 {line_no} 行汇总“{check.label}”{exc}") from None
        chosen = [r for r in rows if check.rows == "all" or r.kind == check.rows]
        if check.measure == "count":
            actual = Decimal(len(chosen))
            shown = (f"{stated.normalize():f}", f"{len(chosen)}")
        else:
            actual = sum((_field_value(r, check.field) for r in chosen), ZERO)
            shown = (f"{stated}", f"{actual}")
        if check.absolute:
            stated, actual = abs(stated), abs(actual)
        if stated != actual:
            problems.append(f"第 {line_no} 行汇总“{check.label}”为 {shown[0]}，明细合计为 {shown[1]}，不符"
                            f"（文件不完整或被改动）")
    if problems:
        raise StatementError(problems)
    return Statement(profile, tuple(rows), member)


def _field_value(row: StatementRow, name: str) -> Decimal:
    # sums are checked on the values as the file states them (signed), not on the row's positive amount
    if name == "fee":
        return row.fee
    return row.values.get(name, ZERO)


def _row(profile: StatementProfile, value: dict, line_no: int, where: str) -> StatementRow:
    if "time" in value:
        when = _parse_time(profile, value["time"], where)
    else:
        stamp = value.get("date", "") + (" " + value["clock"] if value.get("clock") else "")
        when = _parse_time(profile, stamp, where)
    kind_spec = profile.kind
    amounts = {name: _money(value[name], title, where) for title, name in profile.columns if name in _MONEY}
    if kind_spec.get("credit_debit"):
        kind = PAYMENT if amounts.get("credit", ZERO) > 0 else OTHER
    else:
        status = value.get(kind_spec["column"], "")
        if status in kind_spec.get("payment", ()):
            kind = PAYMENT
        elif status in kind_spec.get("refund", ()):
            kind = REFUND
        else:
            kind = OTHER
    name = profile.payment_amount if kind != REFUND else profile.refund_amount
    amount = abs(amounts.get(name, ZERO)) if kind != OTHER else abs(amounts.get(name, ZERO) or
                                                                    amounts.get("debit", ZERO))
    if kind != OTHER and amount == 0:
        raise StatementError(f"{where}金额为 0（文件被改动或格式不符）")
    fee = _money(value["fee"], "手续费", where, exact_cents=False) if "fee" in value else ZERO
    text = " ".join(value.get(f, "") for f in profile.text_fields if value.get(f))
    return StatementRow(line_no, kind, value.get("trade_no", ""), when, amount, fee, value.get("merchant_no", ""),
                        value.get("refund_no", ""), text, amounts)


# --------------------------------------------------------------------------- rooms named in a row's text


def room_named(text: str, rooms) -> tuple[str, list[str]]:
    """The one room ``text`` names (``'物业费 1-1-101'`` → ``'1-1-101'``), and every room it names.

    A room counts only as a whole token: ``1-1-101`` is not found inside ``11-1-1012``.
    Full-width characters are folded first.  Two different rooms named → no room.
    """
    if not text:
        return "", []
    folded = unicodedata.normalize("NFKC", text)
    found = []
    for room in sorted(rooms, key=len, reverse=True):
        if not room:
            continue
        for m in re.finditer(re.escape(room), folded):
            before = folded[m.start() - 1] if m.start() > 0 else ""
            after = folded[m.end()] if m.end() < len(folded) else ""
            if (before.isascii() and before.isalnum()) or before == "-" or \
                    (after.isascii() and after.isalnum()) or after == "-":
                continue
            found.append(room)
            break
    return (found[0] if len(found) == 1 else ""), found

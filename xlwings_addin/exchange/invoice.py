"""The 数电票 (全电发票) batch-issue workbook that the tax portal's 批量开票 imports (issue 17).

Two sheets, linked by 发票流水号 (our own serial, unique for ever: ``KP2026000001``):

* 发票基本信息 — one row per invoice: 发票流水号, 发票类型, 是否含税 (否: the
  detail amounts are tax-exclusive), 购方名称, 购方纳税识别号 (blank for a
  natural person), 备注, 合计金额, 合计税额, 价税合计;
* 发票明细信息 — one row per item of an invoice: 发票流水号, 项目名称,
  税收分类编码 (19 digits), 单位, 数量, 单价 (left blank: a service invoiced by
  amount), 金额, 税率, 税额.

Tax, per line, from the tax-inclusive amount the owner paid (含税)::

    金额 = 含税 ÷ (1 + 税率), rounded half-up to 0.01
    税额 = 含税 − 金额

so 金额 + 税额 of every line is exactly what was paid, and an invoice's
价税合计 = Σ 金额 + Σ 税额 = Σ 含税 (no rounding at the invoice level).
Example: 750.00 at 6% → 金额 750 ÷ 1.06 = 707.547… → 707.55, 税额 42.45.

备注 is limited to 200 units by the portal, a CJK (any non-ASCII) character
counting 3 and an ASCII character 1; a longer note is cut and ends with “…”.

A 红冲申请 sheet lists the invoices (or, for an invoice covering several
receipts, the receipt's part) to be red-flushed because their receipt was
reversed: the portal's 红字确认单 is filled from it by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

from ..ledger.money import CENT, ZERO, MoneyError, to_decimal

BASIC_SHEET = "发票基本信息"
DETAIL_SHEET = "发票明细信息"
RED_SHEET = "红冲申请"
BASIC_HEADERS = ("发票流水号", "发票类型", "是否含税", "购方名称", "购方纳税识别号", "备注", "合计金额", "合计税额", "价税合计")
DETAIL_HEADERS = ("发票流水号", "项目名称", "税收分类编码", "单位", "数量", "单价", "金额", "税率", "税额")
RED_HEADERS = ("红冲流水号", "原发票流水号", "原发票号码", "收据号", "冲销收据号", "房号", "红冲金额", "红冲税额",
               "红冲价税合计", "红冲原因")
NOTE_LIMIT = 200
TAX_CODE_DIGITS = 19


def split_tax(gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(金额, 税额) of a tax-inclusive amount: 金额 = gross ÷ (1+rate) half-up to 0.01, 税额 = gross − 金额."""
    net = (gross / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, gross - net


def note_units(text: str) -> int:
    """Length as the portal counts it: a non-ASCII (CJK) character 3, an ASCII character 1."""
    return sum(1 if ord(c) < 128 else 3 for c in text)


def fit_note(text: str, limit: int = NOTE_LIMIT) -> str:
    """``text`` within ``limit`` units; a cut note ends with “…” (itself 3 units)."""
    if note_units(text) <= limit:
        return text
    out, used = [], 3
    for c in text:
        w = 1 if ord(c) < 128 else 3
        if used + w > limit:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


@dataclass(frozen=True)
class InvoiceLine:
    name: str
    tax_code: str
    rate: Decimal
    gross: Decimal  # tax-inclusive amount paid

    @property
    def net(self) -> Decimal:
        return split_tax(self.gross, self.rate)[0]

    @property
    def tax(self) -> Decimal:
        return split_tax(self.gross, self.rate)[1]


@dataclass(frozen=True)
class Invoice:
    serial: str
    kind: str
    buyer: str
    lines: tuple[InvoiceLine, ...]
    note: str = ""
    buyer_tax_id: str = ""
    room: str = ""
    receipts: tuple[str, ...] = ()

    @property
    def net_total(self) -> Decimal:
        return sum((x.net for x in self.lines), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((x.tax for x in self.lines), ZERO)

    @property
    def gross_total(self) -> Decimal:
        """价税合计 = Σ 金额 + Σ 税额 (= Σ 含税)."""
        return self.net_total + self.tax_total


@dataclass(frozen=True)
class RedRequest:
    serial: str  # the 红冲 row's own 发票流水号 in 开票
    original_serial: str
    receipt: str
    reversal: str
    room: str
    gross: Decimal  # positive: the amount to red-flush
    tax: Decimal
    invoice_no: str = ""
    reason: str = ""


def merge_lines(lines) -> tuple[InvoiceLine, ...]:
    """Lines of the same 项目名称, code and rate as one (their 含税 amounts added), first-seen order."""
    merged: dict = {}
    for x in lines:
        key = (x.name, x.tax_code, x.rate)
        merged[key] = merged.get(key, ZERO) + x.gross
    return tuple(InvoiceLine(n, c, r, g) for (n, c, r), g in merged.items() if g)


@dataclass
class ImportFile:
    invoices: list = field(default_factory=list)
    reds: list = field(default_factory=list)

    def sheets(self) -> list[tuple[str, list, list, dict]]:
        """(sheet name, headers, rows, header → number format kind) of each sheet of the import file."""
        basic = [[i.serial, i.kind, "否", i.buyer, i.buyer_tax_id or None, fit_note(i.note), i.net_total,
                  i.tax_total, i.gross_total] for i in self.invoices]
        detail = [[i.serial, x.name, x.tax_code, None, None, None, x.net, x.rate, x.tax]
                  for i in self.invoices for x in i.lines]
        money = {"合计金额": "money", "合计税额": "money", "价税合计": "money", "金额": "money", "税额": "money",
                 "税率": "rate", "税收分类编码": "text", "发票流水号": "text"}
        out = [(BASIC_SHEET, list(BASIC_HEADERS), basic, dict(money)),
               (DETAIL_SHEET, list(DETAIL_HEADERS), detail, dict(money))]
        if self.reds:
            red_rows = [[r.serial, r.original_serial, r.invoice_no or None, r.receipt, r.reversal, r.room,
                         -(r.gross - r.tax), -r.tax, -r.gross, r.reason] for r in self.reds]
            out.append((RED_SHEET, list(RED_HEADERS), red_rows,
                        {"红冲金额": "money", "红冲税额": "money", "红冲价税合计": "money"}))
        return out


def parse_rate(text: str) -> Optional[Decimal]:
    """'6%' / '0.06' / 0.06 → Decimal('0.06'); None when not a rate between 0 and 1."""
    raw = str(text).strip()
    try:
        value = to_decimal(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
    except MoneyError:
        return None
    if value < 0 or value >= 1:
        return None
    return value.normalize() if value else ZERO

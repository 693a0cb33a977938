"""数电票 batch invoicing: which receipts, split by item, tracked in 开票 (issue 17).

* Invoiced: the 收款 receipts dated ``start``..``end`` (positive, not a
  reversal, not reversed, not 预存冲抵 — that money was invoiced when it was
  paid in) that have no 开票 row yet.  A receipt is never exported twice.
* One invoice per receipt, or — 参数 ``开票方式`` = ``按房屋按月`` — one per
  unit and calendar month (its receipts' lines merged by item).
* What a receipt paid, by item: the allocation (SPEC §4.2) of the receipt on
  its day — principal per 收费项目, the late fee it paid (line 违约金), what
  went to 预存 (line 预收<项目名称>).  违约金 and 预收 lines use the tax code
  and rate of the 参数 ``开票默认项目`` (a 项目编码; default: the first item
  with 计违约金 = 是, else the first item).
* 税收分类编码 (19 digits) and 税率 are the optional 收费项目 columns of the
  same names; a receipt touching an item without them is left out with a
  问题 naming the cell (the export goes on for the others).
* Tax per line: 金额 = 含税 ÷ (1+税率) rounded half-up to 0.01, 税额 = 含税 −
  金额 (see :mod:`xlwings_addin.exchange.invoice`).
* 开票 gets one row per receipt: 收据号, 发票流水号, 日期, 状态 待开 (the clerk
  types 已开 and the 发票号码 once the portal issued it), 房号, 价税合计, 税额
  (the receipt's own part).  A receipt reversed after it was invoiced (状态
  待开 or 已开) becomes a 红冲申请 in the next export and gets a 开票 row
  状态 已红冲 (negative amounts), so it is requested once.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Optional

from ..exchange.invoice import TAX_CODE_DIGITS, ImportFile, Invoice, InvoiceLine, RedRequest, merge_lines, parse_rate
from ..ledger import schema
from ..ledger.money import ZERO, MoneyError, to_money
from ..ledger.records import ERROR, Ledger, Payment, Problem, Source
from ..workbook.parse import BadCell, SheetParser
from ..workbook.writer import SheetOutput
from .ledger import Changes
from .receipts import next_receipt_no, payment_effect

PER_RECEIPT, PER_UNIT_MONTH = "每张收据", "按房屋按月"
PENDING, ISSUED, RED = schema.INVOICE_STATUSES
NOT_INVOICED_CHANNELS = ("预存冲抵",)


@dataclass(frozen=True)
class TaxInfo:
    code: str
    rate: Decimal


@dataclass(frozen=True)
class InvoiceMark:
    """A row of 开票."""

    receipt: str
    serial: str
    day: Optional[dt.date]
    status: str
    gross: Optional[Decimal] = None
    tax: Optional[Decimal] = None
    invoice_no: str = ""
    source: Source = Source(schema.INVOICING)


def read_tax_info(raw: dict, problems: list) -> dict[str, TaxInfo]:
    """项目编码 → 税收分类编码 and 税率 from the 收费项目 sheet as typed (bad cells → 问题, item left out)."""
    out = {}
    for row in SheetParser(raw, []).rows(schema.ITEMS):
        code = row.text("项目编码")
        if not code:
            continue
        tax_code = re.sub(r"\s", "", row.text("税收分类编码"))
        rate_text = row.text("税率")
        if not tax_code and not rate_text:
            continue
        if not re.fullmatch(rf"\d{{{TAX_CODE_DIGITS}}}", tax_code):
            problems.append(Problem.error(row.source("税收分类编码"),
                                          f"项目“{code}”的税收分类编码“{tax_code}”应为 {TAX_CODE_DIGITS} 位数字"))
            continue
        raw_rate = row.raw("税率")
        rate = parse_rate(raw_rate if raw_rate is not None else "")
        if rate is None:
            problems.append(Problem.error(row.source("税率"), f"项目“{code}”的税率“{rate_text}”无效（应如 6% 或 0.06）"))
            continue
        out[code] = TaxInfo(tax_code, rate)
    return out


def read_marks(raw: dict, problems: list) -> list[InvoiceMark]:
    """The 开票 rows; a row that cannot be read is an error (the export then refuses)."""
    marks = []
    for row in SheetParser(raw, problems).rows(schema.INVOICING):
        if all(row.blank(h) for h in ("收据号", "发票流水号", "状态")):
            continue
        try:
            day = row.date("日期", required=False)
        except BadCell as exc:
            problems.append(Problem.error(row.source("日期"), f"{exc}"))
            continue
        receipt, serial, status = row.text("收据号"), row.text("发票流水号"), row.text("状态")
        if not receipt or not serial or status not in schema.INVOICE_STATUSES:
            problems.append(Problem.error(row.source("状态" if receipt and serial else "收据号"),
                                          f"开票行应有收据号、发票流水号，状态为 {'/'.join(schema.INVOICE_STATUSES)} 之一"))
            continue
        amounts = []
        for header in ("价税合计", "税额"):
            try:
                amounts.append(to_money(row.raw(header)) if not row.blank(header) else None)
            except MoneyError:
                amounts.append(None)
        marks.append(InvoiceMark(receipt, serial, day, status, amounts[0], amounts[1], row.text("发票号码"),
                                 row.source("收据号")))
    return marks


def receipt_lines(ledger: Ledger, payment: Payment, taxes: dict[str, TaxInfo], default_item) -> list[InvoiceLine]:
    """What ``payment`` paid, as tax-inclusive lines per item (raises KeyError(item code) when untaxed)."""
    others = tuple(p for p in ledger.payments
                   if p.receipt_no != payment.receipt_no and p.reverses != payment.receipt_no)
    effect = payment_effect(replace(ledger, payments=others), payment)
    items = ledger.item_by_code()
    bills = {c.bill_no: c for c in ledger.charges if c.room == payment.room}
    lines = []
    for x in effect.lines:
        code = bills[x.bill_no].item_code
        if code not in taxes:
            raise KeyError(code)
        lines.append(InvoiceLine(items[code].name if code in items else x.item, taxes[code].code,
                                 taxes[code].rate, x.amount))
    rest = payment.amount - sum((x.amount for x in effect.lines), ZERO)
    fee = min(effect.fee_paid, rest)
    for name, amount in (("违约金", fee), (f"预收{default_item.name if default_item else ''}", rest - fee)):
        if amount <= 0:
            continue
        if default_item is None or default_item.code not in taxes:
            raise KeyError(default_item.code if default_item else "开票默认项目")
        info = taxes[default_item.code]
        lines.append(InvoiceLine(name, info.code, info.rate, amount))
    return lines


def _default_item(ledger: Ledger):
    code = ledger.settings.get("开票默认项目", "").strip()
    items = ledger.items
    if code:
        return ledger.item_by_code().get(code)
    return next((i for i in items if i.late_fee), items[0] if items else None)


def _tax_source(raw: dict, code: str) -> Source:
    """The 税收分类编码 cell of item ``code`` (the sheet alone when the item is not found)."""
    for row in SheetParser(raw, []).rows(schema.ITEMS):
        if row.text("项目编码") == code:
            return row.source("税收分类编码")
    return Source(schema.ITEMS)


def export_invoices(ledger: Ledger, start: dt.date, end: dt.date, as_of: dt.date, raw: dict
                    ) -> tuple[Optional[ImportFile], Changes]:
    """The import file's invoices and the 开票 rows to append.  ``raw``: the 收费项目 and 开票 sheets as read."""
    changes = Changes("数电票开票")
    problems: list[Problem] = []
    marks = read_marks(raw, problems)
    if problems:
        changes.problems = problems
        changes.summary.append("“开票”表有无法读取的行，可能导致重复开票；请先修正（本次未导出）")
        return None, changes
    taxes = read_tax_info(raw, problems)
    unreadable = [p for p in ledger.problems if p.level == ERROR and p.sheet == schema.PAYMENTS]
    if unreadable:
        problems.extend(unreadable)
    mode = ledger.settings.get("开票方式", PER_RECEIPT).strip() or PER_RECEIPT
    if mode not in (PER_RECEIPT, PER_UNIT_MONTH):
        problems.append(Problem.error(Source(schema.PARAMS), f"参数“开票方式”应为 {PER_RECEIPT} 或 {PER_UNIT_MONTH}，"
                                                             f"实为“{mode}”，按{PER_RECEIPT}处理"))
        mode = PER_RECEIPT
    kind = ledger.settings.get("发票类型", "普通发票").strip() or "普通发票"
    default_item = _default_item(ledger)
    units = ledger.unit_by_room()
    by_receipt = {m.receipt: m for m in marks}
    reversals = {p.reverses: p for p in ledger.payments if p.reverses}
    taken = [m.serial for m in marks]
    prefix = f"KP{as_of:%Y}"

    def next_serial() -> str:
        serial = next_receipt_no(taken, prefix)
        taken.append(serial)
        return serial

    # the receipts to invoice, with their lines
    chosen: list[tuple[Payment, list[InvoiceLine]]] = []
    skipped_reversed = 0
    for p in sorted(ledger.payments, key=lambda p: (p.paid_on, p.receipt_no)):
        if not (start <= p.paid_on <= end) or p.amount <= 0 or p.reverses or p.channel in NOT_INVOICED_CHANNELS:
            continue
        if p.receipt_no in by_receipt:
            continue
        if p.receipt_no in reversals:
            skipped_reversed += 1
            continue
        try:
            lines = receipt_lines(ledger, p, taxes, default_item)
        except KeyError as exc:
            code = exc.args[0]
            problems.append(Problem.error(_tax_source(raw, code),
                                          f"收据 {p.receipt_no}（{p.room}）含项目“{code}”，该项目未设置有效的税收分类编码和税率，"
                                          f"此收据未导出"))
            continue
        chosen.append((p, lines))

    # group into invoices
    groups: dict = {}
    for p, lines in chosen:
        key = p.receipt_no if mode == PER_RECEIPT else (p.room, p.paid_on.year, p.paid_on.month)
        groups.setdefault(key, []).append((p, lines))
    result = ImportFile()
    marks_out = []
    for key, members in groups.items():
        room = members[0][0].room
        unit = units.get(room)
        receipts = tuple(p.receipt_no for p, _ in members)
        serial = next_serial()
        lines = merge_lines(x for _, ls in members for x in ls)
        if mode == PER_RECEIPT:
            note = f"房号{room}；收据{receipts[0]}；收款日期{members[0][0].paid_on:%Y-%m-%d}"
        else:
            p0 = members[0][0]
            note = f"房号{room}；{p0.paid_on.year}年{p0.paid_on.month}月；收据{'、'.join(receipts)}"
        invoice = Invoice(serial, kind, unit.owner if unit else room, lines, note, room=room, receipts=receipts)
        result.invoices.append(invoice)
        for p, ls in members:
            own = merge_lines(ls)
            marks_out.append({"收据号": p.receipt_no, "发票流水号": serial, "日期": as_of, "状态": PENDING,
                              "房号": room, "价税合计": sum((x.gross for x in own), ZERO),
                              "税额": sum((x.tax for x in own), ZERO),
                              "备注": None if mode == PER_RECEIPT else f"{mode}，与 {len(members) - 1} 张收据合开"})

    # reversed receipts already invoiced → 红冲申请 (once: the 已红冲 row)
    red_done = {m.receipt for m in marks if m.status == RED}
    for m in marks:
        if m.status == RED or m.receipt in red_done or m.receipt not in reversals:
            continue
        red_done.add(m.receipt)
        rev = reversals[m.receipt]
        gross = m.gross if m.gross is not None else -rev.amount
        tax = m.tax if m.tax is not None else ZERO
        serial = next_serial()
        reason = f"收据 {m.receipt} 已于 {rev.paid_on:%Y-%m-%d} 冲销（{rev.receipt_no}）" + (
            "；该发票尚未标记已开，如未在平台开具，删除导入行即可" if m.status == PENDING else "")
        result.reds.append(RedRequest(serial, m.serial, m.receipt, rev.receipt_no, rev.room, gross, tax,
                                      m.invoice_no, reason))
        marks_out.append({"收据号": m.receipt, "发票流水号": serial, "日期": as_of, "状态": RED, "房号": rev.room,
                          "价税合计": -gross, "税额": -tax, "备注": f"红冲 原发票流水号 {m.serial}"})

    changes.problems = problems
    if marks_out:
        changes.append[schema.INVOICING] = marks_out
    total = sum((i.gross_total for i in result.invoices), ZERO)
    tax_total = sum((i.tax_total for i in result.invoices), ZERO)
    changes.summary.append(f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}（{mode}）：发票 {len(result.invoices)} 张，"
                           f"收据 {len(chosen)} 张，价税合计 {total:,.2f} 元，其中税额 {tax_total:,.2f} 元")
    if result.reds:
        changes.summary.append(f"红冲申请 {len(result.reds)} 张（收据已冲销）：" +
                               "、".join(f"{r.original_serial}（{r.receipt}）" for r in result.reds))
    already = sum(1 for p in ledger.payments if start <= p.paid_on <= end and p.receipt_no in by_receipt)
    if already:
        changes.summary.append(f"已开票（跳过，不重复导出）：{already} 张收据")
    if skipped_reversed:
        changes.summary.append(f"已冲销的收据不开票：{skipped_reversed} 张")
    if marks_out:
        changes.audit.append({"操作": f"数电票开票 {start:%Y-%m-%d}~{end:%Y-%m-%d}", "数量": len(result.invoices),
                              "说明": f"发票 {len(result.invoices)} 张，价税合计 {total:.2f} 元，税额 {tax_total:.2f} 元；"
                                      f"红冲申请 {len(result.reds)} 张"})
    if not result.invoices and not result.reds:
        return None, changes
    return result, changes


def import_sheets(result: ImportFile) -> list[SheetOutput]:
    return [SheetOutput(name, headers, rows, formats) for name, headers, rows, formats in result.sheets()]


def file_name(start: dt.date, end: dt.date, result: ImportFile) -> str:
    first = (result.invoices or result.reds)[0].serial
    return f"数电票批量开票_{start:%Y%m%d}-{end:%Y%m%d}_{first}.xlsx"

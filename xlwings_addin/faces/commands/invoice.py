"""``feebook invoice`` — the 数电票 批量开票 import workbook for a date range (glue over :mod:`xlwings_addin.jobs.invoice`).

    feebook invoice 收费大表.xlsx --from 2026-11-01 --to 2026-11-30 --out 开票 [--as-of 2026-12-01]

Writes ``<out>/数电票批量开票_<from>-<to>_<first serial>.xlsx`` and appends the 开票 rows
(状态 待开) so a receipt is never exported twice; receipts reversed since they were
invoiced become a 红冲申请 sheet in the same file.  Nothing to invoice: no file.
"""
from __future__ import annotations

from pathlib import Path

from ...jobs.invoice import export_invoices, file_name, import_sheets
from ...jobs.ledger import apply_to_file, load
from ...ledger import schema
from ...workbook.reader import read_workbook
from ...workbook.writer import publish_with_record, write_new_workbook
from ..cli import UsageError, add_as_of, as_of_arg, report, today, write_and_report


def invoice_inputs(path) -> dict:
    """The sheets the export reads as typed: 收费项目 (税收分类编码, 税率) and 开票."""
    return read_workbook(path, sheets=[schema.ITEMS, schema.INVOICING])


def cmd_invoice(args) -> int:
    if args.end < args.start:
        raise UsageError(f"--to {args.end} 早于 --from {args.start}")
    book = load(args.workbook)
    result, changes = export_invoices(book.ledger, args.start, args.end, args.as_of or today(),
                                      invoice_inputs(book.path))
    if result is None:
        return write_and_report(book, changes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / file_name(args.start, args.end, result)
    if target.exists():
        raise UsageError(f"文件“{target}”已存在，未覆盖")
    # the file first (under a temp name), then the 开票 rows, then the file appears
    publish_with_record(target, lambda tmp: write_new_workbook(tmp, import_sheets(result)),
                        lambda: apply_to_file(book, changes))
    print(f"已写入：{book.path}")
    print(f"批量开票文件：{target}（发票 {len(result.invoices)} 张，红冲申请 {len(result.reds)} 张）")
    return report(changes)


def register(subparsers) -> None:
    p = subparsers.add_parser("invoice", help="数电票批量开票：生成税务平台批量开票导入文件，记录“开票”表")
    p.add_argument("workbook")
    p.add_argument("--from", dest="start", type=as_of_arg, required=True, help="收款日期起 YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=as_of_arg, required=True, help="收款日期止 YYYY-MM-DD")
    p.add_argument("--out", required=True, help="导入文件的输出目录")
    add_as_of(p)
    p.set_defaults(func=cmd_invoice)

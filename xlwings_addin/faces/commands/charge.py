"""``feebook charge`` — a one-off 应收 row (来源 手工) with the next bill number.

    feebook charge 收费大表.xlsx --room 1-1-101 --item MJK --amount 50 [--date 2026-11-22]
                   [--period 2026Q4] [--due 2026-11-30] [--note 补办门禁卡]
"""
from __future__ import annotations

from ...jobs.charges import one_off_charge
from ...jobs.ledger import load
from ...ledger import schema
from ..cli import as_of_arg, period_arg, today, write_and_report
from .bank import sheet_layout


def raw_bill_numbers(path) -> list[str]:
    """Every 账单号 in 应收 as typed, including rows the parser skips."""
    return sheet_layout(path, schema.CHARGES, "账单号")[0]


def cmd_charge(args) -> int:
    book = load(args.workbook)
    changes = one_off_charge(book.ledger, args.room, args.item, args.amount, args.date or today(),
                             period=args.period, due=args.due, note=args.note or "",
                             existing_bill_nos=raw_bill_numbers(book.path), as_of=today(), force=args.force)
    return write_and_report(book, changes)


def register(subparsers) -> None:
    p = subparsers.add_parser("charge", help="临时收费：新增一行应收（来源 手工），自动取下一个账单号")
    p.add_argument("workbook")
    p.add_argument("--room", required=True, help="房号")
    p.add_argument("--item", required=True, help="项目编码（收费项目表中）")
    p.add_argument("--amount", required=True, help="金额（元，最多两位小数）")
    p.add_argument("--date", type=as_of_arg, default=None, help="收费日期（默认今天）")
    p.add_argument("--period", type=period_arg, default=None, help="期间（默认收费日期所在的计费周期）")
    p.add_argument("--due", type=as_of_arg, default=None, help="应缴日期（默认收费日期）")
    p.add_argument("--note", default="", help="说明（记入操作日志）")
    p.add_argument("--force", action="store_true",
                   help="按期计费的项目在本期尚未计费时也记入（计费时将跳过该户该项目）")
    p.set_defaults(func=cmd_charge)

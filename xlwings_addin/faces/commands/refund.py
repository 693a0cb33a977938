"""``feebook refund`` — pay 预存 back (收款 row of 渠道 退款, approver required).

    feebook refund 收费大表.xlsx --room 1-1-101 --amount 800 --approver 李经理 [--date …] [--reason 搬离]
"""
from __future__ import annotations

from ...jobs.ledger import load
from ...jobs.refunds import refund
from ..cli import as_of_arg, today, write_and_report
from .bank import receipt_numbers


def cmd_refund(args) -> int:
    book = load(args.workbook)
    changes = refund(book.ledger, args.room, args.amount, args.date or today(), approver=args.approver,
                     reason=args.reason or "", operator=args.operator or "",
                     existing_receipts=receipt_numbers(book), as_of=today())
    return write_and_report(book, changes)


def register(subparsers) -> None:
    p = subparsers.add_parser("refund", help="退预存：写入渠道为“退款”的收款行（需审批人，不超过预存余额）")
    p.add_argument("workbook")
    p.add_argument("--room", required=True, help="房号")
    p.add_argument("--amount", required=True, help="退款金额（元）")
    p.add_argument("--approver", required=True, help="审批人")
    p.add_argument("--date", type=as_of_arg, default=None, help="退款日期（默认今天）")
    p.add_argument("--reason", default="", help="原因（如 搬离、多缴）")
    p.add_argument("--operator", default="", help="经办人")
    p.set_defaults(func=cmd_refund)

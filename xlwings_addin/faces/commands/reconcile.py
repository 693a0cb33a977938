"""``feebook reconcile`` — a channel's statement against 收款 (glue over :mod:`xlwings_addin.jobs.reconcile`).

    feebook reconcile 收费大表.xlsx 微信账单_2026-11-21.csv --source wechat [--post] [--as-of 2026-11-22]
    feebook reconcile 收费大表.xlsx 2088…_20261121.csv.zip --source alipay
    feebook reconcile 收费大表.xlsx 交易明细.csv --source bank:bank_csv

A refused statement writes nothing (exit 1); an unknown source or profile is a usage error (exit 2).
"""
from __future__ import annotations

from pathlib import Path

from ...exchange.statements import StatementProfileError, load_profile
from ...jobs.ledger import load
from ...jobs.reconcile import reconcile_file, recorded_keys
from ...ledger import schema
from ...workbook.reader import read_workbook
from ..cli import UsageError, add_as_of, today, write_and_report
from .bank import receipt_numbers

SOURCES = {"wechat": "wechat", "weixin": "wechat", "微信": "wechat", "alipay": "alipay", "支付宝": "alipay"}


def profile_for(source: str, workbook=None):
    """``wechat`` / ``alipay`` / ``bank:PROFILE`` → the statement profile (UsageError when unknown)."""
    source = source.strip()
    if source.lower().startswith(("bank:", "银行:")):
        name = source.split(":", 1)[1].strip()
        if not name:
            raise UsageError("--source bank: 后应写银行对账单方案名，如 bank:bank_csv")
    elif source.lower() in SOURCES or source in SOURCES:
        name = SOURCES.get(source.lower(), SOURCES.get(source))
    else:
        raise UsageError(f"--source 应为 wechat、alipay 或 bank:方案名，实为“{source}”")
    try:
        return load_profile(name, Path(workbook) if workbook else None)
    except StatementProfileError as exc:
        raise UsageError(str(exc)) from None


def recorded_in(path):
    return recorded_keys(read_workbook(path, sheets=[schema.RECONCILIATION]).get(schema.RECONCILIATION))


def cmd_reconcile(args) -> int:
    profile = profile_for(args.source, args.workbook)
    path = Path(args.statement)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"无法读取对账单“{path}”：{exc.strerror or exc}") from None
    book = load(args.workbook)
    changes = reconcile_file(book.ledger, profile, data, args.as_of or today(), recorded=recorded_in(book.path),
                             post=args.post, existing_receipts=receipt_numbers(book))
    return write_and_report(book, changes)


def register(subparsers) -> None:
    p = subparsers.add_parser("reconcile", help="渠道对账：微信/支付宝/银行对账单与收款表核对，写入“对账”表")
    p.add_argument("workbook")
    p.add_argument("statement", help="对账单文件（微信交易账单 .csv、支付宝业务明细 .zip、银行交易明细）")
    p.add_argument("--source", required=True, help="wechat、alipay 或 bank:方案名（statement_profiles 中的文件名）")
    p.add_argument("--post", action="store_true", help="把“渠道有台账无”且能识别房号的款项记入收款表（退款只提示冲销，不执行）")
    add_as_of(p)
    p.set_defaults(func=cmd_reconcile)

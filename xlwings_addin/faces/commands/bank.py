"""``feebook bank export|import``, ``feebook receive``, ``feebook reverse`` — thin glue over
:mod:`xlwings_addin.jobs.bank` and :mod:`xlwings_addin.jobs.receipts` (read → pure function → write).

    feebook bank export 收费大表.xlsx --period 2026Q4 --bank csv_gbk --out 托收 [--as-of 2026-10-18]
    feebook bank import 收费大表.xlsx 回盘.csv --bank csv_gbk [--as-of 2026-10-25]
    feebook receive 收费大表.xlsx --room 1-1-101 --amount 1500 --channel 现金 [--period 2026Q4] [--date …]
                    [--operator 小张] [--receipt-no …] [--out 收据]
    feebook reverse 收费大表.xlsx --receipt SK2026000123 [--date …] [--reason 录错金额]

A refused import or receipt writes nothing (exit 1); a bank profile or file
that cannot be found is a usage error (exit 2).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

from ...documents.receipt import render_receipt
from ...jobs.bank import (
    ProfileError,
    export_batch,
    import_return,
    load_profile,
    simulate_return,
)
from ...jobs.ledger import apply_to_file, load
from ...jobs.receipts import FRONT_DESK_CHANNELS, receive, reverse
from ...ledger import schema
from ...ledger.periods import period_containing
from ...workbook.parse import clean_text
from ...workbook.reader import read_workbook
from ...workbook.writer import publish_with_record
from ..cli import (
    EXIT_PROBLEMS,
    UsageError,
    add_as_of,
    as_of_arg,
    period_arg,
    report,
    today,
    write_and_report,
)


def raw_receipt_numbers(path) -> list[str]:
    """Every 收据号 in the 收款 sheet as typed, including rows the parser skips (bad dates, duplicates…)."""
    return payments_layout(path)[0]


def receipt_numbers(book) -> list[str]:
    """Every 收据号 in the 收款 sheet (as :func:`raw_receipt_numbers`), from the loaded ledger when it can be.

    When no problem names the 收款 sheet, the load made a record (收款 or 退款) of every one of
    its rows (a row it skips is always a problem there), each with its 收据号 as typed: those are
    the numbers, and the sheet is not read a second time.  Otherwise it is read again, raw.
    """
    ledger = book.ledger
    if any(p.sheet == schema.PAYMENTS for p in ledger.problems):
        return raw_receipt_numbers(book.path)
    return [p.receipt_no for p in ledger.payments] + [p.receipt_no for p in ledger.refunds]


def payments_layout(path) -> tuple[list[str], list[str], Optional[int]]:
    """(every 收据号 as typed, the 收款 headers, the row a new receipt goes to) of the 收款 sheet."""
    return sheet_layout(path, schema.PAYMENTS, "收据号")


def sheet_layout(path, sheet_name: str, key: str) -> tuple[list[str], list[str], Optional[int]]:
    """(every ``key`` value as typed — rows the parser skips included, so a new number never repeats one —,
    the sheet's headers, the row a new row goes to) of one sheet."""
    sheet = read_workbook(path, sheets=[sheet_name]).get(sheet_name)
    if sheet is None:
        return [], [], None
    headers = [str(h or "") for h in sheet.headers]
    new_row = max((number for number, _ in sheet.rows), default=1) + 1
    if key not in headers:
        return [], headers, new_row
    col = headers.index(key)
    numbers = [clean_text(values[col]) for _, values in sheet.rows if col < len(values) and values[col] is not None]
    return numbers, headers, new_row


def _profile(args):
    try:
        return load_profile(args.bank, Path(args.workbook))
    except ProfileError as exc:
        raise UsageError(str(exc)) from None


def cmd_export(args) -> int:
    profile = _profile(args)
    book = load(args.workbook)
    from ..cli import unreadable
    blocked = unreadable(book, "托收盘")  # no bank file from a workbook that could not be fully read
    if blocked is not None:
        return report(blocked)
    data, changes = export_batch(book.ledger, args.period, profile, args.as_of or today())
    if not data:
        return write_and_report(book, changes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    batch_id = changes.replace[schema.BANK_BATCHES].rows[-1][0]
    target = out / f"托收盘_{batch_id}_{profile.id}{profile.suffix}"
    if target.exists():
        raise UsageError(f"文件“{target}”已存在，未覆盖")
    # the file is written first under a temp name, the batch recorded (bills locked), then the file appears
    publish_with_record(target, lambda tmp: tmp.write_bytes(data), lambda: apply_to_file(book, changes))
    print(f"已写入：{book.path}")
    print(f"托收盘文件：{target}（{profile.encoding.upper()}，{len(data)} 字节）")
    return report(changes)


def cmd_import(args) -> int:
    profile = _profile(args)
    path = Path(args.return_file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"无法读取回盘文件“{path}”：{exc.strerror or exc}") from None
    book = load(args.workbook)
    changes = import_return(book.ledger, data, profile, args.as_of or today(), existing_receipts=receipt_numbers(book))
    return write_and_report(book, changes)


def cmd_receive(args) -> int:
    book = load(args.workbook)
    from ..cli import unreadable
    blocked = unreadable(book, "收款")  # no receipt for a payment that could not be recorded
    if blocked is not None:
        return report(blocked)
    numbers, headers, new_row = payments_layout(book.path)
    changes, context = receive(book.ledger, args.room, args.amount, args.channel, args.date or today(),
                               as_of=today(), period=args.period, operator=args.operator or "",
                               receipt_no=args.receipt_no or "", note=args.note or "", existing_receipts=numbers,
                               new_row=new_row, headers=headers)
    if context is None:
        return report(changes)
    code = write_and_report(book, changes)
    out = Path(args.out) if args.out else book.path.parent / "收据"
    try:
        print(f"收据：{render_receipt(context, out, workbook=book.path)}")
    except (OSError, FileNotFoundError) as exc:  # the payment is recorded; the print can be redone
        print(f"收款已记录，但收据文件未生成：{exc}")
        return EXIT_PROBLEMS
    return code


def cmd_reverse(args) -> int:
    book = load(args.workbook)
    changes = reverse(book.ledger, args.receipt, args.date or today(), as_of=today(), reason=args.reason or "",
                      operator=args.operator or "", existing_receipts=receipt_numbers(book))
    return write_and_report(book, changes)


def register(subparsers) -> None:
    p = subparsers.add_parser("bank", help="银行托收：生成托收盘、导入回盘")
    sub = p.add_subparsers(dest="bank_command", metavar="操作")
    sub.required = True

    e = sub.add_parser("export", help="生成托收盘（托收=是且有欠费的房屋），记录托收批次并锁定账单")
    e.add_argument("workbook")
    e.add_argument("--period", type=period_arg, required=True, help="期间，如 2026Q4（含此前各期欠费）")
    e.add_argument("--bank", required=True, help="银行方案，如 csv_gbk、fixed_gbk，或 .json 文件路径")
    e.add_argument("--out", required=True, help="托收盘文件的输出目录")
    add_as_of(e)
    e.set_defaults(func=cmd_export)

    i = sub.add_parser("import", help="导入回盘：成功记入收款，失败记录原因（转入催缴），批次关闭并解锁")
    i.add_argument("workbook")
    i.add_argument("return_file", help="银行回盘文件")
    i.add_argument("--bank", required=True, help="银行方案（与生成托收盘时相同）")
    add_as_of(i)
    i.set_defaults(func=cmd_import)

    r = subparsers.add_parser("receive", help="前台收款：记入收款表、打印收据、显示冲抵明细")
    r.add_argument("workbook")
    r.add_argument("--room", required=True, help="房号")
    r.add_argument("--amount", required=True, help="金额（元，最多两位小数）")
    r.add_argument("--channel", required=True, choices=FRONT_DESK_CHANNELS, help="收款渠道")
    r.add_argument("--period", type=period_arg, default=None, help="指定期间（先冲抵此期间）")
    r.add_argument("--date", type=as_of_arg, default=None, help="收款日期（默认今天）")
    r.add_argument("--operator", default="", help="经办人")
    r.add_argument("--receipt-no", default="", help="手工收据号（默认自动取下一个号）")
    r.add_argument("--note", default="", help="备注")
    r.add_argument("--out", default="", help="收据 docx 输出目录（默认工作簿旁的“收据”文件夹）")
    r.set_defaults(func=cmd_receive)

    v = subparsers.add_parser("reverse", help="冲销收据：写入冲销行（负数金额），原收据号不再使用")
    v.add_argument("workbook")
    v.add_argument("--receipt", required=True, help="要冲销的收据号")
    v.add_argument("--date", type=as_of_arg, default=None, help="冲销日期（默认今天）")
    v.add_argument("--reason", default="", help="冲销原因")
    v.add_argument("--operator", default="", help="经办人")
    v.set_defaults(func=cmd_reverse)


def demo_step(workbook_path, out_dir, as_of: dt.date) -> None:
    """Demo: 托收盘 for the current quarter → a 回盘 with two failures → import; one line printed."""
    profile = load_profile("csv_gbk")
    period = period_containing(as_of)
    book = load(workbook_path)
    data, changes = export_batch(book.ledger, period, profile, as_of)
    if not data:
        print(f"银行托收：{period} 没有需要托收的房屋")
        return
    apply_to_file(book, changes)
    folder = Path(out_dir) / "bank"
    folder.mkdir(parents=True, exist_ok=True)
    batch = changes.replace[schema.BANK_BATCHES].rows[-1]
    (folder / f"托收盘_{batch[0]}_{profile.id}{profile.suffix}").write_bytes(data)
    returned = simulate_return(profile, data, {1: "1001", 2: "1002"}, as_of)
    (folder / f"回盘_{batch[0]}_{profile.id}{profile.suffix}").write_bytes(returned)
    book = load(workbook_path)
    changes = import_return(book.ledger, returned, profile, as_of,
                            existing_receipts=receipt_numbers(book))
    if changes.writes:
        apply_to_file(book, changes)
    print(f"银行托收：{changes.summary[0]}；文件在 {folder}")


demo_step.before_refresh = True  # seed 004 step 12: 回盘 before 欠费明细

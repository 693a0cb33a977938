"""Commands: ``feebook dunning``, ``feebook export sms``, ``feebook schedule``, ``feebook hang-list``.

``export`` is a command group (``export sms`` today; another kind is one more
``add_parser`` on :data:`EXPORT_KINDS`' sub-subparser, see :func:`export_subparsers`).
"""
from __future__ import annotations

import sys
from pathlib import Path

EXPORT_GROUP = "_feebook_export_subparsers"


def _out_dir(args, workbook: Path) -> Path:
    return Path(args.out) if getattr(args, "out", None) else workbook.resolve().parent / "输出"


def cmd_dunning(args) -> int:
    from ..cli import today, write_and_report
    from ...jobs.dunning import job_dunning
    from ...jobs.ledger import load

    book = load(args.workbook)
    return write_and_report(book, job_dunning(book.ledger, args.as_of or today()))


def cmd_export_sms(args) -> int:
    from ..cli import report, today, unreadable
    from ...jobs.dunning import job_sms
    from ...jobs.ledger import apply_to_file, load
    from ...exchange.sms import sms_file_name, write_sms_csv
    from ...workbook.writer import check_not_open

    as_of = args.as_of or today()
    book = load(args.workbook)
    blocked = unreadable(book, "短信提醒")  # no SMS file from a workbook that could not be fully read
    if blocked is not None:
        return report(blocked)
    check_not_open(book.path)  # refuse before writing the file, so file and 操作日志 agree
    changes, export = job_sms(book.ledger, as_of)
    apply_to_file(book, changes)
    path = write_sms_csv(Path(args.out) / sms_file_name(as_of), export)
    print(f"已导出：{path}")
    return report(changes)


def cmd_hang_list(args) -> int:
    from ..cli import report, today, unreadable
    from ...jobs.dunning import job_hang_list, posting_sheet
    from ...jobs.ledger import apply_to_file, load
    from ...workbook.writer import check_not_open, write_new_workbook

    as_of = args.as_of or today()
    book = load(args.workbook)
    blocked = unreadable(book, "挂牌公示")
    if blocked is not None:
        return report(blocked)
    changes, hang = job_hang_list(book.ledger, as_of)
    for h in hang.waiting:
        print(f"  待审批：{h.room}（提议 {h.proposed_on:%Y-%m-%d}，欠费 {h.periods or ''} 期）")
    for room, why in hang.dropped:
        print(f"  不列入：{room}（{why}）")
    if hang.lines:
        check_not_open(book.path)
        out = Path(args.out) if args.out else book.path.resolve().parent / "输出"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"挂牌公示_{as_of:%Y-%m-%d}.xlsx"
        write_new_workbook(path, [posting_sheet(hang, as_of, book.ledger.settings.center,
                                                book.ledger.settings.hang_periods)])
        apply_to_file(book, changes)
        print(f"已导出：{path}")
    else:
        print("没有已审批且仍欠费的挂牌房屋，未导出（挂牌须服务中心负责人在“挂牌”表填写审批人）")
    return report(changes)


def cmd_schedule(args) -> int:
    from ..cli import UsageError, today
    from ..scheduler import FAILED, SKIPPED, build_scheduler, log_to, run_day, run_forever

    workbook = Path(args.workbook)
    if not workbook.exists():
        raise UsageError(f"找不到工作簿“{workbook}”")
    out = _out_dir(args, workbook)
    if args.as_of and not args.once:
        raise UsageError("--as-of 只能与 --once 一起使用")
    with log_to(out, sys.stderr):
        if args.once:
            day = args.as_of or today()
            outcomes = run_day(workbook, day, out)
            for o in outcomes:
                print(f"{o.job}：{o.status}" + (f"，{', '.join(str(f) for f in o.files)}" if o.files else "")
                      + (f"（{o.message}）" if o.status != "完成" else ""))
            if not outcomes:
                print(f"{day:%Y-%m-%d} 没有到期的任务")
            if outcomes and all(o.status == SKIPPED for o in outcomes):
                print("所有任务都因工作簿被占用而跳过，本次什么也没有做；请关闭工作簿后重新运行", file=sys.stderr)
                return 1
            return 1 if any(o.status == FAILED for o in outcomes) else 0
        scheduler = build_scheduler(workbook, out)
        print(f"调度已启动（Ctrl+C 退出），输出目录：{out}")
        for job in scheduler.get_jobs():
            print(f"  {', '.join(job.tags)} 下次检查：{job.next_run:%Y-%m-%d %H:%M}")
        run_forever(scheduler)
    return 0


def export_subparsers(subparsers):
    """The ``export`` group's sub-subparsers (created once; other modules may add kinds to it)."""
    existing = getattr(subparsers, EXPORT_GROUP, None)
    if existing is not None:
        return existing
    p = subparsers.add_parser("export", help="导出文件（短信提醒…）")
    kinds = p.add_subparsers(dest="export_kind", metavar="种类")
    kinds.required = True
    setattr(subparsers, EXPORT_GROUP, kinds)
    return kinds


def register(subparsers) -> None:
    from ..cli import add_as_of

    p = subparsers.add_parser("dunning", help="生成当天的催收任务（催收任务表），提议挂牌")
    p.add_argument("workbook")
    add_as_of(p)
    p.set_defaults(func=cmd_dunning)

    kinds = export_subparsers(subparsers)
    p = kinds.add_parser("sms", help="导出短信提醒 CSV（UTF-8 BOM，仅同意接收短信的手机）")
    p.add_argument("workbook")
    add_as_of(p)
    p.add_argument("--out", required=True, help="输出目录")
    p.set_defaults(func=cmd_export_sms)

    p = subparsers.add_parser("hang-list", help="挂牌：列出待审批提议，导出已审批的公示名单（房号＋姓氏）")
    p.add_argument("workbook")
    add_as_of(p)
    p.add_argument("--out", default=None, help="输出目录（默认工作簿旁的“输出”）")
    p.set_defaults(func=cmd_hang_list)

    p = subparsers.add_parser("schedule", help="按季度日历运行定时任务（短信提醒、欠费明细、催收任务、催收日报）")
    p.add_argument("workbook")
    p.add_argument("--once", action="store_true", help="只运行一天的任务后退出（配合 --as-of，用于计划任务/cron）")
    add_as_of(p)
    p.add_argument("--out", default=None, help="输出根目录（默认工作簿旁的“输出”），每天一个日期子目录")
    p.set_defaults(func=cmd_schedule)


def demo_step(workbook_path, out_dir, as_of) -> None:
    """``feebook demo``: 催收任务 into the workbook and an SMS reminder file into out_dir."""
    from ...jobs.dunning import dunning_changes, job_sms
    from ...jobs.ledger import apply_to_file, load
    from ...exchange.sms import sms_file_name, write_sms_csv

    book = load(workbook_path)
    changes, result = dunning_changes(book.ledger, as_of)
    apply_to_file(book, changes)
    print("  " + changes.summary[0])
    book = load(workbook_path)
    sms_changes, export = job_sms(book.ledger, as_of)
    apply_to_file(book, sms_changes)
    path = write_sms_csv(Path(out_dir) / sms_file_name(as_of), export)
    print(f"  短信提醒 {len(export.rows)} 条：{path}")

"""``feebook letters``: notices and demand letters from the Word templates in ``letters/``.

    feebook letters 收费大表.xlsx --kind 催缴函 --out 文书 [--period 2026Q4] [--building 3]
                    [--units 3-2-1501,3-2-1502] [--stage 律师函] [--pdf] [--as-of 2026-11-22]
                    [--operator 前台] [--installments 6]

One letter per unit (all its open periods), a merged print file, optional PDF
(LibreOffice).  Demand letters (催费通知单, 催缴函, 律师函) append a 催缴记录
row each (日期 = as_of, 经办人 = --operator); the same letters generated again
on the same day add no duplicate rows.  ``--stage`` picks the units that the
催收任务 sheet lists at that stage (read from the workbook file).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

from ...ledger import schema
from ...jobs.ledger import Changes, LoadedBook, apply_to_file, empty_ledger_hints, load
from ...documents.letters import RenderResult, TemplateRefused, render_letters
from ...documents.contexts import (CONTACT_LOG, DEFAULT_INSTALLMENTS, DEMAND, KINDS, NOTICE, contact_rows,
                               plan_letters)
from ...ledger.periods import Period, period_containing
from ...ledger.records import Ledger, Problem, Source
from ...workbook.reader import read_workbook

STAGES = ("提醒", "沟通", "跟进", "挂牌", "律师函", "诉讼")


def rooms_at_stage(path, stage: str) -> tuple[list[str], list[Problem]]:
    """房号 of the 催收任务 rows whose 阶段 is ``stage`` (a 阶段 like “律师函（待审批）” counts too)."""
    sheets = read_workbook(path, sheets=[schema.TASKS])
    raw = sheets.get(schema.TASKS)
    if raw is None:
        return [], [Problem.error(Source(schema.TASKS), "工作簿没有“催收任务”工作表，请先生成催收任务")]
    try:
        room_col, stage_col = raw.headers.index("房号"), raw.headers.index("阶段")
    except ValueError:
        return [], [Problem.error(Source(schema.TASKS, "1"), "“催收任务”表缺少“房号”或“阶段”列")]
    rooms = []
    for _row, values in raw.rows:
        room = values[room_col] if room_col < len(values) else None
        value = values[stage_col] if stage_col < len(values) else None
        if room is None or value is None:
            continue
        if str(value).strip().startswith(stage):
            rooms.append(str(room).strip())
    return list(dict.fromkeys(rooms)), []


def job_letters(ledger: Ledger, kind: str, as_of: dt.date, out_dir: Path, *, period: Optional[Period] = None,
                rooms=None, building: Optional[str] = None, operator: str = "前台",
                installments: int = DEFAULT_INSTALLMENTS, pdf: bool = False, merge: bool = True,
                record: bool = True, progress: Optional[bool] = None,
                template_dir: Optional[Path] = None, workbook: Optional[Path] = None,
                force: bool = False) -> tuple[Changes, RenderResult]:
    """Render the letters and return the 催缴记录 rows to append (as Changes) with the render result.

    Units on hold are skipped by demand letters (listed with the reason); ``force`` generates a named
    held unit's letter (or a 律师函 the ladder does not call for yet) and records it in 操作日志.
    """
    plan = plan_letters(ledger, kind, as_of, period=period, rooms=rooms, building=building,
                        installments=installments, force=force)
    changes = Changes(f"生成{kind}", problems=list(plan.problems))
    result = render_letters(kind, plan.letters, str(plan.period), out_dir, merge=merge, pdf=pdf,
                            progress=progress, template_dir=template_dir, workbook=workbook)
    changes.summary.append(f"{kind}（{plan.period}，截至 {as_of:%Y-%m-%d}）：生成 {len(result.files)} 份，"
                           f"跳过 {len(plan.skipped)} 户")
    changes.summary.extend(empty_ledger_hints(ledger))  # an empty ledger: say what to fill first
    if plan.skipped:
        reasons: dict[str, list[str]] = {}
        for room, reason in plan.skipped:
            reasons.setdefault(reason, []).append(room)
        for reason, skipped in reasons.items():
            shown = "、".join(skipped[:15]) + (f" 等 {len(skipped)} 户" if len(skipped) > 15 else "")
            changes.summary.append(f"  跳过（{reason}）：{shown}")
    for p in plan.problems:
        if p.sheet == "房屋" and "--force" in p.message:
            changes.summary.append("  " + p.message)
    if plan.forced:
        forced_rooms = [room for room, _ in plan.forced if any(room == r for r, _ in plan.letters)]
        if forced_rooms:
            changes.audit.append({"操作": f"强制生成{kind}（--force）", "数量": len(forced_rooms),
                                  "说明": "；".join(f"{room}：{why}" for room, why in plan.forced
                                                   if room in forced_rooms)[:500]})
            changes.summary.append(f"  已按 --force 生成 {len(forced_rooms)} 户（已记入操作日志）："
                                   + "、".join(forced_rooms))
    changes.summary.extend("  " + m for m in result.messages)
    if record and kind in CONTACT_LOG:
        rows, dupes = contact_rows(plan, ledger, operator)
        if rows:
            changes.append[schema.CONTACTS] = rows
            changes.audit.append({"操作": f"生成{kind}", "数量": len(rows),
                                  "说明": f"{plan.period} {kind} {len(result.files)} 份，记入催缴记录 {len(rows)} 行（结果 已生成）"})
        changes.summary.append(f"  催缴记录：新增 {len(rows)} 行（结果 已生成）" +
                               (f"，已记录过（同日同房号同方式）{dupes} 行未重复记入" if dupes else ""))
        changes.summary.append("  注意：已生成不等于已送达——送达后请在“催缴记录”登记 结果 已送达 及 送达凭证，"
                               "催缴流程和诉讼时效只认已送达的文书")
    return changes, result


def _rooms_arg(text: str) -> list[str]:
    return [r.strip() for r in text.replace("，", ",").split(",") if r.strip()]


def cmd_letters(args) -> int:
    from ..cli import UsageError, report, today, unreadable
    from ...workbook.writer import check_not_open, check_writable

    book: LoadedBook = load(args.workbook)
    as_of = args.as_of or today()
    if args.kind == NOTICE and args.period is None:
        args.period = period_containing(as_of, book.ledger.settings.cycle)
    rooms = _rooms_arg(args.units) if args.units else None
    stage_problems: list[Problem] = []
    if args.stage:
        stage_rooms, stage_problems = rooms_at_stage(book.path, args.stage)
        if stage_problems:
            changes = Changes(f"生成{args.kind}", problems=stage_problems)
            return report(changes)
        rooms = [r for r in stage_rooms if rooms is None or r in rooms]
    if args.installments < 1:
        raise UsageError("--installments 至少为 1")
    blocked = unreadable(book, f"生成{args.kind}")
    if blocked is not None:
        return report(blocked)
    if not args.no_record and args.kind in CONTACT_LOG:
        # the letters are recorded in 催缴记录: refuse before generating anything, not after
        check_not_open(book.path)
        check_writable(book.path)
    try:
        changes, _result = job_letters(book.ledger, args.kind, as_of, Path(args.out), period=args.period,
                                       rooms=rooms, building=args.building, operator=args.operator,
                                       installments=args.installments, pdf=args.pdf, merge=not args.no_merge,
                                       record=not args.no_record, workbook=book.path, force=args.force)
    except TemplateRefused as exc:
        print(f"模板被拒绝：{exc}")
        return 1
    if changes.writes:
        apply_to_file(book, changes)
        print(f"已写入：{book.path}")
    from ...jobs.ledger import company_problems

    for problem in company_problems(book.ledger):  # the letters print these: say so beside them
        print(f"注意：{problem.sheet}!{problem.cell} {problem.message}")
    return report(changes)


def register(subparsers) -> None:
    from ..cli import add_as_of, period_arg

    p = subparsers.add_parser("letters", help="生成收费通知单、催费通知单、催缴函、律师函、分期付款协议（Word/PDF）")
    p.add_argument("workbook")
    p.add_argument("--kind", required=True, choices=KINDS, help="文书种类")
    p.add_argument("--period", type=period_arg, default=None,
                   help="期间，如 2026Q4（收费通知单必填意义：通知哪一期；默认 截至日期所在期间）")
    p.add_argument("--building", default=None, help="只生成此楼栋")
    p.add_argument("--units", default=None, help="只生成这些房号（逗号分隔）")
    p.add_argument("--stage", choices=STAGES, default=None, help="只生成“催收任务”表中处于此阶段的房号")
    p.add_argument("--out", required=True, help="输出目录")
    p.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 转换为 PDF")
    p.add_argument("--operator", default="前台", help="催缴记录的经办人（默认 前台）")
    p.add_argument("--installments", type=int, default=DEFAULT_INSTALLMENTS,
                   help=f"分期付款协议：没有分期协议时拟定的期数（默认 {DEFAULT_INSTALLMENTS}）")
    p.add_argument("--no-merge", action="store_true", help="不生成合并打印文件")
    p.add_argument("--no-record", action="store_true", help="不写入催缴记录（例如仅预览）")
    p.add_argument("--force", action="store_true",
                   help="对 --units 点名的暂停催缴房号（或未达律师函条件的房号）仍生成文书；记入操作日志")
    add_as_of(p)
    p.set_defaults(func=cmd_letters)


def demo_step(workbook_path, out_dir, as_of) -> None:
    """``feebook demo``: 收费通知单 for a few units and one 催缴函 (the largest debt) into out_dir/letters."""
    from ...engine.aging import arrears_list
    from ...engine.allocation import allocate

    book = load(workbook_path)
    target = Path(out_dir) / "letters"
    period = period_containing(as_of, book.ledger.settings.cycle)
    rooms = [u.room for u in book.ledger.units[:3]]
    notices, result = job_letters(book.ledger, NOTICE, as_of, target, period=period, rooms=rooms, progress=False)
    from ...engine.dunning import dunning_tasks

    allocation = allocate(book.ledger, as_of)
    # a unit the ladder may chase: not on hold (a held unit gets no demand letter), owing principal
    free = {t.room for t in dunning_tasks(book.ledger, as_of, allocation).tasks if not t.held and not t.fee_only}
    owing = [a for a in arrears_list(book.ledger.units, allocation) if a.unit.room in free]
    demand_files = 0
    if owing:
        changes, demand = job_letters(book.ledger, DEMAND, as_of, target, period=period,
                                      rooms=[owing[0].unit.room], progress=False, merge=False)
        if changes.writes:
            apply_to_file(book, changes)
        demand_files = len(demand.files)
    print(f"文书：收费通知单 {len(result.files)} 份、催缴函 {demand_files} 份 → {target}")

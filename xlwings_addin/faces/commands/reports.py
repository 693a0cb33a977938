"""``feebook commission`` / ``feebook dashboard`` / ``feebook report``: the manager's figures.

- commission WB --quarter 2026Q4 --as-of DATE → the 佣金 sheet (and 问题 with rule warnings)
- dashboard WB --as-of DATE → 看板 (native charts) and 收缴率 with the 收缴率趋势 block
- report WB --quarter 2026Q4 --as-of DATE --out DIR [--pdf] → 催收总结报告 .docx (and .pdf)
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ...ledger import schema
from ...engine.allocation import allocate
from ...engine.commission import commission_rows, pct, quarter_totals
from ...engine.kpi import kpis, rates_and_trend, trend_rows
from ...engine.rates import collection_rates
from ...jobs.ledger import Changes, load, problems_sheet, rates_sheet
from ...ledger.periods import Period, period_containing
from ...ledger.records import Ledger
from ...workbook.writer import Note, SheetOutput

EXTRA = ["截至日期", "应收", "已收", "下一档下限", "建议房号欠费合计", "说明"]


def commission_sheet(rows) -> SheetOutput:
    spec = schema.OUTPUT_SHEETS[schema.COMMISSION]
    headers = list(spec.headers) + EXTRA
    formats = dict(spec.formats, **{"截至日期": "date", "应收": "money", "已收": "money", "下一档下限": "rate",
                                     "建议房号欠费合计": "money"})
    out = []
    totals = quarter_totals(rows)
    rows = list(rows)
    for i, r in enumerate(rows):
        wi = r.what_if
        out.append([
            r.assistant, str(r.quarter), r.month, r.rate, r.tier, r.amount,
            wi.needed if wi else None,
            "、".join(room for room, _b in wi.rooms) if wi else "",
            r.at, r.receivable, r.collected, wi.next_lower if wi else None,
            wi.rooms_total if wi else None, r.note,
        ])
        if i + 1 == len(rows) or rows[i + 1].assistant != r.assistant:
            out.append([r.assistant, str(r.quarter), None, None, "季度合计", totals[r.assistant],
                        None, "", r.at, None, None, None, None, f"{r.quarter} 截至 {r.at:%Y-%m-%d} 各月佣金之和"])
    out.append([])
    out.append(["说明：累计收缴率 = 本季度佣金考核项目（物业管理费）应收中截至各月末（或截至日期）已收回的本金"
                "（含减免、预存冲抵）/ 本季度应收；档位“以上”包括本数（80%、95% 属于上一档）；"
                "佣金 = 佣金规则金额公式，四舍五入到分；下一档所需金额 = 下一档下限 × 应收 − 已收（进位到分），"
                "建议催收房号按欠费从多到少，为达到该金额所需的最少户数"])
    return SheetOutput(spec.name, headers, out, formats)


def job_commission(ledger: Ledger, quarter: Period, as_of: dt.date) -> Changes:
    allocation = allocate(ledger, as_of)
    rows, warnings = commission_rows(ledger, allocation, quarter, as_of)
    problems = list(ledger.problems) + list(allocation.problems) + warnings
    changes = Changes("佣金", problems=problems)
    changes.replace[schema.COMMISSION] = commission_sheet(rows)
    changes.replace[schema.COMMISSION].as_of = as_of
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    changes.audit.append({"操作": f"佣金 {quarter} 截至{as_of:%Y-%m-%d}", "数量": len(rows),
                          "说明": f"佣金 {len(rows)} 行，规则警告 {len(warnings)} 个"})
    latest = {}
    for r in rows:
        latest[r.assistant] = r
    for r in latest.values():
        line = f"{r.assistant} {quarter} 第{r.month}月：累计收缴率 {pct(r.rate)}，档位 {r.tier}，佣金 " + (
            f"{r.amount:,.2f} 元" if r.amount is not None else "—")
        if r.what_if and r.what_if.reachable:
            line += f"；再收 {r.what_if.needed:,.2f} 元可达 {pct(r.what_if.next_lower, 0)}（{len(r.what_if.rooms)} 户）"
        changes.summary.append(line + f"；本季度合计 {quarter_totals(rows)[r.assistant]:,.2f} 元")
    if warnings:
        changes.summary.append(f"佣金规则/服务助理警告 {len(warnings)} 个（见“问题”工作表）")
    return changes


TREND = "收缴率趋势"


def rates_with_trend(ledger: Ledger, allocation, as_of: dt.date, rates=None) -> SheetOutput:
    """The 收缴率 sheet of ``job_run`` plus a note pointing at the 收缴率趋势 sheet.

    The trend rows live on their own sheet (:func:`trend_sheet`): in 收缴率 they repeated
    current rows (“2026Q4 全部” twice), so a SUMIFS over 期间/范围 counted them twice.
    ``rates``: ``collection_rates(ledger, allocation)`` when the caller has it (:func:`rates_and_trend`).
    """
    base = rates_sheet(collection_rates(ledger, allocation) if rates is None else rates, as_of)
    current = period_containing(as_of, ledger.settings.cycle)
    day_no = (as_of - current.start).days + 1
    rows = list(base.rows)
    rows.append([Note(f"收缴率趋势：近8期同日对比（各期第{day_no}天）见“{TREND}”工作表")])
    return SheetOutput(base.name, base.headers, rows, base.formats, as_of=as_of)


def trend_sheet(ledger: Ledger, allocation, as_of: dt.date, trend=None) -> SheetOutput:
    """收缴率趋势: the 收缴率 columns, one row per scope × period, each period as of the same day into it.

    ``trend``: the rows already computed (the 看板's :attr:`Kpis.trend`), else computed here.
    """
    base = rates_sheet([], as_of)
    current = period_containing(as_of, ledger.settings.cycle)
    day_no = (as_of - current.start).days + 1
    rows = []
    for r in (trend if trend is not None else trend_rows(ledger, allocation, as_of)):
        rows.append([str(r.period), r.scope, r.receivable, r.cash, r.waived, r.prepaid, r.current_rate,
                     r.current_rate_cash_only, r.arrears_rate, r.overall_rate, r.household_rate,
                     r.opening_arrears, r.arrears_collected, r.units_paid, r.units_billed, r.as_of])
    rows.append([])
    rows.append([Note(f"收缴率趋势：近8期同日对比（各期第{day_no}天，截至日期列为各期的同一天），"
                      f"范围：全部、各楼栋、各服务助理；本期数值与“收缴率”表相同，请勿与该表相加")])
    return SheetOutput(TREND, base.headers, rows, base.formats, as_of=as_of)


# ------------------------------------------------------------------ commands

def cmd_commission(args) -> int:
    from ..cli import today, write_and_report

    book = load(args.workbook)
    as_of = args.as_of or today()
    quarter = args.quarter or period_containing(as_of, "季度")
    if not quarter.is_quarter:
        from ..cli import UsageError
        raise UsageError("--quarter 应为季度，如 2026Q4")
    return write_and_report(book, job_commission(book.ledger, quarter, as_of))


def save_dashboard(book, as_of: dt.date):
    """看板 (charts), 收缴率 and 收缴率趋势 of ``book`` as of ``as_of``, in one write → (kpis, allocation)."""
    from ...jobs.dashboard import save_with_dashboard

    allocation = allocate(book.ledger, as_of)
    rates, trend = rates_and_trend(book.ledger, allocation, as_of)  # 收缴率 and its trend in one pass
    k = kpis(book.ledger, allocation, trend=trend)
    save_with_dashboard(book.path, k, replace={schema.RATES: rates_with_trend(book.ledger, allocation, as_of, rates),
                                               TREND: trend_sheet(book.ledger, allocation, as_of, k.trend)},
                        audit=[{"操作": f"看板 截至{as_of:%Y-%m-%d}", "数量": len(k.trend),
                                "说明": "看板 4 张图表；收缴率趋势 近8期同日对比"}],
                        expect_digest=book.digest)
    return k, allocation


def cmd_dashboard(args) -> int:
    from ..cli import report, today
    from ..cli import unreadable

    book = load(args.workbook)
    blocked = unreadable(book, "看板")  # the 看板 is written directly: no figures from an unreadable workbook
    if blocked is not None:
        return report(blocked)
    as_of = args.as_of or today()
    k, allocation = save_dashboard(book, as_of)
    changes = Changes("看板", problems=list(book.ledger.problems) + list(allocation.problems))
    print(f"已写入：{book.path}（看板 4 张图表，收缴率趋势 {len(k.trend)} 行）")
    r = k.center
    if r is not None:
        changes.summary.append(f"{k.period} 当期收缴率 {pct(r.current_rate)}，综合收缴率 {pct(r.overall_rate)}，"
                               f"线上缴费占比 {pct(k.online_share)}，平均缴费天数 {k.average_days}")
    return report(changes)


def cmd_report(args) -> int:
    from ..cli import today
    from ...documents.report import render_report
    from ..cli import report, unreadable

    book = load(args.workbook)
    blocked = unreadable(book, "催收总结报告")
    if blocked is not None:
        return report(blocked)
    as_of = args.as_of or today()
    quarter = args.quarter or period_containing(as_of, "季度")
    result = render_report(book.ledger, quarter, as_of, Path(args.out), pdf=args.pdf, workbook=book.path)
    print(f"催收总结报告：{result.docx}")
    if result.pdf:
        print(f"PDF：{result.pdf}")
    elif args.pdf:
        print("未生成 PDF：" + (result.pdf_problem or "LibreOffice 不可用"))
    for line in result.summary:
        print(line)
    return 0


def register(sub) -> None:
    from ..cli import add_as_of, period_arg

    p = sub.add_parser("commission", help="佣金：按服务助理计算本季度各月累计收缴率、档位、佣金和下一档所需金额，写入“佣金”表")
    p.add_argument("workbook")
    p.add_argument("--quarter", type=period_arg, default=None, help="季度，如 2026Q4（默认截至日期所在季度）")
    add_as_of(p)
    p.set_defaults(func=cmd_commission)

    p = sub.add_parser("dashboard", help="看板：收缴率趋势、账龄、楼栋欠费、收款渠道图表；“收缴率趋势”表写入近8期同日对比")
    p.add_argument("workbook")
    add_as_of(p)
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("report", help="生成季度催收总结报告（Word，可选 PDF）")
    p.add_argument("workbook")
    p.add_argument("--quarter", type=period_arg, default=None, help="季度，如 2026Q4（默认截至日期所在季度）")
    p.add_argument("--out", default=".", help="输出目录")
    p.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 转成 PDF")
    add_as_of(p)
    p.set_defaults(func=cmd_report)


def demo_step(workbook_path, out_dir, as_of) -> None:
    """Demo: 佣金 and 看板 into the workbook, the 催收总结报告 into out_dir."""
    from ...jobs.ledger import apply_to_file
    from ...documents.report import render_report

    book = load(workbook_path)
    quarter = period_containing(as_of, "季度")
    changes = job_commission(book.ledger, quarter, as_of)
    apply_to_file(book, changes)
    save_dashboard(load(workbook_path), as_of)
    result = render_report(book.ledger, quarter, as_of, Path(out_dir))
    print(f"佣金：{len(changes.replace[schema.COMMISSION].rows) - 2} 行；看板 4 张图表；催收总结报告：{result.docx.name}")

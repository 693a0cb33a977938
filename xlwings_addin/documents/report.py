"""The quarterly 催收总结报告 (seed 002) from ``letters/催收总结报告.docx`` (docxtpl), with charts.

:func:`report_context` builds a plain dict from the ledger (every "XX" of the
seed template becomes a real figure; owner names masked 张*); :func:`render_report`
draws the charts with matplotlib (Chinese labels in Noto Sans CJK found through
``matplotlib.font_manager``; when no CJK font exists the charts are left out
with a note, never drawn as boxes), renders the template and, with ``pdf=True``,
converts it with LibreOffice.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..resources import find_resource
from ..engine.aging import arrears_list, debtors as debtors_of
from ..engine.allocation import AllocationResult, allocate
from ..engine.kpi import (
    Kpis,
    NO_REASON,
    SUCCESS_DAYS,
    effective_payments,
    kpis,
    success_rate,
)
from ..ledger.money import ZERO
from ..ledger.periods import Period
from ..ledger.records import Ledger

TEMPLATE_NAME = "催收总结报告.docx"


def contact_days_text(ledger: Ledger) -> str:
    """When phone calls, intercom and visits happen, as the ladder schedules them (参数 周末联系, default 是)."""
    from ..engine.dunning import policy_from_settings

    policy, _ = policy_from_settings(ledger.settings)
    if policy.weekend_contact:
        return "电话、对讲、上门在工作日（含调休上班日）及普通周末，法定节假日不联系"
    return "电话、对讲、上门仅在工作日（含调休上班日）"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Droid Sans Fallback", "Noto Serif CJK SC")
NOTO_PATHS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc")
STAGE1 = ("短信", "电话", "对讲")
STAGE2 = ("上门", "催费通知单")
STAGE3 = ("挂牌", "律师函", "诉讼")


def template_path(workbook: Optional[Path] = None) -> Path:
    """The center's 模板/<报告模板> beside ``workbook`` when there is one, else the shipped one."""
    found = find_resource("letters", TEMPLATE_NAME, workbook)
    if found is None:
        raise FileNotFoundError(f"找不到报告模板 {TEMPLATE_NAME}（可运行 feebook templates 导出模板，或重新安装 feebook）")
    return found


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧*; blank stays blank."""
    name = (name or "").strip()
    return name[0] + "*" if name else ""


def pct(rate: Optional[Decimal]) -> str:
    return "—" if rate is None else f"{Decimal(rate) * 100:.2f}%"


def money(amount: Optional[Decimal]) -> str:
    return "—" if amount is None else f"{amount:,.2f}"


def wan(amount: Decimal) -> str:
    return f"{amount / 10000:.2f}"


def _share(n, d) -> Optional[Decimal]:
    return None if not d else Decimal(n) / Decimal(d)


def _change(now: Optional[Decimal], before: Optional[Decimal], up_word="提高", down_word="下降") -> str:
    if now is None or before is None:
        return "无可比数据"
    diff = (now - before) * 100
    if abs(diff) < Decimal("0.005"):
        return "持平"
    return f"{up_word if diff > 0 else down_word}了 {abs(diff):.2f} 个百分点"


# ------------------------------------------------------------------ figures


def _debtors(allocation: AllocationResult, period: Period, as_of: dt.date) -> tuple[set, set]:
    """Units owing at the period start (往期) or overdue on this period's bills; those cleared by as_of."""
    day_before = period.start - dt.timedelta(days=1)
    debtors, cleared = set(), set()
    for room, acc in allocation.accounts.items():
        owing_start = any(s.charge.payable_from <= day_before and s.charge.due_date <= day_before
                          and s.open_principal(day_before) > 0 for s in acc.charges)
        overdue_now = any(s.charge.period == period and s.charge.due_date < as_of
                          and s.settled(until=s.charge.due_date) < s.charge.amount for s in acc.charges)
        if owing_start or overdue_now:
            debtors.add(room)
            if not any(s.charge.due_date <= as_of and s.open > 0 for s in acc.charges):
                cleared.add(room)
    return debtors, cleared


def report_context(ledger: Ledger, quarter: Period, as_of: dt.date,
                   allocation: Optional[AllocationResult] = None) -> tuple[dict, Kpis]:
    """Every figure of the report as text (plus the KPIs, for the charts)."""
    allocation = allocation or allocate(ledger, as_of)
    t = min(as_of, quarter.end)
    k = kpis(ledger, allocation, quarter, as_of)
    settings = ledger.settings
    r = k.center
    start, end = quarter.start, t
    contacts = [c for c in ledger.contacts if start <= c.date <= end]
    first: dict[str, dt.date] = {}
    for c in contacts:
        first[c.room] = min(first.get(c.room, c.date), c.date)
    pays = [p for p in effective_payments(allocation) if p.channel != "预存冲抵" and p.amount > 0]
    recovered = sum((p.amount for p in pays if p.room in first and first[p.room] <= p.paid_on <= end), ZERO)

    def paid_within(room, d):
        return any(p.room == room and d <= p.paid_on <= d + dt.timedelta(days=SUCCESS_DAYS) for p in pays)

    stage1 = [c for c in contacts if c.method in STAGE1]
    stage2_first: dict[str, dt.date] = {}
    for c in contacts:
        if c.method in STAGE2:
            stage2_first[c.room] = min(stage2_first.get(c.room, c.date), c.date)
    stage2_paid = sum(1 for room, d in stage2_first.items() if paid_within(room, d))
    lines = arrears_list(ledger.units, allocation)
    owing = list(debtors_of(ledger.units, allocation, lines).owing)  # 欠费户: the one definition (engine.aging)
    stage3_rooms = {c.room for c in ledger.contacts if c.method in STAGE3 and c.date <= as_of}
    stage3 = [a for a in owing if a.unit.room in stage3_rooms]
    debtors, cleared = _debtors(allocation, quarter, as_of)

    # this period's unpaid part
    unpaid = (r.receivable - r.collected) if r else ZERO
    unpaid_rooms = {room for room, acc in allocation.accounts.items()
                    if any(s.charge.period == quarter and s.open_principal(t) > 0 for s in acc.charges)}
    overdue_rooms = {room for room, acc in allocation.accounts.items()
                     if any(s.charge.period == quarter and s.charge.due_date < t and s.open_principal(t) > 0
                            for s in acc.charges)}

    prev = quarter.previous()
    prev_success = success_rate(ledger, allocation, prev.start, prev.end, as_of)
    trend_center = k.center_trend()
    this_same = next((x for x in trend_center if x.period == quarter), None)
    prev_same = next((x for x in trend_center if x.period == prev), None)
    unpaid_now = None if this_same is None or this_same.current_rate is None else 1 - this_same.current_rate
    unpaid_prev = None if prev_same is None or prev_same.current_rate is None else 1 - prev_same.current_rate

    latest_reason: dict[str, str] = {}
    for c in sorted(ledger.contacts, key=lambda c: c.date):
        if c.reason and c.date <= as_of:
            latest_reason[c.room] = c.reason
    owing_units = sum(b.units for b in k.reasons)
    recorded = [b for b in k.reasons if b.label != NO_REASON]
    top_reason = (max(recorded, key=lambda b: (b.units, b.amount)).label if recorded else "未登记（催缴记录中没有欠费原因）")
    on_time, billed = k.on_time
    aging_total = sum(k.aging.values(), ZERO)
    arrears_total = sum((a.principal for a in owing), ZERO)
    late_fee_total = sum((a.late_fee for a in lines), ZERO)

    scope_rows = [{"scope": x.scope, "receivable": money(x.receivable), "rate": pct(x.current_rate),
                   "arrears_rate": pct(x.arrears_rate), "overall_rate": pct(x.overall_rate),
                   "household_rate": pct(x.household_rate)} for x in ([r] if r else []) + list(k.by_scope)]

    rate = r.current_rate if r else None
    issues, measures, targets = _issues_and_targets(ledger, k, owing, stage3, rate)
    ctx = {
        "company": settings.company, "center": settings.center,
        "period_label": quarter.label_cn, "period": str(quarter), "as_of": f"{as_of:%Y年%m月%d日}",
        "report_date": f"{as_of:%Y年%m月%d日}",
        "units_total": len(ledger.units), "units_billed": billed,
        "buildings_count": len({u.building for u in ledger.units if u.building}),
        "debtors_total": len(debtors), "debtors_cleared_pct": pct(_share(len(cleared), len(debtors))),
        "debtors_open_pct": pct(_share(len(debtors) - len(cleared), len(debtors))),
        "stage1_contacts": len(stage1), "stage1_units": len({c.room for c in stage1}),
        "stage2_units": len(stage2_first), "stage2_paid_pct": pct(_share(stage2_paid, len(stage2_first))),
        "stage3_units": len(stage3), "stage3_pct": pct(_share(len(stage3), len(owing))),
        "receivable": money(r.receivable if r else ZERO), "collected": money(r.collected if r else ZERO),
        "rate": pct(rate), "rate_cash": pct(r.current_rate_cash_only if r else None),
        "arrears_rate": pct(r.arrears_rate if r else None), "overall_rate": pct(r.overall_rate if r else None),
        "contacted_units": k.success.contacted, "contact_rows": k.success.contacts,
        "recovered_wan": wan(recovered), "succeeded_units": k.success.succeeded,
        "pending_units": k.success.pending, "success_rate": pct(k.success.rate),
        "prev_success_rate": pct(prev_success.rate), "success_change": _change(k.success.rate, prev_success.rate),
        "prev_unpaid_share": pct(unpaid_prev), "same_day_unpaid_share": pct(unpaid_now),
        "unpaid_change": _change(unpaid_now, unpaid_prev, "上升", "下降"),
        "on_time_units": on_time, "on_time_pct": pct(_share(on_time, billed)),
        "overdue_units": len(overdue_rooms),
        "unpaid": money(unpaid), "unpaid_wan": wan(unpaid), "unpaid_units": len(unpaid_rooms),
        "unpaid_share": pct(_share(unpaid, r.receivable if r else ZERO)),
        "arrears_total": money(arrears_total), "arrears_units": len(owing), "late_fee_total": money(late_fee_total),
        "top_reason": top_reason,
        "average_days": "—" if k.average_days is None else str(k.average_days),
        "online_share": pct(k.online_share),
        "window_rates": [{"label": w.label, "receivable": money(w.receivable), "collected": money(w.collected),
                          "rate": pct(w.rate), "rate_cash": pct(w.rate_cash_only)} for w in k.rates if w.receivable],
        "trend": [{"period": x.period.label_cn, "as_of": f"{x.as_of:%Y-%m-%d}", "rate": pct(x.current_rate),
                   "arrears_rate": pct(x.arrears_rate), "overall_rate": pct(x.overall_rate)} for x in trend_center],
        "top_debtors": [{"room": a.unit.room, "owner": mask_name(a.unit.owner), "periods": a.period_count,
                         "principal": money(a.principal), "bucket": a.bucket,
                         "reason": latest_reason.get(a.unit.room, NO_REASON)} for a in owing[:10]],
        "kpi_rows": [
            {"name": "当期收缴率", "value": pct(rate), "note": "（实收+减免+预存冲抵）÷应收"},
            {"name": "当期收缴率（不含减免及预存冲抵）", "value": pct(r.current_rate_cash_only if r else None),
             "note": "实收÷应收"},
            {"name": "清欠率", "value": pct(r.arrears_rate if r else None), "note": "期初以来收回的往期欠费÷期初欠费"},
            {"name": "综合收缴率", "value": pct(r.overall_rate if r else None), "note": "（当期收回+清欠）÷（应收+期初欠费）"},
            {"name": "平均缴费天数", "value": "—" if k.average_days is None else f"{k.average_days} 天",
             "note": "本期收到的款项，自应缴日期起按金额加权"},
            {"name": "线上缴费占比", "value": pct(k.online_share), "note": "微信、支付宝、转账、POS ÷ 全部收款（不含预存冲抵）"},
            {"name": "催收成功率", "value": pct(k.success.rate), "note": f"联系后{SUCCESS_DAYS}天内缴款"},
        ],
        "scope_rows": scope_rows,
        "reasons": [{"label": b.label, "units": b.units, "amount": money(b.amount),
                     "share": pct(_share(b.units, owing_units))} for b in k.reasons],
        "aging": [{"label": label, "amount": money(v), "share": pct(_share(v, aging_total))}
                  for label, v in k.aging.items()],
        "amounts": [{"label": b.label, "units": b.units, "amount": money(b.amount)} for b in k.amounts],
        "buildings": [{"label": b.label, "units": b.units, "amount": money(b.amount)} for b in k.buildings],
        "issues": issues, "measures": measures, "targets": targets,
    }
    ctx.update(_seed_sections(ledger, allocation, quarter, as_of, k, ctx, recovered=recovered, unpaid=unpaid,
                              success_prev=prev_success.rate, unpaid_now=unpaid_now, unpaid_prev=unpaid_prev,
                              owing=owing, stage1=stage1, stage2_first=stage2_first, debtors=debtors))
    return ctx, k


def _seed_sections(ledger: Ledger, allocation: AllocationResult, quarter: Period, as_of: dt.date, k: Kpis,
                   ctx: dict, *, recovered, unpaid, success_prev, unpaid_now, unpaid_prev, owing, stage1,
                   stage2_first, debtors) -> dict:
    """Seed 002's sections as sentences and tables.  A sentence whose figure is zero or has nothing to
    compare with is left out (never "0.00 万元", never "无可比数据")."""
    from ..engine.commission import commission_rows
    from ..engine.dunning import STAGES, dunning_tasks
    from ..engine.rates import assistant_rooms
    from .contexts import rate_cn

    s = ledger.settings
    r = k.center
    as_of_cn = ctx["as_of"]

    # 2.1 计算方式: the items as billed
    methods = {"面积": "按建筑面积", "固定": "按户（或车位）固定金额", "用量": "按表计用量", "公摊": "按实分摊"}
    fee_rows = []
    for item in ledger.items:
        price = "按实分摊" if item.method == "公摊" or item.unit_price is None else \
            f"{item.unit_price:.2f}{(item.unit_label or '元').replace('m2', '㎡')}"
        fee_rows.append({"name": item.name, "method": methods.get(item.method, item.method or "—"), "price": price})

    # 2.3 团队: each 服务助理, the buildings, the quarter's 累计收缴率 and 佣金 (佣金 sheet's latest month)
    rows, _warnings = commission_rows(ledger, allocation, quarter, as_of)
    latest = {}
    for row in rows:
        latest[row.assistant] = row
    team_rows = []
    for a in ledger.assistants:
        row = latest.get(a.name)
        rooms = assistant_rooms(a, ledger.units)
        team_rows.append({
            "name": a.name,
            "buildings": "、".join(a.buildings) if a.buildings else "全部",
            "units": str(len(rooms)),
            "rate": pct(row.rate) if row else "—",
            "tier": row.tier if row else "—",
            "commission": money(row.amount) if row and row.amount is not None else "—",
        })

    # 3.1 催收进度 from 催收任务 (the same engine run as the sheet)
    result = dunning_tasks(ledger, as_of, allocation)
    stages = {st: 0 for st in STAGES}
    for t in result.tasks:
        if t.stage in stages:
            stages[t.stage] += 1
    forced = sum(stages[x] for x in STAGES[3:])
    progress = []
    if debtors:
        progress.append(f"本期对欠费情况进行了全面排查：本季度曾经欠费（期初欠费或本期逾期）的业主共 "
                        f"{ctx['debtors_total']} 户，已有 {ctx['debtors_cleared_pct']} 缴清，其余 "
                        f"{ctx['debtors_open_pct']} 处于不同的催收阶段。")
    staged = "，".join(f"{st} {n} 户" for st, n in stages.items() if n)
    on_hold = sum(1 for t in result.tasks if t.held)
    if staged:
        progress.append(f"截至{as_of_cn}，“催收任务”共 {len(result.tasks)} 户：{staged}"
                        + (f"，暂停催缴 {on_hold} 户" if on_hold else "") + "。")
    if stage1:
        progress.append(f"初步沟通：本期通过短信、电话、对讲提醒 {len(stage1)} 次，覆盖业主 {len({c.room for c in stage1})} 户。")
    if stage2_first:
        line = f"跟进催收：上门拜访、发放催费通知单共 {len(stage2_first)} 户"
        if ctx["stage2_paid_pct"] not in ("—", "0.00%"):
            line += f"，其中 {ctx['stage2_paid_pct']} 在此阶段完成缴费"
        progress.append(line + "。")
    tasks_total = sum(stages.values())
    if forced and tasks_total:
        # the share is of the tasks not on hold (stages holds no 暂停): say so beside the all-tasks figure above
        progress.append(f"强制催收：挂牌、律师函或诉讼阶段共 {forced} 户，占“催收任务”中未暂停催缴的 {tasks_total} 户的 "
                        f"{pct(_share(forced, tasks_total))}。")

    collected = [f"截至{as_of_cn}，本期物业费应收 {ctx['receivable']} 元，已收回 {ctx['collected']} 元，当期收缴率 "
                 f"{ctx['rate']}（不含减免及预存冲抵为 {ctx['rate_cash']}）；清欠率 {ctx['arrears_rate']}，"
                 f"综合收缴率 {ctx['overall_rate']}。"]
    if k.success.contacted:
        line = f"本期共联系欠费业主 {k.success.contacted} 户（催缴记录 {k.success.contacts} 条）"
        if recovered > 0:
            line += f"，联系后收回 {money(recovered)} 元"
        collected.append(line + "。")
    if ctx["units_billed"]:
        collected.append(f"按时（应缴日期前）缴清的业主 {ctx['on_time_units']} 户，占计费户数的 {ctx['on_time_pct']}。")

    unpaid_lines = []
    if unpaid > 0:
        unpaid_lines.append(f"本期未收款项 {money(unpaid)} 元，涉及 {ctx['unpaid_units']} 户，占本期应收的 "
                            f"{ctx['unpaid_share']}；其中已过应缴日期仍未缴的 {ctx['overdue_units']} 户。")
    if owing:
        unpaid_lines.append(f"连同往期，全部欠费本金 {ctx['arrears_total']} 元，涉及 {ctx['arrears_units']} 户，"
                            f"另有违约金 {ctx['late_fee_total']} 元。欠费金额较大的业主如下（姓名已脱敏）：")

    success = []
    if k.success.contacted and k.success.rate is not None:
        success.append(f"本期联系的 {k.success.contacted} 户中，{k.success.succeeded} 户在联系后 {SUCCESS_DAYS} 天内缴款，"
                       + (f"{k.success.pending} 户联系未满 {SUCCESS_DAYS} 天暂不计入，" if k.success.pending else "")
                       + f"催收成功率为 {ctx['success_rate']}。")
    elif k.success.contacted:
        success.append(f"本期联系的 {k.success.contacted} 户均联系未满 {SUCCESS_DAYS} 天，催收成功率待满 {SUCCESS_DAYS} 天后评估。")
    if k.success.rate is not None and success_prev is not None:
        success.append(f"较上一季度（{pct(success_prev)}）{_change(k.success.rate, success_prev)}。")
    if unpaid_now is not None and unpaid_prev is not None:
        success.append(f"同日逾期未缴的比例由上期的 {pct(unpaid_prev)} 变为 {pct(unpaid_now)}，"
                       f"{_change(unpaid_now, unpaid_prev, '上升', '下降')}。")

    # 六、总结与展望
    summary = [f"{quarter.label_cn}截至{as_of_cn}，当期收缴率 {ctx['rate']}，综合收缴率 {ctx['overall_rate']}"
               + (f"，催收成功率 {ctx['success_rate']}" if k.success.rate is not None else "") + "。"]
    if owing:
        summary.append(f"仍有 {len(owing)} 户欠费本金 {ctx['arrears_total']} 元，是下期催收的重点。")
    nxt = quarter.next() if hasattr(quarter, "next") else None
    outlook = [f"下期（{nxt.label_cn if nxt else '下一季度'}）继续按提醒、沟通、跟进、挂牌、律师函的顺序分级催收，"
               "依法依规，不以停水停电等方式催交；每月复盘收缴率与佣金档位。"]
    return {
        "fee_rows": fee_rows, "team_rows": team_rows, "progress_lines": progress, "collected_lines": collected,
        "unpaid_lines": unpaid_lines, "success_lines": success, "summary_lines": summary, "outlook_lines": outlook,
        "cycle": s.cycle, "due_day": str(s.get("缴费截止日") or "25"), "rate_text_report": rate_cn(s.late_fee_rate),
        "remind_days": str(s.get("提醒逾期天数") or "7"), "talk_days": str(s.get("沟通逾期天数") or "30"),
        "hang_periods": str(s.hang_periods), "lawyer_days": str(s.lawyer_days),
        "litigation_amount": money(s.litigation_amount),
        "contact_days_text": contact_days_text(ledger),
        "next_period_label": nxt.label_cn if nxt else "下一季度",
    }





def _issues_and_targets(ledger: Ledger, k: Kpis, owing, stage3, rate) -> tuple[list, list, list]:
    issues, measures = [], []
    unrecorded = next((b for b in k.reasons if b.label == NO_REASON), None)
    if unrecorded and unrecorded.units:
        issues.append(f"业主沟通不充分：{unrecorded.units} 户欠费业主在催缴记录中没有登记欠费原因，"
                      f"涉及欠费本金 {money(unrecorded.amount)} 元，催收缺乏针对性。")
        measures.append("每次联系后在“催缴记录”中登记结果和欠费原因，做到一户一档。")
    low = sorted((x for x in k.by_scope if x.scope.startswith("楼栋:") and x.current_rate is not None),
                 key=lambda x: x.current_rate)
    if low:
        worst = low[0]
        issues.append(f"{worst.scope.replace('楼栋:', '')} 楼栋当期收缴率最低，为 {pct(worst.current_rate)}，"
                      f"低于全部平均 {pct(rate)}。")
        measures.append(f"对 {worst.scope.replace('楼栋:', '')} 楼栋安排服务助理重点跟进，按欠费金额从大到小逐户上门沟通。")
    unhappy = next((b for b in k.reasons if b.label == "服务不满"), None)
    if unhappy and unhappy.units:
        issues.append(f"{unhappy.units} 户因服务不满拒缴或拖欠，需先解决投诉与维修问题。")
        measures.append("投诉未解决的欠费户先转工程保修组处理，处理结果回访后再催缴。")
    big = [a for a in owing if a.principal >= ledger.settings.litigation_amount]
    if big:
        issues.append(f"{len(big)} 户欠费本金达到诉讼金额标准（{money(ledger.settings.litigation_amount)} 元），"
                      f"长期欠费存在诉讼时效风险。")
        measures.append("对达到诉讼标准且无正当理由的欠费户，发出催缴函并保留送达凭证，按程序准备律师函或诉讼材料。")
    if k.online_share is not None and k.online_share < Decimal("0.6"):
        issues.append(f"线上缴费占比仅 {pct(k.online_share)}，缴费便利性仍有提升空间。")
        measures.append("在收费通知单和短信中附上微信、支付宝缴费指引，推广线上缴费和银行托收。")
    if k.success.pending:
        issues.append(f"{k.success.pending} 户本期联系未满 {SUCCESS_DAYS} 天且尚未缴款，需持续跟进。")
    if not issues:
        issues.append("本期未发现突出问题。")
    measures.append("严格遵守催收规范：不停水停电，挂牌只公示房号和脱敏姓名，节假日和夜间不联系业主。")
    target_rate = min(Decimal(100), Decimal(math.ceil((rate or 0) * 100)) + 5) if rate is not None else Decimal(95)
    arrears = sum((a.principal for a in owing), ZERO)
    targets = [
        f"当期收缴率目标 {target_rate:.0f}%（本期截至统计日 {pct(rate)}）；服务助理以佣金档位 95% 为努力方向。",
        f"清欠目标：收回现有欠费本金的 30%，即 {money((arrears * Decimal('0.3')).quantize(Decimal('0.01')))} 元。",
    ] + ([
        f"催收成功率目标 {pct(min(Decimal(1), k.success.rate + Decimal('0.1')))}（本期 {pct(k.success.rate)}）。"
    ] if k.success.rate is not None else []) + [
        f"线上缴费占比目标 {pct(min(Decimal(1), (k.online_share or Decimal(0)) + Decimal('0.05')))}（本期 {pct(k.online_share)}）。",
        "欠费原因登记率达到 100%，重点欠费户每月至少联系一次并留存送达凭证。",
    ]
    return issues, measures, targets


# ------------------------------------------------------------------ charts

_FONT: list = []


def cjk_font() -> Optional[str]:
    """A font family with Chinese glyphs, registered with matplotlib; None when there is none."""
    if _FONT:
        return _FONT[0]
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    found = next((n for n in CJK_FAMILIES if n in names), None)
    if found is None:
        for path in NOTO_PATHS:
            if Path(path).exists():
                try:
                    fm.fontManager.addfont(path)
                except Exception:  # unreadable font file: try the next
                    continue
                names = {f.name for f in fm.fontManager.ttflist}
                found = next((n for n in CJK_FAMILIES if n in names), None)
                if found:
                    break
    _FONT.append(found)
    return found


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font()
    plt.rcParams["font.family"] = [family, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=150)
    return plt, fig, ax


def _png(plt, fig) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def render_charts(k: Kpis) -> dict[str, bytes]:
    """PNG bytes per chart name; empty when no CJK font is available (never boxes)."""
    if cjk_font() is None:
        return {}
    charts = {}
    trend = k.center_trend()
    plt, fig, ax = _figure()
    if trend:
        xs = [x.period.label_cn.replace("年第", "年\n第") for x in trend]
        ax.plot(xs, [float(x.current_rate or 0) * 100 for x in trend], marker="o", label="当期收缴率")
        ax.plot(xs, [float(x.overall_rate or 0) * 100 for x in trend], marker="s", label="综合收缴率")
        ax.set_ylim(0, 105)
        ax.legend(loc="lower left")
    ax.set_title("当期收缴率趋势（各期同日对比）")
    ax.set_ylabel("收缴率（%）")
    ax.tick_params(axis="x", labelsize=7)
    charts["chart_trend"] = _png(plt, fig)

    plt, fig, ax = _figure()
    labels = [b.label for b in k.reasons]
    ax.bar(labels, [b.units for b in k.reasons], color="#c0504d")
    ax.set_title("欠费原因分布")
    ax.set_ylabel("户数")
    charts["chart_reasons"] = _png(plt, fig)

    plt, fig, ax = _figure()
    if k.channels:
        ax.pie([float(v) for v in k.channels.values()], labels=list(k.channels), autopct="%1.1f%%",
               startangle=90, textprops={"fontsize": 8})
        ax.axis("equal")
    ax.set_title("本期收款渠道（线上：微信/支付宝/转账/POS）")
    charts["chart_channels"] = _png(plt, fig)

    plt, fig, ax = _figure()
    ax.bar(list(k.aging), [float(v) for v in k.aging.values()], color="#4f81bd")
    ax.set_title("欠费账龄分布（自应缴日期起算）")
    ax.set_ylabel("欠费本金（元）")
    ax.tick_params(axis="x", labelsize=8)
    charts["chart_aging"] = _png(plt, fig)

    plt, fig, ax = _figure()
    ax.bar([b.label for b in k.buildings], [float(b.amount) for b in k.buildings], color="#9bbb59")
    ax.set_title("各楼栋欠费本金")
    ax.set_ylabel("元")
    charts["chart_buildings"] = _png(plt, fig)
    return charts


# ------------------------------------------------------------------ rendering


@dataclass
class ReportResult:
    docx: Path
    pdf: Optional[Path] = None
    pdf_problem: str = ""
    summary: list = field(default_factory=list)
    context: dict = field(default_factory=dict)


def render_report(ledger: Ledger, quarter: Period, as_of: dt.date, out_dir: Path, pdf: bool = False,
                  template: Optional[Path] = None, workbook: Optional[Path] = None) -> ReportResult:
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    context, k = report_context(ledger, quarter, as_of)
    doc = DocxTemplate(str(template or template_path(workbook)))
    charts = render_charts(k)
    for name in ("chart_trend", "chart_reasons", "chart_channels", "chart_aging", "chart_buildings"):
        if name in charts:
            context[name] = InlineImage(doc, io.BytesIO(charts[name]), width=Mm(150))
        else:
            context[name] = "（本机没有中文字体，图表从略；数据见下表）"
    doc.render(context, autoescape=True)
    target = out_dir / f"催收总结报告_{quarter}_{as_of:%Y%m%d}.docx"
    tmp = target.with_name("." + target.name + ".tmp")
    doc.save(str(tmp))
    tmp.replace(target)
    result = ReportResult(target, context={k2: v for k2, v in context.items() if not k2.startswith("chart_")})
    result.summary.append(f"{quarter} 当期收缴率 {context['rate']}，综合收缴率 {context['overall_rate']}，"
                          f"催收成功率 {context['success_rate']}，欠费 {context['arrears_units']} 户 "
                          f"{context['arrears_total']} 元")
    if pdf:
        result.pdf, result.pdf_problem = to_pdf(target)
    return result


def to_pdf(docx: Path, timeout: int = 180) -> tuple[Optional[Path], str]:
    """Convert with LibreOffice (headless, private profile); (pdf path or None, problem)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None, "未安装 LibreOffice（soffice）"
    with tempfile.TemporaryDirectory(prefix="feebook-lo-") as profile:
        try:
            subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
                            "--convert-to", "pdf", "--outdir", str(docx.parent), str(docx)],
                           check=True, capture_output=True, timeout=timeout)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"LibreOffice 转换失败：{exc}"
    pdf = docx.with_suffix(".pdf")
    return (pdf, "") if pdf.exists() else (None, "LibreOffice 没有生成 PDF")

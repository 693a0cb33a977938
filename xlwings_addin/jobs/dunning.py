"""Dunning jobs in the :mod:`xlwings_addin.jobs.ledger` pattern: Ledger + as_of → Changes (CLI, ribbon, scheduler).

* :func:`job_dunning` — 催收任务 (rewritten whole), new 挂牌 proposals appended to 挂牌, 问题.
* :func:`job_sms` — the SMS reminder rows (the caller writes the CSV) and an 操作日志 entry.
* :func:`job_daily_report` — 催收日报 for the day.
* :func:`job_hang_list` — the approved 挂牌 posting list (masked names) and an 操作日志 entry.

操作日志 entries carry counts and amounts only: never a name or a phone number.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from ..ledger import schema
from .daily_report import daily_report, daily_sheet, last_working_day, non_working_note
from ..engine.allocation import allocate
from ..engine.dunning import (STAGES, DunningResult, PostingLine, dunning_tasks, new_hang_proposals, posting_list,
                             task_row)
from ..engine.holidays import day_info
from .ledger import Changes, empty_ledger_hints, problems_sheet
from ..ledger.money import ZERO
from ..ledger.records import Ledger
from ..exchange.sms import SmsExport, sms_reminders
from ..workbook.writer import SheetOutput


def tasks_sheet(result: DunningResult) -> SheetOutput:
    spec = schema.OUTPUT_SHEETS[schema.TASKS]
    rows = [task_row(t) for t in result.tasks]
    rows.append([])
    info = day_info(result.as_of)
    weekends = "及普通周末" if result.policy.weekend_contact else "（参数“周末联系”为 否：周末不联系）"
    rows.append([f"截至 {result.as_of:%Y-%m-%d}（{info.label}）；法定节假日不联系；"
                 f"电话/对讲/上门在工作日（含调休上班日）{weekends}；"
                 "书面催缴文书在“催缴记录”登记 已送达 及 送达凭证 后才计入催缴次数、律师函/诉讼条件与诉讼时效；"
                 "“联系日期”为最早可联系的日期；逾期天数按最早未缴清账单的应缴日期计算；仅欠违约金的房屋由前台收取；"
                 "诉讼时效自最后一次送达的催告、部分缴款、业主承诺或签订分期协议起算三年（说明列注明起算事由），"
                 f"满{result.policy.warn_months}个月预警；"
                 "任何情况下不得以停止供水、供电、供热、供燃气等方式催交（民法典第944条）"])
    return SheetOutput(spec.name, list(spec.headers), rows, dict(spec.formats), as_of=result.as_of)


def hang_row(h) -> dict:
    return {"房号": h.room, "提议日期": h.proposed_on, "欠费期数": h.periods, "欠费金额": h.amount,
            "状态": h.status, "备注": "系统提议，须服务中心负责人填写审批人后方可张贴"}


def dunning_changes(ledger: Ledger, as_of: dt.date) -> tuple[Changes, DunningResult]:
    allocation = allocate(ledger, as_of)
    result = dunning_tasks(ledger, as_of, allocation)
    problems = list(ledger.problems) + list(allocation.problems) + list(result.problems)
    changes = Changes("生成催收任务", problems=problems)
    changes.replace[schema.TASKS] = tasks_sheet(result)
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    proposals = new_hang_proposals(ledger, result)
    if proposals:
        changes.append[schema.HANG] = [hang_row(h) for h in proposals]
    stages = Counter(t.stage for t in result.tasks)
    held = Counter(t.hold for t in result.tasks if t.held)
    stage_text = "，".join([f"{s} {stages[s]}" for s in STAGES if stages[s]]
                          + ([f"暂停 {sum(held.values())}"] if held else []))
    hold_text = "，".join(f"{k} {n}" for k, n in held.items())
    warn = sum(1 for t in result.tasks if t.limitation.warning)
    changes.audit.append({"操作": f"生成催收任务 截至{as_of:%Y-%m-%d}", "数量": len(result.tasks),
                          "说明": f"{stage_text}；新增挂牌提议 {len(proposals)}；"
                                  f"诉讼时效预警 {warn}"})
    changes.summary.append(f"{as_of:%Y-%m-%d}（{day_info(as_of).label}）催收任务 {len(result.tasks)} 户：{stage_text or '无'}")
    if held:
        changes.summary.append(f"暂停催缴 {sum(held.values())} 户：{hold_text}")
    if proposals:
        changes.summary.append(f"新增挂牌提议 {len(proposals)} 户，已写入“挂牌”表，待服务中心负责人审批")
    if warn:
        changes.summary.append(f"诉讼时效预警 {warn} 户（详见“催收任务”说明列）")
    changes.summary.extend(empty_ledger_hints(ledger))  # an empty ledger: say what to fill first
    return changes, result


def job_dunning(ledger: Ledger, as_of: dt.date) -> Changes:
    return dunning_changes(ledger, as_of)[0]


def job_sms(ledger: Ledger, as_of: dt.date) -> tuple[Changes, SmsExport]:
    export = sms_reminders(ledger, as_of)
    changes = Changes("导出短信提醒", problems=list(export.problems))
    skipped = "，".join(f"{k} {n}" for k, n in sorted(export.skipped.items()))
    total = sum((r["金额"] for r in export.rows), ZERO)
    changes.audit.append({"操作": f"导出短信提醒 {as_of:%Y-%m-%d}", "数量": len(export.rows),
                          "说明": f"{len(export.rows)} 条，合计 {total:.2f} 元，计划发送 {export.send_at:%Y-%m-%d %H:%M}；"
                                  f"未列入：{skipped or '无'}"})
    changes.summary.append(f"短信提醒 {len(export.rows)} 条，合计 {total:,.2f} 元，计划发送时间 {export.send_at:%Y-%m-%d %H:%M}")
    if skipped:
        changes.summary.append(f"未列入：{skipped}")
    for p in export.problems:
        if p.sheet == schema.PARAMS:
            changes.summary.append(f"[{p.level}] {p.message}")
    return changes, export


def job_daily_report(ledger: Ledger, as_of: dt.date) -> Changes:
    """催收日报 for ``as_of``; on a non-working day, for the last working day before it (and it says so)."""
    requested, as_of = as_of, last_working_day(as_of)
    lines = daily_report(ledger, as_of)
    changes = Changes("催收日报", problems=[])
    changes.replace[schema.DAILY] = daily_sheet(lines, as_of, requested)
    if requested != as_of:
        changes.summary.append(non_working_note(requested, as_of))
    head = {line.item: line for line in lines}
    collected = head["今日收款合计"].value
    changes.audit.append({"操作": f"催收日报 {as_of:%Y-%m-%d}", "数量": len(lines),
                          "说明": f"今日收款 {collected:.2f}；缴清 {head['今日缴清户数'].value} 户；"
                                  f"新增承诺 {head['今日新增承诺缴费'].value}；托收失败 {head['今日托收失败'].value}"})
    changes.summary.append(f"{as_of:%Y-%m-%d} 催收日报：今日收款 {collected:,.2f} 元，缴清 {head['今日缴清户数'].value} 户，"
                           f"新增承诺 {head['今日新增承诺缴费'].value} 户，托收失败 {head['今日托收失败'].value} 笔")
    return changes


@dataclass
class HangList:
    lines: list[PostingLine]
    dropped: list
    waiting: list


def job_hang_list(ledger: Ledger, as_of: dt.date) -> tuple[Changes, HangList]:
    allocation = allocate(ledger, as_of)
    result = dunning_tasks(ledger, as_of, allocation)
    lines, dropped, waiting = posting_list(ledger, result)
    changes = Changes("导出挂牌名单", problems=list(result.problems))
    changes.audit.append({"操作": f"导出挂牌名单 {as_of:%Y-%m-%d}", "数量": len(lines),
                          "说明": f"已审批可张贴 {len(lines)} 户；已缴费或暂停而撤下 {len(dropped)} 户；待审批 {len(waiting)} 户"})
    changes.summary.append(f"挂牌名单：可张贴 {len(lines)} 户（仅房号和姓氏）；因已缴费/暂停而不列入 {len(dropped)} 户；"
                           f"待审批 {len(waiting)} 户（须填写审批人）")
    return changes, HangList(lines, dropped, waiting)


def posting_sheet(hang: HangList, as_of: dt.date, center: str = "", periods: int = 2) -> SheetOutput:
    """The list to post: 序号, 房号, 业主 (masked) — never phone numbers or amounts."""
    rows = [[i, line.room, line.masked_name, line.periods_owed] for i, line in enumerate(hang.lines, start=1)]
    rows.append([])
    rows.append([f"{center}欠费公示（截至 {as_of:%Y-%m-%d}）：以上房屋物业服务费已欠缴{periods}期及以上，请业主尽快到服务中心缴纳。"
                 "已缴纳的业主请忽略。"])
    return SheetOutput("挂牌公示", ["序号", "房号", "业主", "欠费期数"], rows, {"序号": "int", "欠费期数": "int"},
                       as_of=as_of)

"""SMS reminder export (SPEC §6): one CSV row per owing unit that may receive an SMS.

Who is in the file: every unit with something to pay (open bills already
payable, even before their 应缴日期 — seed 004 sends the 温馨提示 on day 18
for bills due on day 25), except

* units on hold (分期履行中, 投诉处理中, 费用争议, 诉讼中, 承诺缴费, 开发商持有),
* owners without 短信同意 = 是, or without a valid 11-digit mobile,
* 托收 units with nothing overdue and no failed debit (the bank debits them).

The text comes from 参数「短信模板」 (default in schema.PARAM_DEFAULTS) with
{业主} {房号} {金额} {截止日期} {客服电话} {服务中心}; 截止日期 is the
earliest open 应缴日期 not yet passed on the send day, else the send day + 7
days (a file made on 2026-10-01 is sent 2026-10-08: 请于 2026-10-15 前).
Units owing only a late fee get no SMS (the front desk collects it).  The file says when
to send (计划发送时间): the first day that is not a statutory holiday, at the
start of 短信时段.

The CSV is UTF-8 with BOM (Excel opens it right) and no cell starts with
= + - @, a tab or CR unescaped: such a cell gets a leading apostrophe
(formula injection, OWASP "CSV injection").
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..ledger import schema
from ..engine.allocation import AllocationResult, allocate
from ..engine.dunning import DunningResult, dunning_tasks, lawful, policy_from_settings
from ..engine.holidays import SMS, day_info, next_contact_day
from ..ledger.records import Ledger, Problem, Source

HEADERS = ["手机", "房号", "业主", "金额", "短信内容", "计划发送时间"]
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
INJECTION_START = ("=", "+", "-", "@", "\t", "\r")
DEADLINE_DAYS = 7


def neutralise(text: str) -> str:
    """'=1+2' → "'=1+2": a spreadsheet then shows the text instead of running it."""
    text = "" if text is None else str(text)
    return "'" + text if text.startswith(INJECTION_START) else text


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def render(template: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Fill {key} placeholders; unknown keys are left as they are and returned."""
    unknown: list[str] = []

    def sub(m: re.Match) -> str:
        key = m.group(1).strip()
        if key in values:
            return values[key]
        unknown.append(key)
        return m.group(0)

    return PLACEHOLDER.sub(sub, template), unknown


@dataclass
class SmsExport:
    as_of: dt.date
    send_at: dt.datetime
    rows: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    @property
    def total(self):
        return sum((r["金额"] for r in self.rows), start=0)


def sms_reminders(ledger: Ledger, as_of: dt.date, allocation: Optional[AllocationResult] = None) -> SmsExport:
    policy, problems = policy_from_settings(ledger.settings)
    # every owing unit, not only those inside the 提醒 window (day 18 reminds of bills due on day 25)
    wide = dataclasses.replace(policy, remind_before=10 ** 5)
    allocation = allocation or allocate(ledger, as_of)
    result: DunningResult = dunning_tasks(ledger, as_of, allocation, wide)
    problems += list(result.problems)
    send_day = next_contact_day(as_of, SMS)
    export = SmsExport(as_of, dt.datetime.combine(send_day, policy.sms_window[0]), problems=problems)
    if send_day != as_of:
        export.problems.append(Problem.warning(
            Source(schema.PARAMS), f"{as_of:%Y-%m-%d} 为{day_info(as_of).label}，不发短信；计划发送时间顺延至 "
                                   f"{export.send_at:%Y-%m-%d %H:%M}"))
    unknown_reported = False
    for t in result.tasks:
        unit = t.unit
        if t.held:
            export.skipped[f"暂停催缴（{t.hold}）"] += 1
            continue
        if t.fee_only:  # no SMS worded as unpaid service fees: the front desk collects the late fee
            export.skipped["仅欠违约金（前台收取）"] += 1
            continue
        if not unit.sms_consent:
            export.skipped["未同意接收短信"] += 1
            continue
        if not t.sms_mobile:
            export.skipped["手机号缺失或不是11位手机号"] += 1
            continue
        if unit.bank_debit and t.periods_owed == 0 and not t.reason.startswith("托收失败"):
            export.skipped["托收户（本期由银行代扣）"] += 1
            continue
        # 请于…前 counts from the day the message is actually sent (after a holiday, the day it goes out)
        upcoming = [c.charge.due_date for c in allocation.accounts[t.room].open_charges()
                    if c.charge.due_date >= send_day]
        deadline = min(upcoming) if upcoming else send_day + dt.timedelta(days=DEADLINE_DAYS)
        amount = t.amount_due
        text, unknown = render(policy.sms_template, {
            "业主": unit.owner, "房号": unit.room, "金额": f"{amount:.2f}", "截止日期": cn_date(deadline),
            "客服电话": ledger.settings.hotline, "服务中心": ledger.settings.center,
            "公司名称": ledger.settings.company,
        })
        if unknown and not unknown_reported:
            unknown_reported = True
            export.problems.append(Problem.warning(
                Source(schema.PARAMS), f"参数“短信模板”中的占位符 {'、'.join('{' + k + '}' for k in unknown)} 无法识别，"
                                       "可用 {业主} {房号} {金额} {截止日期} {客服电话} {服务中心}"))
        assert lawful(text)
        export.rows.append({"手机": t.sms_mobile, "房号": unit.room, "业主": unit.owner, "金额": amount,
                            "短信内容": text, "计划发送时间": f"{export.send_at:%Y-%m-%d %H:%M}"})
    export.rows.sort(key=lambda r: r["房号"])
    return export


def write_sms_csv(path, export: SmsExport) -> Path:
    """UTF-8 with BOM, one header row, amounts with 2 decimals, every text cell neutralised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for r in export.rows:
            writer.writerow([neutralise(r["手机"]), neutralise(r["房号"]), neutralise(r["业主"]),
                             f"{r['金额']:.2f}", neutralise(r["短信内容"]), neutralise(r["计划发送时间"])])
    tmp.replace(path)
    return path


def sms_file_name(as_of: dt.date) -> str:
    return f"短信提醒_{as_of:%Y-%m-%d}.csv"

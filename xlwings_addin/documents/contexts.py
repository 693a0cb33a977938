"""What a letter says: per-unit contexts for the Word templates in ``letters/`` (SPEC §5).

Pure: takes a :class:`~xlwings_addin.ledger.records.Ledger` and ``as_of`` (no files,
no clock).  Rendering lives in :mod:`xlwings_addin.documents.letters`.

One context per **unit**, never per bill:

- 收费通知单 (period P): every charge of P with its calculation basis
  (建筑面积 89.50㎡ × 2.50元/㎡·月 × 3月; 水表 上期/本期读数 × 单价; 公摊 …),
  what 预存 already offset and what was already paid, earlier periods still
  open (欠费本金 and 违约金), the remaining 预存 balance, and the total to pay.
- 催费通知单 / 催缴函 / 律师函: every period with overdue principal or
  outstanding late fee, one line per period; the late fee of the line is the
  engine's (allocation + :func:`~xlwings_addin.engine.late_fee.late_fee_formula`).
- 分期付款协议: those lines plus a schedule, from the 分期协议 sheet when the
  unit has a plan, else proposed from ``installments``.

Worked example (tests/test_letters.py, unit 3-2-1501, 89.50㎡, 物业管理费
2.50元/㎡·月, 日费率 0.0003, as of 2026-11-22): 2026Q3 671.25 due 2026-07-25,
300.00 paid 2026-08-04 → 300.00×0.0003×10天 + 371.25×0.0003×120天 = 0.90 +
13.365 → 14.27; 2026Q4 671.25 + 水费 90.20 due 2026-10-25, unpaid →
671.25×0.0003×28天 = 5.6385 → 5.64 (水费 carries no late fee).  Owed
371.25 + 761.45 = 1,132.70 principal + 19.91 late fee = 1,152.61 元
(壹仟壹佰伍拾贰元陆角壹分).

A unit with nothing overdue (principal or late fee) gets no demand letter: it
is returned in ``skipped`` with the reason.  Every value in a context is
already a string formatted for print (amounts ``1,152.61``, dates
``2026年11月22日``), so the templates need no filters.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Optional

from ..engine.allocation import CASH, DISCOUNT, PREPAID, WAIVED, AllocationResult, ChargeStatus, UnitAccount, allocate
from ..engine.dunning import LAWYER as LAWYER_STAGE, LITIGATION as LITIGATION_STAGE, DunningTask, dunning_tasks, \
    plan_state, provable_demand
from ..engine.late_fee import days_late, late_fee_formula
from ..ledger.money import ZERO, daxie, round_money
from ..ledger.periods import Period, add_months, period_containing
from ..ledger.records import Charge, InstallmentPlan, Ledger, Problem, Source, Unit

NOTICE = "收费通知单"
REMINDER = "催费通知单"
DEMAND = "催缴函"
LAWYER = "律师函"
INSTALLMENT = "分期付款协议"
KINDS = (NOTICE, REMINDER, DEMAND, LAWYER, INSTALLMENT)
DEMAND_KINDS = (REMINDER, DEMAND, LAWYER, INSTALLMENT)

# 催缴记录 row each kind logs: (方式, 备注), with 结果 已生成 — a letter generated is not a letter delivered:
# the ladder counts it once a row with 结果 已送达 and a 送达凭证 is recorded.  Kinds not listed log nothing.
CONTACT_LOG = {
    REMINDER: ("催费通知单", "催费通知单"),
    DEMAND: ("催缴函", "催缴函"),
    LAWYER: ("律师函", "律师函（草稿，须经律师审定后发出）"),
}
GENERATED_RESULT = "已生成"
# batch demand letters skip units on hold (收费通知单 is a bill, not a demand)
HOLD_CHECKED = (REMINDER, DEMAND, LAWYER)
LETTER_NO_PREFIX = {NOTICE: "SF", REMINDER: "CF", DEMAND: "CJ", LAWYER: "LS", INSTALLMENT: "FQ"}
# days to pay after the letter's date; 参数 "<种类>付款期限天数" overrides
DEADLINE_DAYS = {NOTICE: 0, REMINDER: 7, DEMAND: 15, LAWYER: 7, INSTALLMENT: 0}
DEFAULT_INSTALLMENTS = 6

_CN_DIGITS = "零一二三四五六七八九"


def date_cn(day: Optional[dt.date]) -> str:
    """2026-11-22 → 2026年11月22日 ('' for None)."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def money_text(amount: Decimal) -> str:
    """1152.61 → '1,152.61'."""
    return f"{round_money(amount):,.2f}"


def number_text(value: Decimal) -> str:
    """A quantity without spurious zeros or exponent: 120.0 → '120', 89.50 → '89.5'."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return text


def _cn_small(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def rate_cn(rate: Decimal) -> str:
    """Daily rate for print: 0.0003 → '万分之三'; other rates as a percentage ('0.035%')."""
    per_10k = rate * 10000
    if per_10k == per_10k.to_integral_value() and 1 <= per_10k <= 99:
        return "万分之" + _cn_small(int(per_10k))
    return f"{number_text(rate * 100)}%"


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class LetterPlan:
    """The letters of one batch: contexts to render, units skipped (with reasons), problems."""

    kind: str
    period: Period
    as_of: dt.date
    letters: tuple  # (room, context dict)
    skipped: tuple  # (room, reason)
    problems: tuple[Problem, ...] = ()
    forced: tuple = ()  # (room, reason it would have been skipped) — generated because of --force


@dataclass(frozen=True)
class Installment:
    number: int
    due: dt.date
    amount: Decimal


def installment_schedule(total: Decimal, count: int, first_due: dt.date, interval_months: int = 1) -> list[Installment]:
    """Equal installments rounded to 0.01; the last absorbs the rounding so they sum to ``total``.

    1,000.00 in 6 → 166.67 × 5 + 166.65.
    """
    count = max(1, int(count))
    each = round_money(total / count)
    out = []
    for k in range(count):
        amount = each if k < count - 1 else total - each * (count - 1)
        out.append(Installment(k + 1, add_months(first_due, k * max(1, interval_months)), amount))
    return out


# ----------------------------------------------------------------------------- helpers


def _settings_context(ledger: Ledger, as_of: dt.date) -> dict:
    s = ledger.settings
    grace = s.grace_days
    return {
        "company": s.company,
        "center": s.center,
        "hotline": s.hotline,
        "account": s.account or "（请在“参数”表填写收款账户）",
        "pay_channels": s.pay_channels or "服务中心前台",
        "date_cn": date_cn(as_of),
        "year": str(as_of.year),
        "rate_text": rate_cn(s.late_fee_rate),
        "rate": number_text(s.late_fee_rate),
        "grace_text": f"，宽限{grace}天" if grace else "",
        "law_firm": s.get("律师事务所") or "（律师事务所名称）",
        "lawyer": s.get("律师") or "（承办律师）",
        "contract": s.get("物业服务合同") or "《物业服务合同》",
    }


def premises_text(unit: Unit) -> str:
    """How a letter names the unit: '3-2-1501 房屋（建筑面积 89.50㎡）', 'P-037 车位', 'S-011 商铺（建筑面积 …㎡）'."""
    kind = (unit.house_type or "").strip()
    if "车位" in kind or "车库" in kind:
        return f"{unit.room} 车位"
    noun = "商铺" if "商" in kind else "房屋"
    return f"{unit.room} {noun}（建筑面积 {unit.area:.2f}㎡）"


def periods_covered(periods) -> str:
    """For file names: the periods a letter covers, '2026Q4' or '2025Q3-2026Q4' (first–last)."""
    periods = sorted(set(periods))
    if not periods:
        return ""
    return str(periods[0]) if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"


def _unit_context(unit: Unit) -> dict:
    return {
        "premises": premises_text(unit),
        "premises_short": premises_text(unit).split("（")[0],  # '3-2-1501 房屋', 'P-037 车位'

        "room": unit.room,
        "owner": unit.owner,
        "building": unit.building,
        "house_type": unit.house_type,
        "area": f"{unit.area:.2f}",
        "mobile": unit.mobile,
    }


def _unit_label(item) -> str:
    """The item's price unit as printed: 元/㎡·月 stays ㎡ (a label normalised to m2/m² is put back)."""
    label = (item.unit_label if item and item.unit_label else "").strip()
    return re.sub(r"m2|m²|M2|平方米", "㎡", label)


def _measure(label: str) -> str:
    """'元/吨' → '吨'; '元/㎡·月' → '㎡·月'."""
    return label.split("/", 1)[1] if "/" in label else ""


def charge_basis(charge: Charge, ledger: Ledger, unit: Unit, readings: dict, shared: dict) -> str:
    """How a charge was computed, as printed on the notice."""
    item = ledger.item_by_code().get(charge.item_code)
    price = charge.unit_price if charge.unit_price is not None else (item.unit_price if item else None)
    label = _unit_label(item)
    months = charge.period.months
    method = item.method if item else ""
    if charge.origin != "计费" or item is None:
        if charge.quantity is not None and price is not None:
            return f"{number_text(charge.quantity)} × {price:.2f}元（手工录入）"
        return "手工录入"
    if method == "面积" and price is not None:
        return f"建筑面积 {unit.area:.2f}㎡ × {price:.2f}{label or '元/㎡·月'} × {months}月"
    if method == "固定" and price is not None:
        if item.per_parking_space:
            return f"{price:.2f}{label} × {unit.parking_spaces}个车位 × {months}月"
        return f"{price:.2f}{label or '元/月'} × {months}月"
    if method == "用量" and price is not None:
        reading = readings.get((charge.period, charge.room, item.meter))
        measure = _measure(label) or ("吨" if item.meter == "水" else "度")
        if reading is not None:
            return (f"{item.meter}表 上期读数 {number_text(reading.previous)}，本期读数 {number_text(reading.current)}，"
                    f"用量 {number_text(reading.usage)}{measure} × {price:.2f}元/{measure}")
        qty = number_text(charge.quantity) if charge.quantity is not None else "—"
        return f"用量 {qty}{measure} × {price:.2f}元/{measure}"
    if method == "公摊":
        cost = shared.get((charge.period, charge.item_code))
        if cost is not None:
            how = f"按建筑面积分摊（本户 {unit.area:.2f}㎡）" if cost.method == "面积" else "按户数均摊"
            scope = f"{cost.scope}栋" if cost.scope else "全小区"
            return f"{scope}本期总额 {money_text(cost.total)}元，{how}"
        return "公摊"
    return ""


@dataclass
class PeriodLine:
    period: Period
    items: list = field(default_factory=list)
    due: Optional[dt.date] = None
    billed: Decimal = ZERO
    settled: Decimal = ZERO
    principal: Decimal = ZERO
    fee: Decimal = ZERO
    fee_accrued: Decimal = ZERO
    fee_settled: Decimal = ZERO
    formulas: list = field(default_factory=list)


def overdue_lines(account: UnitAccount, ledger: Ledger, as_of: dt.date,
                  after: Optional[dt.date] = None) -> list[PeriodLine]:
    """Per period: charges that are past due with open principal, or that still owe late fee.

    ``after``: only charges due after that day (an honoured installment plan covers those due by its signing).
    """
    s = ledger.settings
    by_period: dict[Period, PeriodLine] = {}
    for c in account.charges:
        if after is not None and c.charge.due_date <= after:
            continue
        overdue = c.charge.due_date < as_of and c.open > 0
        if not overdue and c.fee_outstanding <= 0:
            continue
        line = by_period.setdefault(c.charge.period, PeriodLine(c.charge.period))
        name = c.charge.item_name or c.charge.item_code
        if name not in line.items:
            line.items.append(name)
        line.due = min(line.due, c.charge.due_date) if line.due else c.charge.due_date
        line.billed += c.charge.amount
        line.settled += c.settled()
        line.principal += c.open
        line.fee += c.fee_outstanding
        line.fee_accrued += c.late_fee
        line.fee_settled += c.fee_paid + c.fee_waived
        if c.late_fee_applies and c.late_fee > 0:
            formula = late_fee_formula(c.charge.amount, c.charge.due_date,
                                       [(x.day, x.amount) for x in c.settlements], as_of,
                                       s.late_fee_rate, s.grace_days)
            if formula:
                line.formulas.append(formula)
    return [by_period[p] for p in sorted(by_period)]


def _line_context(line: PeriodLine, as_of: dt.date, grace: int) -> dict:
    formula = " + ".join(line.formulas) or "不计违约金"
    if line.fee_settled > 0:
        formula += f"，已缴/减免 {money_text(line.fee_settled)}"
    return {
        "period": str(line.period),
        "period_label": line.period.label_cn,
        "item_names": "、".join(line.items),
        "due": date_cn(line.due),
        "due_iso": f"{line.due:%Y-%m-%d}" if line.due else "",  # narrow table columns: never wraps
        "billed": money_text(line.billed),
        "paid": money_text(line.settled),
        "principal": money_text(line.principal),
        "days": str(days_late(line.due, as_of, grace)) if line.principal > 0 else "—",
        "formula": formula,
        "late_fee": money_text(line.fee),
    }


def fee_standard(ledger: Ledger, charges: Iterable[Charge]) -> str:
    """'物业管理费 2.50元/㎡·月；水费 4.10元/吨' for the items of these charges."""
    used = {c.item_code for c in charges}
    out = []
    for item in ledger.items:  # in the order of the 收费项目 sheet
        if item.code not in used:
            continue
        if item.method == "公摊":
            out.append(f"{item.name} 按实分摊")
        elif item.unit_price is not None:
            out.append(f"{item.name} {item.unit_price:.2f}{_unit_label(item) or '元'}")
    return "；".join(out) or "按《物业服务合同》约定"


def delivered_contacts(ledger: Ledger, room: str, as_of: dt.date) -> list:
    """The unit's provably delivered demands up to as_of (a letter only once 已送达 with 送达凭证)."""
    return sorted((c for c in ledger.contacts if c.room == room and c.date <= as_of and provable_demand(c)),
                  key=lambda c: c.date)


def _contacts_text(ledger: Ledger, room: str, as_of: dt.date) -> str:
    rows = delivered_contacts(ledger, room, as_of)
    if not rows:
        return "（暂无已送达的催缴记录）"
    return "、".join(f"{date_cn(c.date)}（{c.method}{'，' + c.result if c.result else ''}）" for c in rows[-8:])


def contacts_intro(count: int) -> str:
    """律师函 第三条: never “多次” for fewer than two delivered demands."""
    if count >= 2:
        return f"委托人此前已{count}次向贵方催缴："
    if count == 1:
        return "委托人此前已向贵方催缴："
    return "委托人此前的催缴情况："


# ----------------------------------------------------------------------------- contexts


def notice_context(ledger: Ledger, unit: Unit, account: Optional[UnitAccount], period: Period,
                   as_of: dt.date, readings: dict, shared: dict, held: str = "",
                   covered_until: Optional[dt.date] = None) -> Optional[dict]:
    """收费通知单 of ``period`` for one unit; None when the unit has no charge in that period.

    ``held`` (the hold, e.g. 分期履行中): the notice bills this period only — no 往期欠费 or 违约金
    lines, no demand wording; the arrears are being handled under the hold.
    """
    charges = sorted((c for c in ledger.charges if c.room == unit.room and c.period == period and c.amount > 0),
                     key=lambda c: c.item_code)
    if not charges:
        return None
    statuses = {c.charge.bill_no: c for c in account.charges} if account else {}
    lines = []
    total = prepaid_offset = paid = ZERO
    for c in charges:
        status: Optional[ChargeStatus] = statuses.get(c.bill_no)
        lines.append({"item": c.item_name or c.item_code, "basis": charge_basis(c, ledger, unit, readings, shared),
                      "amount": money_text(c.amount)})
        total += c.amount
        if status is not None:
            prepaid_offset += status.settled(PREPAID)
            paid += status.settled(CASH) + status.settled(WAIVED) + status.settled(DISCOUNT)
    # net amounts of this period's charges (red-letter credits are netted by the engine)
    period_statuses = [st for st in (account.charges if account else ()) if st.charge.period == period]
    if period_statuses:
        period_open = sum((st.open for st in period_statuses), ZERO)
    else:
        period_open = total
    owed = overdue_lines(account, ledger, as_of, covered_until) if account else []
    prior = [line for line in owed if line.period < period]
    arrears_total = sum((line.principal for line in prior), ZERO)
    # every late fee still owed, period by period: the lines add up to the 违约金 line
    fee_lines = [line for line in owed if line.fee > 0]
    fee_total = sum((line.fee for line in fee_lines), ZERO)
    # 预存 earmarked for another 指定期间 (民法典 第560条) does not pay this notice; held for this period, it does
    held_elsewhere = account.earmarked_total(besides=period) if account else ZERO
    prepaid_balance = (account.prepaid_balance - held_elsewhere) if account else ZERO
    # prior periods that are open but not yet overdue are impossible (due dates precede this period)
    if held:  # a held unit's notice bills this period only: no 往期欠费, no 违约金 (issue 20)
        prior, arrears_total, fee_total, fee_lines, owed = [], ZERO, ZERO, [], []
    due_total = max(ZERO, period_open + arrears_total + fee_total - prepaid_balance)
    due_day = min(c.due_date for c in charges)
    grace = ledger.settings.grace_days
    if as_of <= due_day:
        pay_by = f"请于{date_cn(due_day)}前缴纳"
    else:
        days = _notice_days(ledger)
        pay_by = (f"本期应缴日期{date_cn(due_day)}已过，请于收到本通知之日起{days}日内"
                  f"（最迟{date_cn(as_of + dt.timedelta(days=days))}前）缴纳")
    arrears_lines = [_line_context(line, as_of, grace) for line in prior if line.principal > 0]
    if fee_lines:
        parts = [f"{line.period.label_cn} {money_text(line.fee)}元" for line in fee_lines]
        fee_text = "违约金明细：" + " + ".join(parts) + (f" = {money_text(fee_total)}元" if len(parts) > 1 else "")
    else:
        fee_text = ""
    return {
        "lines": lines,
        "period": str(period),
        "period_label": period.label_cn,
        "period_range": f"{date_cn(period.start)}至{date_cn(period.end)}",
        "period_total": money_text(total),
        "prepaid_offset": money_text(prepaid_offset),
        "paid": money_text(paid),
        "period_open": money_text(period_open),
        "arrears_lines": arrears_lines,
        "total_no": "三" if arrears_lines else "二",  # the sections run 一、(二、往期欠费) 应缴合计 without a gap
        "fee_lines": [{"period_label": line.period.label_cn, "late_fee": money_text(line.fee)} for line in fee_lines],
        "fee_text": fee_text,
        "pay_by_text": pay_by,
        "periods_covered": periods_covered([period] + [line.period for line in owed]),
        "arrears_total": money_text(arrears_total),
        "late_fee_total": money_text(fee_total),
        "prepaid_balance": money_text(prepaid_balance),
        "total_due": money_text(due_total),
        "total_due_daxie": daxie(due_total),
        "due_date_cn": date_cn(due_day),
        "held": held,
        # the grid's 往期欠费/违约金 0.00 are this notice's, not the unit's: say so (no demand, no reason given)
        "held_note": "往期费用另行核对处理，本通知只列本期费用。" if held else "",
    }


def _notice_days(ledger: Ledger) -> int:
    """Days to pay a 收费通知单 issued after its due date (参数 收费通知单付款期限天数, default 7)."""
    try:
        days = int(ledger.settings.get(f"{NOTICE}付款期限天数") or 0)
    except ValueError:
        days = 0
    return days if days > 0 else 7


def demand_context(ledger: Ledger, unit: Unit, account: UnitAccount, as_of: dt.date,
                   after: Optional[dt.date] = None) -> Optional[dict]:
    """The owed periods of one unit (催费通知单/催缴函/律师函/分期付款协议); None when nothing is overdue.
    ``after`` as in :func:`overdue_lines`."""
    lines = overdue_lines(account, ledger, as_of, after)
    if not lines:
        return None
    grace = ledger.settings.grace_days
    billed = sum((x.billed for x in lines), ZERO)
    paid = sum((x.settled for x in lines), ZERO)
    principal = sum((x.principal for x in lines), ZERO)
    fee = sum((x.fee for x in lines), ZERO)
    # 预存 earmarked for a 指定期间 not yet billed never pays arrears (民法典 第560条)
    free_prepaid = account.prepaid_balance - account.earmarked_total()
    total = max(ZERO, principal + fee - free_prepaid)
    owed_charges = [c.charge for c in account.charges if c.charge.period in {x.period for x in lines}]
    oldest = min(x.due for x in lines)
    return {
        "owed_lines": [_line_context(x, as_of, grace) for x in lines],
        "periods_covered": periods_covered(x.period for x in lines),
        "period_count": str(len([x for x in lines if x.principal > 0])),
        "periods_text": "、".join(x.period.label_cn for x in lines),
        "oldest_due": date_cn(oldest),
        "max_days": str(days_late(oldest, as_of, grace)),
        "billed_total": money_text(billed),
        "paid_total": money_text(paid),
        "principal_total": money_text(principal),
        "principal_daxie": daxie(principal),
        "late_fee_total": money_text(fee),
        "late_fee_daxie": daxie(fee),
        "prepaid_balance": money_text(free_prepaid),
        "total_due": money_text(total),
        "total_due_daxie": daxie(total),
        "fee_standard": fee_standard(ledger, owed_charges),
        "contacts_text": _contacts_text(ledger, unit.room, as_of),
        "contacts_intro": contacts_intro(len(delivered_contacts(ledger, unit.room, as_of))),
        "_total": total,
    }


def _current_plan(ledger: Ledger, room: str) -> Optional[InstallmentPlan]:
    plans = [p for p in ledger.plans if p.room == room]
    if not plans:
        return None
    active = [p for p in plans if p.status == "履行中"] or plans
    return max(active, key=lambda p: p.signed_on)


def plan_context(ledger: Ledger, unit: Unit, owed: Optional[dict], as_of: dt.date,
                 installments: int) -> Optional[dict]:
    """The 分期付款协议 part: the unit's plan from 分期协议, else a proposal of ``installments`` parts."""
    plan = _current_plan(ledger, unit.room)
    if plan is not None:
        schedule = installment_schedule(plan.total, plan.count, plan.first_due, plan.interval_months)
        total, plan_no = plan.total, plan.plan_no
        note = (f"依据“分期协议”表 {plan.plan_no}（签订日期 {date_cn(plan.signed_on)}，"
                f"状态 {plan.status}）")
        signed = plan.signed_on
    elif owed is not None:
        total = owed["_total"]
        first = add_months(as_of, 1)
        schedule = installment_schedule(total, installments, first, 1)
        plan_no = f"FQ{as_of:%Y%m%d}-{unit.room}（草拟）"
        note = f"截至{date_cn(as_of)}欠费本金与违约金合计，拟分{len(schedule)}期"
        signed = None
    else:
        return None
    return {
        "plan_no": plan_no,
        "plan_total": money_text(total),
        "plan_total_daxie": daxie(total),
        "plan_count": str(len(schedule)),
        "plan_note": note,
        "plan_signed": date_cn(signed) if signed else "____年__月__日",
        "schedule": [{"no": str(x.number), "due": date_cn(x.due), "amount": money_text(x.amount)}
                     for x in schedule],
        "schedule_total": money_text(sum((x.amount for x in schedule), ZERO)),
    }


_EMPTY_DEMAND = {
    "owed_lines": [], "period_count": "0", "periods_text": "", "oldest_due": "", "max_days": "0",
    "billed_total": "0.00", "paid_total": "0.00", "principal_total": "0.00", "principal_daxie": "零元整",
    "late_fee_total": "0.00", "late_fee_daxie": "零元整", "total_due": "0.00", "total_due_daxie": "零元整",
    "fee_standard": "按《物业服务合同》约定", "contacts_text": "（暂无已送达的催缴记录）", "prepaid_balance": "0.00",
    "periods_covered": "", "contacts_intro": contacts_intro(0),
}


def letter_context(kind: str, ledger: Ledger, unit: Unit, account: Optional[UnitAccount], period: Period,
                   as_of: dt.date, *, readings: Optional[dict] = None, shared: Optional[dict] = None,
                   installments: int = DEFAULT_INSTALLMENTS, held: str = "",
                   covered_until: Optional[dt.date] = None) -> tuple[Optional[dict], str]:
    """(context, '') for one unit, or (None, reason it is skipped).

    ``covered_until``: the signing day of an installment plan being honoured — the bills due by then are
    the plan's, so a notice or demand letter lists only later ones (the 分期付款协议 itself lists all)."""
    if readings is None:
        readings = {(r.period, r.room, r.meter): r for r in ledger.readings}
    if shared is None:
        shared = {(c.period, c.item_code): c for c in ledger.shared_costs}
    ctx = _settings_context(ledger, as_of)
    ctx.update(_unit_context(unit))
    ctx["kind"] = kind
    ctx["letter_no"] = f"{LETTER_NO_PREFIX[kind]}{as_of:%Y%m%d}-{unit.room}"
    days = DEADLINE_DAYS[kind]
    try:
        days = int(ledger.settings.get(f"{kind}付款期限天数") or days)
    except ValueError:
        pass
    ctx["deadline_days"] = str(days)
    ctx["deadline_cn"] = date_cn(as_of + dt.timedelta(days=days))
    if kind == NOTICE:
        notice = notice_context(ledger, unit, account, period, as_of, readings, shared, held=held,
                                covered_until=covered_until)
        if notice is None:
            return None, f"{period} 无应收"
        ctx.update(notice)
        return ctx, ""
    owed = (demand_context(ledger, unit, account, as_of, None if kind == INSTALLMENT else covered_until)
            if account is not None else None)
    if kind == INSTALLMENT:
        plan = plan_context(ledger, unit, owed, as_of, installments)
        if plan is None:
            return None, "无欠费，也无分期协议"
        ctx.update(owed or _EMPTY_DEMAND)
        ctx.update(plan)
        ctx["periods_covered"] = ctx["periods_covered"] or str(period)
    else:
        if owed is None or owed["_total"] <= 0:
            return None, "无欠费"
        ctx.update(owed)
    ctx.pop("_total", None)
    return ctx, ""


def _plan_covers_until(ledger: Ledger, room: str, account: Optional[UnitAccount],
                       as_of: dt.date) -> Optional[dt.date]:
    """The signing day of the unit's installment plan while it is being honoured (as the ladder reads it:
    the plan covers the bills due by that day), else None."""
    if account is None:
        return None
    for plan in ledger.plans:
        if plan.room == room and plan.signed_on <= as_of and plan.status != "已完成" \
                and plan_state(plan, account.payments, as_of).honoured:
            return plan.signed_on
    return None


def _hold_reason(task: Optional[DunningTask]) -> str:
    if task is None or not task.held:
        return ""
    detail = task.notes[0] if task.notes else ""
    return f"暂停催缴（{task.hold}{'：' + detail if detail else ''}）"


def _lawyer_reason(task: Optional[DunningTask], ledger: Ledger) -> str:
    """Why the ladder does not call for a 律师函 yet ('' when it does)."""
    if task is not None and task.stage in (LAWYER_STAGE, LITIGATION_STAGE):
        return ""
    if task is None:  # the ladder lists every unit with something overdue: no task, nothing overdue
        return "无逾期欠费"
    days = ledger.settings.lawyer_days
    contacts = ledger.settings.get("律师函联系次数") or "3"
    now = f"当前阶段 {task.stage}" if task is not None else "当前无催收任务"
    return f"未达律师函条件（须逾期超过{days}天且已送达/已联系的催缴至少{contacts}次；{now}）"


def plan_letters(ledger: Ledger, kind: str, as_of: dt.date, period: Optional[Period] = None,
                 rooms: Optional[Iterable[str]] = None, building: Optional[str] = None,
                 installments: int = DEFAULT_INSTALLMENTS,
                 allocation: Optional[AllocationResult] = None, force: bool = False) -> LetterPlan:
    """The contexts of a batch: units selected by ``rooms`` and/or ``building`` (all when neither).

    Demand letters (催费通知单/催缴函/律师函) skip units on hold (分期履行中, 投诉处理中, 费用争议,
    诉讼中, 承诺缴费, 开发商持有) and units owing only a late fee, each listed with its reason; a held
    unit named in ``rooms`` is generated only with ``force`` (returned in ``forced`` for 操作日志).
    A 律师函 only for units the ladder puts at 律师函/诉讼, unless ``force``.  The 收费通知单 goes
    to every billed unit; a held unit's notice carries no 往期欠费/违约金 demand.
    """
    if kind not in KINDS:
        raise ValueError(f"未知的文书种类“{kind}”，应为 {'/'.join(KINDS)} 之一")
    period = period or period_containing(as_of, ledger.settings.cycle)
    problems: list[Problem] = []
    units = list(ledger.units)
    if building:
        units = [u for u in units if u.building == building]
        if not units:
            problems.append(Problem.warning(Source("房屋"), f"楼栋“{building}”没有房屋"))
    if rooms is not None:
        wanted = list(dict.fromkeys(rooms))
        by_room = {u.room: u for u in units}
        all_rooms = ledger.unit_by_room()
        for room in wanted:
            if room not in all_rooms:
                problems.append(Problem.warning(Source("房屋"), f"房号“{room}”不在“房屋”表中，未生成文书"))
        units = [by_room[r] for r in wanted if r in by_room]
    allocation = allocation or allocate(ledger, as_of)
    readings = {(r.period, r.room, r.meter): r for r in ledger.readings}
    shared = {(c.period, c.item_code): c for c in ledger.shared_costs}
    tasks: dict = {}
    if kind in HOLD_CHECKED or kind == NOTICE:
        result = dunning_tasks(ledger, as_of, allocation)
        tasks = {t.room: t for t in result.tasks}
    named = set(rooms) if rooms is not None else set()
    letters, skipped, forced = [], [], []
    for unit in units:
        task = tasks.get(unit.room)
        hold = _hold_reason(task)
        if kind in HOLD_CHECKED:
            block = hold or ("仅欠违约金（由前台收取，不发催缴文书）" if task is not None and task.fee_only else "")
            if not block and kind == LAWYER:
                block = _lawyer_reason(task, ledger)
            if block:
                may_force = force and (unit.room in named or not hold)
                if not may_force:
                    skipped.append((unit.room, block))
                    if unit.room in named:
                        problems.append(Problem.warning(Source("房屋"), f"房号“{unit.room}”{block}，未生成{kind}；"
                                                        f"如确需发出请加 --force（将记入操作日志）"))
                    continue
                forced.append((unit.room, block))
        ctx, reason = letter_context(kind, ledger, unit, allocation.accounts.get(unit.room), period, as_of,
                                     readings=readings, shared=shared, installments=installments,
                                     held=(task.hold if task is not None and task.held else "") if kind == NOTICE
                                     else "",
                                     covered_until=_plan_covers_until(ledger, unit.room,
                                                                      allocation.accounts.get(unit.room), as_of))
        if ctx is None:
            skipped.append((unit.room, reason))
            forced = [f for f in forced if f[0] != unit.room]
        else:
            letters.append((unit.room, ctx))
    return LetterPlan(kind, period, as_of, tuple(letters), tuple(skipped), tuple(problems), tuple(forced))


def contact_rows(plan: LetterPlan, ledger: Ledger, operator: str = "前台") -> tuple[list[dict], int]:
    """催缴记录 rows for the demand letters of a plan, leaving out those already logged.

    A row is a duplicate when 日期/房号/方式/备注 equal an existing row (or one
    earlier in this batch), so generating the same letters twice on the same day
    logs them once.  Returns (rows, number left out).
    """
    if plan.kind not in CONTACT_LOG:
        return [], 0
    method, note = CONTACT_LOG[plan.kind]
    seen = {(c.date, c.room, c.method, c.note) for c in ledger.contacts}
    rows, dupes = [], 0
    for room, ctx in plan.letters:
        key = (plan.as_of, room, method, note)
        if key in seen:
            dupes += 1
            continue
        seen.add(key)
        rows.append({"日期": plan.as_of, "房号": room, "方式": method, "经办人": operator or "前台",
                     "结果": GENERATED_RESULT, "备注": note, "送达凭证": ""})
    return rows, dupes

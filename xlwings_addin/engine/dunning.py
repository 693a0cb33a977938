"""催缴 (dunning): the ladder, its stop/hold conditions, contact windows, words and the 诉讼时效 clock (SPEC §4.7).

For every owing unit (see :func:`~xlwings_addin.engine.aging.arrears_of`) the
policy picks **one** stage from the days overdue (as_of − 应缴日期 of the
oldest open bill), the periods owed (open bills past their 应缴日期), the
amount, the 催缴记录 history and the owner facts (入住状态, 短信同意, 房屋类型):

=========  ============================================================  =================================
stage      when (defaults are 参数)                                      建议方式 (seed 004 §4.2)
=========  ============================================================  =================================
提醒       应缴日期 − 提醒提前天数(5) … 提醒逾期天数(7) days overdue     短信 (consenting mobile) else
                                                                          催费通知单 in the mailbox
沟通       8 … 沟通逾期天数(30)                                          电话 10:00–21:00, else 对讲 19–21
                                                                          (occupied), else mailed notice
跟进       31 …                                                          上门 (住宅 by appointment, two
                                                                          people; 商铺 normal visit) +
                                                                          written 催费通知单 with proof
挂牌       ≥ 挂牌欠费期数(2) periods owed                                proposal, needs approval
律师函     > 律师函欠费天数(180) days and ≥ 律师函联系次数(3) contacts    letter draft
诉讼       律师函 delivered and its deadline (送达日 + 律师函付款期限天数  litigation batch (once/twice a
           (7)) passed, owed ≥ 诉讼欠费金额(5000), > 180 days, and no     year)
           valid reason (经济困难 / 服务不满)
违约金收取 principal all paid, only a late fee open (仅欠违约金)          客服前台 collects it when the owner
                                                                          calls; no visit, no SMS
=========  ============================================================  =================================

Generated ≠ delivered: a written letter (催费通知单, 催缴函, 律师函 — each its own
方式) counts as a contact, for 律师函/诉讼 and for the 诉讼时效 clock only once a
催缴记录 row records its delivery (结果 已送达 and a 送达凭证); the row logged
when it is generated (结果 已生成/待送达) does not.  Example: contacts 短信 已送达,
电话 未接通 and a 催缴函 已生成 are 2 contacts; once the 催缴函 is 已送达 with
“业主签收”, 3.

An honoured installment plan holds only the arrears it covers (bills due by its
signing day); a later bill left unpaid follows the ladder, aged from its own
应缴日期.

Hold (stage 暂停, the reason in 说明, nobody phones the owner), checked in
this order: already in litigation (a 催缴记录 方式 诉讼 dated on/after the
oldest open 应缴日期); **费用争议** — an open 投诉 whose 类别 contains 争议
(e.g. 费用争议, 违约金争议), resolved by the 服务中心负责人; any other open
投诉 — routed to 工程保修组 first; an installment plan being honoured (it
re-arms the day after an installment date on which the payments since
signing fall short of the installments due so far, or when 状态 is 已违约);
a 承诺缴费日 not yet passed (the latest 承诺缴费 contact).  Developer-held
units are not dunned by the front desk (公司财务管理部 settles with the
developer).

Contact days (:mod:`.holidays`): never on a statutory holiday; SMS any other
day; everything else on working days including 调休 weekend days, and on
ordinary weekends unless 参数 周末联系 = 否.  Owners with only a landline are
phoned (seed 004: 电话通知 不限).  The task keeps
its method and shows the first allowed 联系日期 (2026-10-01 → 2026-10-08).

诉讼时效 (民法典 第188/195条; 诉讼时效规定 第14条): three years from the latest
of — the day after the oldest open bill's 应缴日期, the last *provable* demand
(a letter once delivered; another contact whose 结果 is 已送达 or that has a
送达凭证), the owner's acknowledgement (a part payment, a recorded 承诺缴费, the
signing of an installment plan), and an installment plan's last installment
date (第189条).  The 说明 column names the event.  Warned from 诉讼时效预警月数
(30) months on.  Example: last delivered demand 2024-03-10 → 届满 2027-03-10,
warned from 2026-09-10; a part payment on 2024-06-10 of a debt due 2024-01-25
→ 届满 2027-06-10.

Never suggested, whatever a template says: cutting water, power, heating or
gas (民法典 第944条) — see :data:`FORBIDDEN_WORDS`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

from ..ledger import schema
from ..ledger.money import ZERO, round_money
from ..ledger.periods import add_months
from ..ledger.records import HangProposal, InstallmentPlan, Ledger, Problem, Settings, Source, Unit
from .aging import arrears_of
from .allocation import AllocationResult, UnitAccount, allocate
from .holidays import SMS, calendar_problem, day_info, next_contact_day

REMIND, TALK, FOLLOW, HANG, LAWYER, LITIGATION = "提醒", "沟通", "跟进", "挂牌", "律师函", "诉讼"
FEE_ONLY = "违约金收取"  # principal paid, only a late fee left: the front desk collects it (seed 004 §4.2 item 5)
STAGES = (FEE_ONLY, REMIND, TALK, FOLLOW, HANG, LAWYER, LITIGATION)
HOLD = "暂停"

# 催缴记录: written letters (their own 方式) count only once delivered (结果 已送达 with a 送达凭证)
LETTER_METHODS = ("催费通知单", "催缴函", "律师函")
GENERATED, PENDING, DELIVERED = "已生成", "待送达", "已送达"
LAWYER_DEADLINE_DAYS = 7

# hold kinds (the 说明 column carries the detail)
HOLD_LITIGATION, HOLD_DISPUTE, HOLD_COMPLAINT, HOLD_PLAN, HOLD_PROMISE, HOLD_DEVELOPER = (
    "诉讼中", "费用争议", "投诉处理中", "分期履行中", "承诺缴费", "开发商持有")

VALID_REASONS = ("经济困难", "服务不满")
FORBIDDEN_WORDS = ("停水", "停电", "断电", "断水", "停气", "断气", "停暖", "断暖", "停止供水", "停止供电",
                   "停止供气", "停止供暖", "限水", "限电")

FRONT_DESK = "客服前台"
SECURITY = "控制中心安全员"
ASSISTANT = "物业服务助理"
HQ_CLIENT = "公司客户关系部"
HQ_FINANCE = "公司财务管理部"
REPAIRS = "工程保修组"
CENTER_HEAD = "服务中心负责人"

WINDOW_PHONE = "10:00-11:00、15:00-17:00 为宜（最晚21:00）"
WINDOW_INTERCOM = "19:00-21:00"
WINDOW_VISIT = "白天，预约后上门（10:00-11:30、15:00-17:30 为宜）"
WINDOW_SHOP = "营业时间内走访"
WINDOW_DAY = "白天"

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"(0\d{2,3})?[2-9]\d{6,7}(转\d{1,5})?")
HANG_DISPLAYS = ("房号+姓氏", "仅房号", "不挂牌")
COMPOUND_SURNAMES = ("欧阳", "太史", "端木", "上官", "司马", "东方", "独孤", "南宫", "万俟", "闻人", "夏侯", "诸葛",
                     "尉迟", "公羊", "赫连", "澹台", "皇甫", "宗政", "濮阳", "公冶", "太叔", "申屠", "公孙", "慕容",
                     "仲孙", "钟离", "长孙", "宇文", "司徒", "鲜于", "司空", "闾丘", "子车", "亓官", "司寇", "巫马",
                     "公西", "颛孙", "壤驷", "公良", "漆雕", "乐正", "宰父", "谷梁", "拓跋", "夹谷", "轩辕", "令狐",
                     "段干", "百里", "呼延", "东郭", "南门", "羊舌", "微生", "公户", "公玉", "公仪", "梁丘", "公仲",
                     "公上", "公门", "公山", "公坚", "左丘", "公伯", "西门", "公祖", "第五", "公乘", "贯丘", "公皙",
                     "南荣", "东里", "东宫", "仲长", "子书", "子桑", "即墨", "达奚", "褚师")


def landline(text: str) -> str:
    """A fixed-line number (0755-12345678, 12345678), digits only, or '' — owners with only a landline are phoned."""
    digits = re.sub(r"[\s\-()（）]", "", text or "")
    if not digits or normalise_mobile(digits):
        return ""
    return digits if _LANDLINE.fullmatch(digits) else ""


def normalise_mobile(text: str) -> str:
    """An 11-digit mainland mobile number, or '' (spaces/dashes and a +86 prefix are dropped)."""
    digits = re.sub(r"[\s\-()（）]", "", text or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if _MOBILE.fullmatch(digits) else ""


def mask_name(name: str) -> str:
    """张三丰 → 张*, 欧阳娜娜 → 欧阳* (the posted 挂牌 list never shows more than the surname)."""
    name = (name or "").strip()
    if not name:
        return ""
    surname = next((s for s in COMPOUND_SURNAMES if name.startswith(s) and len(name) > len(s)), name[0])
    return surname + "*"


def delivered(contact) -> bool:
    """A 催缴记录 row that proves delivery: 结果 已送达 and a non-blank 送达凭证."""
    return contact.result == DELIVERED and bool((contact.proof or "").strip())


def counts_as_contact(contact) -> bool:
    """Does the row count for the ladder (≥ 3 contacts, 律师函/诉讼)?  A written letter only once delivered;
    a row that only records a document being generated (已生成/待送达) never."""
    if contact.method in LETTER_METHODS:
        return delivered(contact)
    return contact.result not in (GENERATED, PENDING)


def lawful(text: str) -> bool:
    """True when the text suggests no cutting of water/power/heating/gas (民法典 第944条)."""
    return not any(word in text for word in FORBIDDEN_WORDS)


# ---------------------------------------------------------------- policy (参数)

@dataclass(frozen=True)
class Policy:
    remind_before: int = 5
    remind_until: int = 7
    talk_until: int = 30
    hang_periods: int = 2
    lawyer_days: int = 180
    lawyer_contacts: int = 3
    litigation_amount: Decimal = Decimal("5000")
    warn_months: int = 30
    sms_window: tuple[dt.time, dt.time] = (dt.time(9, 0), dt.time(20, 0))
    sms_template: str = ""
    center: str = ""
    hotline: str = ""
    lawyer_deadline: int = LAWYER_DEADLINE_DAYS
    weekend_contact: bool = True
    hang_display: str = "房号+姓氏"

    @property
    def sms_window_text(self) -> str:
        return f"{self.sms_window[0]:%H:%M}-{self.sms_window[1]:%H:%M}"


def _default(key: str) -> str:
    return {k: v for k, v, _ in schema.PARAM_DEFAULTS}.get(key, "")


def policy_from_settings(settings: Settings) -> tuple[Policy, list[Problem]]:
    """The ladder's thresholds from 参数; a bad value is a problem and the default is used."""
    problems: list[Problem] = []

    def integer(key: str) -> int:
        text = settings.get(key, "").strip() or _default(key)
        try:
            value = int(Decimal(text))
            if value < 0:
                raise ValueError
            return value
        except (ArithmeticError, ValueError):
            problems.append(Problem.error(Source(schema.PARAMS), f"参数“{key}”的值“{text}”应为非负整数，使用默认值"))
            return int(_default(key))

    window_text = settings.get("短信时段", "").strip() or _default("短信时段")
    m = re.fullmatch(r"(\d{1,2})[:：](\d{2})\s*[-~－—至到]+\s*(\d{1,2})[:：](\d{2})", window_text)
    window = (dt.time(9, 0), dt.time(20, 0))
    if m and int(m.group(1)) < 24 and int(m.group(3)) < 24 and (int(m.group(1)), int(m.group(2))) < (
            int(m.group(3)), int(m.group(4))):
        window = (dt.time(int(m.group(1)), int(m.group(2))), dt.time(int(m.group(3)), int(m.group(4))))
    else:
        problems.append(Problem.error(Source(schema.PARAMS), f"参数“短信时段”的值“{window_text}”应写作 09:00-20:00，使用默认值"))
    if window[0] < dt.time(8, 0) or window[1] > dt.time(21, 0):
        problems.append(Problem.warning(Source(schema.PARAMS), f"参数“短信时段”{window_text} 超出 08:00-21:00，深夜或清晨发送易引起业主反感"))

    template = settings.get("短信模板", "").strip() or _default("短信模板")
    if not lawful(template):
        problems.append(Problem.error(Source(schema.PARAMS), "参数“短信模板”含有停水/停电/停气/停暖等内容，"
                                      "物业服务人不得以此方式催交物业费（民法典第944条）；已改用默认模板"))
        template = _default("短信模板")
    policy = Policy(
        remind_before=integer("提醒提前天数"),
        remind_until=integer("提醒逾期天数"),
        talk_until=integer("沟通逾期天数"),
        hang_periods=settings.hang_periods,
        lawyer_days=settings.lawyer_days,
        lawyer_contacts=integer("律师函联系次数"),
        litigation_amount=settings.litigation_amount,
        warn_months=settings.limitation_warn_months,
        sms_window=window,
        sms_template=template,
        center=settings.center,
        hotline=settings.hotline,
    )
    weekend_text = (settings.get("周末联系", "").strip() or _default("周末联系") or "是")
    if weekend_text not in ("是", "否"):
        problems.append(Problem.error(Source(schema.PARAMS), f"参数“周末联系”的值“{weekend_text}”应为 是 或 否，使用默认值 是"))
        weekend_text = "是"
    display = settings.get("挂牌公示方式", "").strip() or _default("挂牌公示方式") or HANG_DISPLAYS[0]
    if display not in HANG_DISPLAYS:
        problems.append(Problem.error(Source(schema.PARAMS), f"参数“挂牌公示方式”的值“{display}”应为 "
                                      f"{'/'.join(HANG_DISPLAYS)} 之一，使用默认值 {HANG_DISPLAYS[0]}"))
        display = HANG_DISPLAYS[0]
    policy = dataclasses.replace(policy, lawyer_deadline=integer("律师函付款期限天数"),
                                 weekend_contact=weekend_text == "是", hang_display=display)
    if policy.talk_until < policy.remind_until:
        problems.append(Problem.warning(Source(schema.PARAMS), "参数“沟通逾期天数”小于“提醒逾期天数”，“沟通”阶段将被跳过"))
    return policy, problems


# ---------------------------------------------------------------- records of a task

@dataclass(frozen=True)
class LastContact:
    date: dt.date
    method: str
    result: str

    def __str__(self) -> str:
        return " ".join(x for x in (f"{self.date:%Y-%m-%d}", self.method, self.result) if x)


@dataclass(frozen=True)
class Limitation:
    """诉讼时效: starts on ``start`` (``basis`` says why), ends on ``expires``."""

    start: dt.date
    basis: str
    expires: dt.date
    warn_from: dt.date
    as_of: dt.date

    @property
    def warning(self) -> bool:
        return self.as_of >= self.warn_from

    @property
    def expired(self) -> bool:
        return self.as_of > self.expires

    @property
    def event(self) -> str:
        """The event the clock runs from, for the sheet: '起算：部分缴款（…） 2026-05-03'."""
        return f"诉讼时效起算：{self.basis} {self.start:%Y-%m-%d}"

    @property
    def note(self) -> str:
        if self.expired:
            return (f"诉讼时效可能已于 {self.expires:%Y-%m-%d} 届满（起算：{self.basis} {self.start:%Y-%m-%d}），"
                    "请核实有无其他中断事由")
        if self.warning:
            return (f"诉讼时效预警：将于 {self.expires:%Y-%m-%d} 届满（起算：{self.basis} {self.start:%Y-%m-%d}），"
                    "请尽快送达书面催缴函并留存送达凭证")
        return ""


@dataclass(frozen=True)
class PlanState:
    plan: InstallmentPlan
    honoured: bool
    broken_on: Optional[dt.date] = None
    note: str = ""
    next_due: Optional[dt.date] = None
    next_amount: Optional[Decimal] = None


@dataclass(frozen=True)
class DunningTask:
    """One line of 催收任务: a unit, its stage and the next action."""

    room: str
    owner: str
    stage: str  # one of STAGES, or 暂停
    method: str
    window: str
    role: str
    contact_day: Optional[dt.date]  # the first day the method may be used (None for holds)
    days_overdue: int  # may be negative (提醒 before the due date)
    periods_owed: int
    principal: Decimal
    late_fee: Decimal
    amount_due: Decimal  # principal + late fee − 预存
    last_contact: Optional[LastContact]
    reason: str  # 欠费原因
    script: str  # 建议话术
    limitation: Limitation
    hold: str = ""  # hold kind when stage is 暂停
    notes: tuple[str, ...] = ()
    hang_eligible: bool = False
    fee_only: bool = False  # principal all paid, only a late fee left (仅欠违约金)
    sms_mobile: str = ""  # the consenting, valid mobile ('' if none) — never logged
    unit: Optional[Unit] = field(default=None, compare=False, repr=False)

    @property
    def held(self) -> bool:
        return self.stage == HOLD

    @property
    def note_text(self) -> str:
        return "；".join(n for n in self.notes if n)


@dataclass(frozen=True)
class DunningResult:
    as_of: dt.date
    tasks: tuple[DunningTask, ...]
    problems: tuple[Problem, ...]
    policy: Policy


# ---------------------------------------------------------------- facts per room

class _Facts:
    """The ledger's records indexed by room (built once per run)."""

    def __init__(self, ledger: Ledger, as_of: dt.date):
        self.as_of = as_of

        def by_room(records):
            out: dict[str, list] = {}
            for r in records:
                out.setdefault(r.room, []).append(r)
            return out

        self.contacts = {room: sorted((c for c in cs if c.date <= as_of), key=lambda c: c.date)
                         for room, cs in by_room(ledger.contacts).items()}
        self.complaints = by_room(ledger.complaints)
        self.plans = by_room(ledger.plans)
        self.debits = by_room(ledger.bank_debits)
        self.hangings = by_room(ledger.hangings)
        self.batch_returned = {b.batch_id: b.returned_on for b in ledger.bank_batches}


def plan_state(plan: InstallmentPlan, payments, as_of: dt.date) -> PlanState:
    """Is the plan honoured on ``as_of``?  Installments are total/count (the last takes the remainder).

    Broken the day after an installment date on which the payments since signing
    (up to and including that date) are less than the installments due so far.
    Example: 1,200.00 in 3 monthly parts from 2026-03-10 (400.00 each); 400.00
    paid 03-10 and 04-09 → honoured through 05-10, broken on 05-11 unless 400.00
    more arrives by 05-10.
    """
    per = round_money(plan.total / plan.count)
    schedule = [(add_months(plan.first_due, k * plan.interval_months),
                 per if k < plan.count - 1 else plan.total - per * (plan.count - 1)) for k in range(plan.count)]
    since = [p for p in payments if plan.signed_on <= p.paid_on <= as_of]
    if plan.status == "已违约":
        return PlanState(plan, False, None, f"分期协议 {plan.plan_no} 状态为已违约，恢复催缴")
    due_so_far = ZERO
    for k, (due, amount) in enumerate(schedule, start=1):
        due_so_far += amount
        if due >= as_of:
            return PlanState(plan, True, next_due=due, next_amount=amount,
                             note=f"分期协议 {plan.plan_no} 履行中，第{k}期 {due:%Y-%m-%d} 应缴 {amount:.2f} 元")
        paid = sum((p.amount for p in since if p.paid_on <= due), ZERO)
        if paid < due_so_far:
            broken = due + dt.timedelta(days=1)
            return PlanState(plan, False, broken,
                             f"分期协议 {plan.plan_no} 第{k}期（{due:%Y-%m-%d} 应缴 {amount:.2f} 元）未按时缴足，"
                             f"已于 {broken:%Y-%m-%d} 违约，恢复催缴")
    return PlanState(plan, False, None, f"分期协议 {plan.plan_no} 各期均已到期")


def _open_complaints(facts: _Facts, room: str, as_of: dt.date):
    return [c for c in facts.complaints.get(room, ())
            if c.date <= as_of and (c.status == "处理中" or (c.resolved_on is not None and c.resolved_on > as_of))]


def _bank_failure(facts: _Facts, room: str, as_of: dt.date) -> str:
    """'托收失败：余额不足' when the unit's latest returned debit failed."""
    returned = []
    for d in facts.debits.get(room, ()):
        if d.result not in ("成功", "失败"):
            continue
        day = d.returned_on or facts.batch_returned.get(d.batch_id)
        if day is None or day <= as_of:
            returned.append((day or dt.date.min, d.batch_id, d.seq, d))
    if not returned:
        return ""
    latest = max(returned, key=lambda t: t[:3])[3]
    if latest.result != "失败":
        return ""
    return f"托收失败：{latest.reason or '未注明原因'}"


def provable_demand(c) -> bool:
    """A demand the owner provably received: a written letter once delivered (已送达 + 送达凭证); another
    contact when 结果 已送达 or it has a 送达凭证.  A letter only generated (已生成/待送达) is not a demand."""
    if c.method in LETTER_METHODS:
        return delivered(c)
    if c.result in (GENERATED, PENDING):
        return False
    return c.result == DELIVERED or bool((c.proof or "").strip())


def limitation_of(contacts, plans, oldest_due: dt.date, as_of: dt.date, warn_months: int,
                  payments=()) -> Limitation:
    """诉讼时效 of a unit's oldest open debt (see the module docstring).

    Restarted (民法典 第195条; 诉讼时效规定 第14条) by the latest of: a delivered demand, the owner's
    acknowledgement (a part payment after the oldest 应缴日期, a signed installment plan, a recorded
    承诺缴费), and the end of an installment plan's performance period (第189条).
    """
    start, basis = oldest_due + dt.timedelta(days=1), "应缴日期次日"

    def later(day, why):
        nonlocal start, basis
        if day <= as_of and day > start:
            start, basis = day, why

    for c in contacts:
        if provable_demand(c):
            later(c.date, f"最后一次送达的催告（{c.method} {c.date:%Y-%m-%d}）")
        if c.result == "承诺缴费" or c.promise_date is not None:
            later(c.date, f"业主承诺缴费（{c.date:%Y-%m-%d}）")
    for p in payments:
        if p.amount > 0 and p.paid_on > oldest_due and p.channel != "预存冲抵":
            later(p.paid_on, f"部分缴款（收据 {p.receipt_no}，{p.amount:.2f} 元）")
    for p in plans:
        if p.signed_on <= as_of:
            later(p.signed_on, f"签订分期协议 {p.plan_no}")
            last = add_months(p.first_due, (p.count - 1) * p.interval_months)
            if last > start:
                start, basis = last, f"分期协议 {p.plan_no} 最后一期履行期限"
    return Limitation(start, basis, add_months(start, 36), add_months(start, warn_months), as_of)


# ---------------------------------------------------------------- words (seed 003 tone)

def _periods_text(account: UnitAccount, as_of: dt.date, periods=None) -> str:
    """The open bills' periods in words; ``periods``: those already found (sorted), e.g. an arrears line's."""
    if periods is None:
        periods = sorted({c.charge.period for c in account.open_charges()})
    return "、".join(p.label_cn for p in periods) or "往期违约金"


def script_for(stage: str, method: str, unit: Unit, amount: Decimal, periods: str, policy: Policy,
               reason: str = "", hold: str = "", hold_note: str = "") -> str:
    """建议话术: polite, first the owner's side, never a threat to basic services."""
    center = policy.center or "服务中心"
    money = f"{amount:,.2f}"
    if stage == HOLD:
        text = {
            HOLD_LITIGATION: "已进入诉讼程序，由公司客户关系部及代理律师跟进，服务中心不再单独催缴；业主来电缴费照常收取。",
            HOLD_DISPUTE: "业主对费用有争议，先由服务中心负责人核实账目并当面解释，争议解决前暂停催缴。",
            HOLD_COMPLAINT: f"先转{REPAIRS}处理业主投诉，问题解决后由物业服务助理回访：“您反映的问题我们已经处理好了，"
                            "您看还有什么需要我们改进的？”回访满意后再沟通缴费。",
            HOLD_PLAN: "按分期协议履行中，不催缴；每期到期前3天短信温馨提醒即可。",
            HOLD_PROMISE: "业主已承诺缴费，承诺日前不再联系；到期未缴再电话温馨提醒。",
            HOLD_DEVELOPER: "开发商持有房屋，由公司财务管理部与开发商对账结算，服务中心不上门催缴。",
        }.get(hold, "暂停催缴。")
        return (hold_note + "。" if hold_note else "") + text
    if stage == FEE_ONLY:
        return (f"{unit.room}往期物业服务等费用已缴清，尚有违约金{money}元未缴。业主来访或缴纳下期费用时由前台当面告知"
                "并出示违约金计算明细，可一并缴纳；业主有异议或确有困难的，可按程序申请减免。不上门、不发欠费短信。")
    if stage == REMIND:
        if method == SMS:
            return (f"发送温馨提示短信：您名下{unit.room}的{periods}物业服务等费用合计{money}元尚未缴纳，"
                    f"可通过微信、支付宝或到服务中心缴纳，如已缴纳请忽略。")
        return f"将催费通知单投入{unit.room}信报箱，注明应缴{money}元、缴费截止日期和缴费方式。"
    if stage == TALK:
        if method == "对讲":
            return (f"“您好，打扰了，我是{center}的工作人员，温馨提醒您家{periods}的物业费{money}元还没有缴纳，"
                    "方便的时候到服务中心或用微信缴纳就可以。请问您对我们的服务有什么意见吗？”")
        if method == "电话":
            text = (f"“您好，我是{center}的工作人员，来电是温馨提醒您名下{unit.room}的{periods}物业服务费等"
                    f"共{money}元尚未缴纳。请问是没有收到缴费通知，还是对我们的服务有什么意见？"
                    "您说的问题我们都会记录下来尽快处理。”先听后说，记录欠费原因和承诺缴费日期。")
        else:
            text = f"寄送书面催费通知单（应缴{money}元），留存寄送凭证；同时尝试其他联系方式。"
    elif stage == FOLLOW:
        text = (f"两人同行、预约后上门（商铺正常走访）：“您好，我们是{center}的，这次来一是听听您对服务"
                f"有什么需要改进的，二是提醒您{periods}的费用共{money}元还未缴纳。”当面递交书面催费通知单并请业主签收；"
                "业主不在或拒签的，拍照留存送达情况。")
        if "邮寄" in method:
            text = f"房屋空置：以挂号信/EMS寄送书面催费通知单（应缴{money}元），留存寄送凭证，并电话告知业主。"
    elif stage == HANG:
        text = (f"已欠费{periods}，可提议列入挂牌名单（须{CENTER_HEAD}审批；公示只显示房号和姓氏，不显示电话）。"
                f"挂牌前再上门或电话告知一次：“您好，您{periods}的费用共{money}元还未缴纳，"
                "请尽快缴纳，如有困难可以和我们商量分期。”")
    elif stage == LAWYER:
        text = (f"经多次催缴未缴，建议由{HQ_CLIENT}起草律师函；发函前电话告知业主最后缴费期限，"
                "说明逾期将依法通过诉讼解决，并留存律师函送达凭证。")
    else:  # 诉讼
        text = (f"欠费{money}元，多次催缴及律师函后仍无正当理由拒缴，列入公司年度集中诉讼批次；"
                "整理证据：物业服务合同、收费标准、应收及缴费记录、催缴记录与送达凭证。")
    if reason == "经济困难":
        text += "业主反映经济困难：可协商分期付款并签订书面分期协议。"
    elif reason == "服务不满":
        text += "业主对服务不满：先倾听、记录并转相关部门处理，处理结果及时反馈。"
    elif reason.startswith("托收失败"):
        text += f"银行{reason}：请业主核对扣款账户余额或改用其他方式缴纳。"
    return text


# ---------------------------------------------------------------- the ladder

def _task_for(unit: Unit, account: UnitAccount, ledger: Ledger, facts: _Facts, policy: Policy,
              as_of: dt.date) -> Optional[DunningTask]:
    line = arrears_of(unit, account, as_of)
    if line is None:
        return None
    amount_due = max(ZERO, line.total)
    if amount_due <= 0:
        return None
    days = (as_of - line.oldest_due).days
    if days < -policy.remind_before:
        return None  # nothing due soon enough to remind about
    open_charges = account.open_charges()
    overdue = [c for c in open_charges if c.charge.due_date < as_of]
    periods_owed = len({c.charge.period for c in overdue})
    contacts = facts.contacts.get(unit.room, [])
    last = contacts[-1] if contacts else None
    last_contact = LastContact(last.date, last.method, last.result) if last else None
    reasons = [c.reason for c in contacts if c.reason]
    owner_reason = reasons[-1] if reasons else ""
    bank = _bank_failure(facts, unit.room, as_of)
    reason = "；".join(r for r in (bank, owner_reason) if r)
    plans = [p for p in facts.plans.get(unit.room, ()) if p.signed_on <= as_of]
    limitation = limitation_of(contacts, plans, line.oldest_due, as_of, policy.warn_months,
                               [p for p in account.payments if p.paid_on <= as_of])
    periods = _periods_text(account, as_of, line.periods)  # the arrears line's: the open bills' periods, sorted
    notes: list[str] = []
    if bank:
        notes.append(bank)
    mobile = normalise_mobile(unit.mobile) if unit.sms_consent else ""
    fee_only = line.principal <= 0 < line.late_fee
    principal, late_fee = line.principal, line.late_fee  # what this task asks for (an honoured plan narrows it)
    if fee_only:  # not aged from bills already paid
        days, periods_owed = 0, 0

    def make(stage, method, window, role, contact_day, script, hold="", extra=(), hang=False):
        all_notes = list(extra) + notes
        all_notes.append(limitation.note or limitation.event)
        return DunningTask(
            room=unit.room, owner=unit.owner, stage=stage, method=method, window=window, role=role,
            contact_day=contact_day, days_overdue=days, periods_owed=periods_owed, principal=principal,
            late_fee=late_fee, amount_due=amount_due, last_contact=last_contact, reason=reason,
            script=script, limitation=limitation, hold=hold, notes=tuple(all_notes), hang_eligible=hang,
            fee_only=fee_only,
            sms_mobile=mobile, unit=unit)

    def hold(kind, method, role, note):
        return make(HOLD, method, WINDOW_DAY if method else "", role, None,
                    script_for(HOLD, method, unit, amount_due, periods, policy, hold=kind, hold_note=note),
                    hold=kind, extra=(note,))

    # ---- stop / hold conditions
    if unit.developer_held:
        return make(HOLD, "与开发商对账", WINDOW_DAY, HQ_FINANCE, None,
                    script_for(HOLD, "", unit, amount_due, periods, policy, hold=HOLD_DEVELOPER),
                    hold=HOLD_DEVELOPER, extra=("开发商持有房屋",))
    suits = [c for c in contacts if c.method == "诉讼" and c.date >= line.oldest_due]
    if suits:
        return hold(HOLD_LITIGATION, "", HQ_CLIENT, f"已于 {suits[-1].date:%Y-%m-%d} 进入诉讼程序")
    complaints = _open_complaints(facts, unit.room, as_of)
    disputes = [c for c in complaints if "争议" in c.category]
    if disputes:
        c = disputes[0]
        return hold(HOLD_DISPUTE, "核实并解释费用", CENTER_HEAD,
                    f"费用争议未解决（投诉 {c.number}，{c.date:%Y-%m-%d}）")
    if complaints:
        c = complaints[0]
        return hold(HOLD_COMPLAINT, f"转{REPAIRS}", REPAIRS,
                    f"投诉处理中（{c.number}{'，' + c.category if c.category else ''}，{c.date:%Y-%m-%d}），先解决问题")
    for plan in plans:
        if plan.status == "已完成":
            continue
        state = plan_state(plan, account.payments, as_of)
        if state.honoured:
            # the plan covers the bills due by its signing day; bills due later follow the ladder
            newer = [c for c in open_charges if c.charge.due_date > plan.signed_on]
            if not any(c.charge.due_date < as_of for c in newer) or fee_only:
                return hold(HOLD_PLAN, "", FRONT_DESK, state.note)
            notes.append(f"{state.note}；协议只涵盖 {plan.signed_on:%Y-%m-%d} 前的欠费，之后的新账单按流程催缴")
            oldest_new = min(c.charge.due_date for c in newer)
            days = (as_of - oldest_new).days
            periods_owed = len({c.charge.period for c in newer if c.charge.due_date < as_of})
            # ask only for the bills the plan does not cover: amount, words and SMS alike (the covered
            # arrears are paid by the plan's own schedule)
            principal = sum((c.open for c in newer), ZERO)
            late_fee = sum((c.fee_outstanding for c in newer), ZERO)
            amount_due = max(ZERO, principal + late_fee - line.prepaid)
            periods = _periods_text(account, as_of, sorted({c.charge.period for c in newer}))
        if state.broken_on is not None or plan.status == "已违约":
            notes.append(state.note)
    promises = [c for c in contacts if c.promise_date is not None]
    if promises:
        p = promises[-1]
        if p.promise_date >= as_of:
            return hold(HOLD_PROMISE, "", FRONT_DESK, f"业主 {p.date:%Y-%m-%d} 承诺于 {p.promise_date:%Y-%m-%d} 前缴费")
        notes.append(f"承诺缴费日 {p.promise_date:%Y-%m-%d} 已过仍未缴清")

    if fee_only:  # 违约金收取: at the front desk, no visits, no SMS about unpaid service fees
        notes.append(f"物业服务等费用已缴清，仅欠违约金 {line.late_fee:.2f} 元，由前台在业主来访或缴费时收取"
                     "（可按程序申请违约金减免）")
        contact_day = next_contact_day(as_of, "电话", weekends=policy.weekend_contact)
        script = script_for(FEE_ONLY, "", unit, line.late_fee, periods, policy)
        return make(FEE_ONLY, "前台收取（来访/缴费时告知）", WINDOW_DAY, FRONT_DESK, contact_day, script)

    # ---- the stage (a written letter counts only once its delivery is recorded)
    since = line.oldest_due - dt.timedelta(days=policy.remind_before)
    current = [c for c in contacts if c.date >= since and counts_as_contact(c)]
    lawyer_letters = [c for c in current if c.method == "律师函"]
    drafts = [c for c in contacts if c.date >= since and c.method in LETTER_METHODS and not delivered(c)]
    lawyer_due = (lawyer_letters[-1].date + dt.timedelta(days=policy.lawyer_deadline)) if lawyer_letters else None
    total = principal + late_fee
    valid_reason = owner_reason in VALID_REASONS
    hang_ok = periods_owed >= policy.hang_periods
    assistant_role = f"{ASSISTANT} {unit.assistant}".strip()
    shop = unit.house_type == "商铺"
    pending_letters = [c for c in drafts if not any(d.method == c.method and d.date >= c.date for d in current)]
    if pending_letters:
        c = pending_letters[-1]
        notes.append(f"{c.method}已于 {c.date:%Y-%m-%d} 生成，尚未登记送达（送达后在“催缴记录”填 结果 已送达 及 送达凭证）")
    if (lawyer_letters and as_of > lawyer_due and total >= policy.litigation_amount
            and days > policy.lawyer_days and not valid_reason):
        stage, method, window, role = LITIGATION, "诉讼（列入集中诉讼批次）", WINDOW_DAY, HQ_CLIENT
        notes.append(f"律师函已于 {lawyer_letters[-1].date:%Y-%m-%d} 送达，付款期限 {lawyer_due:%Y-%m-%d} 已过")
    elif days > policy.lawyer_days and len(current) >= policy.lawyer_contacts:
        if lawyer_letters:
            stage, method, window, role = LAWYER, "上门", WINDOW_SHOP if shop else WINDOW_VISIT, assistant_role
            notes.append(f"律师函已于 {lawyer_letters[-1].date:%Y-%m-%d} 送达，跟进回复")
            if as_of <= lawyer_due:
                notes.append(f"律师函付款期限至 {lawyer_due:%Y-%m-%d}，期满仍未缴方可列入诉讼")
            elif total < policy.litigation_amount:
                notes.append(f"欠费未达诉讼金额 {policy.litigation_amount:,.2f} 元")
            elif valid_reason:
                notes.append(f"业主有正当理由（{owner_reason}），暂不列入诉讼，建议协商")
        elif any(c.method == "律师函" for c in pending_letters):
            stage, method, window, role = LAWYER, "律师函送达（留存送达凭证）", WINDOW_DAY, HQ_CLIENT
        else:
            stage, method, window, role = LAWYER, "律师函", WINDOW_DAY, HQ_CLIENT
    else:
        if days > policy.lawyer_days:
            notes.append(f"逾期已超过{policy.lawyer_days}天，但本次欠费的催缴记录只有{len(current)}次"
                         f"（律师函前至少{policy.lawyer_contacts}次），先完成上门和书面催缴")
        if hang_ok:
            stage = HANG
        elif days > policy.talk_until:
            stage = FOLLOW
        elif days > policy.remind_until:
            stage = TALK
        else:
            stage = REMIND
        if stage == REMIND:
            if mobile:
                method, window, role = SMS, policy.sms_window_text, FRONT_DESK
            else:
                method, window, role = "催费通知单", WINDOW_DAY, FRONT_DESK
        elif stage == TALK:
            if normalise_mobile(unit.mobile) or landline(unit.mobile):  # 电话通知 不限: a landline is phoned too
                method, window, role = "电话", WINDOW_PHONE, FRONT_DESK
            elif unit.occupied:
                method, window, role = "对讲", WINDOW_INTERCOM, SECURITY
            else:
                method, window, role = "催费通知单（邮寄）", WINDOW_DAY, FRONT_DESK
        else:  # 跟进 / 挂牌
            if shop:
                method, window = "上门（正常走访）＋书面催费通知单", WINDOW_SHOP
            elif unit.occupied:
                method, window = "上门（预约，两人同行）＋书面催费通知单", WINDOW_VISIT
            else:
                method, window = "书面催费通知单（邮寄，留存送达凭证）＋电话", WINDOW_DAY
            role = assistant_role
            if stage == HANG:
                method = "挂牌提议（待负责人审批）＋" + method
    open_hang = [h for h in facts.hangings.get(unit.room, ())
                 if h.status not in ("已撤下", "不予批准") and (h.removed_on is None or h.removed_on > as_of)]
    if open_hang:
        h = open_hang[-1]
        notes.append(f"挂牌{h.status}（提议 {h.proposed_on:%Y-%m-%d}）" if not h.posted_on else
                     f"已挂牌（张贴 {h.posted_on:%Y-%m-%d}）")
    contact_kind = SMS if method == SMS else "电话"
    contact_day = next_contact_day(as_of, contact_kind, weekends=policy.weekend_contact)
    if contact_day != as_of:
        info = day_info(as_of)
        notes.insert(0, f"今日为{info.label}，{'短信' if contact_kind == SMS else '电话/上门'}顺延至 "
                        f"{contact_day:%Y-%m-%d}（{day_info(contact_day).label}）")
    script = script_for(stage, method, unit, amount_due, periods, policy, reason=owner_reason or bank)
    return make(stage, method, window, role, contact_day, script, hang=hang_ok)


_ORDER = {s: i for i, s in enumerate(STAGES)}


def dunning_tasks(ledger: Ledger, as_of: dt.date, allocation: Optional[AllocationResult] = None,
                  policy: Optional[Policy] = None) -> DunningResult:
    """Every owing unit's task for ``as_of``, grouped by 负责人, most serious first."""
    problems: list[Problem] = []
    if policy is None:
        policy, problems = policy_from_settings(ledger.settings)
    allocation = allocation or allocate(ledger, as_of)
    cal = calendar_problem(as_of)
    if cal:
        problems.append(cal)
    facts = _Facts(ledger, as_of)
    tasks = []
    for unit in ledger.units:
        account = allocation.accounts.get(unit.room)
        if account is None:
            continue
        task = _task_for(unit, account, ledger, facts, policy, as_of)
        if task is not None:
            tasks.append(task)
    tasks.sort(key=_task_order)
    for t in tasks:
        _check_lawful(t)
    return DunningResult(as_of, tuple(tasks), tuple(problems), policy)


def _task_order(t: DunningTask) -> tuple:
    """Grouped by 负责人, held ones last, most serious stage first, then the largest amount."""
    return t.held, t.role, -_ORDER.get(t.stage, -1), -t.amount_due, t.room


def _check_lawful(t: DunningTask) -> None:
    """The law is not negotiable, whatever a template or note says."""
    if not lawful(t.script + t.method):
        raise AssertionError(f"suggested action for {t.room} mentions cutting a basic service")


def may_be_held(unit: Unit, facts: _Facts) -> bool:
    """Could :func:`_task_for` put this unit on hold (stage 暂停)?  False only when it certainly cannot.

    Every hold needs one of: developer-held; a 催缴记录 of 方式 诉讼 or with a 承诺缴费日 (dated by
    as_of); a 投诉; an installment plan.
    """
    if unit.developer_held or unit.room in facts.complaints or unit.room in facts.plans:
        return True
    return any(c.method == "诉讼" or c.promise_date is not None for c in facts.contacts.get(unit.room, ()))


def held_tasks(ledger: Ledger, as_of: dt.date, allocation: Optional[AllocationResult] = None,
               policy: Optional[Policy] = None) -> tuple[DunningTask, ...]:
    """The tasks of :func:`dunning_tasks` that are held (暂停催缴), in its order.

    The same tasks, but the ladder is worked out only for the units :func:`may_be_held` (a few
    per estate), not for every owing unit (佣金 leaves held units out of its suggestions).
    """
    if policy is None:
        policy, _problems = policy_from_settings(ledger.settings)
    allocation = allocation or allocate(ledger, as_of)
    facts = _Facts(ledger, as_of)
    tasks = []
    for unit in ledger.units:
        account = allocation.accounts.get(unit.room)
        if account is None or not may_be_held(unit, facts):
            continue
        task = _task_for(unit, account, ledger, facts, policy, as_of)
        if task is not None and task.held:
            _check_lawful(task)  # as dunning_tasks checks every task
            tasks.append(task)
    tasks.sort(key=_task_order)
    return tuple(tasks)


def stage_of(ledger: Ledger, allocation: Optional[AllocationResult], room: str, as_of: dt.date,
             policy: Optional[Policy] = None) -> Optional[DunningTask]:
    """The dunning task of one room on ``as_of`` (None when it owes nothing due soon) — for FB_STAGE."""
    unit = ledger.unit_by_room().get(room)
    if unit is None:
        return None
    if policy is None:
        policy, _ = policy_from_settings(ledger.settings)
    allocation = allocation or allocate(ledger, as_of)
    account = allocation.accounts.get(room)
    if account is None:
        return None
    return _task_for(unit, account, ledger, _Facts(ledger, as_of), policy, as_of)


# ---------------------------------------------------------------- 挂牌

def new_hang_proposals(ledger: Ledger, result: DunningResult) -> list[HangProposal]:
    """Units that qualify for 挂牌 today and have no open proposal (待审批/已批准/已张贴)."""
    as_of = result.as_of
    open_rooms = {h.room for h in ledger.hangings
                  if h.status not in ("已撤下", "不予批准") and (h.removed_on is None or h.removed_on > as_of)}
    out = []
    for t in result.tasks:
        if t.hang_eligible and not t.held and t.room not in open_rooms:
            out.append(HangProposal(room=t.room, proposed_on=as_of, periods=t.periods_owed,
                                    amount=t.principal + t.late_fee, status="待审批"))
    out.sort(key=lambda h: h.room)
    return out


@dataclass(frozen=True)
class PostingLine:
    room: str
    masked_name: str
    periods_owed: int


def posting_list(ledger: Ledger, result: DunningResult) -> tuple[list[PostingLine], list[tuple[str, str]], list]:
    """The approved 挂牌 list to post: (lines, dropped (room, why), proposals still waiting for approval).

    Only proposals with an 审批人 (and an 审批日期 not after as_of), not 已撤下/不予批准;
    a unit that has paid since (no longer owes 挂牌欠费期数 periods) or is now on hold is dropped.
    """
    as_of = result.as_of
    tasks = {t.room: t for t in result.tasks}
    units = ledger.unit_by_room()
    lines, dropped, waiting, seen = [], [], [], set()
    for h in sorted(ledger.hangings, key=lambda h: (h.room, h.proposed_on)):
        if h.status in ("已撤下", "不予批准") or (h.removed_on is not None and h.removed_on <= as_of):
            continue
        if not h.approver or (h.approved_on is not None and h.approved_on > as_of):
            waiting.append(h)
            continue
        if h.room in seen:
            continue
        seen.add(h.room)
        task = tasks.get(h.room)
        if task is None or task.periods_owed < result.policy.hang_periods:
            dropped.append((h.room, "已缴费或欠费已不足挂牌期数"))
            continue
        if task.held:
            dropped.append((h.room, f"暂停催缴：{task.hold}"))
            continue
        if result.policy.hang_display == "不挂牌":
            dropped.append((h.room, "参数“挂牌公示方式”为 不挂牌"))
            continue
        name = mask_name(units[h.room].owner) if result.policy.hang_display == "房号+姓氏" else ""
        lines.append(PostingLine(h.room, name, task.periods_owed))
    return lines, dropped, waiting


# ---------------------------------------------------------------- sheet rows

def task_row(t: DunningTask) -> list:
    """A 催收任务 row in schema order (the required headers, then the optional ones)."""
    return [
        t.room, t.owner, t.stage if not t.held else f"{HOLD}（{t.hold}）", t.method, t.window,
        t.principal, t.late_fee,
        str(t.last_contact) if t.last_contact else "", t.reason, t.script, t.limitation.expires,
        t.role, t.contact_day, t.days_overdue, t.periods_owed, t.note_text,
    ]

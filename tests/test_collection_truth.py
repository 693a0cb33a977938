"""Issue 20: one truth for the collection team — hand-worked cases for each point.

Rates are the default 日万分之三 (0.0003), no grace days; a quarter's bill is due on the 25th of its
first month (2026Q1 → 2026-01-25, 2026Q3 → 2026-07-25, 2026Q4 → 2026-10-25).
"""
from __future__ import annotations

import re

import pytest

from xlwings_addin.documents.contexts import (DEMAND, LAWYER, NOTICE, REMINDER, contact_rows, contacts_intro,
                                              plan_letters)
from xlwings_addin.engine.aging import arrears_list, debtors
from xlwings_addin.engine.allocation import allocate
from xlwings_addin.engine.commission import commission_rows, quarter_totals
from xlwings_addin.engine.dunning import limitation_of, stage_of
from xlwings_addin.engine.holidays import calendar_problem, day_info
from xlwings_addin.exchange.sms import sms_reminders
from xlwings_addin.jobs.daily_report import daily_report
from xlwings_addin.jobs.ledger import arrears_sheet
from xlwings_addin.ledger.records import (Assistant, Complaint, Contact, InstallmentPlan, Settings)
from xlwings_addin.workbook.parse import default_commission_rules

from ledger_builders import D, Q1, Q2, Q3, Q4, charge, day, ledger, pay, unit

MOBILE = "13800138000"
AS_OF = day("2026-11-22")


def home(room, **kw):
    kw.setdefault("mobile", MOBILE)
    kw.setdefault("sms_consent", True)
    kw.setdefault("assistant", "小王")
    return unit(room, **kw)


def contact(room, on, method, result="", **kw):
    return Contact(date=day(on), room=room, method=method, result=result, **kw)


def task(lg, on, room="1-1-101"):
    return stage_of(lg, None, room, day(on))


# ---------------------------------------------------------------- 3. letters honour holds


def _two_units(**kw):
    """1-1-101 owes 2026Q3 and Q4 (1,000.00 each); 1-1-102 the same but has an open 投诉 (held)."""
    units = [home("1-1-101"), home("1-1-102")]
    charges = [charge(u.room, p, "1000.00") for u in units for p in (Q3, Q4)]
    complaints = (Complaint("TS-9", "1-1-102", day("2026-09-01"), "处理中", category="工程质量"),)
    return ledger(units=units, charges=charges, complaints=complaints, **kw)


@pytest.mark.parametrize("kind", [REMINDER, DEMAND, LAWYER])
def test_a_held_unit_is_skipped_by_every_demand_letter_with_its_reason(kind):
    plan = plan_letters(_two_units(), kind, AS_OF, period=Q4)
    skipped = dict(plan.skipped)
    assert "1-1-102" not in dict(plan.letters)
    assert skipped["1-1-102"].startswith("暂停催缴（投诉处理中") and "TS-9" in skipped["1-1-102"]
    if kind == LAWYER:  # 1-1-101 is 120 days overdue with no contact: the ladder does not call for a 律师函
        assert "未达律师函条件" in skipped["1-1-101"]
    else:
        assert [room for room, _ in plan.letters] == ["1-1-101"]


def test_the_held_unit_still_gets_its_fee_notice_without_demand():
    plan = plan_letters(_two_units(), NOTICE, AS_OF, period=Q4)
    ctx = dict(plan.letters)
    assert set(ctx) == {"1-1-101", "1-1-102"}
    # 1-1-101: Q4 1,000.00 + 往期 Q3 1,000.00 + 违约金 Q3 1,000×0.0003×120天 = 36.00 (07-25 → 11-22)
    #          and Q4 1,000×0.0003×28天 = 8.40 (10-25 → 11-22) → 2,044.40
    assert ctx["1-1-101"]["arrears_total"] == "1,000.00" and ctx["1-1-101"]["late_fee_total"] == "44.40"
    assert ctx["1-1-101"]["total_due"] == "2,044.40" and ctx["1-1-101"]["held"] == ""
    # 1-1-102 (held): this period's bill only — no 往期欠费 lines, no 违约金 demand
    held = ctx["1-1-102"]
    assert held["arrears_lines"] == [] and held["arrears_total"] == "0.00" and held["late_fee_total"] == "0.00"
    assert held["total_due"] == "1,000.00" and held["held"] == "投诉处理中"
    # its grid prints 往期欠费 0.00 while 欠费明细 shows Q3 owed (QA): the notice says the earlier periods
    # are handled apart, without a demand and without naming the hold
    assert held["held_note"] == "往期费用另行核对处理，本通知只列本期费用。" and ctx["1-1-101"]["held_note"] == ""


def test_the_held_notice_says_its_earlier_periods_are_handled_apart(tmp_path):
    from xlwings_addin.documents import letters as L

    plan = plan_letters(_two_units(), NOTICE, AS_OF, period=Q4, rooms=["1-1-102"])
    result = L.render_letters(NOTICE, plan.letters, "2026Q4", tmp_path, merge=False)
    from docx import Document

    text = "\n".join(p.text for p in Document(str(result.files[0][1])).paragraphs)
    assert "往期费用另行核对处理，本通知只列本期费用。" in text and "二、应缴合计" in text


def test_naming_a_held_unit_needs_force_and_force_is_in_the_audit_log(tmp_path):
    from xlwings_addin.faces.commands.letters import job_letters

    lg = _two_units()
    plan = plan_letters(lg, DEMAND, AS_OF, period=Q4, rooms=["1-1-102"])
    assert plan.letters == () and any("--force" in p.message for p in plan.problems)
    changes, result = job_letters(lg, DEMAND, AS_OF, tmp_path, period=Q4, rooms=["1-1-102"], force=True,
                                  merge=False, progress=False)
    assert len(result.files) == 1
    forced = [a for a in changes.audit if "--force" in a["操作"]]
    assert forced and forced[0]["数量"] == 1 and "1-1-102" in forced[0]["说明"] and "投诉处理中" in forced[0]["说明"]
    # a batch (no --units) never forces a held unit, even with --force
    batch = plan_letters(lg, DEMAND, AS_OF, period=Q4, force=True)
    assert [room for room, _ in batch.letters] == ["1-1-101"]


# ---------------------------------------------------------------- 4. generated ≠ delivered


def _lawyer_case(extra=()):
    """6,000.00 owed since 2026-01-25 and three contacts (短信 已送达, 电话 未接通, 上门 拒缴)."""
    contacts = (contact("1-1-101", "2026-02-01", "短信", "已送达"), contact("1-1-101", "2026-02-10", "电话", "未接通"),
                contact("1-1-101", "2026-03-15", "上门", "拒缴")) + tuple(extra)
    return ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q1, "6000.00")], contacts=contacts)


def test_a_generated_lawyer_letter_is_logged_as_generated_and_does_not_escalate():
    lg = _lawyer_case()
    # 2026-01-25 → 2026-07-25 is 181 days, 3 contacts → 律师函
    assert task(lg, "2026-07-25").stage == "律师函"
    plan = plan_letters(lg, LAWYER, day("2026-07-25"), period=Q3)
    rows, _ = contact_rows(plan, lg)
    assert [(r["方式"], r["结果"], r["送达凭证"]) for r in rows] == [("律师函", "已生成", "")]
    draft = contact("1-1-101", "2026-07-25", "律师函", "已生成")
    lg = _lawyer_case([draft])
    t = task(lg, "2026-07-26")
    assert t.stage == "律师函" and t.method.startswith("律师函送达") and "尚未登记送达" in t.note_text
    assert task(lg, "2026-09-30").stage == "律师函"  # never 诉讼 on an undelivered draft
    # 已送达 without a 送达凭证 is not a proven delivery either
    lg = _lawyer_case([draft, contact("1-1-101", "2026-07-27", "律师函", "已送达")])
    assert task(lg, "2026-09-30").stage == "律师函"


def test_delivery_recorded_then_litigation_only_after_the_letters_deadline():
    delivered = contact("1-1-101", "2026-07-27", "律师函", "已送达", proof="EMS回执 1234")
    lg = _lawyer_case([contact("1-1-101", "2026-07-25", "律师函", "已生成"), delivered])
    # deadline = delivery 2026-07-27 + 7 days = 2026-08-03: still 律师函 that day
    t = task(lg, "2026-08-03")
    assert t.stage == "律师函" and "付款期限至 2026-08-03" in t.note_text
    t = task(lg, "2026-08-04")
    assert t.stage == "诉讼" and "2026-07-27 送达" in t.note_text


def test_three_contacts_count_a_letter_only_once_delivered():
    base = (contact("1-1-101", "2026-02-01", "短信", "已送达"), contact("1-1-101", "2026-02-10", "电话", "未接通"))
    letter = contact("1-1-101", "2026-03-15", "催缴函", "已生成")
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q1, "6000.00")], contacts=base + (letter,))
    t = task(lg, "2026-07-25")
    assert t.stage != "律师函" and "只有2次" in t.note_text
    got = contact("1-1-101", "2026-03-20", "催缴函", "已送达", proof="业主签收")
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q1, "6000.00")],
                contacts=base + (letter, got))
    assert task(lg, "2026-07-25").stage == "律师函"


def test_a_lawyer_letter_only_when_the_ladder_says_so_and_never_many_for_one():
    # 2026Q4 due 2026-10-25, as of 2026-10-31: 6 days overdue
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q4, "6000.00")])
    plan = plan_letters(lg, LAWYER, day("2026-10-31"), period=Q4)
    assert plan.letters == () and "未达律师函条件" in dict(plan.skipped)["1-1-101"]
    assert contacts_intro(0) == "委托人此前的催缴情况："
    assert contacts_intro(1) == "委托人此前已向贵方催缴："
    assert contacts_intro(3) == "委托人此前已3次向贵方催缴："
    # forced draft with one delivered letter and one merely generated: only the delivered one is listed
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q4, "6000.00")],
                contacts=(contact("1-1-101", "2026-10-27", "催缴函", "已生成"),
                          contact("1-1-101", "2026-10-28", "催缴函", "已送达", proof="签收")))
    ctx = dict(plan_letters(lg, LAWYER, day("2026-10-31"), period=Q4, force=True).letters)["1-1-101"]
    assert ctx["contacts_intro"] == "委托人此前已向贵方催缴："
    assert ctx["contacts_text"] == "2026年10月28日（催缴函，已送达）"


# ---------------------------------------------------------------- 5. 诉讼时效 restarts


def test_a_part_payment_restarts_the_limitation_clock_and_the_sheet_says_so():
    q = Q1.__class__.quarter(2024, 1)  # due 2024-01-25
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", q, "1200.00")],
                payments=[pay("R1", "1-1-101", "2024-06-10", "300.00")])
    t = task(lg, "2026-11-22")
    # without the payment: 2024-01-26 + 36 months = 2027-01-26; the part payment restarts it: 2024-06-10 → 2027-06-10
    assert t.limitation.start == day("2024-06-10") and t.limitation.expires == day("2027-06-10")
    assert "部分缴款" in t.limitation.basis and "R1" in t.limitation.basis
    # the 说明 column says which event the date comes from (not yet warned: 2024-06-10 + 30 months = 2026-12-10)
    assert not t.limitation.warning and "诉讼时效起算：部分缴款" in t.note_text


def test_a_promise_a_signed_plan_and_a_delivered_demand_restart_it_a_generated_letter_does_not():
    due = day("2024-01-25")
    promise = contact("1-1-101", "2024-05-01", "电话", "承诺缴费", promise_date=day("2024-05-20"))
    lim = limitation_of([promise], [], due, day("2026-11-22"), 30)
    assert (lim.start, lim.expires) == (day("2024-05-01"), day("2027-05-01")) and "承诺缴费" in lim.basis
    generated = contact("1-1-101", "2024-09-01", "催缴函", "已生成")
    assert limitation_of([promise, generated], [], due, day("2026-11-22"), 30).start == day("2024-05-01")
    delivered = contact("1-1-101", "2024-09-03", "催缴函", "已送达", proof="EMS")
    lim = limitation_of([promise, generated, delivered], [], due, day("2026-11-22"), 30)
    assert lim.start == day("2024-09-03") and "催缴函" in lim.basis
    # a signed plan (one installment, so its last installment date is its first: 2024-10-15)
    plan = InstallmentPlan("FQ-1", "1-1-101", day("2024-10-01"), D("1200.00"), 1, day("2024-10-15"))
    lim = limitation_of([promise], [plan], due, day("2026-11-22"), 30)
    assert lim.start == day("2024-10-15")
    assert "最后一期履行期限" in lim.basis  # 第189条: an installment debt runs from its last installment date
    # signing itself is an acknowledgement: a plan signed 2024-10-01 whose only installment was 2024-09-01
    late = InstallmentPlan("FQ-2", "1-1-101", day("2024-10-01"), D("1200.00"), 1, day("2024-09-01"))
    lim = limitation_of([promise], [late], due, day("2026-11-22"), 30)
    assert lim.start == day("2024-10-01") and "签订分期协议 FQ-2" in lim.basis


# ---------------------------------------------------------------- 2. late-fee-only balances


def _fee_only():
    # 2026Q1 1,000.00 due 2026-01-25, paid 2026-03-06 (40 days late) → 违约金 1,000 × 0.0003 × 40 = 12.00
    return ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q1, "1000.00")],
                  payments=[pay("R1", "1-1-101", "2026-03-06", "1000.00")])


def test_a_late_fee_only_unit_is_at_the_front_desk_stage():
    t = task(_fee_only(), "2026-06-01")
    assert (t.stage, t.role, t.principal, t.late_fee) == ("违约金收取", "客服前台", D("0"), D("12.00"))
    assert t.fee_only and t.days_overdue == 0 and t.periods_owed == 0  # not aged from a bill already paid
    assert "上门" not in t.method and "短信" not in t.method and "违约金12.00元" in t.script
    export = sms_reminders(_fee_only(), day("2026-06-01"))
    assert export.rows == [] and export.skipped["仅欠违约金（前台收取）"] == 1
    plan = plan_letters(_fee_only(), DEMAND, day("2026-06-01"), period=Q2)
    assert plan.letters == () and "仅欠违约金" in dict(plan.skipped)["1-1-101"]


# ---------------------------------------------------------------- 1. one definition of 欠费户


def _estate():
    """A owes principal, B only a late fee (12.00 as above), C nothing, D (developer-held) owes principal."""
    units = [home("A"), home("B"), home("C"), home("D", developer_held=True)]
    charges = [charge(r, Q1, "1000.00") for r in "ABCD"]
    payments = [pay("R1", "B", "2026-03-06", "1000.00"), pay("R2", "C", "2026-01-20", "1000.00")]
    return ledger(units=units, charges=charges, payments=payments)


def test_debtors_count_principal_owers_and_label_late_fee_only_separately():
    lg = _estate()
    allocation = allocate(lg, day("2026-06-01"))
    owing = debtors(lg.units, allocation)
    assert (owing.count, owing.fee_only_count, owing.developer_count) == (2, 1, 1)
    assert owing.principal == D("2000.00") and owing.fee_only_amount == D("12.00")
    assert owing.text().startswith("截至 2026-06-01 欠费户 2 户（含开发商持有 1 户）")
    lines = {line.item: line for line in daily_report(lg, day("2026-06-01"))}
    assert lines["欠费户数（日终）"].value == 2 and "2026-06-01" in lines["欠费户数（日终）"].note
    assert lines["仅欠违约金户数（日终）"].value == 1
    sheet = arrears_sheet(lg, allocation)
    totals = [r[2] for r in sheet.rows if r and r[0] in ("合计", "开发商持有合计")]
    assert totals == ["欠费户1户（另仅欠违约金1户）", "欠费户1户"]
    # B is labelled on 欠费明细 and not aged from its bill paid on 2026-03-06
    b_row = next(r for r in sheet.rows if r and r[0] == "B")
    header = list(sheet.headers)
    assert (b_row[header.index("账龄")], b_row[header.index("逾期天数")], b_row[header.index("欠费本金")]) == (
        "仅欠违约金", 0, D("0"))


# ---------------------------------------------------------------- 6. the ladder's details


def test_a_landline_only_owner_is_phoned():
    # Q1 due 2026-01-25, as of 2026-02-05 = 11 days overdue → 沟通
    lg = ledger(units=[home("1-1-101", mobile="0755-86001234", sms_consent=False)],
                charges=[charge("1-1-101", Q1, "1000.00")])
    t = task(lg, "2026-02-05")
    assert (t.stage, t.method, t.role) == ("沟通", "电话", "客服前台")
    lg = ledger(units=[home("1-1-101", mobile="", sms_consent=False)], charges=[charge("1-1-101", Q1, "1000.00")])
    assert task(lg, "2026-02-05").method == "对讲"  # no number at all: the intercom in the evening


def test_the_fallback_calendar_knows_new_year_labour_day_and_national_day():
    assert day_info(day("2099-01-01")).statutory_holiday and day_info(day("2099-01-01")).holiday_name == "元旦"
    assert day_info(day("2099-05-01")).holiday_name == "劳动节"
    assert all(day_info(day(f"2099-10-0{d}")).statutory_holiday for d in (1, 2, 3))
    assert not day_info(day("2099-10-05")).statutory_holiday  # a Monday: not guessed
    assert calendar_problem(day("2099-10-01")) is not None


def test_sms_deadline_counts_from_the_day_it_is_sent():
    # file made on 2026-10-01 (国庆节): sent 2026-10-08; Q2 (due 04-25) has no upcoming due date → 10-08 + 7 = 10-15
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q2, "1000.00")])
    export = sms_reminders(lg, day("2026-10-01"))
    (row,) = export.rows
    assert row["计划发送时间"].startswith("2026-10-08") and "请于2026年10月15日前" in row["短信内容"]


def test_an_honoured_plan_holds_only_the_arrears_it_covers():
    # plan signed 2026-03-01 for Q1's 1,200.00 in 3 × 400.00 from 03-10; paid 03-10 and 04-09 → honoured on 05-10
    plan = InstallmentPlan("FQ-1", "1-1-101", day("2026-03-01"), D("1200.00"), 3, day("2026-03-10"))
    payments = [pay("R1", "1-1-101", "2026-03-10", "400.00"), pay("R2", "1-1-101", "2026-04-09", "400.00")]
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", Q1, "1200.00")], plans=(plan,),
                payments=payments)
    assert task(lg, "2026-05-10").held  # only the covered Q1 is open
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", p, "1200.00") for p in (Q1, Q2)],
                plans=(plan,), payments=payments)
    t = task(lg, "2026-05-10")
    # Q2 (due 2026-04-25) is not covered: 15 days overdue → 沟通, aged from Q2 not Q1
    assert not t.held and (t.stage, t.days_overdue, t.periods_owed) == ("沟通", 15, 1)
    assert "协议只涵盖" in t.note_text
    # and it asks only for Q2 (QA on the demo: 1-2-102's words and SMS asked for the plan's arrears too):
    # Q2 1,200.00 + late fee 1,200.00 × 0.0003 × 15 days (04-26..05-10) = 5.40 → 1,205.40; Q1's open
    # 400.00 is the plan's third part, due 2026-05-10, not this task's
    assert (t.principal, t.late_fee, t.amount_due) == (D("1200.00"), D("5.40"), D("1205.40"))
    assert "2026年第2季度" in t.script and "2026年第1季度" not in t.script and "1,205.40" in t.script
    (row,) = sms_reminders(lg, day("2026-05-10")).rows
    assert row["金额"] == D("1205.40") and "1205.40元" in row["短信内容"]


def test_letters_to_a_unit_honouring_a_plan_ask_only_for_what_the_plan_does_not_cover():
    """QA on the demo: 1-2-102 (plan FQ2026-001 履行中) got a 催缴函 and a 收费通知单 demanding, within 15/7
    days, the 1,207.96 the plan schedules for 2026-12-20 and 2027-01-20."""
    from xlwings_addin.documents.contexts import DEMAND, INSTALLMENT, NOTICE, plan_letters

    # as above: plan signed 2026-03-01 covers Q1 (1,200.00; 400.00 still open, its third part due 05-10);
    # Q2 1,200.00 due 2026-04-25 is new: late fee 1,200.00 × 0.0003 × 15 = 5.40 as of 05-10
    plan = InstallmentPlan("FQ-1", "1-1-101", day("2026-03-01"), D("1200.00"), 3, day("2026-03-10"))
    payments = [pay("R1", "1-1-101", "2026-03-10", "400.00"), pay("R2", "1-1-101", "2026-04-09", "400.00")]
    lg = ledger(units=[home("1-1-101")], charges=[charge("1-1-101", p, "1200.00") for p in (Q1, Q2)],
                plans=(plan,), payments=payments)
    as_of = day("2026-05-10")
    (room, demand), = plan_letters(lg, DEMAND, as_of, rooms=["1-1-101"]).letters
    assert demand["periods_text"] == "2026年第2季度" and demand["period_count"] == "1"
    assert (demand["principal_total"], demand["late_fee_total"], demand["total_due"]) == ("1,200.00", "5.40",
                                                                                        "1,205.40")
    (_room, notice), = plan_letters(lg, NOTICE, as_of, period=Q2, rooms=["1-1-101"]).letters
    assert notice["arrears_lines"] == [] and notice["arrears_total"] == "0.00"
    assert (notice["late_fee_total"], notice["total_due"]) == ("5.40", "1,205.40")  # 1,200.00 + 5.40
    # the 分期付款协议 itself still shows what the plan covers (Q1's open 400.00 too)
    (_room, agreement), = plan_letters(lg, INSTALLMENT, as_of, rooms=["1-1-101"]).letters
    assert "2026年第1季度" in agreement["periods_text"]


def test_posting_shows_compound_surnames_and_obeys_the_display_parameter():
    from xlwings_addin.jobs.dunning import job_hang_list
    from xlwings_addin.ledger.records import HangProposal

    def run(display):
        settings = Settings(extra=(("挂牌公示方式", display),)) if display else None
        lg = ledger(units=[home("1-1-101", owner="欧阳娜娜")], charges=[charge("1-1-101", p, "1200.00") for p in (Q1, Q2)],
                    hangings=(HangProposal("1-1-101", day("2026-05-01"), 2, D("2400"), approver="刘经理",
                                           approved_on=day("2026-05-02")),), settings=settings)
        return job_hang_list(lg, day("2026-05-06"))[1]

    assert [(x.room, x.masked_name) for x in run(None).lines] == [("1-1-101", "欧阳*")]
    assert [(x.room, x.masked_name) for x in run("仅房号").lines] == [("1-1-101", "")]
    hang = run("不挂牌")
    assert hang.lines == [] and hang.dropped == [("1-1-101", "参数“挂牌公示方式”为 不挂牌")]


# ---------------------------------------------------------------- 7. commission what-if


def test_commission_what_if_leaves_out_held_units_and_totals_the_quarter():
    # 小王's four units × 1,000.00 (2026Q4, due 10-25); 1,000 + 1,000 paid → 50% on 2026-10-31
    units = [home(r, building="1") for r in ("1-101", "1-102", "1-103", "1-104")]
    charges = [charge(u.room, Q4, "1000.00") for u in units]
    payments = [pay("R1", "1-101", "2026-10-10", "1000.00"), pay("R2", "1-102", "2026-10-10", "1000.00")]
    complaints = (Complaint("TS-1", "1-103", day("2026-10-20"), "处理中", category="工程质量"),)
    lg = ledger(units=units, charges=charges, payments=payments, complaints=complaints,
                commission_rules=default_commission_rules(), assistants=(Assistant("小王", ("1",)),))
    rows, _ = commission_rows(lg, allocate(lg, day("2026-10-31")), Q4)
    (row,) = rows
    # 80% needs 0.8 × 4,000 − 2,000 = 1,200.00; 1-103 is held → only 1-104 (1,000.00) may be chased: not enough
    assert row.what_if.needed == D("1200.00") and [r for r, _ in row.what_if.rooms] == ["1-104"]
    assert not row.what_if.reachable and "排除" in row.note
    # month 1 at 50% → 50.00 (default table); quarter so far = 50.00
    assert row.amount == D("50.00") and quarter_totals(rows) == {"小王": D("50.00")}


# ---------------------------------------------------------------- the demo: every 欠费户数 agrees


def _count(text) -> int:
    return int(re.match(r"\s*(\d+)", str(text)).group(1))


def test_after_the_demo_every_debtor_count_agrees_and_debited_bills_are_not_owed(tmp_path, capsys):
    import openpyxl

    from xlwings_addin.demo import run_demo
    from xlwings_addin.documents.report import report_context
    from xlwings_addin.jobs.ledger import load

    run_demo(tmp_path, as_of=AS_OF)
    printed = capsys.readouterr().out
    path = tmp_path / "示例花园_收费大表.xlsx"
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    values = list(wb["欠费明细"].iter_rows(values_only=True))
    header = list(values[0])
    col = {h: i for i, h in enumerate(header)}
    detail = [r for r in values[1:] if r and r[0] and r[col["欠费本金"]] is not None
              and r[0] not in ("合计", "开发商持有合计") and not str(r[0]).startswith("截至")]
    owing_rows = {r[0] for r in detail if float(r[col["欠费本金"]]) > 0}
    n = len(owing_rows)
    assert 0 < n < len(detail)  # some units owe only a late fee
    # terminal summary
    assert f"欠费户 {n} 户" in printed
    # 欠费明细 合计 rows
    totals = [r[2] for r in values[1:] if r and r[0] in ("合计", "开发商持有合计")]
    assert sum(int(re.match(r"欠费户(\d+)户", t).group(1)) for t in totals) == n
    # 看板
    # (the KPI block is A:B, numbers with formats — issue 13; the day is the 截至日期 row)
    board = {r[0]: r[1] for r in wb["看板"].iter_rows(values_only=True) if r and r[0]}
    assert board["欠费户数(户，欠费本金>0)"] == n and board["截至日期"].date() == AS_OF
    # 催收总结报告 and the next day's 催收日报
    led = load(path).ledger
    ctx, _k = report_context(led, Q4, AS_OF)
    assert ctx["arrears_units"] == n
    lines = {line.item: line.value for line in daily_report(led, day("2026-11-23"))}
    assert lines["欠费户数（日终）"] == n
    # no unit the 回盘 debited successfully still shows the debited bills as owed
    ok = {r[2] for r in wb["托收明细"].iter_rows(min_row=2, values_only=True) if r and r[4] == "成功"}
    assert ok and not (ok & owing_rows)


# ---------------------------------------------------------------- 1. posting money refreshes 欠费明细 in the same write


def _arrears_rows(path):
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    values = list(wb["欠费明细"].iter_rows(values_only=True))
    col = {h: i for i, h in enumerate(values[0])}
    return {r[0]: r[col["欠费本金"]] for r in values[1:] if r and r[0] and r[col["最早应缴日期"]] is not None}


def test_receive_and_reverse_refresh_arrears_in_the_same_write(demo_copy):
    from xlwings_addin.jobs.ledger import apply_to_file, load
    from xlwings_addin.jobs.receipts import receive, reverse
    from xlwings_addin.jobs.bank import locked_rooms

    book = load(demo_copy)
    allocation = allocate(book.ledger, AS_OF)
    locks = locked_rooms(book.ledger)
    line = next(a for a in arrears_list(book.ledger.units, allocation)
                if a.principal > 0 and not a.unit.developer_held and a.unit.room not in locks)
    room, owed = line.unit.room, line.principal + line.late_fee
    assert room in _arrears_rows(demo_copy)
    # a receipt dated 2026-11-20 entered on 2026-11-22: the sheets are refreshed as of the day of entry
    changes, _ctx = receive(book.ledger, room, owed, "现金", day("2026-11-20"), as_of=AS_OF)
    assert "欠费明细" in changes.replace and "收缴率" in changes.replace
    assert changes.replace["欠费明细"].rows[-1][0].startswith("截至 2026-11-22")
    apply_to_file(book, changes)  # one write: the 收款 row and the refreshed sheets
    assert room not in _arrears_rows(demo_copy)  # paid in full (principal and late fee)
    book = load(demo_copy)
    receipt = next(p.receipt_no for p in book.ledger.payments if p.room == room and p.paid_on == day("2026-11-20"))
    changes = reverse(book.ledger, receipt, AS_OF, reason="录错")
    apply_to_file(book, changes)
    assert _arrears_rows(demo_copy)[room] == pytest.approx(float(line.principal))  # owed again after the reversal

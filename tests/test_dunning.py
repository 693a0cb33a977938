"""The dunning ladder of SPEC §4.7, hand-worked: stages, holds, calendar, limitation, SMS, 挂牌, 催收日报."""
from __future__ import annotations

import csv
import datetime as dt


from xlwings_addin.jobs.daily_report import daily_report
from xlwings_addin.jobs.dunning import job_dunning, job_hang_list, posting_sheet
from xlwings_addin.engine import dunning as dn
from xlwings_addin.engine.dunning import (FORBIDDEN_WORDS, HOLD, dunning_tasks, limitation_of, mask_name,
                                          normalise_mobile, stage_of)
from xlwings_addin.engine.holidays import calendar_problem, contact_allowed, day_info, next_contact_day
from xlwings_addin.ledger.records import (BankBatch, BankDebit, Complaint, Contact, HangProposal, InstallmentPlan,
                                   Settings)
from xlwings_addin.exchange.sms import neutralise, sms_reminders, write_sms_csv

from ledger_builders import D, Q1, Q2, Q3, charge, day, ledger, pay, unit

MOBILE = "13800138000"


def home(room="1-1-101", **kw):
    kw.setdefault("mobile", MOBILE)
    kw.setdefault("sms_consent", True)
    kw.setdefault("assistant", "小王")
    return unit(room, **kw)


def contact(room, on, method, result="", **kw):
    return Contact(date=day(on), room=room, method=method, result=result, **kw)


def one_bill(amount="1200.00", units=None, **kw):
    """One unit owing 2026Q1 (due 2026-01-25)."""
    units = units or [home()]
    return ledger(units=units, charges=[charge(u.room, Q1, amount) for u in units], **kw)


def task(lg, on, room="1-1-101"):
    return stage_of(lg, None, room, day(on))


# ---------------------------------------------------------------- a unit at each stage


def test_remind_starts_five_days_before_the_due_date():
    lg = one_bill()
    assert task(lg, "2026-01-19") is None  # 6 days before 2026-01-25
    t = task(lg, "2026-01-20")  # 5 days before
    assert (t.stage, t.days_overdue, t.method, t.role) == ("提醒", -5, "短信", "客服前台")
    assert t.window == "09:00-20:00"


def test_remind_sms_may_go_on_a_sunday_and_without_consent_a_mailbox_notice():
    # 2026-02-01 is a Sunday, 7 days after 2026-01-25: still 提醒, SMS allowed on a weekend
    t = task(one_bill(), "2026-02-01")
    assert (t.stage, t.days_overdue, t.method, t.contact_day) == ("提醒", 7, "短信", day("2026-02-01"))
    t = task(one_bill(units=[home(sms_consent=False)]), "2026-02-01")
    assert t.method == "催费通知单"


def test_talk_from_day_8_by_phone_or_intercom_in_the_evening():
    t = task(one_bill(), "2026-02-02")  # 8 days
    assert (t.stage, t.method, t.role) == ("沟通", "电话", "客服前台")
    assert "21:00" in t.window
    t = task(one_bill(units=[home(mobile="", occupied=True)]), "2026-02-02")
    assert (t.method, t.window, t.role) == ("对讲", "19:00-21:00", "控制中心安全员")
    t = task(one_bill(units=[home(mobile="", occupied=False)]), "2026-02-02")
    assert "邮寄" in t.method


def test_follow_up_from_day_31_visit_homes_by_appointment_shops_normally():
    t = task(one_bill(), "2026-02-25")  # 31 days
    assert t.stage == "跟进" and "预约" in t.method and "两人" in t.method
    assert t.role == "物业服务助理 小王"
    t = task(one_bill(units=[home("S-001", house_type="商铺")]), "2026-02-25", "S-001")
    assert t.stage == "跟进" and "正常走访" in t.method
    assert task(one_bill(), "2026-02-24").stage == "沟通"  # 30 days


def test_hang_proposal_when_two_periods_are_overdue():
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q1, "1200.00"), charge("1-1-101", Q2, "1200.00")])
    t = task(lg, "2026-04-25")  # Q2 due today: not overdue yet → 1 period, 90 days → 跟进
    assert (t.stage, t.periods_owed, t.days_overdue) == ("跟进", 1, 90)
    t = task(lg, "2026-04-26")  # Q1 and Q2 overdue
    assert (t.stage, t.periods_owed, t.days_overdue, t.hang_eligible) == ("挂牌", 2, 91, True)
    assert t.method.startswith("挂牌提议")


def _three_contacts(room="1-1-101", reason=""):
    return [contact(room, "2026-02-01", "短信", "已送达"), contact(room, "2026-02-10", "电话", "未接通"),
            contact(room, "2026-03-15", "上门", "拒缴", reason=reason)]


def test_lawyer_letter_after_180_days_and_three_contacts():
    # 2026-01-25 → 2026-07-24 is 6+28+31+30+31+30+24 = 180 days; the 25th is day 181
    lg = one_bill(contacts=_three_contacts())
    assert task(lg, "2026-07-24").stage == "跟进"
    t = task(lg, "2026-07-25")
    assert (t.stage, t.days_overdue, t.method, t.role) == ("律师函", 181, "律师函", "公司客户关系部")
    # only two contacts: not yet — the note says why
    lg = one_bill(contacts=_three_contacts()[:2])
    t = task(lg, "2026-07-25")
    assert t.stage == "跟进" and "只有2次" in t.note_text


def test_litigation_after_a_lawyer_letter_for_large_debts_without_valid_reason():
    contacts = _three_contacts() + [contact("1-1-101", "2026-06-01", "律师函", "已送达", proof="EMS回执")]
    t = task(one_bill("6000.00", contacts=contacts), "2026-07-25")
    assert (t.stage, t.role) == ("诉讼", "公司客户关系部")
    # owed = principal + late fee: 4,500 + 4,500 × 0.0003 × 181 = 4,500 + 244.35 = 4,744.35 < 诉讼欠费金额 5,000
    # → stays at 律师函 (follow the letter up)
    t = task(one_bill("4500.00", contacts=contacts), "2026-07-25")
    assert t.principal + t.late_fee == D("4744.35")
    assert t.stage == "律师函" and "未达诉讼金额" in t.note_text
    # economic hardship is a valid reason: no lawsuit, offer instalments
    contacts = _three_contacts(reason="经济困难") + [contact("1-1-101", "2026-06-01", "律师函", "已送达")]
    t = task(one_bill("6000.00", contacts=contacts), "2026-07-25")
    assert t.stage == "律师函" and "分期" in t.script


def test_thresholds_are_parameters():
    settings = Settings(extra=(("提醒逾期天数", "3"), ("沟通逾期天数", "10")))
    lg = one_bill(settings=settings)
    assert task(lg, "2026-01-28").stage == "提醒"  # 3 days
    assert task(lg, "2026-01-29").stage == "沟通"  # 4 days
    assert task(lg, "2026-02-05").stage == "跟进"  # 11 days


# ---------------------------------------------------------------- stop / hold conditions


def test_installment_plan_honoured_then_broken_the_day_after_a_missed_instalment():
    # 1,200.00 in 3 monthly parts of 400.00 from 2026-03-10; paid 03-10 and 04-09, nothing by 05-10
    plan = InstallmentPlan("FQ-1", "1-1-101", day("2026-03-01"), D("1200.00"), 3, day("2026-03-10"))
    lg = one_bill(plans=[plan], payments=[pay("R1", "1-1-101", "2026-03-10", "400.00"),
                                          pay("R2", "1-1-101", "2026-04-09", "400.00")])
    t = task(lg, "2026-05-10")
    assert (t.stage, t.hold) == (HOLD, "分期履行中")
    assert "第3期 2026-05-10 应缴 400.00" in t.note_text
    t = task(lg, "2026-05-11")  # re-armed: 106 days overdue, 400.00 still open
    assert t.stage == "跟进" and t.principal == D("400.00")
    assert "2026-05-11 违约" in t.note_text
    # an earlier shortfall breaks it earlier: only 300.00 by 04-10 → broken on 04-11
    lg = one_bill(plans=[plan], payments=[pay("R1", "1-1-101", "2026-03-10", "400.00"),
                                          pay("R2", "1-1-101", "2026-04-10", "300.00")])
    assert task(lg, "2026-04-10").hold == "分期履行中"
    assert task(lg, "2026-04-11").stage == "跟进"


def test_open_complaint_routes_to_repairs_first_and_a_resolved_one_does_not():
    c = Complaint("TS-1", "1-1-101", day("2026-02-01"), "处理中", category="工程质量")
    t = task(one_bill(complaints=[c]), "2026-03-01")
    assert (t.stage, t.hold, t.role) == (HOLD, "投诉处理中", "工程保修组")
    assert "工程保修组" in t.method and "TS-1" in t.note_text
    done = Complaint("TS-1", "1-1-101", day("2026-02-01"), "已解决", category="工程质量",
                     resolved_on=day("2026-02-20"))
    assert task(one_bill(complaints=[done]), "2026-03-01").stage == "跟进"
    assert task(one_bill(complaints=[done]), "2026-02-19").hold == "投诉处理中"  # not yet resolved then


def test_disputed_charge_is_a_complaint_of_category_with_zhengyi():
    c = Complaint("TS-2", "1-1-101", day("2026-02-01"), "处理中", category="费用争议")
    t = task(one_bill(complaints=[c]), "2026-03-01")
    assert (t.stage, t.hold, t.role) == (HOLD, "费用争议", "服务中心负责人")


def test_litigation_holds_the_ladder():
    contacts = [contact("1-1-101", "2026-06-01", "诉讼", "")]
    t = task(one_bill(contacts=contacts), "2026-08-01")
    assert (t.stage, t.hold, t.role) == (HOLD, "诉讼中", "公司客户关系部")


def test_promise_to_pay_holds_until_the_date_then_rearms():
    contacts = [contact("1-1-101", "2026-02-05", "电话", "承诺缴费", promise_date=day("2026-02-20"))]
    lg = one_bill(contacts=contacts)
    t = task(lg, "2026-02-20")
    assert (t.stage, t.hold) == (HOLD, "承诺缴费")
    t = task(lg, "2026-02-21")  # 27 days overdue
    assert t.stage == "沟通" and "承诺缴费日 2026-02-20 已过" in t.note_text
    assert str(t.last_contact) == "2026-02-05 电话 承诺缴费"


def test_paid_units_have_no_task():
    lg = one_bill(payments=[pay("R1", "1-1-101", "2026-01-25", "1200.00")])
    assert task(lg, "2026-03-01") is None


# ---------------------------------------------------------------- calendar


def test_holiday_calendar_knows_national_day_and_the_adjusted_saturday():
    assert day_info(day("2026-10-01")).statutory_holiday
    assert not contact_allowed(day("2026-10-01"), "短信")
    assert not contact_allowed(day("2026-10-01"), "电话")
    assert day_info(day("2026-10-10")).workday and day("2026-10-10").weekday() == 5  # 调休 Saturday
    assert contact_allowed(day("2026-10-10"), "上门")
    # 2026-10-11 is an ordinary Sunday: a contact day by default (issue 20), not when 周末联系 = 否
    assert contact_allowed(day("2026-10-11"), "短信") and contact_allowed(day("2026-10-11"), "电话")
    assert not contact_allowed(day("2026-10-11"), "电话", weekends=False)
    assert next_contact_day(day("2026-10-01"), "电话") == day("2026-10-08")


def test_no_contact_on_national_day_the_task_moves_to_the_next_allowed_day():
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q3, "1200.00")])  # due 2026-07-25
    t = task(lg, "2026-10-01")  # 68 days: 跟进, a visit → first working day 2026-10-08
    assert (t.stage, t.contact_day) == ("跟进", day("2026-10-08"))
    assert "国庆节" in t.note_text
    # SMS stage on a holiday: due 2026-09-28, 3 days overdue → SMS, also not before 10-08
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q3, "1200.00", due="2026-09-28")])
    t = task(lg, "2026-10-01")
    assert (t.stage, t.method, t.contact_day) == ("提醒", "短信", day("2026-10-08"))


def test_adjusted_saturday_is_a_contact_day_and_the_next_sunday_too_unless_weekends_are_off():
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q3, "1200.00")])
    assert task(lg, "2026-10-10").contact_day == day("2026-10-10")
    # issue 20: an ordinary Sunday is a contact day by default (seed 004: 电话通知 不限) …
    assert task(lg, "2026-10-11").contact_day == day("2026-10-11")
    # … and with 参数 周末联系 = 否 the task moves to Monday 2026-10-12
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q3, "1200.00")],
                settings=Settings(extra=(("周末联系", "否"),)))
    assert task(lg, "2026-10-11").contact_day == day("2026-10-12")


def test_a_date_outside_the_calendar_is_a_warning_not_a_guess_in_silence():
    assert calendar_problem(day("2026-06-01")) is None
    far = day("2099-03-02")
    problem = calendar_problem(far)
    assert problem is not None and problem.level == "警告" and "chinese_calendar" in problem.message
    result = dunning_tasks(one_bill(), far)
    assert problem in result.problems


# ---------------------------------------------------------------- 诉讼时效


def test_limitation_warns_30_months_after_the_last_delivered_demand():
    contacts = [contact("1-1-101", "2024-03-10", "上门", "已送达", proof="签收"),
                contact("1-1-101", "2025-01-01", "电话", "未接通")]  # not provable: does not restart it
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q1.__class__.quarter(2024, 1), "1200.00")],
                contacts=contacts)
    t = task(lg, "2026-09-09")
    assert t.limitation.expires == day("2027-03-10") and not t.limitation.warning
    t = task(lg, "2026-09-10")  # 2024-03-10 + 30 months
    assert t.limitation.warning and "2027-03-10" in t.note_text


def test_limitation_runs_from_the_due_date_without_demands_and_from_a_plans_last_instalment():
    lim = limitation_of([], [], day("2024-01-25"), day("2026-01-01"), 30)
    assert (lim.start, lim.expires) == (day("2024-01-26"), day("2027-01-26"))
    plan = InstallmentPlan("FQ", "1-1-101", day("2025-01-01"), D("800"), 4, day("2025-02-01"))
    lim = limitation_of([], [plan], day("2024-01-25"), day("2026-01-01"), 30)
    assert (lim.start, lim.expires) == (day("2025-05-01"), day("2028-05-01"))  # 02-01 + 3 months


# ---------------------------------------------------------------- bank failures, reasons


def test_failed_bank_debit_is_the_reason_in_the_task():
    batch = BankBatch("TS001", "工行", day("2026-01-18"), 1, D("1200.00"), "已回盘", returned_on=day("2026-01-24"))
    debit = BankDebit("TS001", 1, "1-1-101", D("1200.00"), "失败", reason="余额不足", returned_on=day("2026-01-24"))
    lg = one_bill(bank_batches=[batch], bank_debits=[debit])
    t = task(lg, "2026-02-02")
    assert t.reason == "托收失败：余额不足"
    assert "托收失败：余额不足" in t.note_text
    ok = BankDebit("TS002", 1, "1-1-101", D("1200.00"), "成功", returned_on=day("2026-02-24"))
    t = task(one_bill(amount="2400.00", bank_debits=[debit, ok]), "2026-03-01")
    assert t.reason == ""


# ---------------------------------------------------------------- 民法典 第944条


def test_no_suggestion_ever_mentions_cutting_water_power_gas_or_heating():
    words = ("停水", "停电", "断电", "停气", "停暖")
    assert set(words) <= set(FORBIDDEN_WORDS)
    texts = []
    for stage in dn.STAGES:
        for method in ("短信", "催费通知单", "电话", "对讲", "催费通知单（邮寄）", "上门", "书面催费通知单（邮寄）"):
            for reason in ("", "经济困难", "服务不满", "托收失败：余额不足"):
                texts.append(dn.script_for(stage, method, home(), D("100"), "2026年第1季度", dn.Policy(),
                                           reason=reason))
    for hold in (dn.HOLD_LITIGATION, dn.HOLD_DISPUTE, dn.HOLD_COMPLAINT, dn.HOLD_PLAN, dn.HOLD_PROMISE,
                 dn.HOLD_DEVELOPER):
        texts.append(dn.script_for(HOLD, "", home(), D("100"), "", dn.Policy(), hold=hold))
    contacts = _three_contacts() + [contact("1-1-101", "2026-06-01", "律师函", "已送达")]
    for on in ("2026-01-20", "2026-02-02", "2026-02-25", "2026-07-25"):
        t = task(one_bill("6000", contacts=contacts), on)
        texts += [t.script, t.method, t.window, t.note_text]
    assert len(texts) > 100
    for text in texts:
        assert not any(w in text for w in words), text


def test_a_template_that_threatens_cutting_power_is_refused():
    settings = Settings(extra=(("短信模板", "{业主}，再不交费就停电"),))
    policy, problems = dn.policy_from_settings(settings)
    assert "停电" not in policy.sms_template
    assert any(p.level == "错误" and "944" in p.message for p in problems)


# ---------------------------------------------------------------- SMS export


def _sms_ledger(**kw):
    units = [home("1-1-101", owner="张三"),
             home("1-1-102", owner="李四", sms_consent=False),
             home("1-1-201", owner="王五", mobile="0755-1234567"),  # a landline: no SMS
             home("1-1-202", owner="=HYPERLINK(\"http://x\")", mobile="+86 139-0013-9000"),
             home("1-1-301", owner="赵六", bank_debit=True)]
    charges = [charge(u.room, Q1, "1200.00") for u in units]
    return ledger(units=units, charges=charges, **kw)


def test_sms_rows_only_for_consenting_mobiles_with_amount_and_template(tmp_path):
    # as of 2026-02-04: 1200.00 + 1200 × 0.0003 × 10 days = 1203.60
    export = sms_reminders(_sms_ledger(), day("2026-02-04"))
    rooms = [r["房号"] for r in export.rows]
    assert rooms == ["1-1-101", "1-1-202", "1-1-301"]  # 301 is a 托收 unit, but overdue → included
    row = export.rows[0]
    assert row["金额"] == D("1203.60") and row["手机"] == MOBILE
    assert "张三" in row["短信内容"] and "1203.60元" in row["短信内容"] and "0755-12345678" in row["短信内容"]
    assert "2026年2月11日" in row["短信内容"]  # overdue: deadline = as_of + 7 days
    assert export.rows[1]["手机"] == "13900139000"
    assert export.skipped["未同意接收短信"] == 1 and export.skipped["手机号缺失或不是11位手机号"] == 1
    assert export.send_at == dt.datetime(2026, 2, 4, 9, 0)

    path = write_sms_csv(tmp_path / "sms.csv", export)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["手机", "房号", "业主", "金额", "短信内容", "计划发送时间"]
    assert rows[1][3] == "1203.60"
    assert rows[2][2] == "'=HYPERLINK(\"http://x\")"
    for r in rows[1:]:
        for cell in r:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_sms_before_the_due_date_names_the_due_date_and_skips_bank_debit_units():
    # day 18 of the quarter's first month, bills due 2026-01-25: no late fee yet
    export = sms_reminders(_sms_ledger(), day("2026-01-18"))
    assert [r["房号"] for r in export.rows] == ["1-1-101", "1-1-202"]
    assert export.skipped["托收户（本期由银行代扣）"] == 1
    assert export.rows[0]["金额"] == D("1200.00") and "2026年1月25日" in export.rows[0]["短信内容"]


def test_sms_on_a_statutory_holiday_is_planned_for_the_next_allowed_day():
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q3, "1200.00")])
    export = sms_reminders(lg, day("2026-10-01"))
    assert export.send_at == dt.datetime(2026, 10, 8, 9, 0)
    assert any("顺延" in p.message for p in export.problems)


def test_sms_skips_held_units_and_neutralise():
    c = Complaint("TS-1", "1-1-101", day("2026-01-02"), "处理中")
    export = sms_reminders(_sms_ledger(complaints=[c]), day("2026-02-04"))
    assert "1-1-101" not in [r["房号"] for r in export.rows]
    assert export.skipped["暂停催缴（投诉处理中）"] == 1
    assert [neutralise(x) for x in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "")] == \
        ["'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", ""]
    assert normalise_mobile("138 0013 8000") == MOBILE and normalise_mobile("12345678901") == ""


# ---------------------------------------------------------------- 挂牌


def test_hang_proposals_need_an_approver_and_the_posted_list_is_masked_and_drops_payers():
    units = [home("1-1-101", owner="张三丰"), home("1-1-102", owner="李四"), home("1-1-201", owner="王五")]
    charges = [charge(u.room, p, "1200.00") for u in units for p in (Q1, Q2)]
    hangings = [
        HangProposal("1-1-101", day("2026-05-01"), 2, D("2400"), approver="刘经理", approved_on=day("2026-05-02")),
        HangProposal("1-1-102", day("2026-05-01"), 2, D("2400"), approver="刘经理", approved_on=day("2026-05-02")),
        HangProposal("1-1-201", day("2026-05-01"), 2, D("2400")),  # no approver yet
    ]
    payments = [pay("R1", "1-1-102", "2026-05-03", "2400.00")]  # 李四 paid after approval
    lg = ledger(units=units, charges=charges, hangings=hangings, payments=payments)
    changes, hang = job_hang_list(lg, day("2026-05-06"))
    assert [(l.room, l.masked_name) for l in hang.lines] == [("1-1-101", "张*")]
    assert hang.dropped == [("1-1-102", "已缴费或欠费已不足挂牌期数")]
    assert [h.room for h in hang.waiting] == ["1-1-201"]
    sheet = posting_sheet(hang, day("2026-05-06"))
    flat = " ".join(str(c) for row in sheet.rows for c in row)
    assert "张三丰" not in flat and MOBILE not in flat and "13800" not in flat
    assert sheet.headers == ["序号", "房号", "业主", "欠费期数"]
    assert mask_name("欧阳娜娜") == "欧阳*"  # issue 20: a compound surname is the surname


def test_dunning_job_proposes_hang_once():
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q1, "1200.00"), charge("1-1-101", Q2, "1200.00")])
    changes = job_dunning(lg, day("2026-04-27"))
    rows = changes.append["挂牌"]
    assert rows == [{"房号": "1-1-101", "提议日期": day("2026-04-27"), "欠费期数": 2, "欠费金额": rows[0]["欠费金额"],
                     "状态": "待审批", "备注": rows[0]["备注"]}]
    # Q1 fee: 1200 × 0.0003 × 92 = 33.12; Q2: 1200 × 0.0003 × 2 = 0.72 → 2400 + 33.84
    assert rows[0]["欠费金额"] == D("2433.84")
    again = ledger(units=[home()], charges=lg.charges,
                   hangings=[HangProposal("1-1-101", day("2026-04-27"), 2, D("2433.84"))])
    assert "挂牌" not in job_dunning(again, day("2026-04-28")).append
    sheet = changes.replace["催收任务"]
    assert sheet.rows[0][:4] == ["1-1-101", "张三", "挂牌", sheet.rows[0][3]]
    assert sheet.rows[0][5] == D("2400.00") and sheet.rows[0][6] == D("33.84")


# ---------------------------------------------------------------- 催收日报


def test_daily_report_counts_the_day():
    units = [home("1-1-101"), home("1-1-102"), home("1-1-201")]
    charges = [charge(u.room, Q1, "300.00") for u in units]
    payments = [pay("R1", "1-1-101", "2026-01-24", "300.00"),  # paid before due: no fee → cleared on 01-24
                pay("R2", "1-1-102", "2026-02-02", "120.50"),
                pay("R3", "1-1-201", "2026-02-02", "80.00", channel="现金"),
                pay("R4", "1-1-201", "2026-02-02", "300.00", channel="微信")]
    contacts = [contact("1-1-102", "2026-02-02", "电话", "承诺缴费", promise_date=day("2026-02-10"))]
    debit = BankDebit("TS1", 1, "1-1-102", D("300.00"), "失败", reason="账户冻结", returned_on=day("2026-02-02"))
    lg = ledger(units=units, charges=charges, payments=payments, contacts=contacts, bank_debits=[debit])
    lines = {l.item: l for l in daily_report(lg, day("2026-02-02"))}
    # 120.50 + 80.00 + 300.00 = 500.50; 微信 420.50, 现金 80.00
    assert lines["今日收款合计"].value == D("500.50") and lines["今日收款合计"].note.startswith("3 笔")
    assert lines["今日收款-微信"].value == D("420.50") and lines["今日收款-现金"].value == D("80.00")
    # 1-1-201 paid 380.00 on day 8: principal 300 + fee 300 × 0.0003 × 8 = 0.72 → cleared (79.28 预存)
    assert (lines["今日缴清户数"].value, lines["今日缴清户数"].note) == (1, "1-1-201")
    assert lines["今日新增承诺缴费"].value == 1 and "1-1-102（承诺02-10前）" in lines["今日新增承诺缴费"].note
    assert lines["今日托收失败"].value == 1 and "账户冻结" in lines["今日托收失败"].note
    assert lines["欠费户数（日终）"].value == 1


def test_daily_report_shows_principal_cleared_with_late_fee_left():
    # 300.00 due 2026-01-25 paid 2026-02-02: principal cleared, fee 300 × 0.0003 × 8 = 0.72 still open
    lg = ledger(units=[home()], charges=[charge("1-1-101", Q1, "300.00")],
                payments=[pay("R1", "1-1-101", "2026-02-02", "300.00")])
    lines = {l.item: l for l in daily_report(lg, day("2026-02-02"))}
    assert lines["今日缴清户数"].value == 0
    assert lines["今日缴清本金户数（仍欠违约金）"].value == 1


def test_cli_dunning_export_sms_and_approved_hang_list(demo_copy, tmp_path, capsys):
    import openpyxl

    from xlwings_addin.faces.cli import main
    from xlwings_addin.jobs.ledger import load
    from xlwings_addin.workbook.writer import save_changes

    assert main(["dunning", str(demo_copy), "--as-of", "2026-11-23"]) == 0
    book = load(demo_copy)
    proposals = book.ledger.hangings
    assert proposals and all(h.status == "待审批" and not h.approver for h in proposals)
    out = tmp_path / "out"
    assert main(["hang-list", str(demo_copy), "--as-of", "2026-11-23", "--out", str(out)]) == 0
    assert not out.exists() or not list(out.glob("挂牌公示_*.xlsx"))  # nothing approved yet
    first = proposals[0]
    save_changes(demo_copy, append={"挂牌": [{"房号": first.room, "提议日期": first.proposed_on, "审批人": "刘经理",
                                              "审批日期": day("2026-11-23"), "状态": "已批准"}]})
    assert main(["hang-list", str(demo_copy), "--as-of", "2026-11-24", "--out", str(out)]) == 0
    posted = out / "挂牌公示_2026-11-24.xlsx"
    rows = [r for r in openpyxl.load_workbook(posted).active.iter_rows(values_only=True)]
    unit = load(demo_copy).ledger.unit_by_room()[first.room]
    assert rows[0] == ("序号", "房号", "业主", "欠费期数")
    assert rows[1][:3] == (1, first.room, unit.owner[0] + "*")
    flat = " ".join(str(c) for r in rows for c in r if c is not None)
    assert unit.owner not in flat and unit.mobile not in flat
    assert main(["export", "sms", str(demo_copy), "--as-of", "2026-11-23", "--out", str(out)]) == 0
    assert (out / "短信提醒_2026-11-23.csv").read_bytes().startswith(b"\xef\xbb\xbf")

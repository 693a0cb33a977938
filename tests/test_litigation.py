"""The litigation pack (issue 18): stage 诉讼, 诉讼时效, 计算表, 证据目录, 要素式起诉状, 诉讼清单.

Hand-worked unit A = 5-1-801 (100㎡, 物业管理费 750.00 a quarter, rate 0.0003/day, grace 0,
LPR 3.0%, 诉讼欠费金额 1,500.00), as of 2026-08-01:

  2025Q4 750.00 due 2025-10-25; 300.00 paid 2025-11-04 (10 days late), 450.00 open.
         10-25 → 08-01 = 6 (Oct) + 30 + 31 + 31 + 28 + 31 + 30 + 31 + 30 + 31 (Jul) + 1 = 280 days.
  2026Q1 750.00 due 2026-01-25, open: 01-25 → 08-01 = 6 + 28 + 31 + 30 + 31 + 30 + 31 + 1 = 188 days.
  2026Q2 750.00 due 2026-04-25, open: 04-25 → 08-01 = 5 + 31 + 30 + 31 + 1 = 98 days.

  principal 450 + 750 + 750 = 1,950.00
  contract fee (0.0003/day):
    Q4 300×0.0003×10 + 450×0.0003×280 = 0.90 + 37.80 = 38.70
    Q1 750×0.0003×188 = 42.30
    Q2 750×0.0003×98  = 22.05            total 103.05 → claim 1,950.00 + 103.05 = 2,053.05
  court reference (0.03 × 1.5 / 365 = 0.045/365 per day):
    Q4 (300×10 + 450×280) × 0.045/365 = 129,000 × 0.045 / 365 = 5,805/365 = 15.9041… → 15.90
    Q1 750×188 × 0.045/365 = 6,345/365 = 17.3835… → 17.38
    Q2 750×98 × 0.045/365 = 3,307.5/365 = 9.0616… → 9.06   total 42.34

  催缴记录: 2026-02-10 催缴函 已送达 (EMS-A1); 2026-03-05 电话 未接通 (no proof);
            2026-05-20 上门 已送达 (签收单-0520); 2026-07-01 律师函 已送达 (EMS-L9) → deadline 07-08.
  诉讼时效: latest restart = the 律师函 delivered 2026-07-01 → 届满 2029-07-01.

B = 5-1-802: the same bills, but its 律师函 row is only 已生成 (no 送达凭证) → not in the batch.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from ledger_builders import D, charge, day, item, ledger, pay, unit
from xlwings_addin.documents import litigation as DL
from xlwings_addin.documents.letters import undeclared_variables
from xlwings_addin.engine.allocation import allocate
from xlwings_addin.engine.late_fee import court_reference_rate
from xlwings_addin.engine.litigation import (calculation_lines, delivered, limitation_clock, litigation_batch,
                                             litigation_stage)
from xlwings_addin.jobs.litigation import job_litigation
from xlwings_addin.ledger import schema
from xlwings_addin.ledger.periods import Period
from xlwings_addin.ledger.records import Complaint, Contact, Settings

AS_OF = day("2026-08-01")
Q4_25, Q1_26, Q2_26 = Period.quarter(2025, 4), Period.quarter(2026, 1), Period.quarter(2026, 2)
A, B = "5-1-801", "5-1-802"


def contact(room, on, method, result="", proof="", **kw):
    return Contact(date=day(on), room=room, method=method, result=result, proof=proof, **kw)


def history(room, lawyer_result="已送达", lawyer_proof="EMS-L9"):
    return [contact(room, "2026-02-10", "催缴函", "已送达", "EMS-A1"),
            contact(room, "2026-03-05", "电话", "未接通"),
            contact(room, "2026-05-20", "上门", "已送达", "签收单-0520"),
            contact(room, "2026-07-01", "律师函", lawyer_result, lawyer_proof)]


def sample(rooms=(A, B), extra_contacts=(), payments=(), **kw):
    settings = kw.pop("settings", Settings(litigation_amount=D("1500"),
                                           extra=(("统一社会信用代码", "91440300MA5TEST01X"),
                                                  ("法定代表人", "赵六"), ("公司住所", "深圳市南山区示例路1号"))))
    units = [unit(A, "100", "5", owner="张三丰"), unit(B, "100", "5", owner="李四")]
    units = [u for u in units if u.room in rooms]
    charges = [charge(r, p, "750.00") for r in rooms for p in (Q4_25, Q1_26, Q2_26)]
    contacts = []
    if A in rooms:
        contacts += history(A)
    if B in rooms:
        contacts += history(B, "已生成", "")
    return ledger(units=units, items=(item("WYF", "物业管理费", "面积", "2.50", unit_label="元/㎡·月"),),
                  charges=charges, payments=[pay("R1", A, "2025-11-04", "300.00"), *payments],
                  contacts=tuple(contacts) + tuple(extra_contacts), settings=settings, **kw)


def batch_of(lg, rooms=None, as_of=AS_OF):
    return litigation_batch(lg, as_of, 7, rooms=rooms)


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


# ----------------------------------------------------------------------------- the stage test

def test_delivered_needs_result_and_proof():
    assert delivered(contact(A, "2026-07-01", "律师函", "已送达", "EMS-L9"))
    assert not delivered(contact(A, "2026-07-01", "律师函", "已送达", "  "))
    assert not delivered(contact(A, "2026-07-01", "律师函", "已生成", "EMS-L9"))


def test_stage_waits_for_the_lawyer_letter_deadline():
    rows = history(A)  # 律师函 delivered 2026-07-01, deadline 07-01 + 7 = 07-08
    common = dict(oldest_due=day("2025-10-25"), principal=D("1950.00"), threshold=D("1500"), hold="",
                  owner_reason="", deadline_days=7)
    on_deadline = litigation_stage(rows, as_of=day("2026-07-08"), **common)
    assert not on_deadline.eligible and "2026-07-08 尚未届满" in on_deadline.reason
    after = litigation_stage(rows, as_of=day("2026-07-09"), **common)
    assert after.eligible and after.deadline == day("2026-07-08")
    assert not litigation_stage(rows, as_of=AS_OF, **{**common, "principal": D("1499.99")}).eligible
    assert not litigation_stage(rows, as_of=AS_OF, **{**common, "hold": "投诉处理中"}).eligible
    assert not litigation_stage(rows, as_of=AS_OF, **{**common, "owner_reason": "经济困难"}).eligible


def test_unit_whose_lawyer_letter_is_only_generated_is_not_in_the_batch():
    batch = batch_of(sample())
    assert [c.room for c in batch.cases] == [A]
    (left,) = [x for x in batch.left_out if x.room == B]
    assert "律师函（2026-07-01）未记录送达" in left.reason and "已生成" in left.reason


def test_unit_on_hold_is_left_out_with_the_ladder_reason():
    lg = sample(rooms=(A,), complaints=(Complaint("TS-1", A, day("2026-07-20"), "处理中", "漏水"),))
    batch = batch_of(lg)
    assert batch.cases == ()
    assert batch.left_out[0].reason.startswith("暂停催缴：投诉处理中")


# ----------------------------------------------------------------------------- figures

def test_calculation_lines_by_hand():
    batch = batch_of(sample(rooms=(A,)))
    (case,) = batch.cases
    got = [(str(x.period), x.principal, x.days, x.fee, x.fee_ref) for x in case.lines]
    assert got == [("2025Q4", D("450.00"), 280, D("38.70"), D("15.90")),
                   ("2026Q1", D("750.00"), 188, D("42.30"), D("17.38")),
                   ("2026Q2", D("750.00"), 98, D("22.05"), D("9.06"))]
    t = case.totals
    assert (t.principal, t.fee, t.fee_ref, t.basis) == (D("1950.00"), D("103.05"), D("42.34"), "合同")
    assert t.claim_total == D("2053.05")
    assert case.lines[0].fee_formula == "300.00×0.0003×10天 + 450.00×0.0003×280天 = 38.70"
    assert case.lines[0].fee_ref_formula == "300.00×3%×1.5÷365×10天 + 450.00×3%×1.5÷365×280天 = 15.90"


def test_reference_fee_is_lpr_times_one_and_a_half_over_365_per_day():
    # 0.030 × 1.5 / 365 = 0.045 / 365 = 0.000123287671… per day
    rate = court_reference_rate(D("0.030"))
    assert abs(rate * 365 - D("0.045")) < D("1e-30")
    # 1,000.00 unpaid 100 days → 1000 × 0.045 × 100 / 365 = 12.3287… → 12.33; contract 30.00
    lg = ledger(units=[unit("X")], charges=[charge("X", Q1_26, "1000.00", due="2026-01-01")])
    account = allocate(lg, day("2026-04-11")).accounts["X"]
    (line,) = calculation_lines(account.charges, day("2026-04-11"), D("0.0003"), D("0.030"))
    assert (line.days, line.fee, line.fee_ref) == (100, D("30.00"), D("12.33"))
    assert line.fee_ref_formula == "1000.00×3%×1.5÷365×100天 = 12.33"


def test_claim_basis_court_reference_is_claimed_when_chosen():
    settings = Settings(litigation_amount=D("1500"), extra=(("诉讼违约金口径", "法院参考"),))
    (case,) = batch_of(sample(rooms=(A,), settings=settings)).cases
    assert (case.totals.claimed_fee, case.totals.other_fee, case.totals.claim_total) == (
        D("42.34"), D("103.05"), D("1992.34"))  # 1,950.00 + 42.34


# ----------------------------------------------------------------------------- 诉讼时效

def test_limitation_restarts_on_the_latest_delivered_demand():
    clock = limitation_clock(history(A), [], [], day("2025-10-25"), AS_OF)
    assert (clock.start, clock.expires, clock.expired) == (day("2026-07-01"), day("2029-07-01"), False)
    assert clock.basis.startswith("送达催告（律师函")


def test_limitation_ignores_generated_letters_and_restarts_on_part_payment():
    rows = [contact(A, "2026-02-10", "催缴函", "已生成")]
    clock = limitation_clock(rows, [pay("R9", A, "2026-03-01", "10.00")], [], day("2025-10-25"), AS_OF)
    assert (clock.start, clock.basis) == (day("2026-03-01"), "部分缴费（收据 R9）")


def test_demand_after_expiry_revives_nothing_and_the_unit_is_left_out():
    # oldest bill 2022Q4 due 2022-10-25 → 起算 2022-10-26 → 届满 2025-10-26; the demands of 2026 come too late
    q4_22 = Period.quarter(2022, 4)
    lg = sample(rooms=(A,))
    lg = replace(lg, charges=lg.charges + (charge(A, q4_22, "750.00"),), payments=())  # no payment at all
    batch = batch_of(lg)
    assert batch.cases == ()
    assert "诉讼时效可能已于 2025-10-26 届满" in batch.left_out[0].reason
    # the owner paying part of it in 2026 acknowledges the debt (诉讼时效规定 第19条) → 起算 again
    lg2 = replace(lg, payments=lg.payments + (pay("R5", A, "2026-06-01", "1.00", ),))
    (case,) = batch_of(lg2).cases
    assert case.limitation.start == day("2026-07-01")  # then the delivered 律师函 restarts it


def test_part_payment_after_the_last_demand_is_noted(tmp_path):
    lg = sample(rooms=(A,), payments=[pay("R7", A, "2026-07-20", "100.00")])
    (case,) = batch_of(lg).cases
    assert [p.receipt_no for p in case.part_payments] == ["R7"]
    changes, result = job_litigation(lg, AS_OF, tmp_path)
    assert any("最后一次送达催告后有部分缴费" in line for line in changes.summary)
    ctx = DL.complaint_context(lg, case, AS_OF)
    assert "2026年7月20日 100.00 元（收据 R7）" in ctx["part_payment_text"]


# ----------------------------------------------------------------------------- the pack

def test_pack_complaint_equals_calculation_table_and_evidence_has_five_kinds(tmp_path):
    lg = sample()
    changes, result = job_litigation(lg, AS_OF, tmp_path)
    assert [room for room, _ in result.folders] == [A]
    folder = tmp_path / A
    text = docx_text(folder / f"要素式起诉状_{A}.docx")
    # 诉讼请求: the claimed figures …
    assert "物业服务费等费用 1,950.00 元（人民币壹仟玖佰伍拾元整）" in text
    assert "判令被告支付违约金 103.05 元" in text
    assert "2,053.05 元（人民币贰仟零伍拾叁元零伍分）" in text
    assert "法院参考口径（LPR×1.5）为 42.34 元" in text
    assert "91440300MA5TEST01X" in text and "赵六" in text
    assert "EMS-A1" in text and "签收单-0520" in text and "EMS-L9" in text
    assert "律师函于2026年7月1日送达" in text and "付款期限2026年7月8日届满" in text
    assert "2029年7月1日届满" in text
    # … are the 计算表's
    wb = openpyxl.load_workbook(folder / f"计算表_{A}.xlsx")
    ws = wb["计算表"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    assert [r["合同违约金"] for r in rows[:3]] == [38.7, 42.3, 22.05]
    assert [r["法院参考违约金"] for r in rows[:3]] == [15.9, 17.38, 9.06]
    total, claimed = rows[3], rows[4]
    assert (total["序号"], total["欠费本金"], total["合同违约金"], total["法院参考违约金"]) == (
        "合计", 1950, 103.05, 42.34)
    assert (claimed["合同违约金"], claimed["法院参考违约金"]) == (103.05, 2053.05)
    # 证据目录: numbered, the five kinds, every 催缴记录 row with its 送达凭证
    ev = [[c.value for c in r] for r in wb["证据目录"].iter_rows(min_row=2)]
    assert [r[0] for r in ev] == list(range(1, 8))
    assert {r[2] for r in ev} == set(DL.EVIDENCE_KINDS)
    contacts = [r for r in ev if r[2] == "催缴记录"]
    assert [r[3].split("；")[0] for r in contacts] == [
        "2026年2月10日 催缴函 已送达，送达凭证：EMS-A1", "2026年3月5日 电话 未接通，无送达凭证",
        "2026年5月20日 上门 已送达，送达凭证：签收单-0520"]
    (lawyer,) = [r for r in ev if r[2] == "律师函"]
    assert "EMS-L9" in lawyer[3] and "第九百四十四条" in lawyer[4]
    # the 诉讼清单 and the 催缴记录 row
    summary = openpyxl.load_workbook(result.summary_file)
    s_rows = [[c.value for c in r] for r in summary["诉讼清单"].iter_rows(min_row=2)]
    assert s_rows[0][:6] == [A, "张三丰", 3, 1950, 103.05, 42.34]
    assert s_rows[0][8] == dt.datetime(2029, 7, 1)
    assert s_rows[0][10] == "2026-07-01 律师函（EMS-L9）"
    assert [r[0] for r in summary["未列入"].iter_rows(min_row=2, values_only=True)] == [B]
    (row,) = changes.append[schema.CONTACTS]
    assert (row["房号"], row["方式"], row["结果"], row["日期"]) == (A, "诉讼", "已生成", AS_OF)


def test_names_stay_in_the_pack(tmp_path):
    changes, _ = job_litigation(sample(), AS_OF, tmp_path)
    said = "\n".join(changes.summary) + repr(changes.audit)
    assert "张三丰" not in said and "李四" not in said
    assert f"{A} 张*" in said and f"未列入 {B} 李*" in said


def test_template_asks_only_for_what_the_context_has():
    lg = sample(rooms=(A,))
    (case,) = batch_of(lg).cases
    ctx = DL.complaint_context(lg, case, AS_OF)
    assert undeclared_variables(DL.template_path(DL.COMPLAINT), ctx) == set()


def test_template_tags_each_lie_in_one_run_and_the_script_is_repeatable(tmp_path):
    import sys
    import zipfile

    with zipfile.ZipFile(DL.template_path(DL.COMPLAINT)) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    texts = re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml)
    opened = sum(t.count("{{") + t.count("{%") for t in texts)
    assert opened > 30 and opened == sum(t.count("}}") + t.count("%}") for t in texts)
    for t in texts:
        assert t.count("{{") == t.count("}}") and t.count("{%") == t.count("%}"), t
    script = Path(__file__).resolve().parent.parent / "scripts" / "make_litigation_template.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path / "要素式起诉状.docx").read_bytes() == DL.template_path(DL.COMPLAINT).read_bytes()


def test_service_facts_list_the_owners_complaints():
    lg = sample(rooms=(A,), complaints=(Complaint("TS-1", A, day("2026-03-01"), "已解决", "漏水",
                                                  resolved_on=day("2026-03-10")),))
    (case,) = batch_of(lg).cases
    assert DL.complaint_context(lg, case, AS_OF)["service_text"] == (
        "原告自2025年10月1日起持续为被告房屋提供物业服务；期间被告投诉 1 次：2026年3月1日（漏水），已于2026年3月10日解决")
    (case,) = batch_of(sample(rooms=(A,))).cases
    assert DL.complaint_context(sample(rooms=(A,)), case, AS_OF)["service_text"].endswith("期间无被告投诉记录")


def test_hostile_owner_name_prints_literally(tmp_path):
    lg = sample(rooms=(A,))
    lg = replace(lg, units=(replace(lg.units[0], owner="{{ 7*7 }} & <李>"),))
    job_litigation(lg, AS_OF, tmp_path)
    assert "{{ 7*7 }} & <李>" in docx_text(tmp_path / A / f"要素式起诉状_{A}.docx")


# ----------------------------------------------------------------------------- the command on a workbook

def test_command_writes_pack_and_logs_once(tmp_path, capsys):
    from xlwings_addin.demo import template_path
    from xlwings_addin.faces.cli import main
    from xlwings_addin.workbook.reader import read_workbook
    from xlwings_addin.workbook.writer import save_changes

    path = tmp_path / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    lg = sample()
    save_changes(path, backups=0, append={
        schema.PARAMS: [{"参数": "诉讼欠费金额", "值": "1500"}],
        schema.ITEMS: [{"项目编码": "WYF", "项目名称": "物业管理费", "计费方式": "面积", "单价": D("2.50"),
                        "计费单位": "元/㎡·月", "计违约金": "是"}],
        schema.UNITS: [{"房号": u.room, "楼栋": "5", "房屋类型": "住宅", "建筑面积": D("100"), "业主姓名": u.owner,
                        "手机": "13800138000"} for u in lg.units],
        schema.CHARGES: [{"账单号": c.bill_no, "期间": str(c.period), "房号": c.room, "项目编码": "WYF",
                          "项目名称": "物业管理费", "金额": c.amount, "应缴日期": c.due_date} for c in lg.charges],
        schema.PAYMENTS: [{"收据号": "R1", "收款日期": day("2025-11-04"), "房号": A, "金额": D("300.00"),
                           "渠道": "微信"}],
        schema.CONTACTS: [{"日期": c.date, "房号": c.room, "方式": c.method, "结果": c.result, "送达凭证": c.proof}
                          for c in lg.contacts],
    })
    out = tmp_path / "诉讼材料"
    assert main(["litigation", str(path), "--as-of", "2026-08-01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "列入 1 户" in printed and "1,950.00" in printed and "103.05" in printed
    assert "张三丰" not in printed and "13800138000" not in printed and "张*" in printed
    assert (out / A / f"要素式起诉状_{A}.docx").exists() and (out / A / f"计算表_{A}.xlsx").exists()
    assert (out / "诉讼清单_20260801.xlsx").exists()

    def suits():
        book = read_workbook(path, sheets=[schema.CONTACTS, schema.AUDIT])
        rows = [r for _n, r in book[schema.CONTACTS].rows]
        audit = [r for _n, r in book[schema.AUDIT].rows]
        return [r for r in rows if r[2] == "诉讼"], audit

    rows, audit = suits()
    assert len(rows) == 1 and rows[0][1] == A and "已生成" in rows[0]
    assert "张三丰" not in repr(audit)
    # again the same day: the unit is now in litigation (the ladder's 诉讼中 hold), nothing new is logged
    assert main(["litigation", str(path), "--as-of", "2026-08-01", "--out", str(tmp_path / "again")]) == 0
    assert "未列入 5-1-801 张*：暂停催缴：诉讼中" in capsys.readouterr().out
    assert len(suits()[0]) == 1


# ----------------------------------------------------------------------------- LibreOffice

@pytest.mark.libreoffice
def test_complaint_renders_through_libreoffice(tmp_path, soffice):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext 未安装")
    job_litigation(sample(rooms=(A,)), AS_OF, tmp_path)
    docx = tmp_path / A / f"要素式起诉状_{A}.docx"
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(docx)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / f"要素式起诉状_{A}.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.count("\f")
    assert 3 <= pages <= 6, pages
    flat = re.sub(r"\s+", "", text)
    for needle in ("民事起诉状", "张三丰", "1,950.00", "103.05", "2,053.05", "42.34", "附件一", "附件二", "EMS-L9"):
        assert needle in flat, needle


def test_row_with_proof_but_not_delivered_is_not_taken_as_a_demand():
    lg = sample(rooms=(A,), extra_contacts=[contact(A, "2026-06-10", "上门", "拒缴", "签收单-0610")])
    (case,) = batch_of(lg).cases
    assert [c.date for c in case.delivered_demands] == [day("2026-02-10"), day("2026-05-20"), day("2026-07-01")]
    ev = DL.evidence_items(lg, case)
    (row,) = [e for e in ev if "2026年6月10日" in e["name"]]
    assert "签收单-0610" in row["detail"] and "请律师核实送达情况" in row["proves"]
    ctx = DL.complaint_context(lg, case, AS_OF)
    assert ctx["demand_count"] == "3"
    assert ctx["undelivered_text"].startswith("另有催缴记录 2 次未记录送达")  # 电话 未接通 and 上门 拒缴


def test_named_units_each_get_a_reason_when_left_out():
    lg = sample()
    lg = replace(lg, units=lg.units + (unit("5-1-803", "100", "5", owner="王五"),))  # owes nothing
    batch = batch_of(lg, rooms=["9-9-999", B, "5-1-803", A])
    assert [c.room for c in batch.cases] == [A]
    assert [(x.room, x.reason.split("（")[0]) for x in batch.left_out] == [
        ("9-9-999", "房号不在“房屋”表中"), (B, "律师函"), ("5-1-803", "无逾期欠费本金")]

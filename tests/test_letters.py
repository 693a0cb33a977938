"""Letters (issue 3): contexts from the engine, the Word templates, file names, 催缴记录, PDF.

Sample estate, written inline (rate 0.0003/day, grace 0, as of 2026-11-22):

A = 3-2-1501, 89.50㎡, 物业管理费 2.50元/㎡·月 → 89.50 × 2.50 × 3 = 671.25 per quarter.
  2026Q3 671.25 due 2026-07-25; 300.00 paid 2026-08-04 (10 days late).
  2026Q4 671.25 + 水费 (142 − 120 = 22吨 × 4.10 = 90.20, no late fee) due 2026-10-25, unpaid.
  Q3 fee = 300.00×0.0003×10 + 371.25×0.0003×120 = 0.90 + 13.365 = 14.265 → 14.27
     (07-25 → 11-22 = 6 + 31 + 30 + 31 + 22 = 120 days)
  Q4 fee = 671.25×0.0003×28 = 5.6385 → 5.64 (10-25 → 11-22 = 6 + 22 = 28 days)
  owed 371.25 + 761.45 = 1,132.70 + fees 19.91 = 1,152.61 → 壹仟壹佰伍拾贰元陆角壹分
B = 3-2-1502, same area; Q3 671.25 paid with 800.00 on 2026-09-20 (57 days late):
  Q3 fee 671.25×0.0003×57 = 11.478 → 11.48 paid from the 800.00, 117.27 left as 预存,
  offset against Q4 on 2026-10-01 → Q4 open 553.98, fee 553.98×0.0003×28 = 4.653 → 4.65;
  notice total 553.98 + 4.65 = 558.63 → 伍佰伍拾捌元陆角叁分.
C = 3-2-1601 paid both quarters on the due date: nothing owing.
D = 3-2-1701, owner with markup and Jinja-looking text, Q4 unpaid.
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from docx import Document

from ledger_builders import D, Q3, Q4, charge, day, item, ledger, pay, unit
from xlwings_addin.documents import letters as L
from xlwings_addin.documents.contexts import (DEMAND, INSTALLMENT, KINDS, LAWYER, NOTICE, REMINDER, contact_rows,
                                           installment_schedule, plan_letters, rate_cn)
from xlwings_addin.ledger.records import Contact, InstallmentPlan, MeterReading

AS_OF = day("2026-11-22")
HOSTILE = "{{ 7*7 }} & <李> {% if x %}"


def sample_ledger(**kw):
    wyf = item("WYF", "物业管理费", "面积", "2.50", unit_label="元/㎡·月")
    sf = item("SF", "水费", "用量", "4.10", late_fee=False, unit_label="元/吨")

    def wyf_charge(room, period):
        return replace(charge(room, period, "671.25"), quantity=D("268.50"), unit_price=D("2.50"))

    water = replace(charge("3-2-1501", Q4, "90.20", code="SF"), item_name="水费", quantity=D("22"),
                    unit_price=D("4.10"))
    units = [unit("3-2-1501", "89.50", "3", owner="张三丰"), unit("3-2-1502", "89.50", "3", owner="李四"),
             unit("3-2-1601", "89.50", "3", owner="王五"), unit("3-2-1701", "89.50", "3", owner=HOSTILE)]
    charges = [wyf_charge(r, p) for r in ("3-2-1501", "3-2-1502", "3-2-1601") for p in (Q3, Q4)]
    charges += [water, wyf_charge("3-2-1701", Q4)]
    payments = [pay("R1", "3-2-1501", "2026-08-04", "300.00"), pay("R2", "3-2-1502", "2026-09-20", "800.00"),
                pay("R3", "3-2-1601", "2026-07-25", "671.25"), pay("R4", "3-2-1601", "2026-10-25", "671.25")]
    readings = (MeterReading(Q4, "3-2-1501", "水", D("120"), D("142")),)
    return ledger(units=units, items=(wyf, sf), charges=charges, payments=payments, readings=readings, **kw)


def context_of(kind, room="3-2-1501", **kw):
    if kind == LAWYER:  # issue 20: 3-2-1501 is at 挂牌, not yet at the ladder's 律师函 stage → a forced draft
        kw.setdefault("force", True)
    plan = plan_letters(sample_ledger(**kw.pop("ledger_kw", {})), kind, AS_OF, period=Q4, rooms=[room], **kw)
    assert len(plan.letters) == 1, plan.skipped
    return plan.letters[0][1]


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def render(kind, tmp_path, room="3-2-1501", **kw) -> str:
    ctx = context_of(kind, room, **kw)
    result = L.render_letters(kind, [(room, ctx)], "2026Q4", tmp_path, merge=False)
    return docx_text(result.files[0][1])


# ----------------------------------------------------------------------------- templates ask for nothing unknown


@pytest.mark.parametrize("kind", KINDS)
def test_template_needs_nothing_the_context_lacks(kind):
    ctx = context_of(kind)
    assert L.undeclared_variables(L.template_path(kind), ctx) == set()


@pytest.mark.parametrize("kind", KINDS)
def test_template_tags_each_lie_in_one_run(kind):
    """A clerk can edit the template in Word: every {{ }} / {% %} tag is whole inside one w:t."""
    with zipfile.ZipFile(L.template_path(kind)) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    import re
    texts = re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml)
    opened = sum(t.count("{{") + t.count("{%") for t in texts)
    closed = sum(t.count("}}") + t.count("%}") for t in texts)
    assert opened > 5 and opened == closed
    for t in texts:
        assert t.count("{{") == t.count("}}") and t.count("{%") == t.count("%}"), t


def test_template_with_unknown_variable_is_refused_before_rendering(tmp_path):
    from docx import Document as Doc

    templates = tmp_path / "tpl"
    templates.mkdir()
    doc = Doc(str(L.template_path(DEMAND)))
    doc.add_paragraph("{{ owner_nickname }}")
    doc.save(str(templates / f"{DEMAND}.docx"))
    out = tmp_path / "out"
    with pytest.raises(L.TemplateRefused, match="owner_nickname"):
        L.render_letters(DEMAND, [("3-2-1501", context_of(DEMAND))], "2026Q4", out, template_dir=templates)
    assert not out.exists() or not any(out.iterdir())


# ----------------------------------------------------------------------------- figures in the rendered text


def test_fee_notice_figures(tmp_path):
    text = render(NOTICE, tmp_path)
    assert "张三丰" in text and "3-2-1501" in text and "89.50㎡" in text
    assert "建筑面积 89.50㎡ × 2.50元/㎡·月 × 3月" in text and "671.25" in text
    assert "水表 上期读数 120，本期读数 142，用量 22吨 × 4.10元/吨" in text and "90.20" in text
    assert "761.45" in text  # 671.25 + 90.20 this period
    assert "371.25" in text  # 2026Q3 still open after 300.00 paid
    assert "19.91" in text  # 14.27 + 5.64
    assert "1,152.61" in text and "壹仟壹佰伍拾贰元陆角壹分" in text
    assert "2026年10月25日" in text and "2026年11月22日" in text


def test_fee_notice_shows_prepaid_offset(tmp_path):
    text = render(NOTICE, tmp_path, room="3-2-1502")
    assert "117.27" in text  # 800.00 − 671.25 − 11.48
    assert "558.63" in text and "伍佰伍拾捌元陆角叁分" in text  # 553.98 + 4.65


def test_lawyer_letter_skip_reason_for_a_unit_owing_nothing():
    # 3-2-1601 paid 2026Q3 (07-25) and 2026Q4 (10-25) on their due dates: nothing overdue, no dunning task.
    # QA on the demo: 180 such units were listed as "未达律师函条件（…当前无催收任务）"
    plan = plan_letters(sample_ledger(), LAWYER, AS_OF, period=Q4, rooms=["3-2-1601"])
    assert plan.letters == () and plan.skipped == (("3-2-1601", "无逾期欠费"),)


def test_fee_notice_sections_run_without_a_gap(tmp_path):
    """QA on the demo: a notice with no 往期欠费 (nothing owed before this period, or a unit on hold) went
    一、本期费用明细 → 三、应缴合计, skipping 二."""
    with_arrears = render(NOTICE, tmp_path / "a")  # 3-2-1501: 2026Q3 still owes 371.25
    assert "二、往期欠费" in with_arrears and "三、应缴合计" in with_arrears
    # 3-2-1502 paid 2026Q3 in full on 2026-09-20 (800.00 − 671.25 − 11.48 late fee → 117.27 to 2026Q4)
    without = render(NOTICE, tmp_path / "b", room="3-2-1502")
    assert "二、往期欠费" not in without and "二、应缴合计" in without and "三、" not in without


def test_demand_letter_late_fee_per_period(tmp_path):
    text = render(DEMAND, tmp_path)
    assert "300.00×0.0003×10天 + 371.25×0.0003×120天" in text and "14.27" in text
    assert "671.25×0.0003×28天" in text and "5.64" in text
    assert "120" in text and "28" in text
    assert "1,132.70" in text and "19.91" in text and "1,152.61" in text
    assert "壹仟壹佰伍拾贰元陆角壹分" in text
    assert "2026年12月7日" in text  # 15 days after 2026-11-22
    assert "万分之三" in text and "送 达 回 执" in text
    assert "物业管理费 2.50元/㎡·月；水费 4.10元/吨" in text


def test_reminder_figures(tmp_path):
    text = render(REMINDER, tmp_path)
    assert "1,152.61" in text and "壹仟壹佰伍拾贰元陆角壹分" in text
    assert "2026年11月29日" in text  # 7 days
    assert "2026年第3季度" in text and "2026年第4季度" in text


def test_lawyer_letter_figures(tmp_path):
    text = render(LAWYER, tmp_path)
    assert "1,152.61" in text and "19.91" in text
    assert "已逾期" in text and "120" in text  # oldest due 2026-07-25
    assert "草稿" in text


def test_installment_proposal_last_absorbs_rounding(tmp_path):
    text = render(INSTALLMENT, tmp_path, installments=3)
    # 1,152.61 / 3 = 384.203… → 384.20, 384.20, 1,152.61 − 768.40 = 384.21
    assert text.count("384.20") == 2 and "384.21" in text
    assert "2026年12月22日" in text and "2027年2月22日" in text


def test_installment_from_plan_sheet(tmp_path):
    plan = InstallmentPlan("FQ2026-009", "3-2-1501", day("2026-11-20"), D("1000.00"), 6, day("2026-12-01"))
    text = render(INSTALLMENT, tmp_path, ledger_kw={"plans": (plan,)})
    # 1,000.00 / 6 = 166.666… → 166.67 × 5 = 833.35, last 166.65
    assert text.count("166.67") == 5 and "166.65" in text and "FQ2026-009" in text
    assert "2027年5月1日" in text


def test_schedule_sums_exactly():
    parts = installment_schedule(D("100.00"), 3, day("2026-01-31"))
    assert [p.amount for p in parts] == [D("33.33"), D("33.33"), D("33.34")]
    assert [p.due for p in parts] == [day("2026-01-31"), day("2026-02-28"), day("2026-03-31")]


def test_rate_in_words():
    assert rate_cn(D("0.0003")) == "万分之三"
    assert rate_cn(D("0.0005")) == "万分之五"
    assert rate_cn(D("0.00035")) == "0.035%"


# ----------------------------------------------------------------------------- bad input


def test_markup_and_jinja_in_owner_name_render_literally(tmp_path):
    text = render(DEMAND, tmp_path, room="3-2-1701")
    assert HOSTILE in text
    with zipfile.ZipFile(next(tmp_path.glob("3-2-1701_*.docx"))) as z:
        assert "&amp; &lt;李&gt;" in z.read("word/document.xml").decode("utf-8")


def test_unit_owing_nothing_gets_no_demand_letter():
    plan = plan_letters(sample_ledger(), DEMAND, AS_OF, period=Q4)
    assert [r for r, _ in plan.letters] == ["3-2-1501", "3-2-1502", "3-2-1701"]
    assert plan.skipped == (("3-2-1601", "无欠费"),)


def test_unknown_room_is_a_warning_not_a_crash():
    plan = plan_letters(sample_ledger(), DEMAND, AS_OF, period=Q4, rooms=["3-2-1501", "9-9-999"])
    assert len(plan.letters) == 1
    assert any("9-9-999" in p.message for p in plan.problems)


@pytest.mark.parametrize("room", ['3/2:1501*?"<>|', "..\\..\\evil", "../../etc/passwd", "CON", " .. "])
def test_file_names_are_windows_safe_and_stay_inside(tmp_path, room):
    name = L.letter_filename(room, DEMAND, "2026Q4")
    assert not any(ch in name for ch in '/\\:*?"<>|')
    assert name.endswith("_催缴函_2026Q4.docx") and not name.upper().startswith("CON_")
    out = tmp_path / "out"
    ctx = context_of(DEMAND)
    result = L.render_letters(DEMAND, [(room, ctx)], "2026Q4", out, merge=False)
    path = result.files[0][1]
    assert path.parent == out.resolve() and path.exists()


def test_two_rooms_cleaning_to_the_same_name_do_not_overwrite(tmp_path):
    ctx = context_of(DEMAND)
    result = L.render_letters(DEMAND, [("1/1", ctx), ("1:1", ctx)], "2026Q4", tmp_path, merge=False)
    # the name says the periods the letter covers: 2026Q3 (371.25 still open) to 2026Q4
    assert [p.name for _, p in result.files] == ["1_1_催缴函_2026Q3-2026Q4.docx", "1_1_催缴函_2026Q3-2026Q4_2.docx"]


def test_example_file_name():
    assert L.letter_filename("3-2-1501", REMINDER, "2026Q4") == "3-2-1501_催费通知单_2026Q4.docx"


# ----------------------------------------------------------------------------- 催缴记录 and the merged file


def test_contact_rows_are_not_duplicated_on_the_same_day():
    led = sample_ledger()
    plan = plan_letters(led, DEMAND, AS_OF, period=Q4)
    rows, dupes = contact_rows(plan, led, "小王")
    assert [(r["房号"], r["方式"], r["备注"], r["经办人"], r["日期"]) for r in rows] == [
        (room, "催缴函", "催缴函", "小王", AS_OF) for room in ("3-2-1501", "3-2-1502", "3-2-1701")]
    assert {r["结果"] for r in rows} == {"已生成"}  # issue 20: generated, not delivered
    logged = tuple(Contact(AS_OF, r["房号"], r["方式"], r["经办人"], note=r["备注"]) for r in rows)
    again, dupes = contact_rows(plan, sample_ledger(contacts=logged), "小王")
    assert again == [] and dupes == 3
    lawyer = plan_letters(led, LAWYER, AS_OF, period=Q4, force=True)
    rows, _ = contact_rows(lawyer, sample_ledger(contacts=logged))
    assert {r["方式"] for r in rows} == {"律师函"} and rows[0]["经办人"] == "前台"
    notice = plan_letters(led, NOTICE, AS_OF, period=Q4)
    assert contact_rows(notice, led) == ([], 0)  # a fee notice is not a demand


def test_merged_print_file_holds_every_letter(tmp_path):
    plan = plan_letters(sample_ledger(), DEMAND, AS_OF, period=Q4)
    result = L.render_letters(DEMAND, plan.letters, "2026Q4", tmp_path)
    assert result.merged.name == "合并打印_催缴函_2026Q4.docx"
    text = docx_text(result.merged)
    for room in ("3-2-1501", "3-2-1502", "3-2-1701"):
        assert f"CJ20261122-{room}" in text
    assert text.count("送 达 回 执") == 3


# ----------------------------------------------------------------------------- the command on the demo workbook


def _contacts(path):
    from xlwings_addin.jobs.ledger import load

    return [c for c in load(path).ledger.contacts if c.date == dt.date(2026, 11, 22) and c.note == "催缴函"]


def test_command_logs_once_and_selects_by_stage(demo_copy, tmp_path):
    from xlwings_addin.faces.cli import main
    from xlwings_addin.engine.aging import arrears_list
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.jobs.ledger import load
    from xlwings_addin.workbook.writer import SheetOutput, save_changes

    from xlwings_addin.engine.dunning import dunning_tasks

    led = load(demo_copy).ledger
    # units not on hold (issue 20: held units get no demand letter without --force)
    free = {t.room for t in dunning_tasks(led, dt.date(2026, 11, 22)).tasks if not t.held and not t.fee_only}
    owing = [a.unit.room for a in arrears_list(led.units, allocate(led, dt.date(2026, 11, 22)))
             if a.unit.room in free][:3]
    args = ["letters", str(demo_copy), "--kind", DEMAND, "--units", ",".join(owing), "--out", str(tmp_path / "o"),
            "--as-of", "2026-11-22", "--operator", "小王"]
    assert main(args) == 0
    assert main(args) == 0  # same letters again, same day
    logged = _contacts(demo_copy)
    assert sorted(c.room for c in logged) == sorted(owing) and {c.operator for c in logged} == {"小王"}
    # each letter's name says the periods it covers (its first and last owed period)
    covered = {room: ctx["periods_covered"] for room, ctx in plan_letters(led, DEMAND, dt.date(2026, 11, 22),
                                                                          rooms=owing).letters}
    assert all(re.fullmatch(r"\d{4}Q\d(-\d{4}Q\d)?", c) for c in covered.values())
    assert sorted(p.name for p in (tmp_path / "o").glob("*.docx")) == sorted(
        [f"{r}_催缴函_{covered[r]}.docx" for r in owing] + ["合并打印_催缴函_2026Q4.docx"])

    save_changes(demo_copy, replace={"催收任务": SheetOutput("催收任务", ["房号", "业主", "阶段"], [
        [owing[0], "x", "律师函"], [owing[1], "y", "跟进"], [owing[2], "z", "律师函（待审批）"]])})
    assert main(["letters", str(demo_copy), "--kind", LAWYER, "--stage", "律师函", "--out", str(tmp_path / "l"),
                 "--as-of", "2026-11-22", "--no-merge", "--force"]) == 0  # not yet at the ladder's 律师函
    made = sorted(p.name.split("_")[0] for p in (tmp_path / "l").glob("*.docx"))
    assert made == sorted([owing[0], owing[2]])
    lawyer_rows = [c for c in load(demo_copy).ledger.contacts if c.method == "律师函" and c.date == AS_OF]
    assert sorted(c.room for c in lawyer_rows) == made


# ----------------------------------------------------------------------------- PDF through LibreOffice


@pytest.mark.libreoffice
def test_letter_converts_to_pdf_with_owner_and_total(tmp_path, soffice):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext 未安装")
    ctx = context_of(DEMAND)
    result = L.render_letters(DEMAND, [("3-2-1501", ctx)], "2026Q4", tmp_path, merge=False, pdf=True,
                              soffice=soffice, pdf_timeout=180)
    assert len(result.pdfs) == 1, result.messages
    text = subprocess.run(["pdftotext", str(result.pdfs[0]), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "张三丰" in text
    assert "1,152.61" in text


def test_merge_falls_back_to_docxcompose_for_a_foreign_document(tmp_path):
    from docx import Document as Doc

    ctx = context_of(DEMAND)
    result = L.render_letters(DEMAND, [("3-2-1501", ctx)], "2026Q4", tmp_path / "o", merge=False)
    foreign = Doc()
    foreign.add_heading("附件：缴费记录", level=1)  # a style the letter template does not define
    foreign.save(str(tmp_path / "附件.docx"))
    merged = L.merge_documents([result.files[0][1], tmp_path / "附件.docx", result.files[0][1]], tmp_path / "m.docx")
    text = docx_text(merged)
    assert "附件：缴费记录" in text and text.count("CJ20261122-3-2-1501") == 2 * 2  # number + 回执, twice
    assert "Heading1" in {s.style_id for s in Doc(str(merged)).styles}

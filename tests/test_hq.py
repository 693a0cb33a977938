"""feebook hq / submit (issue 16): 财务管理部's roll-up, review and ranking across center workbooks.

Three small centers, as of 2026-11-22 (quarterly, 应缴日期 the 25th of the first month):

甲中心  2026Q3: A1 500, A2 500, A3 250 = 1,250; A1 and A2 paid 500 each on 07-10; A3 never pays.
        2026Q4: A1 700 (paid 700 on 10-10), A2 300 (paid 200 on 10-12); A3 is not billed.
        Q4: 应收 1,000, 实收 900, 期初欠费 250 (A3's Q3), 清欠 0, 计费 2 户, 缴清 1 户 (A1).
乙中心  2026Q3: B1, B2, B3 1,000 each = 3,000; B2 and B3 paid on 07-10.
        2026Q4: 1,000 each = 3,000; B1 pays 1,000 on 10-05 (→ its Q3 bill, the oldest),
        B2 pays 1,000 on 10-10, B3 pays 500 on 10-20.
        Q4: 应收 3,000, 实收 1,500, 期初欠费 1,000 (B1's Q3), 清欠 1,000, 计费 3 户, 缴清 1 户 (B2).
丙中心  no payments at all; 2026Q4: C1 250, C2 250 = 500; 违约金日费率 0.0005 (the others 0.0003).
        Q4: 应收 500, 实收 0, 期初欠费 0, 计费 2 户, 缴清 0 户.

合计 Q4 (ratios of sums, never averages):
  当期收缴率 = (900 + 1,500 + 0) / (1,000 + 3,000 + 500) = 2,400 / 4,500 = 0.533333
      (the mean of 90%, 50%, 0% would be 0.466667)
  清欠率     = (0 + 1,000 + 0) / (250 + 1,000 + 0) = 1,000 / 1,250 = 0.800000
  综合收缴率 = (2,400 + 1,000) / (4,500 + 1,250) = 3,400 / 5,750 = 0.591304
  户收费率   = (1 + 1 + 0) / (2 + 3 + 2) = 2 / 7 = 0.285714
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from xlwings_addin.demo import template_path
from xlwings_addin.faces.cli import main
from xlwings_addin.jobs.hq import center_facts, read_submission
from xlwings_addin.ledger import schema
from xlwings_addin.ledger.periods import Period
from xlwings_addin.workbook.writer import SheetOutput, save_changes

D = Decimal
Q3, Q4 = Period.quarter(2026, 3), Period.quarter(2026, 4)
AS_OF = dt.date(2026, 11, 22)


def _unit(room, area="100"):
    return {"房号": room, "楼栋": room[0], "房屋类型": "住宅", "建筑面积": D(area), "业主姓名": "张三"}


def _charge(room, period, amount):
    return {"账单号": f"{period}-{room}-WYF", "期间": str(period), "房号": room, "项目编码": "WYF",
            "项目名称": "物业管理费", "金额": D(amount) if amount[0].isdigit() else amount, "应缴日期": period.due_date(25), "来源": "计费"}


def _pay(no, room, on, amount):
    return {"收据号": no, "收款日期": dt.date.fromisoformat(on), "房号": room, "金额": D(amount), "渠道": "微信"}


def make_center(path: Path, center: str, rooms, charges, payments=(), params=()) -> Path:
    """A center workbook from the template: 参数 服务中心 = center (and params), the given rows."""
    shutil.copyfile(template_path(), path)
    values = dict(params, 服务中心=center)
    param_rows = [[k, values.get(k, v), note] for k, v, note in schema.PARAM_DEFAULTS]
    items = [{"项目编码": "WYF", "项目名称": "物业管理费", "计费方式": "面积", "单价": D("2.50"),
              "计费单位": "元/㎡·月", "计违约金": "是"}]
    sheets = {schema.UNITS: [_unit(r) for r in rooms], schema.ITEMS: items,
              schema.CHARGES: [_charge(*c) for c in charges]}
    if payments:
        sheets[schema.PAYMENTS] = [_pay(*p) for p in payments]
    save_changes(path, append=sheets, replace={schema.PARAMS: SheetOutput(schema.PARAMS, ["参数", "值", "说明"],
                                                                           param_rows, {})}, backups=0)
    return path


def center_a(folder):
    return make_center(folder / "a.xlsx", "甲中心", ["A1", "A2", "A3"],
                       [("A1", Q3, "500"), ("A2", Q3, "500"), ("A3", Q3, "250"), ("A1", Q4, "700"),
                        ("A2", Q4, "300")],
                       [("SK1", "A1", "2026-07-10", "500"), ("SK2", "A2", "2026-07-10", "500"),
                        ("SK3", "A1", "2026-10-10", "700"), ("SK4", "A2", "2026-10-12", "200")])


def center_b(folder):
    return make_center(folder / "b.xlsx", "乙中心", ["B1", "B2", "B3"],
                       [(r, p, "1000") for p in (Q3, Q4) for r in ("B1", "B2", "B3")],
                       [("SK1", "B2", "2026-07-10", "1000"), ("SK2", "B3", "2026-07-10", "1000"),
                        ("SK3", "B1", "2026-10-05", "1000"), ("SK4", "B2", "2026-10-10", "1000"),
                        ("SK5", "B3", "2026-10-20", "500")])


def center_c(folder):
    return make_center(folder / "c.xlsx", "丙中心", ["C1", "C2"], [("C1", Q4, "250"), ("C2", Q4, "250")],
                       params={"违约金日费率": "0.0005"})


def center_d(folder):
    """丁中心: 2026Q3 2,000 (two units × 1,000), 2026Q4 only 1,000 (500 each): 应收 halved."""
    return make_center(folder / "d.xlsx", "丁中心", ["D1", "D2"],
                       [("D1", Q3, "1000"), ("D2", Q3, "1000"), ("D1", Q4, "500"), ("D2", Q4, "500")],
                       [("SK1", "D1", "2026-07-10", "1000"), ("SK2", "D2", "2026-07-10", "1000")])


def read_sheet(path, name):
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()
    headers = rows[0]
    return [dict(zip(headers, r)) for r in rows[1:] if any(v not in (None, "") for v in r)]


@pytest.fixture
def three(tmp_path):
    folder = tmp_path / "centers"
    folder.mkdir()
    center_a(folder), center_b(folder), center_c(folder)
    return folder


def _q4(rows, center):
    return next(r for r in rows if r["服务中心"] == center and r["期间"] == "2026Q4")


def test_totals_are_ratios_of_sums(three, tmp_path):
    out = tmp_path / "HQ.xlsx"
    assert main(["hq", str(three), "--as-of", "2026-11-22", "--out", str(out), "--jobs", "2"]) == 0
    rates = read_sheet(out, "各中心收缴率")
    a, b, c, total = (_q4(rates, n) for n in ("甲中心", "乙中心", "丙中心", "合计"))
    # per center (see the module docstring)
    assert (a["应收"], a["实收"], a["期初欠费"], a["清欠金额"], a["计费户数"], a["已缴清户数"]) == (1000, 900, 250, 0, 2, 1)
    assert (b["应收"], b["实收"], b["期初欠费"], b["清欠金额"], b["计费户数"], b["已缴清户数"]) == (3000, 1500, 1000, 1000, 3, 1)
    assert (c["应收"], c["实收"], c["计费户数"], c["已缴清户数"]) == (500, 0, 2, 0)
    assert a["当期收缴率"] == pytest.approx(0.9) and b["当期收缴率"] == pytest.approx(0.5)
    assert c["当期收缴率"] == 0 and c["清欠率"] in (None, "")  # no opening arrears → no 清欠率
    # 合计: sums, and rates as ratios of the sums
    assert (total["应收"], total["实收"], total["期初欠费"], total["清欠金额"]) == (4500, 2400, 1250, 1000)
    assert total["当期收缴率"] == pytest.approx(0.533333, abs=1e-6)  # 2,400 / 4,500
    assert total["当期收缴率"] != pytest.approx((0.9 + 0.5 + 0) / 3, abs=1e-3)  # not the mean 0.466667
    assert total["清欠率"] == pytest.approx(0.8, abs=1e-6)  # 1,000 / 1,250
    assert total["综合收缴率"] == pytest.approx(0.591304, abs=1e-6)  # 3,400 / 5,750
    assert total["户收费率"] == pytest.approx(0.285714, abs=1e-6)  # 2 / 7

    arrears = {r["服务中心"]: r for r in read_sheet(out, "各中心欠费")}
    # 甲: A2 Q4 100 + A3 Q3 250; 乙: B1 Q4 1,000 + B3 Q4 500; 丙: 250 + 250
    assert (arrears["甲中心"]["欠费户数"], arrears["甲中心"]["欠费本金"]) == (2, 350)
    assert (arrears["乙中心"]["欠费户数"], arrears["乙中心"]["欠费本金"]) == (2, 1500)
    assert (arrears["丙中心"]["欠费户数"], arrears["丙中心"]["欠费本金"]) == (2, 500)
    assert (arrears["合计"]["欠费户数"], arrears["合计"]["欠费本金"]) == (6, 2350)
    # aging from 应缴日期: Q4 due 10-25 → 28 days (1-30天); A3's Q3 due 07-25 → 120 days (91-180天)
    assert arrears["合计"]["1-30天"] == 2100 and arrears["合计"]["91-180天"] == 250
    assert arrears["合计"]["违约金"] == pytest.approx(sum(arrears[n]["违约金"] for n in ("甲中心", "乙中心", "丙中心")))

    rank = read_sheet(out, "排名")
    assert [r["服务中心"] for r in rank] == ["甲中心", "乙中心", "丙中心"]  # 90% > 50% > 0%
    assert [r["名次"] for r in rank] == [1, 2, 3]
    assert [r["服务中心(清欠率)"] for r in rank][:1] == ["乙中心"]  # 100%; 甲 0%; 丙 has none (last)
    with zipfile.ZipFile(out) as z:
        assert len([n for n in z.namelist() if n.startswith("xl/charts/chart")]) == 2

    review = {r["文件"]: r for r in read_sheet(out, "复核")}
    assert review["c.xlsx"]["说明"].count("违约金日费率") == 1  # 0.0005 vs the group's 0.0003
    assert "违约金日费率" not in (review["a.xlsx"]["说明"] or "")
    # 甲: A3 billed in 2026Q3 but not 2026Q4; 应收 1,000 vs 1,250 = −20% (under the 30% threshold)
    assert "上期计费本期未计费 1 户：A3" in review["a.xlsx"]["说明"]
    assert review["a.xlsx"]["变动比例"] == pytest.approx(-0.2) and "减少" not in review["a.xlsx"]["说明"]
    commission = read_sheet(out, "各中心佣金")
    assert {r["服务中心"] for r in commission} == {"甲中心", "乙中心", "丙中心", "合计"}


def test_broken_file_is_listed_and_exit_1_and_halved_receivable_flagged(tmp_path):
    folder = tmp_path / "centers"
    folder.mkdir()
    center_a(folder), center_d(folder)
    (folder / "坏文件.xlsx").write_bytes(b"this is not a workbook")
    out = tmp_path / "HQ.xlsx"
    assert main(["hq", str(folder), "--as-of", "2026-11-22", "--out", str(out), "--jobs", "1"]) == 1
    review = {r["文件"]: r for r in read_sheet(out, "复核")}
    assert set(review) == {"a.xlsx", "d.xlsx", "坏文件.xlsx"}
    assert review["坏文件.xlsx"]["状态"].startswith("无法读取")
    # 丁: 2026Q4 1,000 vs 2026Q3 2,000 → (1,000 − 2,000) / 2,000 = −50% > 30%
    d = review["d.xlsx"]
    assert (d["本期应收"], d["上期应收"], d["变动比例"]) == (1000, 2000, -0.5)
    assert "本期应收较上期减少 50.0%" in d["说明"]
    assert review["a.xlsx"]["状态"] == "已读取"
    rates = read_sheet(out, "各中心收缴率")
    assert _q4(rates, "合计")["应收"] == 2000  # 甲 1,000 + 丁 1,000; the broken file adds nothing


def test_workbook_with_errors_publishes_no_figures(tmp_path):
    folder = tmp_path / "centers"
    folder.mkdir()
    center_a(folder)
    bad = make_center(folder / "e.xlsx", "戊中心", ["E1"], [("E1", Q4, "abc")])  # 金额 not a number
    facts = center_facts(bad, AS_OF)
    assert facts["status"] == "有错误" and facts["errors"] >= 1 and facts["rates"] == []
    out = tmp_path / "HQ.xlsx"
    assert main(["hq", str(folder), "--as-of", "2026-11-22", "--out", str(out)]) == 1
    assert {r["服务中心"] for r in read_sheet(out, "各中心收缴率") if r["期间"]} == {"甲中心", "合计"}


def test_submit_file_is_accepted_by_hq(three, tmp_path):
    sent = tmp_path / "sent"
    assert main(["submit", str(three / "b.xlsx"), "--as-of", "2026-11-22", "--out", str(sent)]) == 0
    [summary] = sent.glob("*.xlsx")
    assert summary.name == "乙中心_报送_2026-11-22.xlsx"
    assert not os.access(summary, os.W_OK) or os.geteuid() == 0  # read-only on disk (root ignores the mode)
    assert oct(summary.stat().st_mode & 0o777) == "0o444"
    assert read_submission(summary)["rates"] == center_facts(three / "b.xlsx", AS_OF)["rates"]
    # 乙's workbook replaced by its 报送 file: the same 合计
    (three / "b.xlsx").unlink()
    shutil.copyfile(summary, three / summary.name)
    out = tmp_path / "HQ.xlsx"
    assert main(["hq", str(three), "--as-of", "2026-11-22", "--out", str(out)]) == 0
    total = _q4(read_sheet(out, "各中心收缴率"), "合计")
    assert (total["应收"], total["实收"]) == (4500, 2400)
    review = {r["文件"]: r for r in read_sheet(out, "复核")}
    assert review[summary.name]["来源"] == "报送（b.xlsx）"


def test_parquet(three, tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    out, pq = tmp_path / "HQ.xlsx", tmp_path / "pq"
    assert main(["hq", str(three), "--as-of", "2026-11-22", "--out", str(out), "--parquet", str(pq)]) == 0
    rates = pd.read_parquet(pq / "hq_rates.parquet")
    total = rates[(rates["服务中心"] == "合计") & (rates["期间"] == "2026Q4")].iloc[0]
    assert total["应收"] == D("4500.00") and total["当期收缴率"] == pytest.approx(2400 / 4500, abs=1e-6)


def test_parquet_without_pyarrow_says_so(three, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow → ImportError
    assert main(["hq", str(three), "--as-of", "2026-11-22", "--out", str(tmp_path / "HQ.xlsx"),
                 "--parquet", str(tmp_path / "pq")]) == 2
    assert "pip install \"feebook[hq]\"" in capsys.readouterr().err


def test_pandas_stays_off_the_ribbon_path():
    code = "import sys, xlwings_addin.faces.macros, xlwings_addin.faces.cli as c; c.build_parser(); " \
           "print('pandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_an_earlier_hq_workbook_in_the_folder_is_not_a_center(three, tmp_path):
    first = three / "HQ-上月.xlsx"
    assert main(["hq", str(three), "--as-of", "2026-11-22", "--out", str(first)]) == 0
    out = tmp_path / "HQ.xlsx"
    assert main(["hq", str(three), "--as-of", "2026-11-22", "--out", str(out)]) == 1
    review = {r["文件"]: r for r in read_sheet(out, "复核")}
    assert "汇总工作簿" in review["HQ-上月.xlsx"]["状态"]
    assert _q4(read_sheet(out, "各中心收缴率"), "合计")["应收"] == 4500  # counted once


def test_a_folder_of_only_broken_files_still_writes_the_review(tmp_path, capsys):
    folder = tmp_path / "centers"
    folder.mkdir()
    (folder / "x.xlsx").write_bytes(b"PK\x03\x04 truncated")
    (folder / "y.xlsx").write_text("not a zip", encoding="utf-8")
    out = tmp_path / "HQ.xlsx"
    assert main(["hq", str(folder), "--as-of", "2026-11-22", "--out", str(out), "--jobs", "2"]) == 1
    review = read_sheet(out, "复核")
    assert [r["文件"] for r in review] == ["x.xlsx", "y.xlsx"]
    assert all(r["状态"].startswith("无法读取") for r in review)
    assert "无法读取：x.xlsx" in capsys.readouterr().err


def test_a_center_sent_twice_is_flagged_in_the_review(three, tmp_path, capsys):
    # 乙中心's workbook AND its 报送 file in the folder: both are read and summed (2026Q4 合计 应收
    # 甲 1,000 + 乙 3,000 + 丙 500 + 乙 again 3,000 = 7,500) — 复核 names the other file on both rows
    sent = tmp_path / "sent"
    assert main(["submit", str(three / "b.xlsx"), "--as-of", "2026-11-22", "--out", str(sent)]) == 0
    [summary] = sent.glob("*.xlsx")
    shutil.copyfile(summary, three / summary.name)
    out = tmp_path / "HQ.xlsx"
    capsys.readouterr()
    assert main(["hq", str(three), "--as-of", "2026-11-22", "--out", str(out)]) == 0
    assert "服务中心“乙中心”出现在 2 个文件中" in capsys.readouterr().err
    assert _q4(read_sheet(out, "各中心收缴率"), "合计")["应收"] == 7500
    review = {r["文件"]: r for r in read_sheet(out, "复核")}
    assert "另见于 " + summary.name in review["b.xlsx"]["说明"]
    assert "另见于 b.xlsx" in review[summary.name]["说明"]
    assert "重复" not in review["a.xlsx"]["说明"] and "重复" not in review["c.xlsx"]["说明"]

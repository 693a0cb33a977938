"""The add-in, no Excel needed: ribbon → VBA callback → RunPython → a Python macro that runs.

* every button's ``onAction`` in the *built* FeeLedger.xlam names a Sub that
  exists in its vbaProject (read back with olevba);
* every such Sub's RunPython names a function of xlwings_addin.faces.macros with no
  required argument;
* every such function runs here against the demo workbook, through the fake
  book (tests/fake_xlwings.py), and writes what its CLI command writes.
"""
from __future__ import annotations

import csv
import datetime as dt
import inspect
import os
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from fake_xlwings import book_from_file
from xlwings_addin.faces import macros
from xlwings_addin.ledger import schema
from xlwings_addin.faces import udfs
from xlwings_addin.workbook.live import read_book

ROOT = Path(__file__).resolve().parent.parent
XLAM = ROOT / "xlwings_addin" / "faces" / "addin" / "FeeLedger.xlam"
AS_OF = dt.date(2026, 11, 22)
NS_UI = "{http://schemas.microsoft.com/office/2009/07/customui}"


def built_vba() -> dict[str, str]:
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(XLAM))
    try:
        return {Path(name).stem: code for _f, _s, name, code in parser.extract_macros()}
    finally:
        parser.close()


def built_ribbon() -> list[ET.Element]:
    with zipfile.ZipFile(XLAM) as z:
        rels = z.read("_rels/.rels").decode("utf-8")
        target = re.search(r'Type="http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"'
                           r'\s+Target="([^"]+)"', rels)
        assert target, "the package has no ribbon (customUI) relationship"
        root = ET.fromstring(z.read(target.group(1)))
    return list(root.iter(f"{NS_UI}button"))


def callbacks(vba: dict[str, str]) -> dict[str, tuple[str, str]]:
    """'Module.Sub' → (its parameter list, its body), for every Sub of every module."""
    out = {}
    for module, code in vba.items():
        for m in re.finditer(r"^Sub (\w+)\(([^)]*)\)\s*$(.*?)^End Sub", code, re.M | re.S):
            out[f"{module}.{m.group(1)}"] = (m.group(2), m.group(3))
    return out


def ribbon_macros() -> list[str]:
    """The Python macro of every button of the built ribbon (through macros.BUTTONS)."""
    return [macros.BUTTONS[b.get("id")].__name__ for b in built_ribbon() if b.get("id") in macros.BUTTONS]


def load_build_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_addin", ROOT / "scripts" / "build_addin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ the package and the wiring


def test_package_parts():
    with zipfile.ZipFile(XLAM) as z:
        names = set(z.namelist())
        ct = z.read("[Content_Types].xml").decode("utf-8")
        wb = z.read("xl/workbook.xml").decode("utf-8")
    assert {"customUI/customUI14.xml", "xl/vbaProject.bin", "xl/workbook.xml"} <= names
    assert "customUI/customUI.xml" not in names  # the template's own ribbon is gone
    assert "application/vnd.ms-excel.addin.macroEnabled.main+xml" in ct  # an add-in, not a workbook
    assert 'Extension="xml" ContentType="application/xml"' in ct  # covers the customUI part
    assert "vnd.ms-office.vbaProject" in ct
    assert '<sheet name="_xlwings.conf"' in wb and '<sheet name="_functions"' in wb
    assert "felix" not in wb  # no path of the template author's machine


def test_ribbon_tab_groups_and_icons():
    with zipfile.ZipFile(XLAM) as z:
        root = ET.fromstring(z.read("customUI/customUI14.xml"))
    tab = next(root.iter(f"{NS_UI}tab"))
    assert tab.get("label") == "收费管理"
    groups = {g.get("label"): [b.get("label") for b in g.iter(f"{NS_UI}button")] for g in tab.iter(f"{NS_UI}group")}
    assert list(groups) == ["计费", "催收", "文书", "银行", "报表"]
    labels = [label for group in groups.values() for label in group]
    for required in ("计费", "刷新欠费", "计算佣金", "生成收费通知单", "生成催费通知单", "导出短信", "导出托收盘",
                     "导入回盘", "收款登记", "生成总结报告", "校验"):
        assert required in labels
    assert all(b.get("imageMso") for b in tab.iter(f"{NS_UI}button"))


def test_every_button_calls_the_one_dispatcher_which_runs_an_existing_macro():
    vba = built_vba()
    subs = callbacks(vba)
    buttons = built_ribbon()
    assert len(buttons) == len(macros.RIBBON) == len(macros.BUTTONS) == 14
    params, body = subs["RibbonMyAddin.Ribbon"]
    assert params == "control As IRibbonControl"
    # one RunPython with the button's id: adding a button never touches VBA
    assert [s.strip() for s in re.findall(r"RunPython (.*)", body)] == [
        """"import xlwings_addin.faces.macros as m; m.ribbon('" & control.Id & "')\""""]
    for button in buttons:
        assert button.get("onAction") == "RibbonMyAddin.Ribbon", button.get("label")
        func = macros.BUTTONS.get(button.get("id"))
        assert callable(func), f"{button.get('id')} ({button.get('label')}) has no entry in macros.BUTTONS"
        required = [p for p in inspect.signature(func).parameters.values()
                    if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        assert not required, f"{func.__name__} has required arguments {required}"
        assert macros.RIBBON[button.get("label")] is func
    # every callback named in the ribbon (onAction, onLoad) exists and has the signature Office calls it with
    with zipfile.ZipFile(XLAM) as z:
        xml = z.read("customUI/customUI14.xml").decode("utf-8")
    names = set(re.findall(r'on(?:Action|Load)="([^"]+)"', xml))
    assert names == {"RibbonMyAddin.Ribbon", "RibbonMyAddin.RibbonLoaded"}
    assert subs["RibbonMyAddin.RibbonLoaded"][0] == "ui As IRibbonUI"
    assert all(params.endswith("As IRibbonControl") for name, (params, _b) in subs.items()
               if name in names and name != "RibbonMyAddin.RibbonLoaded")


def test_no_workbook_open_gives_a_chinese_message_box_before_any_python():
    vba = built_vba()["RibbonMyAddin"]
    _params, body = callbacks({"RibbonMyAddin": vba})["RibbonMyAddin.Ribbon"]
    lines = [line.strip() for line in body.strip().splitlines()]
    # the guard comes first: ActiveWorkbook is Nothing → MsgBox and leave (no RunPython → no VBA error 91)
    assert lines[:4] == ["If ActiveWorkbook Is Nothing Then", "MsgBox NoWorkbookText(), vbExclamation, TitleText()",
                         "Exit Sub", "End If"]

    def text_of(function: str) -> str:
        block = re.search(rf"Private Function {function}\(\) As String(.*?)End Function", vba, re.S).group(1)
        return "".join(chr(int(h, 16)) for h in re.findall(r"ChrW\(&H([0-9A-F]{4})\)", block))

    assert text_of("NoWorkbookText") == "请先打开收费大表工作簿（.xlsx），再点“收费管理”选项卡上的按钮。"
    assert text_of("TitleText") == "收费管理"


def test_every_image_is_a_published_office_icon():
    listed = set()
    for line in Path("/work/shared/reference/office-control-ids.txt").read_text(encoding="utf-8").splitlines() \
            if Path("/work/shared/reference/office-control-ids.txt").exists() else []:
        if line and not line.startswith("#"):
            listed.add(line.split("\t")[0])
    if not listed:
        pytest.skip("office-control-ids.txt not available")
    images = {b.get("imageMso") for b in built_ribbon()}
    assert images and images <= listed, images - listed


def test_receive_tooltip_says_what_the_macro_needs():
    button = next(b for b in built_ribbon() if b.get("id") == "btnReceive")
    tip = button.get("supertip")
    # receive_selected takes one row of 欠费明细, 催收任务 or 房屋 (macros.SELECTABLE + 房屋), asks amount and channel
    for sheet in (*macros.SELECTABLE, schema.UNITS):
        assert f"“{sheet}”" in tip
    assert "一户" in tip and "金额" in tip and "渠道" in tip and "收据" in tip
    assert "“收款”表中选中" not in tip  # the old text described a selection the macro does not read


def test_ribbon_dispatch_by_button_id(book):
    result = macros.ribbon("btnCheck", book, AS_OF)
    assert result is not None and result.ok is not None
    assert book.app.alerts[-1][0] == "收费管理 · 校验"
    assert macros.ribbon("btnNoSuchButton", book, AS_OF) is None
    assert book.app.alerts[-1] == ("收费管理", "按钮“btnNoSuchButton”还没有对应的功能，请更新 feebook。")


def test_vba_container_is_xlwings_excel_written_one_with_only_our_two_streams_changed():
    """Stream by stream against quickstart_addin_ribbon.xlam's vbaProject.bin: the same streams and storages,
    byte-identical except VBA/RibbonMyAddin (our module) and VBA/xlwings (one line, PROJECT_NAME)."""
    from oletools.olevba import decompress_stream

    build_addin = load_build_script()
    with zipfile.ZipFile(build_addin.template_path()) as z:
        old_streams, old_storages, old_root = build_addin.read_cfb(z.read("xl/vbaProject.bin"))
    with zipfile.ZipFile(XLAM) as z:
        new_streams, new_storages, new_root = build_addin.read_cfb(z.read("xl/vbaProject.bin"))
    import io
    import olefile

    with zipfile.ZipFile(XLAM) as z:  # the rewritten compound file passes olefile's strictest parse
        olefile.OleFileIO(io.BytesIO(z.read("xl/vbaProject.bin")), raise_defects=olefile.DEFECT_POTENTIAL).close()
    assert set(new_streams) == set(old_streams)
    assert {"PROJECT", "PROJECTwm", "VBA/dir", "VBA/_VBA_PROJECT"} <= set(new_streams)
    assert (new_storages, new_root) == (old_storages, old_root)
    changed = {name for name in new_streams if new_streams[name] != old_streams[name]}
    assert changed == {"VBA/RibbonMyAddin", "VBA/xlwings"}
    project = new_streams["PROJECT"].decode("cp1252")
    assert "[Workspace]" in project and "Module=RibbonMyAddin" in project
    assert new_streams["VBA/_VBA_PROJECT"] == b"\xcc\x61\xff\xff\x00\x01\x00"  # no p-code: Excel compiles source
    offsets = build_addin.module_offsets(bytes(decompress_stream(bytearray(new_streams["VBA/dir"]))))

    def source(streams, name):
        raw = streams[f"VBA/{name}"]
        return bytes(decompress_stream(bytearray(raw[offsets[name]:]))).decode("cp1252")

    for name in ("RibbonMyAddin", "xlwings"):  # the bytes before the source (performance cache) are kept
        assert new_streams[f"VBA/{name}"][:offsets[name]] == old_streams[f"VBA/{name}"][:offsets[name]]
    old_lines, new_lines = source(old_streams, "xlwings").splitlines(), source(new_streams, "xlwings").splitlines()
    diff = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert len(old_lines) == len(new_lines) and diff == [
        ('Public Const PROJECT_NAME As String = "myaddin"', 'Public Const PROJECT_NAME As String = "xlwings"')]
    assert source(new_streams, "RibbonMyAddin") == build_addin.ribbon_module_source()


def test_olevba_reads_every_module_back():
    vba = built_vba()
    assert set(vba) == {"ThisWorkbook", "Dictionary", "RibbonMyAddin", "Sheet2", "xlwings"}
    assert "Public Function RunPython(" in vba["xlwings"]
    assert 'PROJECT_NAME As String = "xlwings"' in vba["xlwings"]  # reads the same xlwings.conf as the xlwings add-in
    assert vba["RibbonMyAddin"].replace("\r\n", "\n").startswith(
        (ROOT / "xlwings_addin/faces/addin/FeeLedger.bas").read_text(encoding="ascii").rstrip("\n"))
    for name in udfs.HELP:
        params = [p for p in inspect.signature(getattr(udfs, name)).parameters if p != "caller"]
        m = re.search(rf"^Function {name}\(([^)]*)\)(.*?)^End Function", vba["RibbonMyAddin"], re.M | re.S)
        assert m, f"no VBA wrapper for {name}"
        assert [a.replace("Optional ", "") for a in m.group(1).split(", ")] == params
        body = m.group(2)
        assert f'CellValue(XLPy.CallUDF("xlwings_addin.faces.udfs", "{name}"' in body
        assert ("Application.Volatile" in body) == (name in udfs.VOLATILE)
        assert f"{name} = CVErr(xlErrValue)" in body and "Err.Description" not in body  # never a traceback
    for code in vba.values():  # VBA source is stored in a code page: keep it ASCII
        assert code.isascii()


def test_the_committed_add_in_is_what_the_build_script_makes(tmp_path):
    out = load_build_script().build(tmp_path / "FeeLedger.xlam")
    assert out.read_bytes() == XLAM.read_bytes(), "FeeLedger.xlam is stale: run scripts/build_addin.py"


def test_vba_compression_round_trips_through_olevba():
    import random

    from oletools.olevba import decompress_stream

    build_addin = load_build_script()
    rng = random.Random(7)
    samples = [b"", b"a", b"abcabcabc" * 1000, bytes(rng.randrange(256) for _ in range(9000)),
               (ROOT / "xlwings_addin/faces/addin/FeeLedger.bas").read_bytes() * 20]
    for data in samples:
        assert bytes(decompress_stream(bytearray(build_addin.ovba_compress(data)))) == data


# ------------------------------------------------------------------ every ribbon macro runs on the demo workbook


@pytest.fixture
def book(demo_copy, monkeypatch):
    fake = book_from_file(demo_copy)
    answers: dict[str, str] = {}
    monkeypatch.setattr(macros, "ask_text", lambda _book, prompt, default: answers.get(prompt.split("（")[0],
                                                                                        default))
    fake.answers = answers
    return fake


def rows_of(book, sheet):
    raw = read_book(book, sheets=[sheet]).get(sheet)
    return [] if raw is None else [dict(zip(raw.headers, v)) for _n, v in raw.rows]


def out_dir(book) -> Path:
    return Path(book.fullname).parent / "输出" / "2026-11-22"


def check_bill(book, tmp_path, monkeypatch):
    before = len(rows_of(book, schema.CHARGES))
    book.answers["计费期间"] = "2027Q1"
    result = macros.bill(book, as_of=AS_OF)
    added = rows_of(book, schema.CHARGES)[before:]
    # 300 units, each with at least one charge of 2027Q1; all due 2027-01-25 (缴费截止日 25)
    assert len(added) >= 300 and {r["期间"] for r in added} == {"2027Q1"}
    assert {r["应缴日期"] for r in added} == {dt.date(2027, 1, 25)}
    assert result.lines[0].startswith(f"2027Q1 计费：新增应收 {len(added)} 行")
    # again: nothing new (idempotent)
    again = macros.bill(book, as_of=AS_OF)
    assert len(rows_of(book, schema.CHARGES)) == before + len(added)
    assert any(line.startswith("已计费（跳过，不重复）") for line in again.lines)


def check_refresh_arrears(book, tmp_path, monkeypatch):
    result = macros.refresh_arrears(book, as_of=AS_OF)
    # one line per owing unit (it has an oldest due date); the 合计 and note rows have none
    arrears = [r for r in rows_of(book, schema.ARREARS) if r["最早应缴日期"] is not None]
    # issue 20: the summary counts 欠费户 (principal > 0) and names the late-fee-only units separately
    owing = [r for r in arrears if r["欠费本金"] > 0]
    assert 0 < len(owing) < len(arrears)
    assert any(f"截至 2026-11-22 欠费户 {len(owing)} 户" in line and f"另仅欠违约金 {len(arrears) - len(owing)} 户" in line
               for line in result.lines)
    assert book.sheets[schema.ARREARS].formulas  # the 合计 rows are native SUM formulas


def check_check(book, tmp_path, monkeypatch):
    result = macros.check(book, as_of=AS_OF)
    assert result.lines[0].startswith("读取：房屋 300 户")
    assert book.sheets[schema.PROBLEMS].row_values(1)[:4] == ["级别", "工作表", "单元格", "说明"]


def check_dunning_tasks(book, tmp_path, monkeypatch):
    result = macros.dunning_tasks(book, as_of=AS_OF)
    tasks = rows_of(book, schema.TASKS)
    assert tasks and result.lines[0].startswith("2026-11-22")


def check_export_sms(book, tmp_path, monkeypatch):
    result = macros.export_sms(book, as_of=AS_OF)
    path = out_dir(book) / "短信提醒_2026-11-22.csv"
    assert result.files == [path] and path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    count = int(re.match(r"短信提醒 (\d+) 条", result.lines[0]).group(1))
    assert len(lines) - 1 == count


def check_fee_notices(book, tmp_path, monkeypatch):
    book.select(schema.ARREARS, 2, rows=2)
    rooms = [r["房号"] for r in rows_of(book, schema.ARREARS)[:2]]
    result = macros.fee_notices(book, as_of=AS_OF)
    letters = [f for f in result.files if f.parent == out_dir(book) / "收费通知单" and "合并" not in f.name]
    assert result.lines[0] == "范围：选中的 2 户"
    assert len(letters) == 2 and all(any(room in f.name for f in letters) for room in rooms)


def check_dunning_notices(book, tmp_path, monkeypatch):
    book.select(schema.ARREARS, 2)
    room = rows_of(book, schema.ARREARS)[0]["房号"]
    before = len(rows_of(book, schema.CONTACTS))
    result = macros.dunning_notices(book, as_of=AS_OF)
    logged = rows_of(book, schema.CONTACTS)[before:]
    assert [(r["房号"], r["方式"], r["日期"]) for r in logged] == [(room, "催费通知单", AS_OF)]
    assert any(f.suffix == ".docx" and room in f.name for f in result.files)


def check_bank_export(book, tmp_path, monkeypatch):
    result = macros.bank_export(book, as_of=AS_OF)
    batches = rows_of(book, schema.BANK_BATCHES)
    assert len(batches) == 1 and batches[0]["状态"] == "待回盘"
    assert len(result.files) == 1 and result.files[0].name.startswith(f"托收盘_{batches[0]['批次号']}_csv_gbk")
    debits = rows_of(book, schema.BANK_DEBITS)
    assert len(debits) == int(batches[0]["笔数"])
    assert abs(sum(d["金额"] for d in debits) - batches[0]["总金额"]) < 0.005


def check_bank_import(book, tmp_path, monkeypatch):
    from xlwings_addin.jobs.bank import load_profile, simulate_return

    exported = macros.bank_export(book, as_of=AS_OF)
    debits = rows_of(book, schema.BANK_DEBITS)
    returned = tmp_path / "回盘.csv"
    returned.write_bytes(simulate_return(load_profile("csv_gbk"), exported.files[0].read_bytes(), {1: "1001"},
                                         AS_OF))
    monkeypatch.setattr(macros, "ask_open_filename", lambda *_a, **_k: str(returned))
    before = len(rows_of(book, schema.PAYMENTS))
    result = macros.bank_import(book, as_of=AS_OF)
    posted = rows_of(book, schema.PAYMENTS)[before:]
    # every debit but the first (failed with 1001) becomes a 托收 payment of its amount
    assert len(posted) == len(debits) - 1 and {p["渠道"] for p in posted} == {"托收"}
    assert abs(sum(p["金额"] for p in posted) - sum(d["金额"] for d in debits[1:])) < 0.005
    assert result.ok, result.lines
    # cancelling the dialog writes nothing
    monkeypatch.setattr(macros, "ask_open_filename", lambda *_a, **_k: None)
    assert macros.bank_import(book, as_of=AS_OF).lines == ["已取消，工作簿未改动。"]


def check_receive_selected(book, tmp_path, monkeypatch):
    top = rows_of(book, schema.ARREARS)[0]
    book.select(schema.ARREARS, 2)
    before = len(rows_of(book, schema.PAYMENTS))
    result = macros.receive_selected(book, as_of=AS_OF)
    paid = rows_of(book, schema.PAYMENTS)[before:]
    # the default amount is what the unit owes (应缴合计 of its 欠费明细 row), channel 现金, dated as_of
    assert [(p["房号"], p["金额"], p["渠道"], p["收款日期"]) for p in paid] == \
           [(top["房号"], top["应缴合计"], "现金", AS_OF)]
    assert result.files and result.files[0].name.startswith(f"收据_{paid[0]['收据号']}_")
    # nothing selected → a message, nothing written
    book.selection = None
    assert macros.receive_selected(book, as_of=AS_OF).lines[0].startswith("无法完成：请先在")


def check_commission(book, tmp_path, monkeypatch):
    result = macros.commission(book, as_of=AS_OF)
    rows = [r for r in rows_of(book, schema.COMMISSION) if r.get("季度") == "2026Q4"]
    # 3 assistants × months 1–2 of 2026Q4 started by 2026-11-22, and (issue 20) one 季度合计 row each
    months = [r for r in rows if r["月份"] is not None]
    totals = [r for r in rows if r["档位"] == "季度合计"]
    assert len(months) == 6 and {r["月份"] for r in months} == {1, 2} and len(totals) == 3
    for t in totals:  # the quarter's total is the sum of the assistant's months
        name = t["服务助理"].replace("（季度合计）", "")
        assert abs(t["佣金"] - sum(r["佣金"] for r in months if r["服务助理"] == name)) < 0.005
    assert len([line for line in result.lines if "2026Q4 第2月" in line]) == 3


def check_summary_report(book, tmp_path, monkeypatch):
    result = macros.summary_report(book, as_of=AS_OF)
    assert len(result.files) == 1 and result.files[0].suffix == ".docx" and result.files[0].exists()
    assert result.files[0].parent == out_dir(book)


def check_reconcile_statement(book, tmp_path, monkeypatch):
    from test_reconcile import WECHAT_TITLES, wechat_bill, wechat_row

    # one WeChat payment of 500.00 for 1-1-101 that the ledger has not recorded (fee 0.60% = 3.00)
    bill = tmp_path / "微信账单.csv"
    bill.write_bytes(wechat_bill([
        WECHAT_TITLES,
        wechat_row("2026-11-21 09:15:02", "4209999999", "WX999", "SUCCESS", "500.00", "", "0.00", "物业费",
                   "1-1-101", "3.00000"),
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
        "`1,`500.00,`0.00,`0.00,`3.00000,`500.00,`0.00",
    ]))
    monkeypatch.setattr(macros, "ask_open_filename", lambda *_a, **_k: str(bill))
    monkeypatch.setattr(macros, "ask_text", lambda _b, prompt, default: "否" if "记入收款表" in prompt else default)
    result = macros.reconcile_statement(book, as_of=AS_OF)
    assert result.ok, result.lines
    ours = [r for r in rows_of(book, schema.RECONCILIATION) if r.get("交易单号") == "4209999999"]
    assert [(r["类型"], r["房号"], r["金额"]) for r in ours] == [("渠道有台账无", "1-1-101", 500.0)]


def check_invoice_export(book, tmp_path, monkeypatch):
    answers = {"收款日期起": "2026-11-01", "收款日期止": "2026-11-22"}
    monkeypatch.setattr(macros, "ask_text", lambda _b, prompt, default: answers.get(prompt.split("（")[0], default))
    result = macros.invoice_export(book, as_of=AS_OF)
    assert result.ok, result.lines
    assert len(result.files) == 1 and result.files[0].suffix == ".xlsx" and result.files[0].exists()
    invoiced = {r["收据号"] for r in rows_of(book, schema.INVOICING)}
    paid = {r["收据号"]: r for r in rows_of(book, schema.PAYMENTS)}
    assert invoiced and invoiced <= set(paid)


CHECKS = {f.__name__.removeprefix("check_"): f for f in [
    check_bill, check_refresh_arrears, check_check, check_dunning_tasks, check_export_sms, check_fee_notices,
    check_dunning_notices, check_bank_export, check_bank_import, check_receive_selected, check_commission,
    check_summary_report, check_reconcile_statement, check_invoice_export]}


def test_every_ribbon_macro_has_a_run_test():
    assert set(ribbon_macros()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_ribbon_macro_runs_on_the_demo_workbook(name, book, tmp_path, monkeypatch):
    CHECKS[name](book, tmp_path, monkeypatch)
    # progress went to the status bar and was handed back to Excel; the summary went to a message box
    assert book.app.status_history and book.app.status_history[-1] is False
    assert book.app.alerts and book.app.alerts[-1][0].startswith("收费管理 · ")
    # the workbook file itself was never written by a macro
    assert not (Path(book.fullname).parent / "备份").exists()


def test_cancel_writes_nothing(book, monkeypatch):
    monkeypatch.setattr(macros, "ask_text", lambda *_a: None)
    book.writes.clear()
    result = macros.bill(book, as_of=AS_OF)
    assert result.lines == ["已取消，工作簿未改动。"] and book.writes == []
    assert book.app.alerts[-1][1] == "已取消，工作簿未改动。"


def test_a_bug_becomes_a_short_message_and_a_log(book, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("模拟故障")

    monkeypatch.setattr(macros, "job_run", boom)
    result = macros.refresh_arrears(book, as_of=AS_OF)
    assert not result.ok and result.lines[0] == "刷新欠费出错：RuntimeError: 模拟故障"
    log = out_dir(book) / "错误日志.txt"
    assert "Traceback" in log.read_text(encoding="utf-8")


# ------------------------------------------------------------------ the Server route (xlwings PRO licence only)


def _json_payload(path) -> dict:
    import xlwings as xw

    from xlwings_addin.workbook.reader import read_workbook

    sheets = []
    for name, raw in read_workbook(path).items():
        width = len(raw.headers)
        last = raw.rows[-1][0] if raw.rows else 1
        grid = [[None] * width for _ in range(last)]
        grid[0] = list(raw.headers)
        for number, values in raw.rows:
            grid[number - 1] = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        sheets.append({"name": name, "values": grid, "pictures": [], "shapes": [], "charts": [], "notes": [],
                       "tables": [], "print_area": None, "visibility": "Visible"})
    return {"client": "Office.js", "version": xw.__version__, "names": [], "sheets": sheets,
            "book": {"name": Path(path).name, "active_sheet_index": 0, "selection": "A1"}}


@pytest.mark.skipif(not os.environ.get("XLWINGS_LICENSE_KEY"), reason="需要 XLWINGS_LICENSE_KEY（xlwings PRO）")
def test_two_macros_against_xw_book_json(demo_copy):
    import xlwings as xw

    book = xw.Book(json=_json_payload(demo_copy))
    result = macros.refresh_arrears(book, as_of=AS_OF)
    assert result.ok, result.lines
    actions = book.json()["actions"]
    assert any(a["func"] == "setValues" for a in actions)
    assert any(a["func"] == "alert" and "欠费" in a["args"][0] for a in actions)
    book = xw.Book(json=_json_payload(demo_copy))
    result = macros.check(book, as_of=AS_OF)
    assert result.lines[0].startswith("读取：房屋 300 户")
    assert any(a["func"] == "alert" for a in book.json()["actions"])

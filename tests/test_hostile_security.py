"""Security promises of SPEC §6–§7 tested with hostile user text (issue 8).

- text a user typed never becomes a formula: CSV exports neutralise a leading
  = + - @ tab CR; xlsx outputs write it as a string (checked with LibreOffice);
- letters autoescape (docx XML stays valid, the text is shown literally) and
  their file names cannot leave the output folder (``../``);
- no phone number of the sample estate in the logs of a demo run.
"""
from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

import hostile_corpus as hc
from xlwings_addin.ledger import schema
from xlwings_addin.workbook.writer import SheetOutput, write_new_workbook

pytestmark = pytest.mark.hostile
ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ["=1+1", "+1+1", "-1+1", "@SUM(1,1)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://x","点我")']


def test_new_workbook_keeps_user_text_that_looks_like_a_formula(tmp_path):
    # found by this issue: write_new_workbook (挂牌公示, scheduled exports) let openpyxl turn '=…' text into a formula
    path = tmp_path / "导出.xlsx"
    write_new_workbook(path, [SheetOutput("名单", ["房号", "业主"], [[t, t] for t in HOSTILE])])
    ws = openpyxl.load_workbook(path)["名单"]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert all(c.data_type == "s" for c in cells), [(c.coordinate, c.data_type) for c in cells]
    with zipfile.ZipFile(path) as z:
        xml = next(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    assert b"<f>" not in xml


def _hostile_book(tmp_path) -> Path:
    book = hc.Book()
    book.sheets["收款"] = book.sheets["收款"][:2]  # 1-1-102 keeps owing its 671.25
    book.sheets["房屋"][2][4] = hc.Text("=1+1")
    book.sheets["房屋"].append(["1-1-301", "1", "住宅", 100, hc.Text('=HYPERLINK("http://x","点我")'), "13800000004"])
    book.sheets["应收"].append(["2026Q1-1-1-301-WYF", "2026Q1", "1-1-301", "WYF", 750, dt.date(2026, 1, 25), "计费"])
    return hc.save_book(book, tmp_path / "收费大表.xlsx")


@pytest.mark.libreoffice
def test_libreoffice_shows_inline_string_text_not_a_formula(tmp_path, soffice):
    """欠费明细 (written by save_changes as inline strings) and a write_new_workbook export, opened by LibreOffice."""
    path = _hostile_book(tmp_path)
    code, out, err, crashed = hc.run_cli(["run", path, "--as-of", hc.AS_OF])
    assert not crashed and code == 0, err
    export = tmp_path / "导出.xlsx"
    write_new_workbook(export, [SheetOutput("名单", ["业主"], [["=1+1"], ["@SUM(1,1)"]])])
    profile = tmp_path / "lo"
    for src in (path, export):
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                        "--outdir", str(tmp_path / "csv"), str(src)], check=True, capture_output=True, timeout=180)
    arrears = (tmp_path / "csv" / f"{path.stem}-{schema.ARREARS}.csv").read_text(encoding="utf-8")
    owners = [r[2] for r in csv.reader(arrears.splitlines())]
    # LibreOffice shows the typed text; a formula would show 2 and 点我
    assert "=1+1" in owners and '=HYPERLINK("http://x","点我")' in owners
    assert "2" not in owners and "点我" not in owners
    listed = [r[0] for r in csv.reader((tmp_path / "csv" / "导出-名单.csv").read_text(encoding="utf-8").splitlines())]
    assert listed == ["业主", "=1+1", "@SUM(1,1)"]


def test_sms_csv_neutralises_formula_starts(tmp_path):
    if importlib.util.find_spec("xlwings_addin.exchange.sms") is None:
        pytest.skip("短信导出（xlwings_addin.exchange.sms）尚未提供")
    from xlwings_addin.exchange import sms

    export = sms.SmsExport(as_of=dt.date(2026, 3, 18), send_at=dt.datetime(2026, 3, 18, 9, 0))
    export.rows = [{"手机": t, "房号": t, "业主": t, "金额": 1, "短信内容": t, "计划发送时间": t} for t in HOSTILE]
    path = sms.write_sms_csv(tmp_path / "短信.csv", export)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))[1:]
    cells = [c for r in rows for i, c in enumerate(r) if i != 3]
    assert cells and all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert rows[0][0] == "'=1+1"


def test_letters_autoescape_and_names_stay_in_the_folder(tmp_path):
    if importlib.util.find_spec("xlwings_addin.faces.commands.letters") is None:
        pytest.skip("feebook letters 尚未提供")
    book = hc.Book()
    book.sheets["收款"] = book.sheets["收款"][:1]
    evil_room = "../../逃逸"
    book.sheets["房屋"][1][4] = "<w:t>&amp;{{ 公司名称 }}</w:p>"
    book.sheets["房屋"][2][0] = evil_room
    book.sheets["应收"][2][2] = evil_room
    path = hc.save_book(book, tmp_path / "收费大表.xlsx")
    out = tmp_path / "out" / "letters"
    code, stdout, err, crashed = hc.run_cli(["letters", path, "--kind", "收费通知单", "--period", "2026Q1",
                                             "--out", out, "--as-of", hc.AS_OF, "--no-record"])
    assert not crashed and "Traceback" not in err, err
    made = sorted(p for p in tmp_path.rglob("*.docx"))
    assert made and all(out.resolve() in p.resolve().parents for p in made), made
    assert not (tmp_path / "逃逸").exists() and not list(tmp_path.parent.glob("*逃逸*"))
    texts = {}
    for p in made:
        import docx
        texts[p.name] = "\n".join(par.text for par in docx.Document(str(p)).paragraphs)
    mine = [t for t in texts.values() if "<w:t>&amp;{{ 公司名称 }}</w:p>" in t]
    assert mine, texts.keys()  # shown literally: escaped, not interpreted, not rendered as Jinja


def test_no_phone_number_in_the_logs_of_a_demo_run(tmp_path):
    """``feebook demo``: its terminal output, 操作日志, any log file — no phone number of the estate."""
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "xlwings_addin.faces.cli", "demo", "--units", "40", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    (workbook,) = out.glob("*.xlsx")
    units = hc.sheet_values(workbook, [schema.UNITS])[schema.UNITS]
    col = units[0].index("手机")
    phones = {str(v[col]) for _n, v in units[1] if v[col]}
    assert len(phones) >= 10  # the sample estate does have mobiles
    logs = [r.stdout, r.stderr]
    audit = hc.sheet_values(workbook, [schema.AUDIT])[schema.AUDIT]
    logs += [" ".join(str(x) for x in v) for _n, v in audit[1]]
    logs += [p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*.log")]
    text = "\n".join(logs)
    digits = re.sub(r"[\s-]", "", text)
    leaked = sorted(p for p in phones if p in digits or p[-8:] in digits)
    assert leaked == []
    # the 催收总结报告 leaves the finance team (SPEC §7): no phone number, no full owner name
    import docx
    names = {str(v[units[0].index("业主姓名")]) for _n, v in units[1]}
    for report in out.glob("催收总结报告_*.docx"):
        d = docx.Document(str(report))
        text = "\n".join([p.text for p in d.paragraphs]
                         + [c.text for t in d.tables for row in t.rows for c in row.cells])
        assert [p for p in phones if p in re.sub(r"[\s-]", "", text)] == []
        assert sorted(n for n in names if len(n) >= 2 and n in text) == []

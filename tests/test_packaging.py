"""Issue 21 point 1: every shipped file is found through resources.py, a center's 模板/ wins,
``feebook templates`` copies the packaged files out.  The wheel round trip itself is in .ci/run."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from xlwings_addin import resources
from xlwings_addin.documents import letters as L
from xlwings_addin.documents import receipt, report
from xlwings_addin.exchange.bank_files import load_profile
from xlwings_addin.faces.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _setup_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("feebook_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    import setuptools
    real_setup, setuptools.setup = setuptools.setup, lambda **kw: None
    try:
        spec.loader.exec_module(module)
    finally:
        setuptools.setup = real_setup
    return module


def test_build_step_ships_every_file_the_code_looks_up():
    """setup.py copies letters/*.docx, workbooks/bank_profiles/*.json, workbooks/*.xlsx into data/<kind>."""
    packaged = {kind: pattern for _src, pattern, kind in _setup_module().PACKAGED}
    assert packaged == resources.KINDS  # same three kinds, same patterns
    names = {p.name for p in (ROOT / "letters").glob("*.docx")}
    # the names the code asks for: 7 letter kinds / receipt / report
    assert {"收据.docx", "催收总结报告.docx", "催费通知单.docx", "催缴函.docx", "律师函.docx",
            "收费通知单.docx", "分期付款协议.docx"} <= names
    assert set(resources.packaged_files("bank_profiles")) == {"csv_gbk.json", "fixed_gbk.json"}
    assert set(resources.packaged_files("workbooks")) == {"收费大表.xlsx"}


def test_center_folder_beside_workbook_wins(tmp_path):
    book = tmp_path / "收费大表.xlsx"
    shutil.copyfile(resources.packaged_files("workbooks")["收费大表.xlsx"], book)
    # nothing of the center's own: the packaged ones
    assert receipt.template_path(book) == resources.packaged_files("letters")["收据.docx"]
    assert L.template_path("催费通知单", workbook=book) == resources.packaged_files("letters")["催费通知单.docx"]
    assert load_profile("csv_gbk", book).delimiter == ","
    # the center edits its copies
    center = tmp_path / "模板"
    (center / "bank_profiles").mkdir(parents=True)
    for name in ("收据.docx", "催费通知单.docx", "催收总结报告.docx"):
        shutil.copyfile(resources.packaged_files("letters")[name], center / name)
    data = json.loads(resources.packaged_files("bank_profiles")["csv_gbk.json"].read_text(encoding="utf-8"))
    data["delimiter"] = "|"
    (center / "bank_profiles" / "csv_gbk.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert receipt.template_path(book) == center / "收据.docx"
    assert report.template_path(book) == center / "催收总结报告.docx"
    assert L.template_path("催费通知单", workbook=book) == center / "催费通知单.docx"
    assert L.template_path("律师函", workbook=book) == resources.packaged_files("letters")["律师函.docx"]
    assert load_profile("csv_gbk", book).delimiter == "|"
    assert load_profile("csv_gbk").delimiter == ","  # without a workbook: the packaged one


def test_templates_command_copies_packaged_files(tmp_path, capsys):
    out = tmp_path / "模板"
    assert main(["templates", "--out", str(out)]) == 0
    copied = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    # 8 Word templates (7 letters and report + the 要素式起诉状) + 2 bank profiles + 3 statement profiles
    # + the empty workbook = 14
    assert len(copied) == 14
    assert "bank_profiles/csv_gbk.json" in copied and "收据.docx" in copied and "收费大表.xlsx" in copied
    assert (out / "收据.docx").read_bytes() == (ROOT / "letters" / "收据.docx").read_bytes()
    # a second run keeps the center's edits
    (out / "收据.docx").write_bytes(b"edited")
    capsys.readouterr()
    assert main(["templates", "--out", str(out)]) == 0
    assert (out / "收据.docx").read_bytes() == b"edited"
    assert "已存在，未覆盖" in capsys.readouterr().out

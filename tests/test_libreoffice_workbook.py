"""The written workbook opens in a real spreadsheet (LibreOffice) and its formulas agree with the engine."""
from __future__ import annotations

import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import DEMO_AS_OF
from xlwings_addin.ledger import schema
from xlwings_addin.engine.aging import arrears_list
from xlwings_addin.engine.allocation import allocate
from xlwings_addin.jobs.ledger import load
from xlwings_addin.ledger.money import ZERO

pytestmark = pytest.mark.libreoffice


def convert_with_libreoffice(soffice: str, source: Path, out_dir: Path) -> Path:
    """Open the workbook in LibreOffice headless and save it again as .xlsx (formulas computed)."""
    profile = Path("/tmp") / f"feebook-lo-{uuid.uuid4().hex}"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir), str(source)],
        capture_output=True, text=True, timeout=180)
    converted = out_dir / source.name
    assert converted.exists(), result.stdout + result.stderr
    return converted


def test_demo_workbook_opens_in_libreoffice_and_sum_formulas_match_engine(soffice, demo_workbook, tmp_path):
    out_dir = tmp_path / "lo"
    out_dir.mkdir()
    converted = convert_with_libreoffice(soffice, demo_workbook, out_dir)

    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(converted))
    # every sheet survived the round trip
    original = CalamineWorkbook.from_path(str(demo_workbook)).sheet_names
    assert {schema.UNITS, schema.CHARGES, schema.PAYMENTS, schema.ARREARS, schema.RATES, schema.PROBLEMS} <= set(original)
    assert book.sheet_names == original
    rows = book.get_sheet_by_name(schema.ARREARS).to_python()
    headers = rows[0]
    col = {h: headers.index(h) for h in ("房号", "欠费本金", "违约金", "应缴合计")}
    totals = [r for r in rows if r[col["房号"]] == "合计"]
    assert len(totals) == 1, "the owners' block has one 合计 row computed by SUM"

    ledger = load(demo_workbook).ledger
    lines = [a for a in arrears_list(ledger.units, allocate(ledger, DEMO_AS_OF)) if not a.unit.developer_held]
    principal = sum((a.principal for a in lines), ZERO)
    fee = sum((a.late_fee for a in lines), ZERO)
    total = sum((a.total for a in lines), ZERO)
    assert principal > 0 and fee > 0
    # LibreOffice computed the SUMs; compare at the cent
    assert Decimal(repr(totals[0][col["欠费本金"]])).quantize(Decimal("0.01")) == principal
    assert Decimal(repr(totals[0][col["违约金"]])).quantize(Decimal("0.01")) == fee
    assert Decimal(repr(totals[0][col["应缴合计"]])).quantize(Decimal("0.01")) == total

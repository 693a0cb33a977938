"""看板 sheet: the KPI data behind four native Excel charts, written into the workbook itself.

The charts are ordinary DrawingML charts made by openpyxl, so Excel, WPS and
LibreOffice draw them without the add-in:

1. 当期收缴率趋势 (line): the last 8 periods, each at the same day into the period;
2. 欠费账龄 (bar): open principal by aging bucket, aged from 应缴日期;
3. 各楼栋欠费 (bar): open principal by 楼栋;
4. 收款渠道 (pie): money received in the period by channel (线上 = 微信/支付宝/转账/POS).

How it is written (the change-only writer cannot make charts): the 看板 cells
go through :func:`workbook.writer._rewrite_package` like any replaced sheet
(same styles, same number formats), into memory; the charts are built by
openpyxl in a small separate workbook whose ``drawing`` and ``chart`` parts
are then transplanted into that package (new ``xl/drawings/drawingN.xml`` +
rels, ``xl/charts/chartN.xml``, the sheet's rels, ``<drawing>`` in the sheet,
content types).  Parts of an earlier 看板 drawing are dropped.  The result is
written with the writer's own safety: lock files refused, OS lock, digest
check, temp file + fsync, backup in 备份/, ``os.replace``.
"""
from __future__ import annotations

import io
import re
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..engine.kpi import Kpis
from ..engine.rates import CENTER
from ..workbook import package as xlsx_package
from ..workbook import writer as W
from ..workbook.reader import NS_REL_DOC, sheet_parts

DASHBOARD = "看板"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
REL_DRAWING = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing"
REL_CHART = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"
NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

# column layout of the 看板 (header row 1, data from row 2): the KPI block top-left (A:B), then
# the data behind the charts (D:F trend, H:I aging, K:L buildings, N:O channels)
HEADERS = ["指标", "数值", "", "期间", "当期收缴率(同日)", "综合收缴率(同日)", "", "账龄", "欠费本金", "",
           "楼栋", "楼栋欠费本金", "", "渠道", "收款金额"]
FORMATS = {"当期收缴率(同日)": "rate", "综合收缴率(同日)": "rate", "欠费本金": "money", "楼栋欠费本金": "money",
           "收款金额": "money"}
KPI_COL, TREND_COL, AGING_COL, BUILDING_COL, CHANNEL_COL = 0, 3, 7, 10, 13  # 0-based first column of each block
CHART_ROWS = 17  # rows one chart row takes (7.5 cm high charts, two side by side, one row of charts per page)


def _debtor_count(k: Kpis) -> int:
    return k.debtors.count if k.debtors is not None else sum(b.units for b in k.buildings)


def dashboard_data(k: Kpis) -> tuple[W.SheetOutput, dict]:
    """The 看板 cells and the row counts of each block (for the chart references).

    KPI values are numbers with formats (rates 0.00%, money #,##0.00, date yyyy-mm-dd), never text;
    a value that cannot be computed is left empty.
    """
    trend = k.center_trend()
    aging = [(b, v) for b, v in k.aging.items()]
    buildings = [(b.label, b.amount) for b in k.buildings]
    channels = list(k.channels.items())
    r = k.center
    summary = [
        ("截至日期", k.as_of, "date"),
        ("期间", k.period.label_cn, None),
        ("当期收缴率", r.current_rate if r else None, "rate"),
        ("当期收缴率(不含减免及预存冲抵)", r.current_rate_cash_only if r else None, "rate"),
        ("清欠率", r.arrears_rate if r else None, "rate"),
        ("综合收缴率", r.overall_rate if r else None, "rate"),
    ] + [(f"收缴率 {w.label}", w.rate, "rate") for w in k.rates] + [
        ("平均缴费天数(按金额加权，天)", k.average_days, "int" if isinstance(k.average_days, int) else "decimal"),
        ("线上缴费占比", k.online_share, "rate"),
        ("催收成功率(30天内缴款)", k.success.rate, "rate"),
        ("欠费户数(户，欠费本金>0)", _debtor_count(k), "int"),
        ("欠费本金(元)", sum((b.amount for b in k.buildings), Decimal(0)), "money"),
        ("仅欠违约金户数(户，前台收取)", k.debtors.fee_only_count if k.debtors else 0, "int"),
        ("仅欠违约金金额(元)", k.debtors.fee_only_amount if k.debtors else Decimal(0), "money"),
    ]
    n = max(len(trend), len(aging), len(buildings), len(channels), len(summary))
    rows = []
    cell_formats = {}
    for i in range(n):
        row: list = [None] * len(HEADERS)
        if i < len(summary):
            row[KPI_COL], row[KPI_COL + 1], kind = summary[i]
            if kind:
                cell_formats[(i, KPI_COL + 1)] = kind
        if i < len(trend):
            t = trend[i]
            row[TREND_COL], row[TREND_COL + 1], row[TREND_COL + 2] = str(t.period), t.current_rate, t.overall_rate
        if i < len(aging):
            row[AGING_COL], row[AGING_COL + 1] = aging[i]
        if i < len(buildings):
            row[BUILDING_COL], row[BUILDING_COL + 1] = buildings[i]
        if i < len(channels):
            row[CHANNEL_COL], row[CHANNEL_COL + 1] = channels[i]
        rows.append(row)
    rows.append([])
    rows.append([W.Note("说明：账龄按应缴日期计算；趋势为各期同一天（期初起第"
                        f"{(k.as_of - k.period.start).days + 1}天）的收缴率；线上 = 微信/支付宝/转账/POS；"
                        "图表在后两页，每页两张")])
    anchor_row = n + 5
    sizes = {"trend": len(trend), "aging": len(aging), "buildings": len(buildings), "channels": len(channels),
             "rows": n, "anchor": anchor_row}
    breaks = [anchor_row - 1, anchor_row - 1 + CHART_ROWS]
    out = W.SheetOutput(DASHBOARD, list(HEADERS), rows, dict(FORMATS), as_of=k.as_of, cell_formats=cell_formats,
                        row_breaks=breaks)
    return out, sizes


def chart_package(sizes: dict) -> bytes:
    """A small openpyxl workbook whose 看板 sheet holds the four charts (referencing 看板 cells)."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, PieChart, Reference
    from openpyxl.chart.label import DataLabelList

    wb = Workbook()
    ws = wb.active
    ws.title = DASHBOARD
    for i, h in enumerate(HEADERS, start=1):
        ws.cell(1, i, h or None)

    def axes(chart, percent=False):
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        if percent:
            chart.y_axis.numFmt = "0%"
            chart.y_axis.scaling.min = 0
        chart.height, chart.width = 7.5, 15

    anchor_row = sizes.get("anchor", sizes["rows"] + 3)
    right = f"{chr(ord('A') + AGING_COL)}"
    if sizes["trend"]:
        c = LineChart()
        c.title = "当期收缴率趋势（各期同日）"
        c.y_axis.title = "收缴率"
        last = 1 + sizes["trend"]
        c.add_data(Reference(ws, min_col=TREND_COL + 2, max_col=TREND_COL + 3, min_row=1, max_row=last),
                   titles_from_data=True)
        c.set_categories(Reference(ws, min_col=TREND_COL + 1, min_row=2, max_row=last))
        for series in c.series:
            series.smooth = False
        axes(c, percent=True)
        ws.add_chart(c, f"A{anchor_row}")
    def amount_columns(title: str, category_col: int, rows: int, anchor: str) -> None:
        """A column chart of 元 amounts: categories in ``category_col``, values in the column right of it."""
        c = BarChart()
        c.type = "col"
        c.title = title
        c.y_axis.title = "元"
        last = 1 + rows
        c.add_data(Reference(ws, min_col=category_col + 1, min_row=1, max_row=last), titles_from_data=True)
        c.set_categories(Reference(ws, min_col=category_col, min_row=2, max_row=last))
        c.legend = None
        axes(c)
        ws.add_chart(c, anchor)

    if sizes["aging"]:
        amount_columns("欠费账龄分布（按应缴日期）", AGING_COL + 1, sizes["aging"], f"{right}{anchor_row}")
    if sizes["buildings"]:
        amount_columns("各楼栋欠费本金", BUILDING_COL + 1, sizes["buildings"], f"A{anchor_row + CHART_ROWS}")
    if sizes["channels"]:
        c = PieChart()
        c.title = "本期收款渠道"
        last = 1 + sizes["channels"]
        c.add_data(Reference(ws, min_col=CHANNEL_COL + 2, min_row=1, max_row=last), titles_from_data=True)
        c.set_categories(Reference(ws, min_col=CHANNEL_COL + 1, min_row=2, max_row=last))
        c.dataLabels = DataLabelList()
        c.dataLabels.showPercent = True
        c.height, c.width = 7.5, 15
        ws.add_chart(c, f"{right}{anchor_row + CHART_ROWS}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- transplant

def _rels_targets(xml: str) -> list[tuple[str, str, str]]:
    """(Id, Type, Target) of each relationship, whatever the attribute order."""
    out = []
    for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)/?>", xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        out.append((attrs.get("Id", ""), attrs.get("Type", ""), attrs.get("Target", "")))
    return out


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target[1:]
    parts = base_dir.split("/") if base_dir else []
    for piece in target.split("/"):
        if piece == "..":
            parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _rels_path(part: str) -> str:
    folder, name = part.rsplit("/", 1)
    return f"{folder}/_rels/{name}.rels"


def _free(names: set[str], pattern: str) -> str:
    n = 1
    while pattern.format(n) in names:
        n += 1
    name = pattern.format(n)
    names.add(name)
    return name


def transplant_charts(package: bytes, charts: bytes, sheet_name: str = DASHBOARD) -> bytes:
    """Add the drawing + charts of ``charts`` (one sheet) to sheet ``sheet_name`` of ``package``."""
    src = zipfile.ZipFile(io.BytesIO(charts))
    src_sheet = "xl/worksheets/sheet1.xml"
    src_rels = src.read(_rels_path(src_sheet)).decode("utf-8")
    drawing_rel = [t for t in _rels_targets(src_rels) if t[1] == REL_DRAWING]
    zin = zipfile.ZipFile(io.BytesIO(package))
    names = set(zin.namelist())
    info = next(s for s in sheet_parts(zin) if s["name"] == sheet_name)
    sheet_part = info["part"]
    sheet_rels_part = _rels_path(sheet_part)
    ct = zin.read("[Content_Types].xml").decode("utf-8")

    # drop an earlier drawing of this sheet (and its charts)
    dropped: set[str] = set()
    if sheet_rels_part in names:
        dropped.add(sheet_rels_part)
        old = zin.read(sheet_rels_part).decode("utf-8")
        for _rid, typ, target in _rels_targets(old):
            if typ != REL_DRAWING:
                continue
            drawing = _resolve(sheet_part.rsplit("/", 1)[0], target)
            dropped.add(drawing)
            drels = _rels_path(drawing)
            if drels in names:
                dropped.add(drels)
                for _r, t2, tgt2 in _rels_targets(zin.read(drels).decode("utf-8")):
                    if t2 == REL_CHART:
                        dropped.add(_resolve(drawing.rsplit("/", 1)[0], tgt2))
    for part in dropped:
        ct = xlsx_package._content_types_remove(ct, part)
    live = names - dropped
    new_parts: dict[str, bytes] = {}
    sheet_xml = zin.read(sheet_part).decode("utf-8")
    sheet_xml = re.sub(r"<(\w+:)?drawing\b[^>]*/>", "", sheet_xml)
    if drawing_rel:
        src_drawing = _resolve("xl/worksheets", drawing_rel[0][2])
        drawing = _free(live, "xl/drawings/drawing{}.xml")
        new_parts[drawing] = src.read(src_drawing)
        ct = xlsx_package._content_types_add(ct, drawing, CT_DRAWING)
        rels = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<Relationships xmlns="{NS_PKG}">']
        for rid, typ, target in _rels_targets(src.read(_rels_path(src_drawing)).decode("utf-8")):
            if typ != REL_CHART:
                continue
            chart = _free(live, "xl/charts/chart{}.xml")
            new_parts[chart] = src.read(_resolve("xl/drawings", target))
            ct = xlsx_package._content_types_add(ct, chart, CT_CHART)
            rels.append(f'<Relationship Id="{rid}" Type="{REL_CHART}" Target="/{chart}"/>')
        rels.append("</Relationships>")
        new_parts[_rels_path(drawing)] = "".join(rels).encode("utf-8")
        new_parts[sheet_rels_part] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{NS_PKG}"><Relationship Id="rIdDrawing1" Type="{REL_DRAWING}" '
            f'Target="/{drawing}"/></Relationships>').encode("utf-8")
        m = re.search(r"<(\w+:)?worksheet\b", sheet_xml)
        p = m.group(1) or ""
        end = sheet_xml.rfind(f"</{p}worksheet>")
        # <drawing> comes after pageMargins/pageSetup/headerFooter, before legacyDrawing/tableParts/extLst
        later = [sheet_xml.find(f"<{p}{tag}") for tag in ("legacyDrawing", "legacyDrawingHF", "picture",
                                                            "oleObjects", "controls", "webPublishItems",
                                                            "tableParts", "extLst")]
        later = [i for i in later if i >= 0]
        pos = min(later) if later else end
        sheet_xml = sheet_xml[:pos] + f'<{p}drawing r:id="rIdDrawing1"/>' + sheet_xml[pos:]
        if 'xmlns:r=' not in sheet_xml[:sheet_xml.find(">", m.start())]:
            sheet_xml = sheet_xml.replace(m.group(0), m.group(0) + f' xmlns:r="{NS_REL_DOC}"', 1)
    new_parts[sheet_part] = sheet_xml.encode("utf-8")
    new_parts["[Content_Types].xml"] = ct.encode("utf-8")

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename in dropped:
                continue
            if item.filename in new_parts:
                zi = zipfile.ZipInfo(item.filename, date_time=time.localtime()[:6])
                zi.compress_type = zipfile.ZIP_DEFLATED
                zout.writestr(zi, new_parts.pop(item.filename))
            else:
                xlsx_package._copy_member(zin, zout, item)
        for name, data in new_parts.items():
            zi = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)
    return out.getvalue()


def save_with_dashboard(path, k: Kpis, *, replace: Optional[dict] = None, audit: Optional[list] = None,
                        expect_digest: Optional[str] = None, backups: int = 10) -> None:
    """Write ``replace`` sheets, the 看板 (cells + charts) and 操作日志 rows in one atomic replace."""
    path = Path(path)
    out, sizes = dashboard_data(k)
    replace = dict(replace or {})
    replace[DASHBOARD] = out
    charts = chart_package(sizes)
    W.save_changes(path, replace=replace, audit=audit, expect_digest=expect_digest, backups=backups,
                   post_process=lambda data: transplant_charts(data, charts))


def chart_titles(path) -> list[str]:
    """Titles of the charts on the 看板 sheet of a saved workbook (for checks and tests)."""
    with zipfile.ZipFile(path) as z:
        titles = []
        for name in sorted(n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)):
            xml = z.read(name).decode("utf-8")
            title = re.search(r"<(?:\w+:)?title>(.*?)</(?:\w+:)?title>", xml, re.S)
            titles.append("".join(re.findall(r"<a:t>([^<]*)</a:t>", title.group(1))) if title else "")
        return titles


__all__ = ["DASHBOARD", "dashboard_data", "chart_package", "transplant_charts", "save_with_dashboard",
           "chart_titles", "CENTER"]

"""HQ roll-up: every center's compact tables → the HQ workbook (and parquet for BI tools).

pandas lives here only (imported when ``feebook hq`` runs, never on a ribbon click):
the per-center tables are concatenated into DataFrames, summed by period with
group-by, ranked, and written.  Money stays ``Decimal`` (object columns; sums of
Decimals are exact).

**合计 rates are ratios of the summed numerators and denominators, never averages
of rates.**  Example (tests/test_hq.py): centers A (应收 1,000.00, 实收 900.00),
B (应收 3,000.00, 实收 1,500.00) and C (应收 500.00, no payments): 当期收缴率
合计 = (900 + 1,500 + 0) / (1,000 + 3,000 + 500) = 2,400 / 4,500 = 53.33%, not the
mean of 90%, 50% and 0% (46.67%).

Sheets: 各中心收缴率, 各中心欠费, 复核, 排名, 图表 (native charts), 各中心佣金.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..engine.aging import AGING_BUCKETS
from .hq import KIND_SUBMISSION, READ, UNREADABLE, WITH_ERRORS

TOTAL = "合计"
RATE_SHEET, ARREARS_SHEET, REVIEW_SHEET, RANK_SHEET, CHART_SHEET, COMMISSION_SHEET = (
    "各中心收缴率", "各中心欠费", "复核", "排名", "图表", "各中心佣金")
RATE_COLUMNS = ["服务中心", "期间", "应收", "实收", "减免", "预存冲抵", "当期收缴率", "当期收缴率(不含减免及预存冲抵)",
                "清欠率", "综合收缴率", "户收费率", "期初欠费", "清欠金额", "已缴清户数", "计费户数"]
RATE_SUMS = ["应收", "实收", "减免", "预存冲抵", "期初欠费", "清欠金额", "已缴清户数", "计费户数"]
RATES = ["当期收缴率", "当期收缴率(不含减免及预存冲抵)", "清欠率", "综合收缴率", "户收费率"]
ARREARS_COLUMNS = ["服务中心", "欠费户数", "欠费本金", "违约金", *AGING_BUCKETS]
REVIEW_COLUMNS = ["服务中心", "文件", "状态", "错误数", "警告数", "本期应收", "上期应收", "变动比例", "说明",
                  "本期", "上期", "违约金日费率", "缴费截止日", "来源"]
COMMISSION_COLUMNS = ["服务中心", "服务助理", "季度", "月份", "截至日期", "应收", "已收", "累计收缴率", "档位", "佣金"]
MONEY = {"应收", "实收", "减免", "预存冲抵", "期初欠费", "清欠金额", "欠费本金", "违约金", "本期应收", "上期应收",
         "已收", "佣金", *AGING_BUCKETS}
PERCENT = {*RATES, "变动比例", "累计收缴率"}
DEFAULT_THRESHOLD = Decimal("0.30")
RATE_PLACES = Decimal("0.000001")


def _d(text) -> Decimal:
    return Decimal(str(text)) if text not in (None, "") else Decimal(0)


def _ratio(n, d) -> Optional[Decimal]:
    return None if not d else (Decimal(n) / Decimal(d)).quantize(RATE_PLACES)


@dataclass
class HqTables:
    as_of: dt.date
    rates: object  # pandas DataFrames, columns as the sheets
    arrears: object
    review: object
    ranking: object
    commission: object
    unreadable: int  # files not read, or read with errors (no figures)

    def frames(self) -> dict:
        return {RATE_SHEET: self.rates, ARREARS_SHEET: self.arrears, REVIEW_SHEET: self.review,
                RANK_SHEET: self.ranking, COMMISSION_SHEET: self.commission}


def display_names(facts_list: list[dict]) -> list[str]:
    """服务中心 from 参数; a name shared by two files gets the file name added, so no two centers merge."""
    names = [f["center"] or Path(f["file"]).stem for f in facts_list]
    counts = Counter(names)
    return [f"{n}（{Path(f['file']).stem}）" if counts[n] > 1 else n for n, f in zip(names, facts_list)]


def duplicate_centers(facts_list: list[dict]) -> dict[str, list[str]]:
    """服务中心 (参数) read from more than one file — e.g. a center's workbook and its 报送 file both in the
    folder: every file is summed, so the 合计 counts that center twice; 复核 and the command say so."""
    files: dict[str, list[str]] = {}
    for f in facts_list:
        if f["status"] == READ and f["center"]:
            files.setdefault(f["center"], []).append(f["file"])
    return {center: names for center, names in files.items() if len(names) > 1}


def _rate_columns(frame):
    frame["当期收缴率"] = [_ratio(a + b + c, r) for a, b, c, r in
                         zip(frame["实收"], frame["减免"], frame["预存冲抵"], frame["应收"])]
    frame["当期收缴率(不含减免及预存冲抵)"] = [_ratio(a, r) for a, r in zip(frame["实收"], frame["应收"])]
    frame["清欠率"] = [_ratio(a, o) for a, o in zip(frame["清欠金额"], frame["期初欠费"])]
    frame["综合收缴率"] = [_ratio(a + b + c + x, r + o) for a, b, c, x, r, o in
                         zip(frame["实收"], frame["减免"], frame["预存冲抵"], frame["清欠金额"], frame["应收"],
                             frame["期初欠费"])]
    frame["户收费率"] = [_ratio(p, n) for p, n in zip(frame["已缴清户数"], frame["计费户数"])]
    return frame


def rollup(facts_list: list[dict], as_of: dt.date, threshold: Decimal = DEFAULT_THRESHOLD) -> HqTables:
    import pandas as pd

    names = display_names(facts_list)
    ok = [(n, f) for n, f in zip(names, facts_list) if f["status"] == READ]

    # 各中心收缴率: one row per center × period, then a 合计 row per period (ratios of sums)
    rows = [{"服务中心": n, **{k: (_d(v) if k in MONEY else v) for k, v in r.items()}}
            for n, f in ok for r in f["rates"]]
    rates = pd.DataFrame(rows, columns=[c for c in RATE_COLUMNS if c not in RATES])
    for col in ("已缴清户数", "计费户数"):
        rates[col] = rates[col].astype("int64")
    parts = []
    for period, group in rates.groupby("期间", sort=True):
        total = group[RATE_SUMS].sum()
        total_row = pd.DataFrame([{"服务中心": TOTAL, "期间": period, **{k: total[k] for k in RATE_SUMS}}])
        parts.append(pd.concat([group.sort_values("服务中心"), total_row], ignore_index=True))
    rates = pd.concat(parts, ignore_index=True) if parts else rates
    rates = _rate_columns(rates)[RATE_COLUMNS]

    # 各中心欠费 and its 合计
    arrears = pd.DataFrame([{"服务中心": n, **{k: (_d(v) if k in MONEY else v) for k, v in f["arrears"].items()}}
                            for n, f in ok], columns=ARREARS_COLUMNS)
    if len(arrears):
        arrears["欠费户数"] = arrears["欠费户数"].astype("int64")
        arrears = arrears.sort_values("服务中心")
        total = arrears[ARREARS_COLUMNS[1:]].sum()
        arrears = pd.concat([arrears, pd.DataFrame([{"服务中心": TOTAL, **total.to_dict()}])], ignore_index=True)

    review = _review(names, facts_list, as_of, threshold)
    ranking = _ranking(ok, rates)

    commission = pd.DataFrame([{"服务中心": n, **r} for n, f in ok for r in f["commission"]],
                              columns=COMMISSION_COLUMNS)
    for col in ("应收", "已收", "佣金"):
        commission[col] = [None if v is None else _d(v) for v in commission[col]]
    commission["累计收缴率"] = [None if v is None else Decimal(v) for v in commission["累计收缴率"]]
    commission["月份"] = commission["月份"].astype("Int64")
    if len(commission):
        total = sum((v for v in commission["佣金"] if v is not None), Decimal(0))
        commission = pd.concat([commission, pd.DataFrame([{"服务中心": TOTAL, "佣金": total}])], ignore_index=True)
    unreadable = sum(1 for f in facts_list if f["status"] != READ)
    return HqTables(as_of, rates, arrears, review, ranking, commission, unreadable)


def _review(names, facts_list, as_of, threshold):
    """复核 (seed 004 step 4): one row per file, with what a reviewer looks for in 说明."""
    import pandas as pd

    ok = [f for f in facts_list if f["status"] != UNREADABLE and f["settings"]]
    group = {}
    for key in ("违约金日费率", "缴费截止日"):
        values = Counter(str(f["settings"].get(key)) for f in ok)
        group[key] = values.most_common(1)[0][0] if values else None
    twice = duplicate_centers(facts_list)
    rows = []
    for name, f in zip(names, facts_list):
        notes = []
        if f["status"] == READ and f["center"] in twice:
            others = "、".join(x for x in twice[f["center"]] if x != f["file"])
            notes.append(f"服务中心“{f['center']}”另见于 {others}：合计中重复计入，请核对是否重复报送"
                         f"（工作簿与报送文件只放其一）")
        rv = f.get("review") or {}
        this, last = (_d(rv["本期应收"]), _d(rv["上期应收"])) if rv else (None, None)
        change = None
        if f["status"] == UNREADABLE:
            status = f"{UNREADABLE}：{f['reason']}"
        elif f["status"] == WITH_ERRORS:
            status = f"{WITH_ERRORS}（数字未计入汇总）"
            notes.append(f["reason"])
            notes += [f"错误：{p}" for p in f["problems"]]
        else:
            status = READ
        if rv:
            if last:
                change = ((this - last) / last).quantize(RATE_PLACES)
                if abs(change) > threshold:
                    notes.append(f"本期应收较上期{'减少' if change < 0 else '增加'} {abs(change) * 100:.1f}%"
                                 f"（超过阈值 {threshold * 100:.0f}%），请核对计费")
            if not this and last:
                notes.append(f"本期（{rv['本期']}）尚未计费")
            elif rv.get("上期计费本期未计费户数"):
                shown = "、".join(rv["上期计费本期未计费"])
                more = rv["上期计费本期未计费户数"] - len(rv["上期计费本期未计费"])
                notes.append(f"上期计费本期未计费 {rv['上期计费本期未计费户数']} 户：{shown}" + (f" 等（另 {more} 户）" if more > 0 else ""))
        if f["status"] == READ and f["errors"] == 0 and f["warnings"]:
            notes.append(f"问题表有 {f['warnings']} 个警告")
        for key in ("违约金日费率", "缴费截止日"):
            value = f["settings"].get(key) if f["settings"] else None
            if value is not None and group[key] is not None and str(value) != group[key]:
                notes.append(f"参数“{key}”为 {value}，与集团多数中心（{group[key]}）不同")
        if f["kind"] == KIND_SUBMISSION:
            if f["as_of"] != as_of.isoformat():
                notes.append(f"报送文件截至 {f['as_of']}，与汇总截至日期 {as_of:%Y-%m-%d} 不同")
        rows.append({"服务中心": name if f["center"] or f["status"] != UNREADABLE else "", "文件": f["file"],
                     "状态": status, "错误数": f["errors"], "警告数": f["warnings"],
                     "本期应收": this, "上期应收": last, "变动比例": change, "说明": "；".join(notes),
                     "本期": rv.get("本期", ""), "上期": rv.get("上期", ""),
                     "违约金日费率": (f["settings"] or {}).get("违约金日费率", ""),
                     "缴费截止日": (f["settings"] or {}).get("缴费截止日", ""),
                     "来源": f["kind"] + (f"（{f.get('submitted_from')}）" if f["kind"] == KIND_SUBMISSION else "")})
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


def _ranking(ok, rates):
    """排名: each center's row of its review period, ranked by 当期收缴率 and by 清欠率 (highest first)."""
    import pandas as pd

    picked = []
    for name, f in ok:
        period = (f.get("review") or {}).get("本期")
        row = rates[(rates["服务中心"] == name) & (rates["期间"] == period)]
        if len(row):
            r = row.iloc[0]
            picked.append({"服务中心": name, "期间": period, "当期收缴率": r["当期收缴率"], "清欠率": r["清欠率"]})
        else:
            picked.append({"服务中心": name, "期间": period, "当期收缴率": None, "清欠率": None})
    out = []
    for key in ("当期收缴率", "清欠率"):
        ranked = sorted(picked, key=lambda p: (p[key] is None, -(p[key] or 0), p["服务中心"]))
        rank, previous = 0, object()
        for i, p in enumerate(ranked, start=1):
            if p[key] != previous:
                rank, previous = i, p[key]
            p[f"{key}名次"] = rank if p[key] is not None else None
        out.append(ranked)
    rows = []
    for a, b in zip(*out):
        rows.append({"名次": a["当期收缴率名次"], "服务中心": a["服务中心"], "期间": a["期间"],
                     "当期收缴率": a["当期收缴率"], " ": None,
                     "清欠率名次": b["清欠率名次"], "服务中心(清欠率)": b["服务中心"], "清欠率": b["清欠率"]})
    return pd.DataFrame(rows, columns=["名次", "服务中心", "期间", "当期收缴率", " ", "清欠率名次", "服务中心(清欠率)",
                                       "清欠率"])


# ------------------------------------------------------------------ output

def _cell(value):
    if value is None:
        return None
    try:
        import pandas as pd

        if value is pd.NA or (isinstance(value, float) and value != value):
            return None
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "item") and not isinstance(value, (str, Decimal)):
        return value.item()  # numpy scalar → Python
    return value


def write_hq_workbook(path, tables: HqTables, title: str = "") -> Path:
    """The HQ workbook (openpyxl, a new file): five table sheets and 图表 with native bar charts."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    from ..workbook.writer import SheetOutput, print_ready

    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    order = [RATE_SHEET, ARREARS_SHEET, REVIEW_SHEET, RANK_SHEET, COMMISSION_SHEET]
    sheets = {}
    for name in order:
        frame = tables.frames()[name]
        ws = wb.create_sheet(name)
        sheets[name] = ws
        headers = [c if c.strip() else None for c in frame.columns]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = bold
        for values in frame.itertuples(index=False):
            ws.append([_cell(v) for v in values])
        for col, header in enumerate(frame.columns, start=1):
            fmt = ("#,##0.00" if header in MONEY else "0.00%" if header in PERCENT else None)
            letter = ws.cell(1, col).column_letter
            def shown(v) -> int:  # characters the cell shows (money with thousands separators)
                if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                    return len(f"{v:,.2f}") + 1
                return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(v or ""))
            widest = max([shown(ws.cell(r, col).value) for r in range(2, ws.max_row + 1)] or [0])
            ws.column_dimensions[letter].width = max(10, min(40, max(2 * len(header) + 4, widest + 2)))
            if fmt:
                for row in range(2, ws.max_row + 1):
                    ws.cell(row, col).number_format = fmt
            if header == TOTAL or header == "服务中心":
                for row in range(2, ws.max_row + 1):
                    if ws.cell(row, col).value == TOTAL:
                        for c in ws[row]:
                            c.font = bold
        # A4 landscape, one page wide, header row on every page, footer with the day (as every output sheet)
        print_ready(ws, SheetOutput(name, list(frame.columns),
                                    [[_cell(v) for v in values] for values in frame.itertuples(index=False)],
                                    as_of=tables.as_of))
    review = sheets[REVIEW_SHEET]
    review.column_dimensions["I"].width = 80
    note = (f"截至 {tables.as_of:%Y-%m-%d}；合计行的收缴率 = 各中心分子之和 / 分母之和（不是各中心收缴率的平均）；"
            f"当期收缴率 = (实收+减免+预存冲抵)/应收；清欠率 = 清欠金额/期初欠费；"
            f"综合收缴率 = (当期收回+清欠金额)/(应收+期初欠费)；户收费率 = 已缴清户数/计费户数")
    rate_ws = sheets[RATE_SHEET]
    rate_ws.append([])
    rate_ws.append([note])
    # the note spans the table's width and wraps: it never widens column A or the printed page
    last = rate_ws.max_column
    rate_ws.merge_cells(start_row=rate_ws.max_row, start_column=1, end_row=rate_ws.max_row, end_column=last)
    from openpyxl.styles import Alignment
    rate_ws.cell(rate_ws.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    rate_ws.row_dimensions[rate_ws.max_row].height = 48

    charts = wb.create_sheet(CHART_SHEET)
    charts.append([f"各中心排名图表（数据见“{RANK_SHEET}”表；截至 {tables.as_of:%Y-%m-%d}）"])
    rank = sheets[RANK_SHEET]
    n = len(tables.ranking)
    if n:
        anchor_row = 3
        for title_text, cat_col, val_col in (("各中心当期收缴率（从高到低）", 2, 4), ("各中心清欠率（从高到低）", 7, 8)):
            c = BarChart()
            c.type = "bar"
            c.title = title_text
            c.add_data(Reference(rank, min_col=val_col, min_row=1, max_row=1 + n), titles_from_data=True)
            c.set_categories(Reference(rank, min_col=cat_col, min_row=2, max_row=1 + n))
            c.legend = None
            c.x_axis.delete = False
            c.y_axis.delete = False
            c.x_axis.scaling.orientation = "maxMin"  # rank 1 on top
            c.y_axis.numFmt = "0%"
            c.y_axis.scaling.min = 0
            c.height = max(7.5, 0.5 * n + 3)  # cm
            c.width = 16  # cm: fits an A4 page
            c.y_axis.crosses = "max"  # the value axis at the bottom (categories run top-down)
            charts.add_chart(c, f"A{anchor_row}")
            anchor_row += int(c.height / 0.5) + 3  # a default row is about 0.53 cm
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


PARQUET_FILES = {RATE_SHEET: "hq_rates.parquet", ARREARS_SHEET: "hq_arrears.parquet",
                 REVIEW_SHEET: "hq_review.parquet", RANK_SHEET: "hq_ranking.parquet",
                 COMMISSION_SHEET: "hq_commission.parquet"}


class ParquetUnavailable(RuntimeError):
    """pyarrow is not installed (the message is Chinese)."""


def check_parquet() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ParquetUnavailable("导出 parquet 需要 pyarrow，请先安装：pip install \"feebook[hq]\"（或 pip install pyarrow）") \
            from None


def write_parquet(folder, tables: HqTables) -> list[Path]:
    """One parquet file per table: money as decimal(.., 2), rates as float64 (for BI tools)."""
    check_parquet()
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.frames().items():
        frame = frame.rename(columns={" ": "_"}).drop(columns=["_"], errors="ignore").copy()
        fields, arrays = [], []
        for col in frame.columns:
            values = [_cell(v) for v in frame[col]]
            if col in PERCENT:
                arr = pa.array([None if v is None else float(v) for v in values], pa.float64())
            elif col in MONEY:
                arr = pa.array([None if v is None else Decimal(v).quantize(Decimal("0.01")) for v in values],
                               pa.decimal128(18, 2))
            elif all(isinstance(v, int) for v in values if v is not None) and any(v is not None for v in values):
                arr = pa.array(values, pa.int64())
            else:
                arr = pa.array([None if v is None else str(v) for v in values], pa.string())
            fields.append(col)
            arrays.append(arr)
        target = folder / PARQUET_FILES[name]
        pq.write_table(pa.Table.from_arrays(arrays, names=fields), target)
        written.append(target)
    return written


__all__ = ["rollup", "write_hq_workbook", "write_parquet", "check_parquet", "ParquetUnavailable", "HqTables",
           "TOTAL", "RATE_SHEET", "ARREARS_SHEET", "REVIEW_SHEET", "RANK_SHEET", "CHART_SHEET", "COMMISSION_SHEET"]

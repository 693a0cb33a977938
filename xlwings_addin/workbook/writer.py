"""Write results into a closed 收费大表 workbook file — only what changed, safely.

What this module promises (SPEC §7):

* ``save_changes`` touches only the worksheet parts it rewrites (``replace``)
  or appends to (``append``/``audit``), plus ``workbook.xml``, its rels,
  ``[Content_Types].xml`` and ``styles.xml`` *only when* a sheet or a number
  format has to be added (and ``calcChain.xml`` is dropped when it would go
  stale).  Every other zip member is copied unchanged — a 7.6 MB workbook is
  never loaded into openpyxl (30 s) and never re-serialised.
* Strings are written as inline strings (``sharedStrings.xml`` is untouched),
  Decimals exactly (``str``), dates as serial numbers with a date style,
  ``Formula`` as ``<f>`` (and ``fullCalcOnLoad`` so Excel/WPS/LibreOffice
  recompute).  Characters that XML 1.0 forbids are stripped, never written.
* Safety: a workbook open in Excel/WPS (``~$name.xlsx``) or LibreOffice
  (``.~lock.name.xlsx#``) is refused (:class:`WorkbookLocked`) before anything
  is done; two feebook processes on one workbook are serialised by an OS lock
  on ``.name.xlsx.feebook-lock`` (the second waits up to ``LOCK_TIMEOUT``
  seconds, then is refused); with ``expect_digest`` a file changed since it
  was read is refused (:class:`WorkbookChanged`).  The new file is written to a
  temp file in the same folder (``.name.xlsx.<random>.feebook-tmp``, never
  mistaken for a workbook), fsynced, the previous file copied to
  ``备份/<stem>_YYYYmmdd-HHMMSS(-n).xlsx`` (newest ``backups`` kept), then
  ``os.replace``d.  A crash at any point leaves the old file intact.

Example::

    save_changes("收费大表.xlsx",
                 replace={"问题": SheetOutput("问题", ["级别", "工作表", "单元格", "说明"], rows)},
                 append={"收款": [{"收据号": "R001", "金额": Decimal("300.00"), ...}]},
                 audit=[{"操作": "刷新欠费", "数量": 12, "说明": "欠费明细 12 行"}])
"""
from __future__ import annotations

import datetime as dt
import getpass
import html
import io
import math
import os
import re
import shutil
import struct
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from .. import schema
from .raw import column_letter
from .reader import (
    NS_REL_DOC,
    WorkbookError,
    check_xlsx_file,
    file_digest,
    normalise_header,
    sheet_parts,
    shared_strings,
)

__all__ = [
    "Formula", "SheetOutput", "save_changes", "write_new_workbook",
    "WorkbookError", "WorkbookLocked", "WorkbookChanged", "WorkbookWriteFailed", "NUMBER_FORMATS",
]

LOCK_TIMEOUT = 10.0  # seconds a second writer waits for the first
BACKUP_DIR = "备份"

# format kind (schema.py) → Excel number format code
NUMBER_FORMATS = {
    "money": "#,##0.00",
    "price": "0.00##",
    "decimal": "0.00##",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "rate": "0.00%",
    "int": "0",
    "text": "@",
}
# Excel's built-in number formats we may reuse without declaring them
BUILTIN_FORMAT_IDS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9,
                      "0.00%": 10, "@": 49}

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
REL_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
REL_STYLES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
REL_CALCCHAIN = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
MAX_CELL_TEXT = 32767  # Excel's limit for the text of one cell


class WorkbookLocked(WorkbookError):
    """The workbook is open in Excel/WPS/LibreOffice or being written by another feebook."""

    retryable = True  # a refused write, not a bad file: the CLI exits 1


class WorkbookChanged(WorkbookError):
    """The workbook on disk is not the one that was read (someone saved it meanwhile)."""

    retryable = True


class WorkbookWriteFailed(WorkbookError, OSError):
    """Writing the new file failed (disk full, no permission…); the workbook on disk is untouched."""

    retryable = True


def _write_failed(path: Path, exc: OSError) -> WorkbookWriteFailed:
    import errno

    name = path.name
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        text = f"磁盘空间不足，工作簿“{name}”未写入（原文件未改动），请清理磁盘空间后重试"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = f"没有写入权限，工作簿“{name}”未写入（原文件未改动）：请检查文件夹权限或文件是否被其他程序占用"
    else:
        text = f"写入工作簿“{name}”失败（{exc.strerror or exc}），原文件未改动，请重试"
    return WorkbookWriteFailed(text)


@dataclass(frozen=True)
class Formula:
    """A native formula, text without the leading '=' (``Formula("SUM(G2:G4)")``).

    ``value`` is an optional cached result written with it (readers that do
    not calculate, such as calamine, then see a value instead of nothing).
    """

    text: str
    value: Any = None

    def __post_init__(self):
        if self.text.startswith("="):
            object.__setattr__(self, "text", self.text[1:])


@dataclass
class SheetOutput:
    """A whole sheet to write: header row, data rows (lists of values), header → format kind."""

    name: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- XML encoding

# XML 1.0 legal chars: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Excel reads "_x0041_" in text as an escaped character; protect a literal one
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def xml_text(value: str) -> str:
    """Text → XML character data: illegal characters stripped, & < > " escaped."""
    value = _ILLEGAL_XML.sub("", value)
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _unescape(value: str) -> str:
    """XML character data → text (entities and numeric references like ``&#25910;``)."""
    return html.unescape(value) if "&" in value else value


_EPOCH = dt.date(1899, 12, 30)


def excel_serial(value: dt.date) -> str:
    """date/datetime → Excel serial number text (1900 date system)."""
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - dt.datetime(1899, 12, 30)
        serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
        if value.date() < dt.date(1900, 3, 1):
            serial -= 1  # Excel's fictitious 1900-02-29
        return repr(round(serial, 10))
    days = (value - _EPOCH).days
    if value < dt.date(1900, 3, 1):
        days -= 1
    return str(days)


def _decimal_text(d: Decimal) -> str:
    return format(d, "f")


def _width_of(text: str) -> int:
    """Display width: CJK / full-width characters count 2, others 1."""
    w = 0
    for ch in text:
        w += 2 if ord(ch) > 0x2E7F else 1
    return w


class _Styles:
    """styles.xml: finds or appends a cellXfs entry per number format kind.

    The file is only rewritten (``changed``) when an entry had to be appended.
    Edits are textual so that everything else in styles.xml stays as it was.
    """

    def __init__(self, xml: str | None):
        self.changed = xml is None
        self.xml = xml if xml is not None else _MINIMAL_STYLES
        m = re.search(r"<(\w+:)?styleSheet\b", self.xml)
        self.p = (m.group(1) or "") if m else ""
        self.numfmts: dict[str, int] = dict(BUILTIN_FORMAT_IDS)
        nf = re.search(rf"<{self.p}numFmts\b[^>]*>(.*?)</{self.p}numFmts>", self.xml, re.S)
        if nf:
            for m in re.finditer(rf"<{self.p}numFmt\b([^>]*)/?>", nf.group(1)):
                attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                if "numFmtId" in attrs and "formatCode" in attrs:
                    self.numfmts.setdefault(_unescape(attrs["formatCode"]), int(attrs["numFmtId"]))
        self.xfs: list[dict] = []
        cx = re.search(rf"<{self.p}cellXfs\b[^>]*>(.*?)</{self.p}cellXfs>", self.xml, re.S)
        if cx:
            for m in re.finditer(rf"<{self.p}xf\b([^>]*?)(/>|>.*?</{self.p}xf>)", cx.group(1), re.S):
                attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                attrs["_plain"] = m.group(2) == "/>"
                self.xfs.append(attrs)
        self._cache: dict[str, int] = {}
        self._new_fmts: list[tuple[int, str]] = []
        self._new_xfs: list[int] = []

    def index(self, kind: str | None) -> int:
        """cellXfs index for a format kind (None → 0, the default style)."""
        if not kind or kind not in NUMBER_FORMATS:
            return 0
        if kind in self._cache:
            return self._cache[kind]
        code = NUMBER_FORMATS[kind]
        fmt_id = self.numfmts.get(code)
        if fmt_id is None:
            fmt_id = max([163] + [i for i in self.numfmts.values() if i >= 164]) + 1
            self.numfmts[code] = fmt_id
            self._new_fmts.append((fmt_id, code))
        found = None
        for i, xf in enumerate(self.xfs):
            if (xf.get("numFmtId") == str(fmt_id) and xf.get("fontId", "0") == "0"
                    and xf.get("fillId", "0") == "0" and xf.get("borderId", "0") == "0"
                    and xf.get("_plain")):
                found = i
                break
        if found is None:
            found = len(self.xfs)
            self.xfs.append({"numFmtId": str(fmt_id), "_plain": True})
            self._new_xfs.append(fmt_id)
        self._cache[kind] = found
        return found

    def render(self) -> str:
        if not (self._new_fmts or self._new_xfs):
            return self.xml
        xml, p = self.xml, self.p
        if self._new_fmts:
            add = "".join(f'<{p}numFmt numFmtId="{i}" formatCode="{xml_text(c)}"/>' for i, c in self._new_fmts)
            m = re.search(rf"<{p}numFmts\b([^>]*)>(.*?)</{p}numFmts>", xml, re.S)
            if m:
                n = len(re.findall(rf"<{p}numFmt\b", m.group(2))) + len(self._new_fmts)
                attrs = re.sub(r'\s*count="\d*"', "", m.group(1))
                xml = xml[:m.start()] + f'<{p}numFmts count="{n}"{attrs}>{m.group(2)}{add}</{p}numFmts>' + xml[m.end():]
            else:
                # numFmts is the first child of styleSheet
                m = re.search(rf"<{p}styleSheet\b[^>]*>", xml)
                xml = xml[:m.end()] + f'<{p}numFmts count="{len(self._new_fmts)}">{add}</{p}numFmts>' + xml[m.end():]
        add = "".join(f'<{p}xf numFmtId="{i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                      for i in self._new_xfs)
        if add:
            m = re.search(rf"<{p}cellXfs\b([^>]*)>(.*?)</{p}cellXfs>", xml, re.S)
            if not m:
                raise WorkbookError("工作簿的样式（styles.xml）缺少 cellXfs，无法写入")
            attrs = re.sub(r'\s*count="\d*"', "", m.group(1))
            xml = xml[:m.start()] + f'<{p}cellXfs count="{len(self.xfs)}"{attrs}>{m.group(2)}{add}</{p}cellXfs>' + xml[m.end():]
        self.changed = True
        return xml


_MINIMAL_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)


def _kind_for(value, kind: str | None) -> str | None:
    """The format kind to use: the column's, or one implied by the value (dates need a style)."""
    if isinstance(value, Formula):
        value = value.value
    if isinstance(value, dt.datetime):
        return kind if kind in ("date", "datetime") else "datetime"
    if isinstance(value, dt.date):
        return kind if kind in ("date", "datetime") else "date"
    return kind


def cell_xml(ref: str, value, style: int, p: str = "") -> str:
    """One ``<c>`` element (``p`` = namespace prefix of the sheet, usually '')."""
    s = f' s="{style}"' if style else ""
    if value is None:
        return f'<{p}c r="{ref}"{s}/>' if style else ""
    if isinstance(value, Formula):
        f = f"<{p}f>{xml_text(value.text)}</{p}f>"
        cached = value.value
        if cached is None:
            return f'<{p}c r="{ref}"{s}>{f}</{p}c>'
        if isinstance(cached, str):
            return f'<{p}c r="{ref}"{s} t="str">{f}<{p}v>{xml_text(cached)}</{p}v></{p}c>'
        inner = cell_xml(ref, cached, style, p)
        m = re.search(rf"<{p}v>.*</{p}v>", inner)
        t = ' t="b"' if isinstance(cached, bool) else ""
        return f'<{p}c r="{ref}"{s}{t}>{f}{m.group(0) if m else ""}</{p}c>'
    if isinstance(value, bool):
        return f'<{p}c r="{ref}"{s} t="b"><{p}v>{int(value)}</{p}v></{p}c>'
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, float) and not math.isfinite(value) or (
                isinstance(value, Decimal) and not value.is_finite()):
            return cell_xml(ref, str(value), style, p)
        text = _decimal_text(value) if isinstance(value, Decimal) else repr(value) if isinstance(value, float) else str(value)
        return f'<{p}c r="{ref}"{s}><{p}v>{text}</{p}v></{p}c>'
    if isinstance(value, (dt.date, dt.datetime)):
        if value.year < 1900:  # before Excel's calendar: keep it readable as text
            return cell_xml(ref, value.isoformat(), style, p)
        return f'<{p}c r="{ref}"{s}><{p}v>{excel_serial(value)}</{p}v></{p}c>'
    if isinstance(value, str):
        text = _ILLEGAL_XML.sub("", value)[:MAX_CELL_TEXT]
        text = _EXCEL_ESCAPE.sub(r"_x005F_\1", text)
        space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
        return f'<{p}c r="{ref}"{s} t="inlineStr"><{p}is><{p}t{space}>{xml_text(text)}</{p}t></{p}is></{p}c>'
    raise TypeError(f"cannot write a {type(value).__name__} to a cell: {value!r}")


def _row_xml(row_no: int, cells: list[str], p: str = "") -> str:
    return f'<{p}row r="{row_no}">{"".join(cells)}</{p}row>'


def _display_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Formula):
        value = value.value if value.value is not None else 0
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return "2026-01-01 00:00:00"
    if isinstance(value, dt.date):
        return "2026-01-01"
    return str(value)


def sheet_xml(out: SheetOutput, styles: _Styles) -> tuple[str, bool]:
    """A whole worksheet part for ``out``; returns (xml, has_formulas)."""
    headers = [str(h) for h in out.headers]
    ncols = max([len(headers)] + [len(r) for r in out.rows]) if (headers or out.rows) else 0
    kinds = [out.formats.get(h) for h in headers] + [None] * (ncols - len(headers))
    letters = [column_letter(i) for i in range(ncols)]
    widths = [_width_of(h) for h in headers] + [0] * (ncols - len(headers))
    has_formulas = False
    parts = [_row_xml(1, [cell_xml(f"{letters[i]}1", h, 0) for i, h in enumerate(headers)])] if headers else []
    for r, row in enumerate(out.rows, start=2):
        cells = []
        for i, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, Formula):
                has_formulas = True
            style = styles.index(_kind_for(value, kinds[i]))
            cells.append(cell_xml(f"{letters[i]}{r}", value, style))
            if r < 2000:  # widths from a sample is plenty
                widths[i] = max(widths[i], _width_of(_display_text(value)))
        parts.append(_row_xml(r, cells))
    last_row = max(1, len(out.rows) + 1)
    dim = f"A1:{letters[-1]}{last_row}" if ncols else "A1"
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{min(60, max(8, w + 2))}" customWidth="1"/>'
        for i, w in enumerate(widths))
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{NS_REL_DOC}">'
        f'<dimension ref="{dim}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        '</sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + f'<sheetData>{"".join(parts)}</sheetData>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        '</worksheet>'
    )
    return xml, has_formulas


# --------------------------------------------------------------------------- appending to a sheet

_REF = re.compile(r"([A-Z]+)(\d+)")


def _col_from_letters(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _parse_cells(row_inner: str, p: str) -> list[tuple[int, str, str]]:
    """Cells of one row element's content: (col index, attrs, full xml)."""
    cells = []
    col = -1
    for m in re.finditer(rf"<{p}c\b([^>]*?)(/>|>.*?</{p}c>)", row_inner, re.S):
        r = re.search(r'\br="([A-Z]+)\d+"', m.group(1))
        col = _col_from_letters(r.group(1)) if r else col + 1
        cells.append((col, m.group(1), m.group(0)))
    return cells


def _cell_text(attrs: str, xml: str, sst: list[str], p: str):
    """Value of a header cell as text ('' if none)."""
    t = re.search(r'\bt="(\w+)"', attrs)
    t = t.group(1) if t else "n"
    if t == "inlineStr":
        return _unescape("".join(re.findall(rf"<{p}t(?:\s[^>]*)?>([^<]*)</{p}t>", xml)))
    v = re.search(rf"<{p}v>([^<]*)</{p}v>", xml)
    if not v:
        return ""
    v = _unescape(v.group(1))
    if t == "s":
        i = int(v)
        return sst[i] if i < len(sst) else ""
    if t in ("str", "e", "b"):
        return v
    try:
        return float(v)
    except ValueError:
        return v


_HAS_VALUE = re.compile(r"<(?:\w+:)?(?:v|f|is)[\s>/]")


def _merge_row(row_no: int, old_attrs: str | None, old_inner: str, new_cells: dict[int, str], p: str) -> str:
    """Row element with ``new_cells`` (col → cell xml) overlaid on the old row's cells."""
    cells = {c: x for c, _a, x in _parse_cells(old_inner, p)} if old_inner else {}
    cells.update(new_cells)
    attrs = old_attrs if old_attrs is not None else f' r="{row_no}"'
    attrs = re.sub(r'\s*spans="[^"]*"', "", attrs)  # spans is a hint; ours may be wider
    return f"<{p}row{attrs}>{''.join(cells[c] for c in sorted(cells))}</{p}row>"


def append_xml(xml: str, rows: list[dict], sheet: str, styles: _Styles, sst_loader) -> tuple[str, bool]:
    """Append ``rows`` (header → value) below the last row holding a value.

    Columns are found by the header text in row 1; unknown keys get a new
    header in the first free column.  Empty formatted rows after the data
    (Excel writes them when a user formats a range) are reused, keeping the
    formatting of cells we do not write.
    """
    m = re.search(r"<(\w+:)?worksheet\b", xml)
    p = (m.group(1) or "") if m else ""
    sd_open = re.search(rf"<{p}sheetData\b[^>]*?(/?)>", xml)
    if not sd_open:
        raise WorkbookError(f"工作表“{sheet}”的结构无法识别（缺少 sheetData），未写入")
    if sd_open.group(1) == "/":
        head, body, tail = xml[:sd_open.start()] + f"<{p}sheetData>", "", f"</{p}sheetData>" + xml[sd_open.end():]
    else:
        close = xml.rfind(f"</{p}sheetData>")
        head, body, tail = xml[:sd_open.end()], xml[sd_open.end():close], xml[close:]

    row_re = re.compile(rf"<{p}row\b([^>]*?)(?:/>|>(.*?)</{p}row>)", re.S)

    # header row: the row element numbered 1 (normally the first one)
    first = row_re.search(body)
    header_cells = {}
    header_span = None
    if first:
        rn = re.search(r'\br="(\d+)"', first.group(1))
        if rn is None or rn.group(1) == "1":
            header_span = first
            parsed = _parse_cells(first.group(2) or "", p)
            needs_sst = any('t="s"' in a for _c, a, _x in parsed)
            sst = sst_loader() if needs_sst else []
            for col, attrs, cx in parsed:
                header_cells[col] = normalise_header(_cell_text(attrs, cx, sst, p))
    columns = {h: c for c, h in sorted(header_cells.items(), reverse=True) if h}  # leftmost wins
    next_free = max([c for c, h in header_cells.items() if h], default=-1) + 1
    new_headers: dict[int, str] = {}
    for row in rows:
        for key in row:
            k = normalise_header(key)
            if k not in columns:
                columns[k] = next_free
                new_headers[next_free] = k
                next_free += 1

    # last row holding a value: everything after it is formatting only
    last_value_pos = _last_value_pos(body)
    if last_value_pos < 0:
        split = header_span.end() if header_span else 0
    else:
        split = body.find(f"</{p}row>", last_value_pos)
        split = split + len(f"</{p}row>") if split >= 0 else len(body)
    data_part, rest = body[:split], body[split:]
    last_row = _last_row_number(data_part, p)
    if last_row == 0 and data_part:
        last_row = len(re.findall(rf"<{p}row\b", data_part))
    if header_span is not None:
        last_row = max(last_row, 1)
    # rows after the data (formatting only), by number
    empty_rows = {}
    for rm in row_re.finditer(rest):
        rn = re.search(r'\br="(\d+)"', rm.group(1))
        if rn:
            empty_rows[int(rn.group(1))] = (rm.group(1), rm.group(2) or "")

    has_formulas = False
    kinds_by_col = {}
    spec = schema.ALL_SHEETS.get(sheet)
    for h, c in columns.items():
        kinds_by_col[c] = spec.formats.get(h) if spec else None

    new_rows: dict[int, str] = {}
    # row 1: new header cells
    if new_headers:
        hcells = {c: cell_xml(f"{column_letter(c)}1", h, 0, p) for c, h in new_headers.items()}
        if header_span is not None:
            merged = _merge_row(1, header_span.group(1), header_span.group(2) or "", hcells, p)
            data_part = data_part[:header_span.start()] + merged + data_part[header_span.end():]
        else:
            data_part = _merge_row(1, None, "", hcells, p) + data_part
            last_row = max(last_row, 1)
    max_col = max(columns.values(), default=0)
    for i, row in enumerate(rows):
        r = last_row + 1 + i
        cells = {}
        for key, value in row.items():
            if value is None:
                continue
            c = columns[normalise_header(key)]
            if isinstance(value, Formula):
                has_formulas = True
            style = styles.index(_kind_for(value, kinds_by_col.get(c)))
            cells[c] = cell_xml(f"{column_letter(c)}{r}", value, style, p)
        old = empty_rows.pop(r, None)
        new_rows[r] = _merge_row(r, old[0] if old else None, old[1] if old else "", cells, p)
    for r, (attrs, inner) in empty_rows.items():
        new_rows[r] = f"<{p}row{attrs}>{inner}</{p}row>"
    # rows in rest without an r attribute cannot be placed; keep them at the end
    orphans = "".join(rm.group(0) for rm in row_re.finditer(rest)
                      if not re.search(r'\br="\d+"', rm.group(1)))
    body = data_part + "".join(new_rows[r] for r in sorted(new_rows)) + orphans

    last = max([last_row + len(rows)] + list(new_rows))
    new_dim = f"A1:{column_letter(max_col)}{last}"
    head = _update_dimension(head, new_dim, p)
    return head + body + tail, has_formulas


def append_xml_fast(xml: bytes, rows: list[dict], sheet: str, styles: _Styles, sst_loader):
    """The common case of :func:`append_xml`, on bytes and with one copy of the sheet.

    Applies when the sheet's last ``<row>`` holds the last value (no formatted
    empty rows after the data) and every key of ``rows`` already has a header;
    returns ``(new_xml_bytes, has_formulas)``, or None to use the general path.
    On a 100,000-row 应收 sheet this avoids decoding, slicing and re-encoding
    tens of megabytes several times.
    """
    m = re.search(rb"<(\w+:)?worksheet\b", xml[:4096])
    if not m:
        return None
    pb = m.group(1) or b""
    p = pb.decode()
    close = xml.rfind(b"</" + pb + b"sheetData>")
    sd_open = re.search(rb"<" + re.escape(pb) + rb"sheetData\b[^>]*?(/?)>", xml)
    if close < 0 or not sd_open or sd_open.group(1) == b"/":
        return None
    body_start = sd_open.end()
    # header row (row 1) — small, decoded on its own
    first_end = xml.find(b"</" + pb + b"row>", body_start, close)
    if first_end < 0:
        return None
    first = xml[body_start:first_end + len(pb) + 6].decode("utf-8")
    fm = re.match(rf"\s*<{p}row\b([^>]*?)>(.*)</{p}row>$", first, re.S)
    if not fm:
        return None
    rn = re.search(r'\br="(\d+)"', fm.group(1))
    if rn is not None and rn.group(1) != "1":
        return None
    parsed = _parse_cells(fm.group(2), p)
    sst = sst_loader() if any('t="s"' in a for _c, a, _x in parsed) else []
    columns: dict[str, int] = {}
    for col, attrs, cx in sorted(parsed, reverse=True):  # leftmost wins
        h = normalise_header(_cell_text(attrs, cx, sst, p))
        if h:
            columns[h] = col
    keys: dict = {}
    for row in rows:
        for key in row:
            if key not in keys:
                keys[key] = normalise_header(key)
                if keys[key] not in columns:
                    return None  # a new header is needed: general path
    # the last row element must end right before </sheetData> (nothing formatted after it)
    last_row_end = xml.rfind(b"</" + pb + b"row>", body_start, close)
    if last_row_end < 0 or xml[last_row_end + len(pb) + 6:close].strip():
        return None
    last_row_start = xml.rfind(b"<" + pb + b"row", body_start, last_row_end)
    tag_end = xml.find(b">", last_row_start)
    rn = re.search(rb'\br="(\d+)"', xml[last_row_start:tag_end])
    if rn is None:
        return None
    last_row = int(rn.group(1))
    last_inner = xml[tag_end + 1:last_row_end]
    if not _HAS_VALUE.search(last_inner.decode("utf-8")) and last_row != 1:
        return None  # the last row is formatting only: general path reuses it

    spec = schema.ALL_SHEETS.get(sheet)
    kinds_by_col = {c: (spec.formats.get(h) if spec else None) for h, c in columns.items()}
    has_formulas = False
    out = []
    style_cache: dict = {}
    for i, row in enumerate(rows):
        r = last_row + 1 + i
        cells = []
        for key, value in row.items():
            if value is None:
                continue
            c = columns[keys[key]]
            if isinstance(value, Formula):
                has_formulas = True
            kind = _kind_for(value, kinds_by_col.get(c))
            style = style_cache.get(kind)
            if style is None:
                style = style_cache[kind] = styles.index(kind)
            cells.append((c, cell_xml(f"{column_letter(c)}{r}", value, style, p)))
        cells.sort()
        out.append(f'<{p}row r="{r}">{"".join(x for _c, x in cells)}</{p}row>')
    new_rows = "".join(out).encode("utf-8")
    head = xml[:body_start].decode("utf-8")
    max_col = max(columns.values(), default=0)
    head = _update_dimension(head, f"A1:{column_letter(max_col)}{last_row + len(rows)}", p).encode("utf-8")
    view = memoryview(xml)
    return b"".join([head, view[body_start:close], new_rows, view[close:]]), has_formulas


def _last_row_number(data_part: str, p: str) -> int:
    """The ``r`` of the last ``<row>`` element (rows are in order), found from the end: O(1), not O(rows)."""
    tag = f"<{p}row"
    pos = len(data_part)
    while True:
        pos = data_part.rfind(tag, 0, pos)
        if pos < 0:
            return 0
        after = data_part[pos + len(tag):pos + len(tag) + 1]
        if after in (" ", ">", "/", "\t", "\n", "\r"):
            end = data_part.find(">", pos)
            m = re.search(r'\br="(\d+)"', data_part[pos:end])
            if m:
                return int(m.group(1))
            # a row without r: fall back to counting every row element
            return 0


def _last_value_pos(body: str) -> int:
    """Position of the last value-bearing element (<v>, <f>, <is>) in sheetData, or -1."""
    best = -1
    for tag in ("v", "f", "is"):
        for probe in (f"<{tag}>", f"<{tag} ", f"<{tag}/"):
            best = max(best, body.rfind(probe))
        # prefixed variants (<x:v>)
    m = None
    if best < 0:
        for m in _HAS_VALUE.finditer(body):
            pass
        best = m.start() if m else -1
    return best


def _update_dimension(head: str, new_ref: str, p: str) -> str:
    m = re.search(rf'<{p}dimension\b[^>]*\bref="([^"]*)"', head)
    if not m:
        return head
    old = m.group(1)
    a = _REF.findall(old)
    b = _REF.findall(new_ref)
    cols = [_col_from_letters(x) for x, _ in a + b]
    rows = [int(y) for _, y in a + b]
    ref = f"A1:{column_letter(max(cols))}{max(rows)}" if cols else new_ref
    return head[:m.start(1)] + ref + head[m.end(1):]


# --------------------------------------------------------------------------- locks


def office_lock_files(path: Path) -> list[tuple[Path, str]]:
    """Lock files that say the workbook is open in another program."""
    return [
        (path.with_name("~$" + path.name), "Excel/WPS"),
        (path.with_name(".~lock." + path.name + "#"), "LibreOffice"),
    ]


def check_not_open(path: Path) -> None:
    for lock, program in office_lock_files(path):
        if lock.exists():
            raise WorkbookLocked(
                f"工作簿“{path.name}”正在被 {program} 打开（发现锁文件“{lock.name}”），"
                f"请先关闭该工作簿后再运行；如果确认没有打开，请删除这个锁文件后重试。")


class _ProcessLock:
    """An OS lock on ``.name.xlsx.feebook-lock``: released by the OS if the process dies."""

    def __init__(self, path: Path, timeout: float):
        self.lock_path = path.with_name("." + path.name + ".feebook-lock")
        self.workbook = path
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                _try_lock(fd)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WorkbookLocked(
                        f"另一个收费大表程序正在写入工作簿“{self.workbook.name}”（锁文件“{self.lock_path.name}”），"
                        f"等待 {self.timeout:g} 秒后仍未结束，请稍后重试。") from None
                time.sleep(0.05)
        self.fd = fd
        return self

    def __exit__(self, *exc):
        try:
            _unlock(self.fd)
        finally:
            os.close(self.fd)
        # The lock file is left in place: deleting it would let a waiting
        # process lock an unlinked file while a third creates a new one.


try:
    import fcntl

    def _try_lock(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)
except ImportError:  # Windows
    import msvcrt

    def _try_lock(fd):
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd):
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


# --------------------------------------------------------------------------- backups

def _backup(path: Path, keep: int, now: dt.datetime) -> Path | None:
    if keep <= 0:
        return None
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    # same second as an earlier backup: number after the highest existing one (not the
    # first free one, which pruning may have freed and which would then sort as oldest)
    same = [b for b in list_backups(path) if b.stem.startswith(f"{path.stem}_{stamp}")]
    n = 0
    if same:
        m = re.search(r"-(\d+)$", same[-1].stem[len(path.stem) + 1 + len(stamp):])
        n = (int(m.group(1)) if m else 0) + 1
    target = folder / (f"{path.stem}_{stamp}{path.suffix}" if n == 0 else f"{path.stem}_{stamp}-{n}{path.suffix}")
    while target.exists():
        n += 1
        target = folder / f"{path.stem}_{stamp}-{n}{path.suffix}"
    # copy under a temp name, then rename: a half-copied backup never looks like a backup
    tmp = folder / f".{target.name}.feebook-tmp"
    try:
        shutil.copy2(path, tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    _prune_backups(folder, path, keep)
    return target


def list_backups(path) -> list[Path]:
    """Backups of ``path`` in 备份/, oldest first."""
    path = Path(path)
    folder = path.parent / BACKUP_DIR
    if not folder.is_dir():
        return []
    pat = re.compile(rf"^{re.escape(path.stem)}_(\d{{8}}-\d{{6}})(?:-(\d+))?{re.escape(path.suffix)}$")
    found = []
    for f in folder.iterdir():
        m = pat.match(f.name)
        if m:
            found.append(((m.group(1), int(m.group(2) or 0)), f))
    return [f for _k, f in sorted(found)]


def _prune_backups(folder: Path, path: Path, keep: int) -> None:
    backups = list_backups(path)
    for old in backups[:-keep]:
        try:
            old.unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------- package edits


def _content_types_add(xml: str, part: str, ctype: str) -> str:
    if f'PartName="/{part}"' in xml:
        return xml
    add = f'<Override PartName="/{part}" ContentType="{ctype}"/>'
    i = xml.rfind("</Types>")
    return xml[:i] + add + xml[i:]


def _content_types_remove(xml: str, part: str) -> str:
    return re.sub(rf'<Override\b[^>]*PartName="/{re.escape(part)}"[^>]*/>', "", xml)


def _rels_add(xml: str, typ: str, target: str) -> tuple[str, str]:
    ids = {int(x) for x in re.findall(r'Id="rId(\d+)"', xml)}
    rid = f"rId{max(ids, default=0) + 1}"
    add = f'<Relationship Id="{rid}" Type="{typ}" Target="{target}"/>'
    i = xml.rfind("</Relationships>")
    return xml[:i] + add + xml[i:], rid


def _workbook_add_sheet(xml: str, name: str, rid: str) -> str:
    ids = [int(x) for x in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bsheetId="(\d+)"', xml)]
    sheet_id = max(ids, default=0) + 1
    m = re.search(r"<(\w+:)?workbook\b([^>]*)>", xml)
    p = m.group(1) or ""
    prefix = re.search(rf'xmlns:(\w+)="{re.escape(NS_REL_DOC)}"', m.group(2))
    if prefix:
        rattr = f'{prefix.group(1)}:id="{rid}"'
    else:
        rattr = f'xmlns:r="{NS_REL_DOC}" r:id="{rid}"'
    add = f'<{p}sheet name="{xml_text(name)}" sheetId="{sheet_id}" {rattr}/>'
    i = xml.find(f"</{p}sheets>")
    if i < 0:
        raise WorkbookError("工作簿结构无法识别（workbook.xml 缺少 sheets），未写入")
    return xml[:i] + add + xml[i:]


def _workbook_full_calc(xml: str) -> str:
    m = re.search(r"<(\w+:)?workbook\b", xml)
    p = (m.group(1) or "") if m else ""
    c = re.search(rf"<{p}calcPr\b([^>]*?)(/?)>", xml)
    if c:
        attrs = re.sub(r'\s*fullCalcOnLoad="[^"]*"', "", c.group(1))
        return xml[:c.start()] + f'<{p}calcPr{attrs} fullCalcOnLoad="1"{c.group(2)}>' + xml[c.end():]
    # calcPr comes after sheets / functionGroups / externalReferences / definedNames
    pos = -1
    for tag in ("sheets", "functionGroups", "externalReferences", "definedNames"):
        j = xml.find(f"</{p}{tag}>")
        if j >= 0:
            pos = max(pos, j + len(f"</{p}{tag}>"))
    if pos < 0:
        return xml
    return xml[:pos] + f'<{p}calcPr fullCalcOnLoad="1"/>' + xml[pos:]


def _calc_chain_refers(xml: bytes, sheet_ids: set[str]) -> bool:
    """Does calcChain.xml list a cell of one of these sheets? (``i`` is inherited when omitted.)"""
    current = None
    for m in re.finditer(rb"<(?:\w+:)?c\b([^>]*)/?>", xml):
        i = re.search(rb'\bi="(\d+)"', m.group(1))
        if i:
            current = i.group(1).decode()
        if current in sheet_ids:
            return True
    return False


# --------------------------------------------------------------------------- save


def save_changes(path, *, replace: dict[str, SheetOutput] | None = None,
                 append: dict[str, list[dict[str, object]]] | None = None,
                 audit: list[dict] | None = None, expect_digest: str | None = None,
                 backups: int = 10, post_process: Callable[[bytes], bytes] | None = None) -> None:
    """Write the given sheet replacements / appended rows / audit rows into the workbook file.

    Raises :class:`WorkbookLocked` (open elsewhere), :class:`WorkbookChanged`
    (``expect_digest`` mismatch) or :class:`WorkbookError`; in every failure
    the file on disk is left exactly as it was.  ``post_process`` may change
    the finished package's bytes before they are written (the 看板 adds its
    chart parts this way), under the same locks, checks and atomic replace.
    """
    path = Path(path)
    replace = dict(replace or {})
    append = {k: list(v) for k, v in (append or {}).items()}
    if audit:
        now = dt.datetime.now().replace(microsecond=0)
        user = _current_user()
        rows = []
        for entry in audit:
            row = {"时间": now, "用户": user}
            row.update({k: v for k, v in entry.items() if v is not None or k not in row})
            rows.append(row)
        append.setdefault(schema.AUDIT, []).extend(rows)
    append = {k: v for k, v in append.items() if v}
    if not replace and not append:
        return  # nothing to write: the file (and its backups) stay as they are
    both = set(replace) & set(append)
    if both:
        raise ValueError(f"sheets both replaced and appended: {sorted(both)}")

    check_not_open(path)
    check_xlsx_file(path)
    with _ProcessLock(path, LOCK_TIMEOUT):
        before = file_digest(path)
        if expect_digest is not None and before != expect_digest:
            raise WorkbookChanged(f"工作簿“{path.name}”在读取后已被修改，请重新运行（本次未写入任何内容）")
        _cleanup_stray_temps(path)
        tmp = None
        try:
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".feebook-tmp")
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as f:
                if post_process is None:
                    _rewrite_package(path, f, replace, append)
                else:
                    staged = io.BytesIO()
                    _rewrite_package(path, staged, replace, append)
                    f.write(post_process(staged.getvalue()))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o777)
            except OSError:
                pass
            # last checks right before the switch: nobody opened or saved it meanwhile
            check_not_open(path)
            if file_digest(path) != before:
                raise WorkbookChanged(f"工作簿“{path.name}”在写入过程中被其他程序修改，请重新运行（本次未写入任何内容）")
            _backup(path, backups, dt.datetime.now())
            _before_replace_hook(tmp, path)
            os.replace(tmp, path)
            tmp = None
            _fsync_dir(path.parent)
        except WorkbookError:
            raise
        except OSError as exc:  # disk full, permissions, a file held open by another program
            if tmp is None:  # already replaced (only the folder fsync failed): the new file is in place
                raise
            raise _write_failed(path, exc) from exc
        finally:
            if tmp is not None:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    pass


def _before_replace_hook(tmp: Path, path: Path) -> None:
    """Test seam (crash-safety tests make this sleep so a kill lands here)."""


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some services): still log something
        return "未知用户"


def _cleanup_stray_temps(path: Path) -> None:
    """Remove temp files left by a killed feebook (safe: we hold the workbook's process lock)."""
    for f in path.parent.glob(f".{glob_escape(path.name)}.*.feebook-tmp"):
        try:
            f.unlink()
        except OSError:
            pass


def glob_escape(s: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", s)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rewrite_package(path: Path, out_file, replace: dict[str, SheetOutput], append: dict[str, list[dict]]) -> None:
    with zipfile.ZipFile(path) as zin:
        names = zin.namelist()
        infos = {i.filename: i for i in zin.infolist()}
        sheets = {s["name"]: s for s in sheet_parts(zin)}
        new_parts: dict[str, bytes] = {}  # member name → new content (replaces or adds)
        dropped: set[str] = set()

        styles_part = _styles_part(zin)
        styles = _Styles(zin.read(styles_part).decode("utf-8") if styles_part in names else None)
        styles_was_missing = styles_part not in names

        wb_xml = zin.read("xl/workbook.xml").decode("utf-8")
        rels_xml = zin.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        ct_xml = zin.read("[Content_Types].xml").decode("utf-8")
        wb_changed = rels_changed = ct_changed = False
        any_formula = False
        touched_ids: set[str] = set()

        # sheets to create
        creates: list[SheetOutput] = []
        for name, out in replace.items():
            if name not in sheets:
                creates.append(out)
        for name, rows in append.items():
            if name not in sheets:
                spec = schema.ALL_SHEETS.get(name)
                headers = list(spec.headers) if spec else []
                for row in rows:
                    for k in row:
                        if normalise_header(k) not in headers:
                            headers.append(normalise_header(k))
                out = SheetOutput(name, headers, [[row.get(h) for h in headers] for row in
                                                  [{normalise_header(k): v for k, v in r.items()} for r in rows]],
                                  dict(spec.formats) if spec else {})
                creates.append(out)

        for name, out in replace.items():
            if name in sheets:
                info = sheets[name]
                if not info["part"] or info["part"] not in names:
                    raise WorkbookError(f"工作表“{name}”不是普通工作表，无法改写")
                xml, f = sheet_xml(out, styles)
                new_parts[info["part"]] = xml.encode("utf-8")
                any_formula |= f
                touched_ids.add(info["sheetId"])

        sst_cache: list = []

        def load_sst():
            if not sst_cache:
                sst_cache.append(shared_strings(zin))
            return sst_cache[0]

        for name, rows in append.items():
            if name in sheets and rows:
                info = sheets[name]
                if not info["part"] or info["part"] not in names:
                    raise WorkbookError(f"工作表“{name}”不是普通工作表，无法追加")
                raw = zin.read(info["part"])
                fast = append_xml_fast(raw, rows, name, styles, load_sst)
                if fast is not None:
                    new_parts[info["part"]], f = fast
                else:
                    xml, f = append_xml(raw.decode("utf-8"), rows, name, styles, load_sst)
                    new_parts[info["part"]] = xml.encode("utf-8")
                any_formula |= f

        for out in creates:
            xml, f = sheet_xml(out, styles)
            any_formula |= f
            n = 1
            while f"xl/worksheets/sheet{n}.xml" in names or f"xl/worksheets/sheet{n}.xml" in new_parts:
                n += 1
            part = f"xl/worksheets/sheet{n}.xml"
            new_parts[part] = xml.encode("utf-8")
            rels_xml, rid = _rels_add(rels_xml, REL_WORKSHEET, f"worksheets/sheet{n}.xml")
            wb_xml = _workbook_add_sheet(wb_xml, out.name, rid)
            ct_xml = _content_types_add(ct_xml, part, CT_WORKSHEET)
            wb_changed = rels_changed = ct_changed = True

        # calcChain would list cells of a replaced sheet that no longer hold formulas
        chain = "xl/calcChain.xml"
        if chain in names and touched_ids and _calc_chain_refers(zin.read(chain), touched_ids):
            dropped.add(chain)
            ct_xml = _content_types_remove(ct_xml, chain)
            rels_xml = re.sub(r'<Relationship\b[^>]*Type="[^"]*/calcChain"[^>]*/>', "", rels_xml)
            ct_changed = rels_changed = True

        if any_formula:
            new_wb = _workbook_full_calc(wb_xml)
            wb_changed |= new_wb != wb_xml
            wb_xml = new_wb

        styles_xml = styles.render()
        if styles.changed:
            new_parts[styles_part] = styles_xml.encode("utf-8")
            if styles_was_missing:
                rels_xml, _ = _rels_add(rels_xml, REL_STYLES, "styles.xml")
                ct_xml = _content_types_add(ct_xml, styles_part, CT_STYLES)
                rels_changed = ct_changed = True
        if wb_changed:
            new_parts["xl/workbook.xml"] = wb_xml.encode("utf-8")
        if rels_changed:
            new_parts["xl/_rels/workbook.xml.rels"] = rels_xml.encode("utf-8")
        if ct_changed:
            new_parts["[Content_Types].xml"] = ct_xml.encode("utf-8")

        with zipfile.ZipFile(out_file, "w", zipfile.ZIP_DEFLATED) as zout:
            for name in names:
                if name in dropped:
                    continue
                info = infos[name]
                if name in new_parts:
                    zi = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    zi.external_attr = info.external_attr
                    data = new_parts.pop(name)
                    zout.writestr(zi, data, compresslevel=_compress_level(data))
                else:
                    _copy_member(zin, zout, info)
            for name, data in new_parts.items():  # added parts
                zi = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                zi.compress_type = zipfile.ZIP_DEFLATED
                zout.writestr(zi, data, compresslevel=_compress_level(data))


def _compress_level(data: bytes) -> int:
    """zlib level for a rewritten part: fast (1) for big sheets, the usual 6 for small parts.

    Sheet XML deflates to about the same size at level 1 (measured: +10 %),
    at a third of the time — it matters when 应收 holds 100,000 rows.
    """
    return 1 if len(data) > 1 << 20 else 6


def _copy_member(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy one member unchanged (same content, same compression method).

    The compressed bytes are copied as they are (no inflate/deflate: the
    biggest sheets are never recompressed); if the archive is anything but
    plain, it falls back to decompressing and recompressing the content.
    """
    if _copy_member_raw(zin, zout, info):
        return
    zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    zi.compress_type = info.compress_type
    zi.external_attr = info.external_attr
    zi.comment = info.comment
    with zin.open(info) as src, zout.open(zi, "w", force_zip64=info.file_size > 0x7FFFFFFF) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _copy_member_raw(zin: zipfile.ZipFile, zout: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Append ``info``'s compressed bytes to ``zout`` unchanged; False when that cannot be done safely."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return False  # encrypted or an unusual method: take the slow, general path
    if zin.fp is None or zout.fp is None or getattr(zout, "_writing", False):
        return False
    try:
        zin.fp.seek(info.header_offset)
        header = zin.fp.read(zipfile.sizeFileHeader)
        if len(header) != zipfile.sizeFileHeader or header[:4] != zipfile.stringFileHeader:
            return False
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        zin.fp.seek(info.header_offset + zipfile.sizeFileHeader + name_len + extra_len)
        data = zin.fp.read(info.compress_size)
        if len(data) != info.compress_size:
            return False
        zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
        zi.compress_type = info.compress_type
        zi.external_attr = info.external_attr
        zi.comment = info.comment
        zi.create_system = info.create_system
        zi.flag_bits = info.flag_bits & ~0x08  # sizes and CRC go in the local header, no data descriptor
        zi.CRC, zi.compress_size, zi.file_size = info.CRC, info.compress_size, info.file_size
        zi.header_offset = zout.fp.tell()
        zip64 = zi.file_size > zipfile.ZIP64_LIMIT or zi.compress_size > zipfile.ZIP64_LIMIT
        zout.fp.write(zi.FileHeader(zip64))
        zout.fp.write(data)
        zout.filelist.append(zi)
        zout.NameToInfo[zi.filename] = zi
        zout.start_dir = zout.fp.tell()
        return True
    except (OSError, struct.error, AttributeError):
        return False


def _styles_part(z: zipfile.ZipFile) -> str:
    import xml.etree.ElementTree as ET
    from .reader import NS_PKG_REL, _resolve_target
    try:
        root = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        for rel in root.iter(f"{{{NS_PKG_REL}}}Relationship"):
            if rel.get("Type", "").endswith("/styles"):
                return _resolve_target("xl", rel.get("Target", ""))
    except KeyError:
        pass
    return "xl/styles.xml"


# --------------------------------------------------------------------------- new workbooks


def write_new_workbook(path, sheets: list[SheetOutput]) -> None:
    """Create a brand-new .xlsx with these sheets (openpyxl, write-only mode); replaces ``path``."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    path = Path(path)
    wb = openpyxl.Workbook(write_only=True)
    for out in sheets:
        ws = wb.create_sheet(out.name)
        ws.freeze_panes = "A2"
        kinds = [out.formats.get(h) for h in out.headers]
        for i, h in enumerate(out.headers):
            ws.column_dimensions[column_letter(i)].width = min(60, max(8, _width_of(str(h)) + 2))
        ws.append(list(out.headers))
        for row in out.rows:
            cells = []
            for i, value in enumerate(row):
                kind = _kind_for(value, kinds[i] if i < len(kinds) else None)
                text_like_formula = False
                if isinstance(value, Formula):
                    value = "=" + value.text
                elif isinstance(value, str):
                    value = _ILLEGAL_XML.sub("", value)
                    # openpyxl turns any str starting with '=' into a formula: user text
                    # (an owner's name '=HYPERLINK(…)') must stay text (formula injection)
                    text_like_formula = value.startswith("=")
                if kind or isinstance(value, Decimal) or text_like_formula:
                    c = WriteOnlyCell(ws, value=value)
                    if text_like_formula:
                        c.data_type = "s"
                    if kind:
                        c.number_format = NUMBER_FORMATS[kind]
                    cells.append(c)
                else:
                    cells.append(value)
            ws.append(cells)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".feebook-tmp")
    os.close(fd)
    try:
        wb.save(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a workbook is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

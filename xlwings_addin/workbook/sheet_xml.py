"""Sheet XML: the values a job writes (:class:`SheetOutput`, :class:`Formula`) as worksheet XML.

Strings are inline, Decimals exact, dates serial numbers with a date style;
characters XML 1.0 forbids are stripped.
"""
from __future__ import annotations

import datetime as dt
import html
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

from .raw import column_letter
from .reader import (
    NS_REL_DOC,
)

if TYPE_CHECKING:
    from .styles import _Styles


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


MAX_CELL_TEXT = 32767  # Excel's limit for the text of one cell


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


class Note(str):
    """A note/footnote row's text (``[Note("说明：…")]``): written in one merged, wrapped cell
    across the sheet's columns, so it never widens a data column."""


@dataclass
class SheetOutput:
    """A whole sheet to write: header row, data rows (lists of values), header → format kind.

    ``as_of`` is printed in the page footer; ``title`` optional heading above nothing (unused by
    the writer's grid, kept for exports).  Every sheet is written print-ready: A4 landscape, fit
    to one page wide, header row repeated, frozen and filtered.
    """

    name: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    as_of: dt.date | None = None
    cell_formats: dict = field(default_factory=dict)  # (data row index, column index) → format kind
    row_breaks: list = field(default_factory=list)  # sheet row numbers a printed page ends after


NOTE_MIN_WIDTH = 40  # a lone text in column A wider than this is a note, not data
MAX_COLUMN_WIDTH = 60  # longer texts wrap inside the column (see wrapped_columns)


def is_note_row(row: list) -> bool:
    """A row holding one text in column A that is a :class:`Note` (or a long sentence)."""
    if not row or not isinstance(row[0], str) or row[0] == "":
        return False
    for value in islice(row, 1, None):  # every other cell blank (a data row fails at its second cell)
        if value is not None and value != "":
            return False
    return isinstance(row[0], Note) or _width_of(row[0]) > NOTE_MIN_WIDTH


def data_last_row(out: SheetOutput) -> int:
    """Sheet row number of the last data row (before the first note; blank rows at the end skipped)."""
    last = 1
    for r, row in enumerate(out.rows, start=2):
        if is_note_row(row):
            break
        if any(v is not None and v != "" for v in row):
            last = r
    return last


def footer_xml(as_of: dt.date | None, p: str = "") -> str:
    left = f"截至 {as_of:%Y-%m-%d}" if as_of else "打印日期 &amp;D"
    return (f"<{p}headerFooter><{p}oddFooter>&amp;L{left}&amp;C第 &amp;P 页 / 共 &amp;N 页&amp;R&amp;A</{p}oddFooter>"
            f"</{p}headerFooter>")


def row_breaks_xml(rows: list[int], p: str = "") -> str:
    if not rows:
        return ""
    brks = "".join(f'<{p}brk id="{r}" max="16383" man="1"/>' for r in rows)
    return f'<{p}rowBreaks count="{len(rows)}" manualBreakCount="{len(rows)}">{brks}</{p}rowBreaks>'


PAGE_SETUP = ('<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.6" header="0.3" footer="0.3"/>'
              '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>')


# --------------------------------------------------------------------------- XML encoding

# XML 1.0 legal chars: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Excel reads "_x0041_" in text as an escaped character; protect a literal one
_EXCEL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def xml_text(value: str) -> str:
    """Text → XML character data: illegal characters stripped, & < > " escaped."""
    return _escaped(_ILLEGAL_XML.sub("", value))


def _escaped(value: str) -> str:
    """& < > " escaped (text known to hold no character XML forbids)."""
    if "&" in value or "<" in value or ">" in value or '"' in value:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return value


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


_WIDE_CHAR = re.compile("[\u2e80-\U0010ffff]")


def _width_of(text: str) -> int:
    """Display width: CJK / full-width characters (above U+2E7F) count 2, others 1."""
    if text.isascii():  # (figures, dates, room numbers: no wide character)
        return len(text)
    return len(text) + len(_WIDE_CHAR.findall(text))



def _kind_for(value, kind: str | None) -> str | None:
    """The format kind to use: the column's, or one implied by the value (dates need a style,
    a Decimal in a column without a format is money)."""
    if isinstance(value, Formula):
        value = value.value
    if kind is None and isinstance(value, Decimal):
        return "money"
    if isinstance(value, dt.datetime):
        return kind if kind in ("date", "datetime") else "datetime"
    if isinstance(value, dt.date):
        return kind if kind in ("date", "datetime") else "date"
    return kind


def cell_xml(ref: str, value, style: int, p: str = "") -> str:
    """One ``<c>`` element (``p`` = namespace prefix of the sheet, usually '')."""
    s = f' s="{style}"' if style else ""
    cls = value.__class__
    if cls is Decimal and value.is_finite():  # (the most common cells first: money, whole numbers)
        return f'<{p}c r="{ref}"{s}><{p}v>{value:f}</{p}v></{p}c>'
    if cls is int:
        return f'<{p}c r="{ref}"{s}><{p}v>{value}</{p}v></{p}c>'
    if cls is str and value.isprintable() and "_x" not in value and len(value) <= MAX_CELL_TEXT:
        # (no character XML forbids — printable text holds none — and nothing Excel would read as an
        # escape: the text as the general path below writes it, without its searches)
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<{p}c r="{ref}"{s} t="inlineStr"><{p}is><{p}t{space}>{_escaped(value)}</{p}t></{p}is></{p}c>'
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


def column_widths(out: SheetOutput) -> list[int]:
    """Column widths (characters) from content: headers (long ones wrap on two lines), data
    rows; note rows never count.  Capped at ``MAX_COLUMN_WIDTH``."""
    headers = [str(h) for h in out.headers]
    ncols = max([len(headers)] + [len(r) for r in out.rows]) if (headers or out.rows) else 0
    data = [0] * ncols
    for r, row in enumerate(out.rows[:2000]):
        if is_note_row(row):
            continue
        for i, value in enumerate(row):
            # (a column already at the cap stays there; a text measures at most two units a character)
            if value is not None and data[i] < MAX_COLUMN_WIDTH:
                text = _display_text(value)
                if 2 * len(text) > data[i]:
                    data[i] = max(data[i], _width_of(text))
    widths = []
    for i in range(ncols):
        h = _width_of(headers[i]) if i < len(headers) else 0
        if h > 12 and h > data[i]:
            h = max(data[i], math.ceil(h / 2) + 1)  # the header wraps onto two lines
        # +10 %: printed glyphs (Q, W, full-width punctuation) run wider than the '0' a width unit measures
        widths.append(min(MAX_COLUMN_WIDTH, math.ceil(max(6, data[i], h) * 1.1) + 2))
    return widths


def row_height(row: list, widths: list[int], wrapped: set[int]) -> float | None:
    """Height (points) a row needs for its wrapped cells to show every line; None for one line."""
    lines = 1
    for i in wrapped:
        if i < len(row) and isinstance(row[i], str):
            if 2 * len(row[i]) <= widths[i] - 2 and "\n" not in row[i]:
                continue  # fits on one line even if every character is full-width (no per-character count)
            # ×1.1: lines break at spaces and punctuation, not mid-figure, so each line ends short of the
            # width; 16.5 pt a line as for notes — a CJK line set at 15 pt printed cut at the top in LibreOffice
            lines = max(lines, sum(max(1, math.ceil(_width_of(part) * 1.1 / max(widths[i] - 2, 1)))
                                   for part in row[i].split("\n")))
    return None if lines == 1 else 16.5 * lines


def wrapped_columns(out: SheetOutput, widths: list[int]) -> set[int]:
    """Columns whose longest text is wider than the column: their cells wrap."""
    wide = set()
    for row in out.rows[:2000]:
        if is_note_row(row):
            continue
        for i, value in enumerate(row):
            if i in wide or i >= len(widths) or not isinstance(value, str):
                continue
            # a text measures at least one unit a character, at most two: most are decided by their length
            n = len(value)
            if n + 2 > widths[i] or (2 * n + 2 > widths[i] and _width_of(value) + 2 > widths[i]):
                wide.add(i)
    return wide


def _note_height(text: str, total_width: int) -> float:
    lines = sum(max(1, math.ceil(_width_of(part) * 1.1 / max(total_width, 1))) for part in text.split("\n"))
    return 16.5 * lines


def sheet_xml(out: SheetOutput, styles: _Styles) -> tuple[str, bool]:
    """A whole worksheet part for ``out``; returns (xml, has_formulas)."""
    headers = [str(h) for h in out.headers]
    ncols = max([len(headers)] + [len(r) for r in out.rows]) if (headers or out.rows) else 0
    kinds = [out.formats.get(h) for h in headers] + [None] * (ncols - len(headers))
    letters = [column_letter(i) for i in range(ncols)]
    widths = column_widths(out)
    wrapped = wrapped_columns(out, widths)
    has_formulas = False
    parts = []
    if headers:
        head_style = styles.text_index(wrap=True, bold=True)
        two_lines = any(_width_of(h) + 2 > widths[i] for i, h in enumerate(headers))
        ht = ' ht="33" customHeight="1"' if two_lines else ""
        parts.append(f'<row r="1"{ht}>' + "".join(cell_xml(f"{letters[i]}1", h, head_style)
                                                for i, h in enumerate(headers)) + "</row>")
    merges = []
    cell_formats = out.cell_formats
    style_of: dict = {}
    for r, row in enumerate(out.rows, start=2):
        if ncols > 1 and is_note_row(row):
            style = styles.text_index(wrap=True)
            merges.append(f"A{r}:{letters[-1]}{r}")
            ht = _note_height(row[0], sum(widths))
            parts.append(f'<row r="{r}" ht="{ht}" customHeight="1">{cell_xml(f"A{r}", str(row[0]), style)}</row>')
            continue
        cells = []
        for i, value in enumerate(row):
            if value is None:
                continue
            cls = value.__class__
            if cls is Formula:
                has_formulas = True
                cls = value.value.__class__
            column_kind = cell_formats.get((r - 2, i), kinds[i]) if cell_formats else kinds[i]
            # a cell's style depends only on its value's type, its column's format and wrapping
            key = (cls, column_kind, i in wrapped)
            style = style_of.get(key)
            if style is None:
                kind = _kind_for(value, column_kind)
                style = style_of[key] = (styles.text_index(wrap=True, kind=kind, top=False) if key[2]
                                         else styles.index(kind))
            cells.append(cell_xml(f"{letters[i]}{r}", value, style))
        ht = row_height(row, widths, wrapped) if wrapped else None
        if ht:
            parts.append(f'<row r="{r}" ht="{ht}" customHeight="1">{"".join(cells)}</row>')
        else:
            parts.append(_row_xml(r, cells))
    last_row = max(1, len(out.rows) + 1)
    dim = f"A1:{letters[-1]}{last_row}" if ncols else "A1"
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(widths))
    autofilter = f'<autoFilter ref="A1:{letters[-1]}{data_last_row(out)}"/>' if headers and ncols else ""
    merge_xml = (f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
                 + "</mergeCells>") if merges else ""
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{NS_REL_DOC}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="{dim}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        '</sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + f'<sheetData>{"".join(parts)}</sheetData>'
        + autofilter + merge_xml + PAGE_SETUP + footer_xml(out.as_of) + row_breaks_xml(out.row_breaks)
        + '</worksheet>'
    )
    return xml, has_formulas

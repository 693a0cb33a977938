"""The live-book face of the workbook layer: read and write a workbook *open in Excel* through xlwings.

The file face (:mod:`.reader` / :mod:`.writer`) works on a closed .xlsx; while
Excel holds the workbook open the add-in must go through Excel instead
(SPEC §7).  This module gives the engine the same :class:`RawSheet` values the
file reader gives, and applies a :class:`~xlwings_addin.jobs.ledger.Changes` with the
same meaning as ``save_changes``:

* ``read_book(book)`` — every worksheet's ``used_range`` value, normalised like
  the file reader: row 1 is the header row (text, stripped), each data row keeps
  its true Excel row number, blank rows are skipped, trailing blank columns
  trimmed, integral floats → ``int``, midnight datetimes → ``date``.
* ``apply_changes(book, changes)`` — replaced sheets are cleared and written
  whole (one ``.value =`` for header + rows, then one ``number_format`` per
  formatted column); appended rows go below the last used row under the
  existing headers, found by header text (unknown headers get a new column at
  the right); 操作日志 rows get 时间 and 用户 as the file writer gives them.
  A :class:`Formula` becomes a real formula; any other text starting with
  ``= + - @`` is written as text (a leading apostrophe), never as a formula.

Only this small part of the xlwings object model is used, so any object that
has it works (tests use an in-memory fake; :class:`xlwings.Book` on Windows,
and ``xw.Book(json=...)`` for the Server route)::

    book.sheets            iterate; book.sheets[name]; book.sheets.add(name=..., after=sheet)
    sheet.name, sheet.visible, sheet.used_range, sheet.clear_contents()
    sheet.range((row, col)) and sheet.range((row1, col1), (row2, col2))
    rng.row, rng.column, rng.options(ndim=2).value, rng.value = [[...]], rng.number_format = "..."

Example::

    raw = read_book(xw.Book.caller())
    changes = job_run(parse_ledger(raw), as_of)
    apply_changes(xw.Book.caller(), changes)
"""
from __future__ import annotations

import datetime as dt
import getpass
from decimal import Decimal
from typing import Any, Iterable, Optional

from ..ledger import schema
from .raw import RawSheet
from .reader import normalise_header
from .writer import NUMBER_FORMATS, Formula, SheetOutput

MAX_CELL_TEXT = 32767
_FORMULA_START = ("=", "+", "-", "@")


# --------------------------------------------------------------------------- reading


def _clean(value: Any) -> Any:
    """One cell value from Excel → what the file reader would give for it."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date()
        return value.replace(tzinfo=None)
    return value


def _grid(sheet) -> tuple[int, int, list[list]]:
    """(first row, first column, 2-D values) of the sheet's used range."""
    rng = sheet.used_range
    values = rng.options(ndim=2).value
    if values is None:
        values = [[None]]
    return rng.row, rng.column, [list(r) for r in values]


def read_sheet(sheet) -> RawSheet:
    first_row, first_col, grid = _grid(sheet)
    pad = [None] * (first_col - 1)
    rows_by_number: dict[int, list] = {}
    for i, values in enumerate(grid):
        rows_by_number[first_row + i] = pad + [_clean(v) for v in values]
    header_values = rows_by_number.pop(1, [])
    headers = [normalise_header(v) for v in header_values]
    width = len(headers)
    while width and headers[width - 1] == "":
        width -= 1
    data_rows = []
    for number in sorted(rows_by_number):
        vals = rows_by_number[number]
        if all(v is None for v in vals):
            continue
        data_rows.append((number, vals))
        last = len(vals)
        while last and vals[last - 1] is None:
            last -= 1
        width = max(width, last)
    headers = headers[:width] + [""] * (width - len(headers))
    rows = [(n, vals[:width] + [None] * (width - len(vals))) for n, vals in data_rows]
    hidden = not getattr(sheet, "visible", True)
    return RawSheet(name=sheet.name, headers=headers, rows=rows, hidden=hidden)


def read_book(book, sheets: Optional[Iterable[str]] = None) -> dict[str, RawSheet]:
    """Every worksheet of the open book (or the named ones that exist) as :class:`RawSheet`, in book order."""
    wanted = None if sheets is None else set(sheets)
    out: dict[str, RawSheet] = {}
    for sheet in book.sheets:
        if wanted is not None and sheet.name not in wanted:
            continue
        out[sheet.name] = read_sheet(sheet)
    return out


# --------------------------------------------------------------------------- writing


def excel_value(value: Any) -> Any:
    """A Python value → what is assigned to an Excel cell (no float for money before this point)."""
    if isinstance(value, Formula):
        return "=" + value.text
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, dt.date)):
        return value
    text = str(value)
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT]
    if text.startswith(_FORMULA_START):
        return "'" + text  # text that looks like a formula stays text (formula injection)
    return text


def _block(rows: list[list]) -> list[list]:
    width = max((len(r) for r in rows), default=0) or 1
    return [[excel_value(v) for v in r] + [None] * (width - len(r)) for r in rows]


def _sheet(book, name: str, create: bool = True):
    for sheet in book.sheets:
        if sheet.name == name:
            return sheet
    if not create:
        return None
    last = None
    for sheet in book.sheets:
        last = sheet
    return book.sheets.add(name=name, after=last)


def _format_columns(sheet, headers: list[str], formats: dict, first_row: int, last_row: int) -> None:
    if last_row < first_row:
        return
    for col, header in enumerate(headers, start=1):
        kind = formats.get(header)
        code = NUMBER_FORMATS.get(kind) if kind else None
        if code:
            sheet.range((first_row, col), (last_row, col)).number_format = code


def write_sheet(book, out: SheetOutput) -> None:
    """Replace the whole sheet: clear it, write header + rows as one block, format columns."""
    sheet = _sheet(book, out.name)
    sheet.clear_contents()
    block = _block([list(out.headers)] + [list(r) for r in out.rows])
    # number formats first, so dates and money show formatted as soon as they land
    _format_columns(sheet, list(out.headers), out.formats, 2, len(block))
    sheet.range((1, 1), (len(block), len(block[0]))).value = block
    print_setup(sheet, out)


XL_LANDSCAPE = 2
XL_PAPER_A4 = 9


def print_setup(sheet, out: SheetOutput) -> None:
    """Print-ready like the file writer: column widths from content (notes never count), A4 landscape,
    one page wide, header row on every page, footer page x / y and the as-of date.

    Widths go through ``range.column_width``; the page setup through Excel's object model
    (``sheet.api.PageSetup``, Windows/macOS Excel).  Where a route lacks either (xlwings Server,
    tests' fake book) that part is left as it is — the figures are written all the same.
    """
    from .sheet_xml import column_widths

    try:
        for col, width in enumerate(column_widths(out), start=1):
            sheet.range((1, col)).column_width = width
    except Exception:  # a route without column widths
        pass
    api = getattr(sheet, "api", None)
    setup = getattr(api, "PageSetup", None) if api is not None else None
    if setup is None:
        return
    try:
        setup.PaperSize = XL_PAPER_A4
        setup.Orientation = XL_LANDSCAPE
        setup.Zoom = False
        setup.FitToPagesWide = 1
        setup.FitToPagesTall = False
        setup.PrintTitleRows = "$1:$1"
        setup.LeftFooter = f"截至 {out.as_of:%Y-%m-%d}" if out.as_of else "打印日期 &D"
        setup.CenterFooter = "第 &P 页 / 共 &N 页"
        setup.RightFooter = "&A"
    except Exception:  # Excel refused one setting (no printer installed): keep what was set
        pass


def append_rows(book, name: str, rows: list[dict]) -> None:
    """Append rows (header → value) under the sheet's headers; unknown headers get new columns."""
    if not rows:
        return
    spec = schema.ALL_SHEETS.get(name)
    sheet = _sheet(book, name, create=False)
    if sheet is None:
        headers = list(spec.headers) if spec else []
        last_row = 0
        sheet = _sheet(book, name)
    else:
        raw = read_sheet(sheet)
        headers = list(raw.headers)
        first_row, _c, grid = _grid(sheet)
        last_row = first_row + len(grid) - 1
        # trailing blank rows inside the used range (formatted, empty) are reused
        while last_row > 1 and all(v in (None, "") for v in grid[last_row - first_row]):
            last_row -= 1
        last_row = max(last_row, 1 if headers else 0)
    rows = [{normalise_header(k): v for k, v in r.items()} for r in rows]
    new_headers = []
    for r in rows:
        for k in r:
            if k not in headers and k not in new_headers:
                new_headers.append(k)
    if new_headers or last_row == 0:
        start = len(headers) + 1
        if last_row == 0:
            headers = headers + new_headers
            sheet.range((1, 1), (1, len(headers))).value = [headers]
            last_row = 1
        else:
            sheet.range((1, start), (1, start + len(new_headers) - 1)).value = [new_headers]
            headers = headers + new_headers
    block = _block([[r.get(h) for h in headers] for r in rows])
    first = last_row + 1
    formats = dict(spec.formats) if spec else {}
    if name == schema.AUDIT:
        formats.setdefault("时间", "datetime")
    _format_columns(sheet, headers, formats, first, first + len(block) - 1)
    sheet.range((first, 1), (first + len(block) - 1, len(headers))).value = block


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name: still log something
        return "未知用户"


def audit_rows(entries: list[dict], now: dt.datetime, user: str) -> list[dict]:
    rows = []
    for entry in entries:
        row = {"时间": now, "用户": user}
        row.update({k: v for k, v in entry.items() if v is not None or k not in row})
        rows.append(row)
    return rows


def apply_changes(book, changes, *, now: Optional[dt.datetime] = None, user: Optional[str] = None) -> int:
    """Write a :class:`~xlwings_addin.jobs.ledger.Changes` into the open book; returns the number of blocks written.

    The same audit default as :func:`~xlwings_addin.jobs.ledger.apply_to_file`: a job
    without audit entries is logged with its action and summary.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    user = user or current_user()
    blocks = 0
    if not changes.writes and not changes.audit:
        return 0
    for out in changes.replace.values():
        write_sheet(book, out)
        blocks += 1
    for name, rows in changes.append.items():
        if rows:
            append_rows(book, name, rows)
            blocks += 1
    audit = list(changes.audit) or [{"操作": changes.action, "数量": 0, "说明": "；".join(changes.summary)[:500]}]
    append_rows(book, schema.AUDIT, audit_rows(audit, now, user))
    return blocks + 1

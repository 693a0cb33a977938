"""An in-memory stand-in for the small part of the xlwings object model the add-in uses.

Exactly the API listed in ``xlwings_addin/workbook/live.py`` (plus ``app``,
``fullname`` and ``selection`` for the macros), with xlwings' value semantics:
numbers come back as float, dates as datetime, a single cell as a scalar, one
row or column as a 1-D list unless ``options(ndim=2)``.  It records what a
test wants to check: every ``.value =`` block written, number formats, status
bar texts and message boxes.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path


class FakeApp:
    def __init__(self):
        self.status_history: list = []
        self.alerts: list[tuple[str, str]] = []  # (title, prompt)
        self.screen_updating = True

    @property
    def status_bar(self):
        return self.status_history[-1] if self.status_history else False

    @status_bar.setter
    def status_bar(self, value):
        self.status_history.append(value)

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append((title, prompt))
        return "ok"


def _excel(value):
    """What Excel hands back for a value written into a cell."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]  # the apostrophe prefix makes text; it is not part of the value
    return value


class FakeRange:
    def __init__(self, sheet, r1, c1, r2=None, c2=None, ndim=None):
        self.sheet = sheet
        self.row, self.column = r1, c1
        self.last_row, self.last_column = (r2 or r1), (c2 or c1)
        self._ndim = ndim

    @property
    def shape(self):
        return (self.last_row - self.row + 1, self.last_column - self.column + 1)

    def options(self, ndim=None, **_kwargs):
        return FakeRange(self.sheet, self.row, self.column, self.last_row, self.last_column, ndim)

    @property
    def value(self):
        grid = [[self.sheet.cells.get((r, c)) for c in range(self.column, self.last_column + 1)]
                for r in range(self.row, self.last_row + 1)]
        if self._ndim == 2:
            return grid
        rows, cols = self.shape
        if rows == 1 and cols == 1:
            return grid[0][0]
        if rows == 1:
            return grid[0]
        if cols == 1:
            return [r[0] for r in grid]
        return grid

    @value.setter
    def value(self, values):
        if not isinstance(values, list):
            values = [[values]]
        elif values and not isinstance(values[0], list):
            values = [values]
        self.sheet.book.writes.append((self.sheet.name, self.row, self.column, len(values)))
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                key = (self.row + i, self.column + j)
                if isinstance(v, str) and v.startswith("="):
                    self.sheet.formulas[key] = v
                if v is None or v == "":
                    self.sheet.cells.pop(key, None)
                else:
                    self.sheet.cells[key] = _excel(v)

    @property
    def number_format(self):
        return self.sheet.formats.get((self.row, self.column), "General")

    @number_format.setter
    def number_format(self, code):
        for r in range(self.row, self.last_row + 1):
            for c in range(self.column, self.last_column + 1):
                self.sheet.formats[(r, c)] = code


class FakeSheet:
    def __init__(self, book, name, visible=True):
        self.book, self.name, self.visible = book, name, visible
        self.cells: dict = {}
        self.formats: dict = {}
        self.formulas: dict = {}

    @property
    def used_range(self):
        if not self.cells:
            return FakeRange(self, 1, 1)
        rows = [r for r, _ in self.cells]
        cols = [c for _, c in self.cells]
        return FakeRange(self, min(rows), min(cols), max(rows), max(cols))

    def range(self, first, last=None):
        r2, c2 = last if last is not None else first
        return FakeRange(self, first[0], first[1], r2, c2)

    def clear_contents(self):
        self.cells.clear()
        self.formulas.clear()

    def row_values(self, row: int) -> list:
        width = max((c for _, c in self.cells), default=0)
        return [self.cells.get((row, c)) for c in range(1, width + 1)]


class FakeSheets:
    def __init__(self, book):
        self.book = book
        self._list: list[FakeSheet] = []

    def __iter__(self):
        return iter(list(self._list))

    def __len__(self):
        return len(self._list)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._list[key]
        for s in self._list:
            if s.name == key:
                return s
        raise KeyError(key)

    def add(self, name=None, before=None, after=None):
        sheet = FakeSheet(self.book, name or f"Sheet{len(self._list) + 1}")
        index = self._list.index(after) + 1 if after is not None else len(self._list)
        self._list.insert(index, sheet)
        return sheet


class FakeBook:
    def __init__(self, fullname="收费大表.xlsx"):
        self.fullname = str(fullname)
        self.app = FakeApp()
        self.sheets = FakeSheets(self)
        self.writes: list = []  # (sheet, row, col, rows) of every `.value =` block
        self.selection = None

    @property
    def name(self):
        return Path(self.fullname).name

    def sheet(self, name) -> FakeSheet:
        return self.sheets[name]

    def select(self, sheet: str, first_row: int, rows: int = 1, column: int = 1):
        self.selection = FakeRange(self.sheets[sheet], first_row, column, first_row + rows - 1, column)


def book_from_rows(sheets: dict[str, list[list]], fullname="收费大表.xlsx") -> FakeBook:
    """A fake book from {sheet: [row1 values, row2 values, …]} (row 1 = headers)."""
    book = FakeBook(fullname)
    for name, rows in sheets.items():
        sheet = book.sheets.add(name=name)
        for r, values in enumerate(rows, start=1):
            for c, v in enumerate(values, start=1):
                if v is not None and v != "":
                    sheet.cells[(r, c)] = _excel(v)
    return book


def book_from_file(path) -> FakeBook:
    """A fake book holding the values of a workbook file (what Excel would show for it)."""
    from xlwings_addin.workbook.reader import read_workbook

    book = FakeBook(Path(path).resolve())
    for name, raw in read_workbook(path).items():
        sheet = book.sheets.add(name=name)
        sheet.visible = not raw.hidden
        for c, h in enumerate(raw.headers, start=1):
            if h:
                sheet.cells[(1, c)] = h
        for number, values in raw.rows:
            for c, v in enumerate(values, start=1):
                if v is not None:
                    sheet.cells[(number, c)] = _excel(v)
    return book

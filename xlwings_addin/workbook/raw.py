"""Raw cell values of one sheet, as read from the file: the boundary between I/O and parsing.

Values are ``None``, ``str``, ``int``, ``float``, ``bool``, ``datetime.date`` or
``datetime.datetime`` (a formula cell gives its cached value).  Column order is
the sheet's own; parsing finds columns by header.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class RawSheet:
    name: str
    headers: list[str]  # row 1, as text, stripped ('' for a blank header cell)
    rows: list[tuple[int, list]] = field(default_factory=list)  # (Excel row number, values by column)
    hidden: bool = False
    # cells whose formula has no cached value: (row, col index) — a 问题, not a zero
    uncached_formulas: set = field(default_factory=set)
    # merged ranges ('B2:B4'): only the top-left cell holds a value, the others read as blank
    merged: list = field(default_factory=list)
    # cells holding an error value (#REF!, #N/A…): (row, col index) → the error text; calamine reads them blank
    error_cells: dict = field(default_factory=dict)
    # a sheet that was not read at all (e.g. an absurd used range): the Chinese reason and the cell it names
    refused: str = ""
    refused_cell: str = ""
    # the data rows a column at a time (a big input sheet read by fastexcel, see reader.read_workbook's
    # ``columnar``): then ``rows`` is empty until :meth:`data_rows` makes it
    columns: "ColumnData | None" = None

    def cell(self, row: int, col: int) -> str:
        return f"{column_letter(col)}{row}"

    @property
    def row_count(self) -> int:
        return len(self.columns.row_numbers) if self.columns is not None else len(self.rows)

    def data_rows(self) -> list[tuple[int, list]]:
        """``rows``, made from :attr:`columns` the first time a sheet read a column at a time needs them."""
        if self.columns is not None and not self.rows:
            self.rows = self.columns.rows()
        return self.rows


@dataclass
class ColumnData:
    """A sheet's data rows as Arrow columns, one per header (blank rows left out).

    ``table``: a ``pyarrow.Table``; ``row_numbers``: the Excel row of each of its rows.  Blank
    cells are null.  Its values are those calamine gives for the same cells (fastexcel reads the
    file with calamine), except that a date-formatted cell is a ``datetime`` (midnight for a date
    alone): the reader takes such columns only where the parser reads a date.
    """

    table: object
    row_numbers: list
    keep: "list[bool] | None" = None  # per table row: not blank (None: no row is blank)

    def column(self, index: int) -> list:
        """One column's values as Python objects, blank rows left out."""
        values = self.table.column(index).to_pylist()
        return values if self.keep is None else list(compress(values, self.keep))

    def rows(self) -> list[tuple[int, list]]:
        columns = [self.column(i) for i in range(self.table.num_columns)]
        return [(n, list(values)) for n, values in zip(self.row_numbers, zip(*columns))]


def blank_cells(column):
    """A numpy bool per cell of an Arrow column: null, or text of length 0 (read from its buffers)."""
    import numpy as np

    n = len(column)
    if column.null_count == n:
        return np.ones(n, dtype=bool)
    blank = np.zeros(n, dtype=bool)
    buffers = column.buffers()
    if column.null_count:
        bits = np.unpackbits(np.frombuffer(buffers[0], dtype=np.uint8), bitorder="little")
        blank |= bits[column.offset:column.offset + n] == 0
    kind = str(column.type)
    if kind in ("string", "large_string"):
        offsets = np.frombuffer(buffers[1], dtype=np.int32 if kind == "string" else np.int64)
        offsets = offsets[column.offset:column.offset + n + 1]
        blank |= offsets[1:] == offsets[:-1]
    return blank

"""Raw cell values of one sheet, as read from the file: the boundary between I/O and parsing.

Values are ``None``, ``str``, ``int``, ``float``, ``bool``, ``datetime.date`` or
``datetime.datetime`` (a formula cell gives its cached value).  Column order is
the sheet's own; parsing finds columns by header.
"""
from __future__ import annotations

from dataclasses import dataclass, field


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

    def cell(self, row: int, col: int) -> str:
        return f"{column_letter(col)}{row}"

"""Appending rows to an existing sheet's XML without rewriting the rows already there."""
from __future__ import annotations

import re

from ..ledger import schema
from .raw import column_letter
from .reader import (
    WorkbookError,
    normalise_header,
)
from .sheet_xml import Formula, _kind_for, _unescape, cell_xml
from .styles import _Styles

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
    shared = [int(v.group(1)) for _c, a, x in parsed if 't="s"' in a
              for v in [re.search(r"<(?:\w+:)?v>\s*(\d+)\s*</", x)] if v]
    sst = sst_loader() if shared else []
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



"""Read a closed 收费大表 workbook file into :class:`RawSheet` values, fast.

What this module promises:

* ``read_workbook(path)`` returns every worksheet (or the named ones that
  exist; a missing name is simply absent, the caller reports it) as a
  ``RawSheet``: row 1 is the header row (text, stripped, full-width spaces
  normalised, ``''`` for a blank header cell), every other non-blank row keeps
  its true Excel row number, trailing blank columns are trimmed, hidden sheets
  are marked.
* Values come from python-calamine, i.e. the cached value of a formula cell.
  A formula cell *without* a cached value (written by a tool that does not
  calculate, e.g. openpyxl) is not a zero or a blank: it is listed in
  ``RawSheet.uncached_formulas`` as ``(excel_row, col_index)`` so the parser
  can raise a 问题.  Calamine cannot tell, so the sheet XML is scanned — only
  for sheets that contain an ``<f>`` element at all, streaming from the zip.
* Numbers: Excel stores every number as a double; calamine gives ``float``.
  An integral float (``101.0``) is returned as ``int`` (``101``) so that 房号 or
  期数 typed as numbers do not turn into ``"101.0"``; other floats pass through
  (the parser makes Decimals via ``str()``).  Dates/datetimes pass through.
  Empty cells are ``None``.
* Anything that is not a readable .xlsx is refused with :class:`WorkbookError`
  and a Chinese message naming the file: missing, empty, not a zip (a CSV
  renamed .xlsx), encrypted (password), legacy .xls, corrupted.

The small package helpers here (sheet name → part path, shared strings) are
also used by :mod:`.writer`.
"""
from __future__ import annotations

import hashlib
import io
import logging
import operator
import posixpath
import re
import struct
import unicodedata
import zipfile
import zlib
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from xml.etree import ElementTree as ET

from .raw import ColumnData, RawSheet, blank_cells, column_letter

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"


class WorkbookError(Exception):
    """A workbook file cannot be read or written; the message is for the user (Chinese)."""


# --------------------------------------------------------------------------- file checks


def file_digest(path) -> str:
    """sha256 of the file's bytes (hex): compare before and after to detect a change."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        # missing file, a folder, no permission: the same Chinese refusal as reading it would give
        try:
            check_xlsx_file(path)
        except OSError:
            pass
        raise WorkbookError(f"无法读取工作簿文件“{Path(path).name}”（{e.strerror or e}）") from None
    return h.hexdigest()


def _contains_utf16(path: Path, needle: str) -> bool:
    """Does the file contain ``needle`` in UTF-16LE (how OLE directory entries spell names)?"""
    pattern = needle.encode("utf-16-le")
    tail = b""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            if pattern in tail + chunk:
                return True
            tail = chunk[-len(pattern):]
    return False


def check_xlsx_file(path) -> Path:
    """Refuse anything that is not a plain .xlsx zip package, with a Chinese message."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise WorkbookError(f"找不到工作簿文件：{path}")
    if path.is_dir():
        raise WorkbookError(f"“{path}”是一个文件夹，不是工作簿文件")
    size = path.stat().st_size
    if size == 0:
        raise WorkbookError(f"工作簿文件“{name}”是空文件（0 字节），可能保存时出错，请从 备份 文件夹恢复")
    with open(path, "rb") as f:
        head = f.read(8)
    if head == OLE_MAGIC:
        # An OLE compound file: either an encrypted OOXML package or a legacy .xls.
        if _contains_utf16(path, "EncryptedPackage"):
            raise WorkbookError(
                f"工作簿“{name}”设置了打开密码（已加密），程序无法读取；请在 Excel 中取消密码后再运行")
        raise WorkbookError(
            f"“{name}”是旧版 Excel 97-2003 格式（.xls），请在 Excel/WPS 中“另存为” .xlsx 格式后再使用")
    if head[:4] not in (ZIP_MAGIC, ZIP_EMPTY_MAGIC):
        raise WorkbookError(
            f"“{name}”不是 Excel 工作簿（.xlsx）文件（可能是改了扩展名的 CSV 或文本文件），"
            f"请在 Excel/WPS 中打开并另存为 .xlsx")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise WorkbookError(f"工作簿“{name}”已损坏，无法打开（{e}），请从 备份 文件夹恢复") from None
    if "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise WorkbookError(f"“{name}”是二进制工作簿（.xlsb），请另存为 .xlsx 后再使用")
        raise WorkbookError(f"“{name}”不是 Excel 工作簿（.xlsx）文件（缺少 xl/workbook.xml），请另存为 .xlsx")
    return path


# --------------------------------------------------------------------------- package helpers


def _resolve_target(base_dir: str, target: str) -> str:
    """A relationship Target → zip member name ('/xl/x.xml' is absolute, 'x.xml' relative)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base_dir, target))


_DOCTYPE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)


def package_xml(z: zipfile.ZipFile, member: str):
    """Parse one XML part of the package; a DOCTYPE/ENTITY or broken XML is a damaged file.

    A workbook part never needs a DOCTYPE (Excel never writes one); one that
    carries it is refused before parsing, so no external entity is fetched and
    no "billion laughs" entity is expanded.
    """
    data = z.read(member)
    name = Path(getattr(z, "filename", "") or "").name
    if _DOCTYPE.search(data[:4096]) or (b"<!" in data and _DOCTYPE.search(data)):
        raise WorkbookError(f"工作簿“{name}”已损坏或不安全（{member} 含 DOCTYPE/ENTITY 声明），"
                            f"程序拒绝读取；请在 Excel 中另存为新文件，或从 备份 文件夹恢复")
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise WorkbookError(f"工作簿“{name}”已损坏，无法读取（{member}：{e}），请从 备份 文件夹恢复") from None


def _refuse_doctype(z: zipfile.ZipFile, members) -> None:
    """Refuse parts that declare a DOCTYPE (checked on their first 4 KB, where it must stand)."""
    names = set(z.namelist())
    for member in members:
        if member in names:
            with z.open(member) as f:
                if _DOCTYPE.search(f.read(4096)):
                    raise WorkbookError(f"工作簿“{Path(z.filename or '').name}”已损坏或不安全（{member} 含 DOCTYPE"
                                        f"/ENTITY 声明），程序拒绝读取；请从 备份 文件夹恢复")


def sheet_parts(z: zipfile.ZipFile) -> list[dict]:
    """Worksheets of the package in workbook order: dicts name, sheetId, rid, part, state."""
    wb = package_xml(z, "xl/workbook.xml")
    rels = {}
    try:
        rel_root = package_xml(z, "xl/_rels/workbook.xml.rels")
        for rel in rel_root.iter(f"{{{NS_PKG_REL}}}Relationship"):
            rels[rel.get("Id")] = (rel.get("Target", ""), rel.get("Type", ""), rel.get("TargetMode"))
    except KeyError:
        pass
    out = []
    for sh in wb.iter(f"{{{NS_MAIN}}}sheet"):
        rid = sh.get(f"{{{NS_REL_DOC}}}id")
        target, typ, mode = rels.get(rid, ("", "", None))
        part = _resolve_target("xl", target) if target and mode != "External" else None
        out.append({
            "name": sh.get("name"),
            "sheetId": sh.get("sheetId"),
            "rid": rid,
            "part": part,
            "type": typ,
            "state": sh.get("state", "visible"),
        })
    return out


def _shared_strings_part(z: zipfile.ZipFile) -> str | None:
    """The package's sharedStrings part (None when it has none); one declaring a DOCTYPE is refused."""
    part = None
    try:
        rel_root = package_xml(z, "xl/_rels/workbook.xml.rels")
        for rel in rel_root.iter(f"{{{NS_PKG_REL}}}Relationship"):
            if rel.get("Type", "").endswith("/sharedStrings"):
                part = _resolve_target("xl", rel.get("Target", ""))
    except KeyError:
        pass
    part = part or "xl/sharedStrings.xml"
    if part not in z.namelist():
        return None
    with z.open(part) as f:
        if _DOCTYPE.search(f.read(4096)):
            raise WorkbookError(f"工作簿“{Path(z.filename or '').name}”已损坏或不安全（{part} 含 DOCTYPE/ENTITY 声明），"
                                f"程序拒绝读取；请从 备份 文件夹恢复")
    return part


def shared_strings(z: zipfile.ZipFile, upto: int | None = None) -> list[str]:
    """Shared strings (rich text runs joined); at least up to index ``upto`` if given (the XML
    parser stops there, the fast reader of a plainly written table gives it whole)."""
    part = _shared_strings_part(z)
    if part is None:
        return []
    fast = _plain_shared_strings(z.read(part))
    if fast is not None:
        return fast
    out: list[str] = []
    si_tag, t_tag, rph_tag = f"{{{NS_MAIN}}}si", f"{{{NS_MAIN}}}t", f"{{{NS_MAIN}}}rPh"
    with z.open(part) as f:
        for _event, elem in ET.iterparse(f, events=("end",)):
            if elem.tag == si_tag:
                # phonetic runs (rPh) are annotations, not part of the text
                texts = []
                for child in elem.iter():
                    if child.tag == rph_tag:
                        for t in child.iter(t_tag):
                            t.text = None
                for t in elem.iter(t_tag):
                    texts.append(t.text or "")
                out.append("".join(texts))
                elem.clear()
                if upto is not None and len(out) > upto:
                    break
    return out


_SI_EITHER = re.compile(rb'<si>(?:<t(?: xml:space="preserve")?>([^<]*)</t>|(.*?))</si>', re.S)
_SI_TEXT = re.compile(rb"<t(?:\s[^>]*)?>([^<]*)</t>|<t(?:\s[^>]*)?/>")
_XML_REFS = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED_REFS = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _xml_ref(m) -> str:
    ref = m.group(1)
    if ref[0] != "#":
        return _NAMED_REFS[ref]
    return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))


_PLAIN_SST_ROOT = re.compile(rb"<sst\s[^>]*xmlns=\"" + re.escape(NS_MAIN.encode()) + rb"\"")


def _plain_table(data: bytes) -> bool:
    """Is this sharedStrings.xml written plainly enough for the regular-expression readers?"""
    return bool(_PLAIN_SST_ROOT.search(data, 0, 4096)) and not (
        b"<rPh" in data or b"<!" in data[100:] or b"\r" in data or b"<si " in data or b"<si/>" in data)


def _unescaped(text: str) -> str | None:
    """XML character references resolved; None for an '&' that is no reference (not well-formed:
    the XML parser is left to say so)."""
    if "&" not in text:
        return text
    if "&" in _XML_REFS.sub("", text):
        return None
    return _XML_REFS.sub(_xml_ref, text)


def _item_text(inside: bytes) -> str | None:
    """The text of one ``<si>`` item's inside (its runs joined), or None as :func:`_unescaped`."""
    return _unescaped(b"".join(_SI_TEXT.findall(inside)).decode("utf-8"))


def _plain_shared_strings(data: bytes) -> list[str] | None:
    """sharedStrings.xml as Excel, WPS and LibreOffice write it, read by two regular expressions
    (about three times faster than the XML parser); None for anything else (a namespace prefix,
    phonetic runs, CDATA, a carriage return the XML parser would fold, a stray '&'), which the
    XML parser then reads."""
    if not _plain_table(data):
        return None
    # each item is one plain run (its text in the first group) or anything else, e.g. rich text
    # runs LibreOffice writes for mixed scripts (its whole inside in the second)
    items = _SI_EITHER.findall(data)
    if len(items) != data.count(b"<si>"):
        return None
    out = list(map(bytes.decode, map(operator.itemgetter(0), items)))
    for i, (_plain, rich) in enumerate(items):
        text = _item_text(rich) if rich else _unescaped(out[i])
        if text is None:
            return None
        out[i] = text
    return out


class SharedStringLookup:
    """A few shared strings by index without reading the whole table (a header row's cells).

    Finds the asked-for items of a plainly written sharedStrings.xml by searching for their
    ``<si>`` (at C speed, from the nearer end: a sheet's header texts are often the table's last
    items) and reads only those; indexing and ``len`` behave as on the list :func:`shared_strings`
    gives.
    """

    @classmethod
    def of(cls, z: zipfile.ZipFile) -> "SharedStringLookup | list[str]":
        """The lookup, or the full list where the table is not plainly written."""
        part = _shared_strings_part(z)
        if part is None:
            return []
        data = z.read(part)
        # what would shift the items' numbering (an item written <si …> or <si/>, a comment or CDATA)
        # is looked for in the whole table; phonetic runs and carriage returns in the items read
        count = data.count(b"<si>")
        if (not _PLAIN_SST_ROOT.search(data, 0, 4096) or not count or data.count(b"<si") != count
                or data.count(b"</si>") != count or data.find(b"<!", 100) >= 0):
            return shared_strings(z)
        return cls(data, count, z)

    def __init__(self, data: bytes, count: int, z: zipfile.ZipFile):
        self._data, self._count, self._z = data, count, z
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return self._count

    def _item(self, index: int) -> bytes:
        data, n = self._data, self._count
        if not 0 <= index < n:
            raise IndexError(index)
        if index < n // 2:
            pos = -1
            for _ in range(index + 1):
                pos = data.find(b"<si>", pos + 1)
        else:
            pos = len(data)
            for _ in range(n - index):
                pos = data.rfind(b"<si>", 0, pos)
        end = data.find(b"</si>", pos)
        return data[pos + 4:end if end >= 0 else len(data)]

    def __getitem__(self, index: int) -> str:
        if index < 0:
            index += self._count
        if index not in self._texts:
            item = self._item(index)
            if b"<rPh" in item or b"\r" in item or b"<si>" in item:  # not plain (see _plain_table)
                return shared_strings(self._z)[index]  # the XML parser reads it
            text = _item_text(item)
            if text is None:
                return shared_strings(self._z)[index]  # not well-formed: the XML parser says so
            self._texts[index] = text
        return self._texts[index]


def normalise_header(value) -> str:
    """Header cell → text: str().strip(), full-width spaces → normal, '' when blank.

    A number header (``2024.0``) is written without a spurious ``.0``.
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u3000", " ").replace("\xa0", " ")
    return unicodedata.normalize("NFC", text).strip()


# --------------------------------------------------------------------------- uncached formulas

_CELL_RE = re.compile(
    rb"<(?:\w+:)?(row|c)\b([^>]*?)(/>|>)", re.S)
_ATTR_R = re.compile(rb'\br="([A-Z]+)?(\d+)"')
_ATTR_T = re.compile(rb'\bt="(\w+)"')
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_HAS_F = re.compile(rb"<(?:\w+:)?f[\s/>]")
_V_RE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?>([^<]*)</(?:\w+:)?v>|<(?:\w+:)?v\s*/>")


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


_F_PREFIXED = re.compile(rb"<\w+:f[\s/>]")
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+\d+:[A-Z]+\d+)"')
_ROW_NO = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_CELL_COL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)\d')
_ERROR_T = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bt="e"')
# A sheet whose used range holds more cells than this is not read (calamine would allocate
# the whole rectangle: one value in XFD1048576 asks for 549,755,813,888 bytes).  The 20,000-unit
# estate's 应收 (12 quarters, 648,000 rows × 10 columns) is 6.5 million cells; Excel's last row
# with 16 columns is 16.8 million.
MAX_USED_CELLS = 20_000_000
# No input sheet has more than a few dozen columns: a value beyond column 1024 (AMJ) is a stray
# keystroke far to the right (XFD2), whatever the number of rows — the same answer on every size.
MAX_USED_COLUMNS = 1024


def _absurd(rows: int, cols: int) -> bool:
    return rows * max(cols, 1) > MAX_USED_CELLS or cols > MAX_USED_COLUMNS


@dataclass
class SheetScan:
    has_formulas: bool = False
    has_errors: bool = False
    merges: list = field(default_factory=list)
    max_row: int = 0  # highest <row r=…> (also rows without values)
    max_col: int = 0  # widest column letter seen on any cell (1-based)
    a1_value: bool = False  # A1 holds something: the sheet's data range starts at A1


def _letters_value(letters: bytes) -> int:
    return _col_index(letters) + 1


_PLAIN_ROOT = re.compile(rb"<worksheet[\s>]")
_A1_VALUE = re.compile(rb'<c r="A1"(?:\s[^>]*)?(?<!/)>(?!</c>)')  # A1 neither self-closing nor empty
_F_PLAIN = re.compile(rb"<f[\s/>]")
_SCAN_CHUNK = 4 << 20


_TAIL = 256  # each window repeats the end of the one before: an element cut by a chunk boundary is whole in the next

# Anything a plain sheet's window may hold that asks for a closer look (RE2 syntax: no lookahead):
# a row or cell not written ``<row r="…"`` / ``<c r="…"``, a 7-digit row, a column of two letters or
# more (:data:`_ROW_ODD`, :data:`_CELL_ODD`), a formula (:data:`_F_PLAIN`), an error value, a merged range.
_ODD_PLAIN = (r'<row (?:[^r]|r[^=]|r=[^"]|r="\d{7})|<c (?:[^r]|r[^=]|r=[^"]|r="[A-Z]{2})'
              r'|<f[ \t\n\r\f\x0b/>]|t="e"|mergeCell')


def _odd_search():
    """A function window → does :data:`_ODD_PLAIN` match in it, run by Arrow's RE2 without the GIL
    (pyarrow is there for fastexcel); None if pyarrow cannot be imported (the searches here do it all)."""
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
    except Exception:  # noqa: BLE001
        return None

    def odd(window: bytes) -> bool:
        offsets = pa.py_buffer(np.array([0, len(window)], dtype=np.int64))
        texts = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(window)])
        return bool(pc.match_substring_regex(texts, _ODD_PLAIN)[0].as_py())
    return odd


def _windows(z: zipfile.ZipFile, part: str, package: bytes | None = None):
    """The part's bytes as windows ``(data, overlap, odd)``: each window is the next chunk after the
    last :data:`_TAIL` bytes of the window before (``overlap`` of them), the next window inflated
    in a thread (zlib releases the GIL) while the caller searches this one.

    With ``package`` (the file's bytes, when the caller holds them) a deflated part is inflated
    straight from them, a megabyte of compressed data per zlib call, so that the thread holds no
    GIL for the whole call (``ZipFile.open`` takes it back every few kilobytes, and waits for it
    while the caller searches); the CRC is checked as zipfile checks it.  The thread then also
    says whether the window holds anything of :data:`_ODD_PLAIN` (``odd``; None when not known):
    a window of a plain sheet that holds none needs no search of the caller's.
    """
    deflated = _deflated_data(z, part, package) if package is not None else None
    if deflated is None:
        tail = b""
        with z.open(part) as f, ThreadPoolExecutor(max_workers=1, thread_name_prefix="inflate") as ahead:
            coming = ahead.submit(f.read, _SCAN_CHUNK)
            while True:
                chunk = coming.result()
                if not chunk:
                    return
                coming = ahead.submit(f.read, _SCAN_CHUNK)
                data = tail + chunk if tail else chunk
                yield data, len(tail), None
                tail = data[-_TAIL:]
    data, crc = deflated
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    step = _SCAN_CHUNK // 4  # compressed bytes per call (sheet XML deflates about 10:1)
    odd = _odd_search()
    state = {"crc": 0, "tail": b""}

    def inflate(start: int):
        piece = data[start:start + step]
        out = inflater.decompress(piece) if piece else inflater.flush()
        state["crc"] = zlib.crc32(out, state["crc"])
        if not out:
            return None
        tail = state["tail"]
        window = tail + out if tail else out
        state["tail"] = window[-_TAIL:]
        return window, len(tail)

    # a pipeline: one thread inflates window k+2 while another checks window k+1 and the caller
    # searches window k (three windows of about 13 MB at most)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inflate") as ahead, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="check") as checker:
        start = 0
        coming = ahead.submit(inflate, start)
        pending: list = []  # (window, overlap, its check) in order
        while coming is not None or pending:
            if coming is not None:
                got = coming.result()
                start += step
                coming = ahead.submit(inflate, start) if start < len(data) + step else None
                if got is not None:
                    pending.append((*got, checker.submit(odd, got[0]) if odd is not None else None))
                if coming is not None and len(pending) < 2:
                    continue
            if pending:
                window, overlap, check = pending.pop(0)
                yield window, overlap, (check.result() if check is not None else None)
    if state["crc"] != crc or not inflater.eof:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {part!r}")


def _deflated_data(z: zipfile.ZipFile, part: str, package: bytes):
    """(a view of the part's deflated bytes in ``package``, its CRC), or None when it is stored
    otherwise (not deflated, encrypted, a local header that does not add up): zipfile reads those."""
    info = z.getinfo(part)
    offset = info.header_offset
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1 or len(package) < offset + 30:
        return None
    header = package[offset:offset + 30]
    if header[:4] != b"PK\x03\x04":
        return None
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = offset + 30 + name_length + extra_length
    if start + info.compress_size > len(package):
        return None
    return memoryview(package)[start:start + info.compress_size], info.CRC


def _scan_sheet(z: zipfile.ZipFile, part: str, package: bytes | None = None) -> SheetScan:
    """One streaming pass over the sheet XML: rough extent, formulas, error values, merged ranges.

    A sheet whose root element carries no namespace prefix (Excel, WPS, LibreOffice and
    openpyxl all write ``<worksheet xmlns=…>``) is checked with the few C-speed searches that
    such a file needs; a prefixed one (``<x:worksheet>``) with the general expressions.
    """
    scan = SheetScan()
    first = True
    plain = False
    for data, overlap, odd in _windows(z, part, package):
        if first:
            first = False
            head = data[:4096]
            if _DOCTYPE.search(head):
                raise WorkbookError(f"工作簿“{Path(z.filename or '').name}”已损坏或不安全（{part} 含 DOCTYPE"
                                    f"/ENTITY 声明），程序拒绝读取；请从 备份 文件夹恢复")
            plain = bool(_PLAIN_ROOT.search(head)) and b":worksheet" not in head
            scan.a1_value = plain and _A1_VALUE.search(data, 0, 1 << 16) is not None
        if plain and odd is False:  # nothing odd in it (see _ODD_PLAIN): the last row, one-letter columns
            last = data.rfind(b'<row r="')
            m = _ROW_FAST.match(data, last) if last >= 0 else None
            scan.max_row = max(scan.max_row, int(m.group(1)) if m else 0)
            scan.max_col = max(scan.max_col, 26 if b'<c r="' in data else 0)
            continue
        max_row, max_col = _rough_extent(data, plain)
        scan.max_row = max(scan.max_row, max_row)
        scan.max_col = max(scan.max_col, max_col)
        if not scan.has_formulas:
            if plain:
                scan.has_formulas = bool(_F_PLAIN.search(data))
            else:
                scan.has_formulas = (b"<f>" in data or b"<f " in data or b"<f/>" in data
                                     or (b":f" in data and _F_PREFIXED.search(data) is not None))
        if not scan.has_errors and b't="e"' in data and _ERROR_T.search(data):
            scan.has_errors = True
        if b"mergeCell" in data:
            # a range split across chunks is found whole in the next window (tail overlap)
            for m in _MERGE_RE.finditer(data):
                if m.end() > overlap:
                    scan.merges.append(m.group(1).decode())
    return scan


_ROW_FAST = re.compile(rb'<row r="(\d+)"')
_ROW_BIG = re.compile(rb'<row r="(\d{7,})"')
_ROW_OTHER = re.compile(rb'<row (?!r=")')  # a row element whose first attribute is not r
_CELL_OTHER = re.compile(rb'<c (?!r=")')
_COL_FAST = re.compile(rb'<c r="([A-Z]+)')
_COL_LONG = re.compile(rb'<c r="[A-Z]{3}')
_COL_TWO = re.compile(rb'<c r="([A-Z]{2})\d')


# one search each for rows and cells written otherwise than ``<row r="…"`` / ``<c r="A1"``, or
# reaching far (a 7-digit row, a column of two letters or more)
_ROW_ODD = re.compile(rb'<row (?:(?!r=")|r="\d{7})')
_CELL_ODD = re.compile(rb'<c (?:(?!r=")|r="[A-Z]{2})')


def _plain_extent(data: bytes) -> tuple[int, int]:
    """:func:`_rough_extent` of a sheet without namespace prefixes, in two searches and an rfind.

    (A ``<row>`` or ``<c>`` without attributes follows the one before it, so it cannot reach far.)
    """
    if _ROW_ODD.search(data):
        rows = _ROW_NO.findall(data)
        max_row = max(map(int, rows)) if rows else 0
    else:  # rows are written in ascending order: the last one is the highest
        last = data.rfind(b'<row r="')
        m = _ROW_FAST.match(data, last) if last >= 0 else None
        max_row = int(m.group(1)) if m else 0
    if _CELL_ODD.search(data):
        cols = set(_CELL_COL.findall(data))
        max_col = _letters_value(max(cols, key=lambda c: (len(c), c))) if cols else 0
    else:  # single-letter columns only: at most Z; an extent that looks absurd with that bound is
        # measured exactly by used_extent before anything is refused
        max_col = 26 if b'<c r="' in data else 0
    return max_row, max_col


def _rough_extent(data: bytes, plain: bool = False) -> tuple[int, int]:
    """Highest row number and widest column (1-based) named by any row/cell element in ``data``.

    Excel and openpyxl write ``r`` first (``<row r="5"``, ``<c r="B5"``): those are found by a
    literal-prefix regex at C speed.  When some element is written otherwise (other attribute
    order, a namespace prefix), the slower general expressions are used for this chunk.
    """
    if plain:
        return _plain_extent(data)
    if b":row" in data or b"<row>" in data or _ROW_OTHER.search(data):
        rows = _ROW_NO.findall(data)
        max_row = max(map(int, rows)) if rows else 0
    else:
        # rows are written in ascending order: the last one is the highest; a 7-digit row number
        # anywhere (out of order) is caught on its own
        last = data.rfind(b'<row r="')
        m = _ROW_FAST.match(data, last) if last >= 0 else None
        max_row = int(m.group(1)) if m else 0
        big = _ROW_BIG.findall(data)
        if big:
            max_row = max(max_row, *map(int, big))
    if b":c " in data or b"<c>" in data or _CELL_OTHER.search(data):
        cols = set(_CELL_COL.findall(data))
        max_col = _letters_value(max(cols, key=lambda c: (len(c), c))) if cols else 0
    elif _COL_LONG.search(data):  # a column of three or more letters (AAA = 703 on): read them all
        cols = set(_COL_FAST.findall(data))
        max_col = _letters_value(max(cols, key=lambda c: (len(c), c))) if cols else 0
    elif _COL_TWO.search(data):
        max_col = _letters_value(max(set(_COL_TWO.findall(data))))
    else:  # single-letter columns only: at most Z; an extent that looks absurd with that bound is
        # measured exactly by used_extent before anything is refused
        max_col = 26 if b'<c r="' in data else 0
    return max_row, max_col


_VALUE_CELL = re.compile(
    rb'<(?:\w+:)?c\b([^>]*?)\br="([A-Z]+)(\d+)"([^>]*?)(/?)>')


def used_extent(z: zipfile.ZipFile, part: str) -> tuple[int, int, str, str]:
    """(rows, columns, farthest-down cell, farthest-right cell) of the cells that hold something.

    Only run when the rough extent looks absurd: an empty styled cell far away
    costs nothing, one holding a value makes calamine allocate the rectangle.
    """
    max_row = max_col = 0
    down = right = ""
    xml = z.read(part)
    for m in _VALUE_CELL.finditer(xml):
        if m.group(5) == b"/":
            continue  # <c r="…" s="3"/>: formatting only, no value
        if xml.startswith(b"</c>", m.end()) or re.match(rb"</(?:\w+:)?c>", xml[m.end():m.end() + 8]):
            continue  # <c …></c>: nothing inside
        row, col = int(m.group(3)), _letters_value(m.group(2))
        if row > max_row:
            max_row, down = row, f"{m.group(2).decode()}{row}"
        if col > max_col:
            max_col, right = col, f"{m.group(2).decode()}{row}"
    return max_row, max_col, down, right


def formula_and_error_cells(xml: bytes) -> tuple[set[tuple[int, int]], dict[tuple[int, int], str]]:
    """(cells whose formula has no cached value, cells holding an error value like ``#REF!``).

    "No cached value" = no ``<v>`` element, or an empty ``<v>`` on a non-string
    cell (``t="str"`` with an empty ``<v>`` is a cached empty text result).
    An error cell has ``t="e"`` (calamine reads it as a blank, which would
    silently turn ``#REF!`` into a default).  Cells without an ``r`` attribute
    are numbered by position.
    """
    found: set[tuple[int, int]] = set()
    errors: dict[tuple[int, int], str] = {}
    row_no, col_no = 0, -1
    pos = 0
    while True:
        m = _CELL_RE.search(xml, pos)
        if not m:
            break
        tag, attrs, close = m.group(1), m.group(2), m.group(3)
        pos = m.end()
        r = _ATTR_R.search(attrs)
        if tag == b"row":
            row_no = int(r.group(2)) if r else row_no + 1
            col_no = -1
            continue
        col_no = _col_index(r.group(1)) if (r and r.group(1)) else col_no + 1
        if close == b"/>":
            continue
        end = _CELL_END.search(xml, pos)
        if not end:
            break
        inner = xml[pos:end.start()]
        pos = end.end()
        t = _ATTR_T.search(attrs)
        cell_type = t.group(1) if t else b"n"
        v = _V_RE.search(inner)
        if cell_type == b"e":
            text = (v.group(1) or b"").decode("utf-8", "replace").strip() if v else ""
            errors[(row_no, col_no)] = text or "#错误"
            continue
        if not _HAS_F.search(inner):
            continue
        if v is None or (not (v.group(1) or b"").strip() and cell_type != b"str"):
            found.add((row_no, col_no))
    return found, errors


# --------------------------------------------------------------------------- read


_INT_LIMIT = 2.0**53


def _clean_value(v):
    if v == "" or v is None:
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v


def read_workbook(path, sheets: Iterable[str] | None = None, clean: bool = True,
                  on_sheet: Callable[[str, RawSheet], None] | None = None,
                  package: bytes | None = None, columnar: dict | None = None) -> dict[str, RawSheet]:
    """Read the values of every worksheet (or of the named ones that exist).

    Returns ``{sheet name: RawSheet}`` in workbook order.  Raises
    :class:`WorkbookError` (Chinese message) when the file is not a readable .xlsx.

    ``clean=False`` skips the per-cell clean-up and leaves values as calamine
    gives them (``""`` for a blank cell, whole numbers as ``float``, blank cells
    right of the last header kept) — the parser accepts both, and on a large
    ledger this saves a pass over every cell.

    ``on_sheet(name, sheet)`` is called for each sheet as soon as it is read, while
    calamine goes on loading the next one in its thread: the caller's work on a sheet
    (parsing it) overlaps the reading of the others.  ``package``: the file's bytes, when the
    caller has read them already (one snapshot for everything it does with the file).
    ``columnar``: sheet → headers whose cells the parser reads as dates; such sheets come back with
    their data a column at a time (:attr:`RawSheet.columns`) when they are plainly written (see
    :func:`_read_sheets`), their ``rows`` made only if asked for (:meth:`RawSheet.data_rows`).
    """
    import python_calamine as pc

    path = check_xlsx_file(path)
    wanted = None if sheets is None else set(sheets)
    try:
        # one snapshot of the file for the package checks and both calamine readers
        package = path.read_bytes() if package is None else package
        with zipfile.ZipFile(io.BytesIO(package)) as z:
            parts = {p["name"]: p for p in sheet_parts(z)}
            _refuse_doctype(z, ("xl/sharedStrings.xml", "xl/styles.xml"))
            return _read_sheets(z, package, parts, wanted, pc, clean, on_sheet, columnar)
    except WorkbookError:
        raise
    except (zipfile.BadZipFile, ET.ParseError, EOFError, OSError) as e:
        raise WorkbookError(f"工作簿“{path.name}”已损坏，无法读取（{e}），请从 备份 文件夹恢复") from None
    except Exception as e:  # calamine's own errors (XmlError, ZipError, PasswordError…)
        if type(e).__module__.startswith("python_calamine"):
            raise WorkbookError(f"工作簿“{path.name}”无法读取（{type(e).__name__}: {e}），文件可能已损坏") from None
        raise


def _read_sheets(z, package: bytes, parts: dict, wanted, pc, clean: bool, on_sheet,
                 columnar: dict | None = None) -> dict[str, RawSheet]:
    """Every wanted worksheet, calamine loading in two threads while this one scans.

    calamine opens a workbook and parses a sheet without holding the GIL.  One worker opens
    a calamine reader while this thread scans the largest sheet (应收), then loads that sheet;
    a second worker, with a reader of its own, loads the others as this thread scans them (a
    sheet's extent must be known before calamine may touch it).  This thread then turns the
    loaded grids into RawSheets, the small ones first.

    ``columnar``: sheet → the headers whose cells may be dates (the parser reads them as dates);
    such a sheet is read by fastexcel (calamine again, into Arrow columns: no Python object per
    cell) when it is plainly written — A1 holds its first header, no error values, one type per
    column — and by calamine as any other when not (:func:`_columns_sheet` says which).
    """
    names = set(z.namelist())
    sizes = {i.filename: i.file_size for i in z.infolist()}
    columnar = columnar or {}
    books: dict = {}  # (slot, kind) → reader; slot 0 is used by the first worker only, slot 1 by the second

    def book(slot: int):
        if (slot, "calamine") not in books:
            books[(slot, "calamine")] = pc.CalamineWorkbook.from_filelike(io.BytesIO(package))
        return books[(slot, "calamine")]

    def fast_book(slot: int):
        if (slot, "fastexcel") not in books:
            import fastexcel

            # its notes on the types it guesses (a blank column read as text) are ours to judge, not the console's
            logging.getLogger("fastexcel").setLevel(logging.ERROR)
            books[(slot, "fastexcel")] = fastexcel.read_excel(package)
        return books[(slot, "fastexcel")]

    def load(name: str, slot: int, dates):
        if dates is None:
            return book(slot).get_sheet_by_name(name)
        try:
            table = fast_book(slot).load_sheet(name, header_row=0, dtype_coercion="strict",
                                               schema_sample_rows=None).to_arrow()
        except BaseException as exc:  # noqa: BLE001 — two types in one column, a type it cannot take, even
            # a Rust panic (pyo3's PanicException is a BaseException): calamine reads the sheet instead
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            table = None
        return _ArrowLoad(table, dates)

    result: dict[str, RawSheet] = {}
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="calamine") as big, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="calamine-2") as small:
            workers = (big, small)
            # the largest sheet part, from the package (calamine's list of worksheets confirms it)
            candidates = [p for p in parts.values() if p.get("part") in names and p["type"].endswith("/worksheet")
                          and (wanted is None or p["name"] in wanted)]
            guess = max(candidates, key=lambda p: sizes[p["part"]], default=None)
            if guess is not None and guess["name"] in columnar:
                big.submit(fast_book, 0)  # opened while this thread scans it
                opening = small.submit(book, 1)
                small.submit(fast_book, 1)
            else:
                opening = big.submit(book, 0)
                small.submit(book, 1)  # ready by the time the first small sheet is scanned
            early = {guess["name"]: _scan_sheet(z, guess["part"], package)} if guess is not None else {}
            metas = [m for m in opening.result().sheets_metadata if m.typ == pc.SheetTypeEnum.WorkSheet
                     and (wanted is None or m.name in wanted)]
            part_of = {m.name: (parts.get(m.name) or {}).get("part") for m in metas}
            part_of = {name: (part if part in names else None) for name, part in part_of.items()}
            largest = max(metas, key=lambda m: sizes.get(part_of[m.name] or "", 0), default=None)
            order = ([largest] if largest is not None else []) + [m for m in metas if m is not largest]
            started = {}
            for meta in order:
                part = part_of[meta.name]
                scan = early.pop(meta.name) if meta.name in early and part else (
                    _scan_sheet(z, part, package) if part else None)
                refused = _refused_sheet(z, meta, part, pc, scan) if scan is not None else None
                loading = None
                slot = 0 if meta is largest else 1
                if refused is None:
                    dates = (columnar[meta.name] if meta.name in columnar and scan is not None and scan.a1_value
                             and not scan.has_errors else None)
                    loading = workers[slot].submit(load, meta.name, slot, dates)
                started[meta.name] = (meta, part, scan, refused, loading, slot)
            # each sheet as soon as it is loaded (the small ones, then the largest, when they finish so):
            # this thread turns one into a RawSheet (and the caller parses it) while the others load
            waiting = [m.name for m in order[1:]] + [m.name for m in order[:1]]
            while waiting:
                name = next((n for n in waiting if started[n][4] is None or started[n][4].done()), None)
                if name is None:
                    wait([started[n][4] for n in waiting], return_when=FIRST_COMPLETED)
                    continue
                waiting.remove(name)
                meta, part, scan, refused, loading, slot = started[name]
                if refused is not None:
                    result[name] = refused
                else:
                    loaded = loading.result()
                    sheet = None
                    if isinstance(loaded, _ArrowLoad):
                        sheet = _columns_sheet(z, loaded, meta, part, scan, pc)
                        if sheet is None:  # not plain columns: calamine reads it, as every other sheet
                            loaded = workers[slot].submit(load, name, slot, None).result()
                    result[name] = sheet if sheet is not None else _read_sheet(z, loaded, meta, part, scan, pc, clean)
                if on_sheet is not None:
                    on_sheet(name, result[name])
    finally:  # both workers have stopped (the with-block waits for them)
        for (_slot, kind), reader in books.items():
            if kind == "calamine":
                reader.close()
    return {m.name: result[m.name] for m in metas}  # workbook order


@dataclass
class _ArrowLoad:
    table: object  # the Arrow record batch fastexcel read, or None when it could not
    dates: frozenset  # headers whose cells may be dates


_RENAMED = re.compile(r"(.+)_\d+")  # fastexcel's name for a repeated header: 金额_1
# fastexcel's column types that hold the values calamine gives (a date-formatted cell: a datetime)
_PLAIN_TYPES = ("string", "double", "int64", "null")
_DATE_TYPES = ("timestamp[ms]", "timestamp[us]", "timestamp[ns]", "timestamp[s]", "date32[day]", "date64[ms]")


def _columns_sheet(z, loaded: _ArrowLoad, meta, part, scan: "SheetScan", pc) -> RawSheet | None:
    """fastexcel's columns of a sheet → RawSheet with :attr:`RawSheet.columns`, or None where calamine
    must read it: a header cell blank, not text, or repeated (fastexcel names those ``__UNNAMED__n``,
    ``金额_1``), a value right of the headers, a column of another type, or dates where no date is read.
    """
    table = loaded.table
    if table is None:
        return None
    headers = [normalise_header(n) for n in table.column_names]
    if (any(not h or h != n or h.startswith("__UNNAMED__") for h, n in zip(headers, table.column_names))
            or len(set(headers)) != len(headers)
            or any(m and m.group(1) in headers for m in map(_RENAMED.fullmatch, headers))):
        return None  # fastexcel names a blank header __UNNAMED__n and a repeated one 金额_1
    for header, column in zip(headers, table.columns):
        kind = str(column.type)
        if kind not in _PLAIN_TYPES and not (kind in _DATE_TYPES and header in loaded.dates):
            return None
    if hasattr(table, "combine_chunks"):  # a Table (to_arrow gives a RecordBatch: one chunk)
        table = table.combine_chunks()
    # a row is blank when every cell is blank (null, or text of length 0), as calamine's rows are read
    blank = None
    for column in table.columns:
        empty = blank_cells(column)
        blank = empty if blank is None else blank & empty
    keep = None if blank is None or not blank.any() else (~blank).tolist()
    row_numbers = [i + 2 for i in range(table.num_rows) if keep is None or keep[i]]
    uncached, errors, merged = _scan_findings(z, part, scan)
    hidden = meta.visible != pc.SheetVisibleEnum.Visible
    return RawSheet(name=meta.name, headers=headers, rows=[], hidden=hidden, uncached_formulas=uncached,
                    merged=merged, error_cells=errors, columns=ColumnData(table, row_numbers, keep))


def _scan_findings(z, part, scan: "SheetScan | None") -> tuple[set, dict, list]:
    """(uncached formula cells, error cells, merged ranges) of a sheet, from its scan: the XML is
    read again for its cells only when the scan found a formula or an error value."""
    if scan is None:
        return set(), {}, []
    if scan.has_formulas or scan.has_errors:
        uncached, errors = formula_and_error_cells(z.read(part))
        return uncached, errors, scan.merges
    return set(), {}, scan.merges


def _refused_sheet(z, meta, part: str, pc, scan: "SheetScan") -> RawSheet | None:
    """A sheet whose used range is absurd → a RawSheet that says so (never handed to calamine)."""
    if not _absurd(scan.max_row, scan.max_col):
        return None
    rows, cols, down, right = used_extent(z, part)
    if not _absurd(rows, cols):
        return None  # the far cells hold no value: calamine skips them
    wide = cols > MAX_USED_COLUMNS and right
    far = "、".join(dict.fromkeys(c for c in ((right if wide else ""), (down if not wide or rows > 20_000 else "")) if c))
    hidden = meta.visible != pc.SheetVisibleEnum.Visible
    message = (f"工作表“{meta.name}”的 {far} 有内容，已用区域达到 A1:{column_letter(cols - 1)}{rows}"
               f"（{rows:,} 行 × {cols:,} 列），超出可读取的范围，整张表未读取；"
               f"请删除远处的单元格（或选中多余的行列后“删除”）并保存")
    return RawSheet(name=meta.name, headers=[], rows=[], hidden=hidden,
                    refused=message, refused_cell=(right or down))


def _read_sheet(z, sheet, meta, part, scan: "SheetScan | None", pc, clean: bool = True) -> RawSheet:
    """A sheet calamine has loaded (``sheet``) → RawSheet, with what the XML scan found."""
    # skip_empty_area=False pads from A1, so list positions are true columns/rows
    grid = sheet.to_python(skip_empty_area=False)
    headers = [normalise_header(_clean_value(v)) for v in grid[0]] if grid else []
    width = len(headers)
    while width and headers[width - 1] == "":
        width -= 1
    blank_row = [""] * len(grid[0]) if grid else []
    # C-speed tests for an empty row (calamine pads every row to the sheet's width)
    data_rows = [(i, values) for i, values in enumerate(grid[1:], start=2)
                 if values != blank_row and values.count("") != len(values)]
    # a value right of the last header widens the sheet (to its farthest value)
    grid_width = max(map(len, map(operator.itemgetter(1), data_rows)), default=0)
    for col in range(grid_width - 1, width - 1, -1):
        column = [v[col] if col < len(v) else "" for _i, v in data_rows]
        if column.count("") + column.count(None) != len(column):
            width = col + 1
            break
    if clean:
        # _clean_value inlined: this sees every cell of the sheet
        data_rows = [(i, [None if v == "" else (int(v) if v.__class__ is float and v.is_integer()
                                                 and -_INT_LIMIT < v < _INT_LIMIT else v) for v in values])
                     for i, values in data_rows]
    headers = headers[:width] + [""] * (width - len(headers))
    if clean:
        rows = [(i, vals if len(vals) == width else vals[:width] + [None] * (width - len(vals)))
                for i, vals in data_rows]
    else:  # for the parser: blank cells right of the last header may stay, short rows are padded
        rows = [(i, vals if len(vals) >= width else vals + [""] * (width - len(vals))) for i, vals in data_rows]

    uncached, errors, merged = _scan_findings(z, part, scan)
    hidden = meta.visible != pc.SheetVisibleEnum.Visible
    return RawSheet(name=meta.name, headers=headers, rows=rows, hidden=hidden,
                    uncached_formulas=uncached, merged=merged, error_cells=errors)

"""The .xlsx package rewrite: copy untouched members byte for byte, rewrite or append the changed sheets."""
from __future__ import annotations

import re
import shutil
import struct
import time
import zipfile
from pathlib import Path

from ..ledger import schema
from .append import append_xml, append_xml_fast
from .reader import (
    NS_REL_DOC,
    WorkbookError,
    normalise_header,
    SharedStringLookup,
    sheet_parts,
)
from .sheet_xml import SheetOutput, sheet_xml, xml_text
from .styles import _Styles, _styles_part

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
REL_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
REL_STYLES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
REL_CALCCHAIN = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"




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
    pos = _after_last(xml, p, ("sheets", "functionGroups", "externalReferences", "definedNames"))
    if pos < 0:
        return xml
    return xml[:pos] + f'<{p}calcPr fullCalcOnLoad="1"/>' + xml[pos:]


def _after_last(xml: str, p: str, tags) -> int:
    """workbook.xml: the position just after the last of these elements' closing tags (-1: none there),
    where an element the schema orders after them goes."""
    pos = -1
    for tag in tags:
        j = xml.find(f"</{p}{tag}>")
        if j >= 0:
            pos = max(pos, j + len(f"</{p}{tag}>"))
    return pos


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _workbook_print_names(xml: str, outs: list[SheetOutput]) -> str:
    """Print titles (the header row on every page) of each written sheet: ``_xlnm.Print_Titles``
    defined names local to the sheet, added once (later saves leave workbook.xml as it is)."""
    m = re.search(r"<(\w+:)?workbook\b", xml)
    p = (m.group(1) or "") if m else ""
    order = [xml_text_unescape(n) for n in re.findall(rf'<{p}sheet\b[^>]*?\bname="([^"]*)"', xml)]
    adds = []
    for out in outs:
        if out.name not in order or not out.headers:
            continue
        idx = order.index(out.name)
        q = xml_text(_quote_sheet(out.name))
        # only the print titles: the autofilter lives in the sheet's <autoFilter> (Excel, WPS and LibreOffice
        # read it there); a _FilterDatabase name would change workbook.xml whenever the row count does
        wanted = [("_xlnm.Print_Titles", "", f"{q}!$1:$1")]
        for name, extra, ref in wanted:
            # an earlier save's name for this sheet is updated in place (same order: workbook.xml stays
            # byte-identical when nothing changed, so the parse cache keeps its keys)
            pattern = re.compile(rf'(<{p}definedName\b(?=[^>]*\bname="{re.escape(name)}")'
                                 rf'(?=[^>]*\blocalSheetId="{idx}")[^>]*>)(.*?)(</{p}definedName>)', re.S)
            if pattern.search(xml):
                xml = pattern.sub(lambda m: m.group(1) + ref + m.group(3), xml, count=1)
            else:
                adds.append(f'<{p}definedName name="{name}" localSheetId="{idx}"{extra}>{ref}</{p}definedName>')
    if not adds:
        return xml
    add = "".join(adds)
    j = xml.find(f"</{p}definedNames>")
    if j >= 0:
        return xml[:j] + add + xml[j:]
    xml = re.sub(rf"<{p}definedNames\s*/>", "", xml)
    pos = _after_last(xml, p, ("sheets", "functionGroups", "externalReferences"))
    if pos < 0:
        return xml
    return xml[:pos] + f"<{p}definedNames>{add}</{p}definedNames>" + xml[pos:]


def xml_text_unescape(value: str) -> str:
    import html
    return html.unescape(value)


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
            """Shared strings by index, read once per save: a header row needs only a few, so a
            plainly written table is looked up item by item (:class:`SharedStringLookup`)."""
            if not sst_cache:
                sst_cache.append(SharedStringLookup.of(zin))
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

        printed = [out for out in replace.values()] + [out for out in creates if out.name not in replace]
        new_wb = _workbook_print_names(wb_xml, printed)
        wb_changed |= new_wb != wb_xml
        wb_xml = new_wb

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



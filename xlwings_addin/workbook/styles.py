"""styles.xml: number formats and cell styles, edited as text so everything else stays as it was."""
from __future__ import annotations

import re
import zipfile

from .reader import (
    WorkbookError,
)
from .sheet_xml import BUILTIN_FORMAT_IDS, NUMBER_FORMATS, _unescape, xml_text


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
        nf = _numfmts(self.xml, self.p)
        if nf and nf.group("body"):
            for m in re.finditer(rf"<{self.p}numFmt\b([^>]*)/?>", nf.group("body")):
                attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                if "numFmtId" in attrs and "formatCode" in attrs:
                    self.numfmts.setdefault(_unescape(attrs["formatCode"]), int(attrs["numFmtId"]))
        self.xfs: list[dict] = []
        cx = re.search(rf"<{self.p}cellXfs\b[^>]*>(.*?)</{self.p}cellXfs>", self.xml, re.S)
        if cx:
            for m in re.finditer(rf"<{self.p}xf\b([^>]*?)(/>|>.*?</{self.p}xf>)", cx.group(1), re.S):
                attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                attrs["_plain"] = m.group(2) == "/>"
                attrs["_inner"] = m.group(2)
                self.xfs.append(attrs)
        self._cache: dict = {}
        self._new_fmts: list[tuple[int, str]] = []
        self._new_xfs: list[tuple[int, bool, bool, bool]] = []  # (numFmtId, wrap, bold, top)
        self._bold_font: int | None = None
        self._new_font = False

    def text_index(self, *, wrap: bool = True, bold: bool = False, kind: str | None = None,
                   top: bool = True) -> int:
        """cellXfs index for a wrapped (and optionally bold) cell: header rows and notes (top-aligned),
        long data texts (``top=False``: bottom, like the row's other cells)."""
        key = ("text", kind, wrap, bold, top)
        if key in self._cache:
            return self._cache[key]
        code = NUMBER_FORMATS.get(kind or "", "General")
        fmt_id = self.numfmts.get(code, 0)
        if code not in self.numfmts:
            fmt_id = max([163] + [i for i in self.numfmts.values() if i >= 164]) + 1
            self.numfmts[code] = fmt_id
            self._new_fmts.append((fmt_id, code))
        if bold and self._bold_font is None:
            fonts = re.search(rf"<{self.p}fonts\b[^>]*>(.*?)</{self.p}fonts>", self.xml, re.S)
            listed = re.findall(rf"<{self.p}font\b[^>]*?(?:/>|>.*?</{self.p}font>)", fonts.group(1), re.S) \
                if fonts else []
            ours = f"<{self.p}font><{self.p}b/><{self.p}sz val=\"11\"/></{self.p}font>"
            if ours in listed:  # written by an earlier save: reuse it
                self._bold_font = listed.index(ours)
            else:
                self._bold_font = len(listed)
                self._new_font = True
        font = str(self._bold_font if bold else 0)
        for i, xf in enumerate(self.xfs):  # an earlier save's entry: reuse it (styles.xml never grows)
            inner = xf.get("_inner", "")
            if (xf.get("numFmtId", "0") == str(fmt_id) and xf.get("fontId", "0") == font
                    and xf.get("fillId", "0") == "0" and xf.get("borderId", "0") == "0"
                    and ('wrapText="1"' in inner) == wrap and ('vertical="top"' in inner) == (wrap and top)):
                self._cache[key] = i
                return i
        found = len(self.xfs)
        self.xfs.append({"numFmtId": str(fmt_id), "_plain": False})
        self._new_xfs.append((fmt_id, wrap, bold, top))
        self._cache[key] = found
        return found

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
            self._new_xfs.append((fmt_id, False, False, False))
        self._cache[kind] = found
        return found

    def render(self) -> str:
        if not (self._new_fmts or self._new_xfs or self._new_font):
            return self.xml
        xml, p = self.xml, self.p
        if self._new_fmts:
            add = "".join(f'<{p}numFmt numFmtId="{i}" formatCode="{xml_text(c)}"/>' for i, c in self._new_fmts)
            m = _numfmts(xml, p)
            if m:  # replace the element, whether written <numFmts>…</numFmts> or <numFmts count="0"/>
                body = m.group("body") or ""
                n = len(re.findall(rf"<{p}numFmt\b", body)) + len(self._new_fmts)
                attrs = re.sub(r'\s*count="\d*"', "", m.group("attrs"))
                xml = xml[:m.start()] + f'<{p}numFmts count="{n}"{attrs}>{body}{add}</{p}numFmts>' + xml[m.end():]
            else:
                # numFmts is the first child of styleSheet
                m = re.search(rf"<{p}styleSheet\b[^>]*>", xml)
                xml = xml[:m.end()] + f'<{p}numFmts count="{len(self._new_fmts)}">{add}</{p}numFmts>' + xml[m.end():]
        if self._new_font:
            m = re.search(rf"<{p}fonts\b([^>]*)>(.*?)</{p}fonts>", xml, re.S)
            if m:
                attrs = re.sub(r'\s*count="\d*"', "", m.group(1))
                xml = (xml[:m.start()] + f'<{p}fonts count="{self._bold_font + 1}"{attrs}>{m.group(2)}'
                       f'<{p}font><{p}b/><{p}sz val="11"/></{p}font></{p}fonts>' + xml[m.end():])
            else:
                self._bold_font = 0
        add = "".join(
            f'<{p}xf numFmtId="{i}" fontId="{self._bold_font if bold else 0}" fillId="0" borderId="0" xfId="0"'
            + (' applyFont="1"' if bold else "")
            + (f' applyNumberFormat="1" applyAlignment="1"><{p}alignment wrapText="1"'
               + (' vertical="top"' if top else "") + f'/></{p}xf>'
               if wrap else ' applyNumberFormat="1"/>')
            for i, wrap, bold, top in self._new_xfs)
        if add:
            m = re.search(rf"<{p}cellXfs\b([^>]*)>(.*?)</{p}cellXfs>", xml, re.S)
            if not m:
                raise WorkbookError("工作簿的样式（styles.xml）缺少 cellXfs，无法写入")
            attrs = re.sub(r'\s*count="\d*"', "", m.group(1))
            xml = xml[:m.start()] + f'<{p}cellXfs count="{len(self.xfs)}"{attrs}>{m.group(2)}{add}</{p}cellXfs>' + xml[m.end():]
        self.changed = True
        return xml


def _numfmts(xml: str, p: str):
    """The <numFmts> element in either form: ``<numFmts count="0"/>`` (openpyxl, Excel with no
    custom formats) or ``<numFmts …>…</numFmts>``; groups ``attrs`` and ``body`` (None when self-closing)."""
    return re.search(rf"<{p}numFmts\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</{p}numFmts>)", xml, re.S)


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



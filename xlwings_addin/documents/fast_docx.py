"""A Word template compiled once and filled many times.

``docxtpl.DocxTemplate.render`` re-reads the template package, re-cleans its
XML (``patch_xml``) and re-compiles the Jinja template for every letter —
about 40 ms a letter, most of a 1,000-letter batch.  :class:`CompiledTemplate`
does those steps once per template and, per letter, only renders the compiled
Jinja template and writes the package with the new ``word/document.xml``
(and any templated header/footer); every other part is copied as it is.

It follows docxtpl's own steps for the body (the same ``patch_xml``,
paragraph splitting, ``{_{`` restoration, ``resolve_listing``,
``fix_tables`` and ``fix_docpr_ids``), with autoescape on, so the result is
the document docxtpl would write (``tests/test_fast_docx.py`` compares the
two canonicalised).  A template that uses what this path does not handle —
tags in the document properties or footnotes, or a context carrying
docxtpl objects that add parts (InlineImage, Subdoc, RichText with links) —
is rendered by docxtpl itself (:attr:`CompiledTemplate.fast` is then False).
"""
from __future__ import annotations

import io
import re
import struct
import zipfile
from typing import Optional

_TAG = re.compile(r"\{[{%#]")
_LISTING_CHARS = re.compile("[\t\a\n\f]")
DOCUMENT = "word/document.xml"


class CompiledTemplate:
    """One .docx template, compiled for repeated :meth:`render` calls."""

    def __init__(self, template_bytes: bytes):
        from docxtpl import DocxTemplate
        from jinja2 import Environment

        self._bytes = template_bytes
        self._env = Environment(autoescape=True)
        self._docxtpl = DocxTemplate(io.BytesIO(template_bytes))
        self._docxtpl.init_docx()
        with zipfile.ZipFile(io.BytesIO(template_bytes)) as z:
            self._members = [(info, z.read(info)) for info in z.infolist()]
        names = {info.filename for info, _ in self._members}
        self.fast = DOCUMENT in names and not any(
            _TAG.search(data.decode("utf-8", "replace"))
            for info, data in self._members
            if info.filename.startswith("docProps/") or info.filename.startswith("word/footnotes"))
        if not self.fast:
            return
        self._body = self._compile(self._docxtpl.get_xml())
        self._parts: dict[str, tuple] = {}
        for uri in (DocxTemplate.HEADER_URI, DocxTemplate.FOOTER_URI):
            for _rel, part in self._docxtpl.get_headers_footers(uri):
                xml = self._docxtpl.get_part_xml(part)
                if _TAG.search(xml):
                    encoding = self._docxtpl.get_headers_footers_encoding(xml)
                    self._parts[str(part.partname).lstrip("/")] = (self._compile(xml), encoding)
        document = dict((i.filename, d) for i, d in self._members)[DOCUMENT].decode("utf-8")
        start = re.search(r"<w:body[\s>/]", document)
        end = document.rfind("</w:body>")
        if start is None or end < 0:
            self.fast = False
            return
        self._head, self._tail = document[:start.start()], document[end + len("</w:body>"):]
        self._raw = _precompress([(i, d) for i, d in self._members
                                  if i.filename != DOCUMENT and i.filename not in self._parts])

    def _compile(self, xml: str):
        xml = self._docxtpl.patch_xml(xml)
        xml = re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)
        return self._env.from_string(xml)

    def _fill(self, template, context: dict) -> str:
        xml = template.render(context)
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if not _LISTING_CHARS.search(xml):  # resolve_listing only rewrites these characters
            return xml
        return self._docxtpl.resolve_listing(xml)

    @staticmethod
    def _needs_docxtpl(context: dict) -> bool:
        from docxtpl import InlineImage, Subdoc

        def walk(value) -> bool:
            if isinstance(value, (InlineImage, Subdoc)):
                return True
            if isinstance(value, dict):
                return any(walk(v) for v in value.values())
            if isinstance(value, (list, tuple)):
                return any(walk(v) for v in value)
            return False

        return walk(context)

    def body_xml(self, context: dict) -> str:
        """The rendered ``<w:body>`` element as text (what a merge appends)."""
        from lxml import etree

        self._docxtpl.docx_ids_index = 1000
        tree = self._docxtpl.fix_tables(self._fill(self._body, context))
        self._docxtpl.fix_docpr_ids(tree)
        return etree.tostring(tree, encoding="unicode")

    def render(self, context: dict) -> bytes:
        """The filled .docx as bytes."""
        if not self.fast or self._needs_docxtpl(context):
            return self._render_with_docxtpl(context)
        document = (self._head + self.body_xml(context) + self._tail).encode("utf-8")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in self._members:
                if info.filename in self._raw:
                    _write_raw(z, *self._raw[info.filename])
                    continue
                if info.filename == DOCUMENT:
                    data = document
                else:
                    template, encoding = self._parts[info.filename]
                    data = self._fill(template, context).encode(encoding)
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                z.writestr(zi, data, compresslevel=1)
        return out.getvalue()

    def _render_with_docxtpl(self, context: dict) -> bytes:
        from docxtpl import DocxTemplate

        doc = DocxTemplate(io.BytesIO(self._bytes))
        doc.render(context, autoescape=True)
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def _precompress(members) -> dict[str, tuple[zipfile.ZipInfo, bytes]]:
    """Deflate the parts every letter shares once: name → (info with CRC and sizes, compressed bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            z.writestr(zi, data)
    raw = {}
    data = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            start = info.header_offset
            name_len, extra_len = struct.unpack("<HH", data[start + 26:start + 30])
            body = start + zipfile.sizeFileHeader + name_len + extra_len
            raw[info.filename] = (info, data[body:body + info.compress_size])
    return raw


def _write_raw(z: zipfile.ZipFile, info: zipfile.ZipInfo, compressed: bytes) -> None:
    """Append an already-deflated member (no recompression; sizes and CRC in the local header)."""
    zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    zi.compress_type, zi.external_attr, zi.create_system = info.compress_type, info.external_attr, info.create_system
    zi.flag_bits = info.flag_bits & ~0x08
    zi.CRC, zi.compress_size, zi.file_size = info.CRC, info.compress_size, info.file_size
    zi.header_offset = z.fp.tell()
    z.fp.write(zi.FileHeader(False))
    z.fp.write(compressed)
    z.filelist.append(zi)
    z.NameToInfo[zi.filename] = zi
    z.start_dir = z.fp.tell()
    z._didModify = True


_CACHE: dict[int, tuple[bytes, CompiledTemplate]] = {}


def compiled(template_bytes: bytes) -> CompiledTemplate:
    """The compiled template for these bytes (one compile per template per process)."""
    key = hash(template_bytes)
    hit: Optional[tuple] = _CACHE.get(key)
    if hit is None or hit[0] != template_bytes:
        if len(_CACHE) > 16:
            _CACHE.clear()
        hit = (template_bytes, CompiledTemplate(template_bytes))
        _CACHE[key] = hit
    return hit[1]

"""sharedStrings.xml read by the regular-expression path equals what the XML parser reads (issue 19)."""
from __future__ import annotations

import zipfile

import pytest

from xlwings_addin.workbook import reader

HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="9" uniqueCount="9">')
ITEMS = [
    ("<si><t>物业费</t></si>", "物业费"),
    ('<si><t xml:space="preserve"> 1-1-101 </t></si>', " 1-1-101 "),
    ("<si><t>A &amp; B &lt;3&gt; &quot;q&quot; &apos;s&apos;</t></si>", "A & B <3> \"q\" 's'"),
    ("<si><t>&#20013;&#x6587;&#x1F600;</t></si>", "中文😀"),
    ("<si><r><rPr><b/></rPr><t>欧阳</t></r><r><t xml:space=\"preserve\">娜娜 </t></r></si>", "欧阳娜娜 "),
    ("<si><t/></si>", ""),
    ("<si><t></t></si>", ""),
    ("<si><t>line1\nline2</t></si>", "line1\nline2"),
    ("<si><t>_x000D_ kept as typed</t></si>", "_x000D_ kept as typed"),
]

def _package(tmp_path, body: str):
    path = tmp_path / "sst.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/sharedStrings.xml", body.encode("utf-8"))
    return zipfile.ZipFile(path)

def test_regex_path_reads_what_excel_and_libreoffice_write(tmp_path, monkeypatch):
    z = _package(tmp_path, HEAD + "".join(x for x, _ in ITEMS) + "</sst>")
    assert reader._plain_shared_strings(z.read("xl/sharedStrings.xml")) is not None
    fast = reader.shared_strings(z)
    assert fast == [text for _, text in ITEMS]
    monkeypatch.setattr(reader, "_plain_shared_strings", lambda data: None)
    assert reader.shared_strings(z) == fast  # the XML parser agrees
    assert reader.shared_strings(z, 2)[:3] == fast[:3]

@pytest.mark.parametrize("odd", [
    '<si><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh></si>',  # phonetic run: not part of the text
    "<si/>",  # an empty string item written as an empty element
    "<si><t><![CDATA[a<b]]></t></si>",
    '<si><t>a\r\nb</t></si>',  # the XML parser folds CR LF
])
def test_anything_unusual_goes_to_the_xml_parser(tmp_path, odd):
    body = HEAD + ITEMS[0][0] + odd + ITEMS[1][0] + "</sst>"
    z = _package(tmp_path, body)
    assert reader._plain_shared_strings(z.read("xl/sharedStrings.xml")) is None
    strings = reader.shared_strings(z)
    assert strings[0] == "物业费" and strings[2] == " 1-1-101 " and len(strings) == 3


def test_lookup_by_index_reads_the_same_strings(tmp_path):
    """The writer's header lookup: a few strings by index, without reading the whole table."""
    z = _package(tmp_path, HEAD + "".join(x for x, _ in ITEMS) + "</sst>")
    lookup = reader.SharedStringLookup.of(z)
    assert isinstance(lookup, reader.SharedStringLookup) and len(lookup) == len(ITEMS)
    assert [lookup[i] for i in (8, 2, 4, 0)] == [ITEMS[i][1] for i in (8, 2, 4, 0)]
    odd = _package(tmp_path / "odd", HEAD + '<si><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh></si></sst>') \
        if (tmp_path / "odd").mkdir() is None else None
    # an item that is not plain (phonetic runs) is read by the XML parser: the same strings
    odd_lookup = reader.SharedStringLookup.of(odd)
    assert [odd_lookup[i] for i in range(len(odd_lookup))] == reader.shared_strings(odd) == ["漢字"]

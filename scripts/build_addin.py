"""Build the Excel add-in ``xlwings_addin/faces/addin/FeeLedger.xlam`` (ribbon tab 「收费管理」) without Excel.

    /work/venv/bin/python scripts/build_addin.py [--out PATH]

Starting point: the custom add-in template that ships inside the xlwings
package (``xlwings/quickstart_addin_ribbon.xlam``, what ``xlwings quickstart
--addin --ribbon`` copies).  The package is rebuilt at the zip level
(openpyxl cannot write .xlam):

* ``customUI/customUI14.xml`` ← ``xlwings_addin/faces/addin/customUI14.xml``; the
  template's ribbon part and its relationship are replaced by ours in
  ``_rels/.rels`` (type .../2007/relationships/ui/extensibility; the part is
  covered by the package's ``Default Extension="xml"`` content type).
* ``xl/vbaProject.bin`` is built from VBA source with the ``ms-ovba`` package
  (``pip install -e .[addin]``): the template's own modules, read back from its
  vbaProject with olevba — ``xlwings`` (RunPython, with PROJECT_NAME set to
  "xlwings" so the add-in reads the same ``xlwings.conf`` settings as the
  xlwings add-in), ``Dictionary`` (used on Mac), the sheet and workbook
  modules — plus ``FeeLedger`` (our ribbon callbacks, ``FeeLedger.bas``) and
  ``xlwings_udfs`` (VBA wrappers for the FB_* functions of
  :mod:`xlwings_addin.faces.udfs`, generated the way xlwings' "Import Functions"
  does, so no import step is needed).  The project has no compiled p-code
  (performance cache): Excel compiles the source on first open.
* Sheets: the template's settings sheet, renamed ``_xlwings.conf`` (inactive
  until renamed to ``xlwings.conf``), and ``_functions`` (the UDF tooltips,
  Chinese text kept in cells because VBA source is stored in a code page;
  ``Workbook_Open`` registers them with ``Application.MacroOptions``).

The build is deterministic (fixed zip timestamps and project id): building
twice gives the same bytes.  ``tests/test_addin.py`` reads the result back
with olevba and checks the wiring.
"""
from __future__ import annotations

import argparse
import inspect
import io
import os
import random
import re
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
ADDIN_DIR = ROOT / "xlwings_addin" / "faces" / "addin"
OUT = ADDIN_DIR / "FeeLedger.xlam"
RIBBON = ADDIN_DIR / "customUI14.xml"
CALLBACKS = ADDIN_DIR / "FeeLedger.bas"
UDF_MODULE = "xlwings_addin.faces.udfs"
PROJECT_ID = "{5F1D2C3B-7A44-4E2B-9C1E-3B8E1F0A6C21}"
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
CONF_SHEET = "_xlwings.conf"
FUNCTIONS_SHEET = "_functions"

REL_UI = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
REL_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
GUID_WORKBOOK = "0002081900000000C000000000000046"
GUID_WORKSHEET = "0002082000000000C000000000000046"

THIS_WORKBOOK_CODE = r'''
Private Sub Workbook_Open()
    RegisterFunctionHelp
End Sub

Private Sub RegisterFunctionHelp()
    ' Function wizard texts for the FB_* worksheet functions, read from the _functions sheet
    ' (columns: name, description, category, argument descriptions...).
    Dim sht As Worksheet, r As Long, c As Long, n As Long, wasAddin As Boolean
    Dim argDocs() As String
    On Error Resume Next
    Set sht = Me.Worksheets("_functions")
    If sht Is Nothing Then Exit Sub
    wasAddin = Me.IsAddin
    Me.IsAddin = False
    r = 2
    Do While sht.Cells(r, 1).Value <> ""
        n = 0
        Do While sht.Cells(r, 4 + n).Value <> ""
            n = n + 1
        Loop
        If n > 0 Then
            ReDim argDocs(0 To n - 1)
            For c = 0 To n - 1
                argDocs(c) = sht.Cells(r, 4 + c).Value
            Next c
            Application.MacroOptions Macro:="'" & Me.Name & "'!" & sht.Cells(r, 1).Value, _
                Description:=sht.Cells(r, 2).Value, Category:=sht.Cells(r, 3).Value, ArgumentDescriptions:=argDocs
        Else
            Application.MacroOptions Macro:="'" & Me.Name & "'!" & sht.Cells(r, 1).Value, _
                Description:=sht.Cells(r, 2).Value, Category:=sht.Cells(r, 3).Value
        End If
        r = r + 1
    Loop
    Me.IsAddin = wasAddin
    Me.Saved = True
End Sub
'''


def template_path() -> Path:
    import xlwings

    return Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"


def crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def template_modules(path: Path) -> dict[str, str]:
    """Stored source (with Attribute lines) of every VBA module of the template, by module name."""
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        return {Path(name).stem: code for _f, _s, name, code in parser.extract_macros()}
    finally:
        parser.close()


# --------------------------------------------------------------------------- UDF wrappers


def udf_signatures() -> list[tuple[str, list[tuple[str, bool]]]]:
    """(function name, [(argument, optional)]) of the FB_* functions, ``caller`` excluded."""
    sys.path.insert(0, str(ROOT))
    from xlwings_addin.faces import udfs

    out = []
    for name in udfs.HELP:
        sig = inspect.signature(getattr(udfs, name))
        args = [(p.name, p.default is not inspect.Parameter.empty) for p in sig.parameters.values()]
        out.append((name, args))
    return out


def udf_vba() -> str:
    """The xlwings_udfs module, in the shape xlwings' import_udfs writes for an add-in (ActiveWorkbook)."""
    lines = ['Attribute VB_Name = "xlwings_udfs"',
             "'Generated by scripts/build_addin.py from xlwings_addin/faces/udfs.py (same shape as xlwings' Import Functions)",
             '#Const App = "Microsoft Excel"', ""]
    for name, args in udf_signatures():
        visible = [(a, opt) for a, opt in args if a != "caller"]
        params = ", ".join(("Optional " if opt else "") + a for a, opt in visible)
        call_args = ", ".join("Nothing" if a == "caller" else a for a, _ in args)
        lines += [
            f"Function {name}({params})",
            '    #If App = "Microsoft Excel" Then',
            "        If TypeOf Application.Caller Is Range Then On Error GoTo failed",
            f'        {name} = XLPy.CallUDF("{UDF_MODULE}", "{name}", Array({call_args}), '
            "ActiveWorkbook, Application.Caller)",
            "        Exit Function",
            "    #Else",
            f'        {name} = XLPy.CallUDF("{UDF_MODULE}", "{name}", Array({call_args}))',
            "        Exit Function",
            "    #End If",
            "failed:",
            f"    {name} = Err.Description",
            "End Function",
            "",
        ]
    return "\r\n".join(lines)


# --------------------------------------------------------------------------- vbaProject.bin


def ovba_compress(data: bytes) -> bytes:
    """MS-OVBA §2.4.1 compression (CompressedContainer), greedy matching on 3-byte prefixes.

    Written here because ms-ovba-compression 1.0.1 emits copy tokens its own
    decompressor (and olevba, and so Office) cannot read for inputs over ~100
    bytes.  Every chunk is checked by the test suite through olevba's decompressor.
    """
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        chunk = data[start:start + 4096]
        body = _compress_chunk(chunk)
        if len(body) > 4096:  # incompressible: a raw chunk (only possible for a full 4096-byte chunk)
            out += (0x3FFF).to_bytes(2, "little") + chunk.ljust(4096, b"\x00")
        else:
            out += ((len(body) + 2 - 3) | 0x3000 | 0x8000).to_bytes(2, "little") + body
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytearray:
    n = len(chunk)
    body = bytearray()
    seen: dict[bytes, list[int]] = {}
    pos = 0

    def remember(i: int) -> None:
        if i + 3 <= n:
            seen.setdefault(chunk[i:i + 3], []).append(i)

    while pos < n:
        flag_at = len(body)
        body.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            bit_count = max(4, (pos - 1).bit_length()) if pos else 4
            max_len = (0xFFFF >> bit_count) + 3
            best_len, best_at = 0, -1
            for cand in reversed(seen.get(chunk[pos:pos + 3], [])[-64:]):
                length = 0
                limit = min(max_len, n - pos)
                while length < limit and chunk[cand + length] == chunk[pos + length]:
                    length += 1
                if length > best_len:
                    best_len, best_at = length, cand
                    if length == limit:
                        break
            if best_len >= 3:
                token = ((pos - best_at - 1) << (16 - bit_count)) | (best_len - 3)
                body += token.to_bytes(2, "little")
                flags |= 1 << bit
                for i in range(pos, pos + best_len):
                    remember(i)
                pos += best_len
            else:
                body.append(chunk[pos])
                remember(pos)
                pos += 1
        body[flag_at] = flags
    return body


class _Compressor:
    """Stands in for ms_ovba_compression.MsOvba inside ms-ovba (see :func:`ovba_compress`)."""

    def compress(self, data: bytes) -> bytes:
        return ovba_compress(bytes(data))


def _module_classes():
    from ms_ovba.Models.Entities.module_base import ModuleBase
    from ms_ovba.Models.Fields.idSizeField import IdSizeField
    from ms_ovba.Models.Fields.packed_data import PackedData

    class SourceModule(ModuleBase):
        """A module whose stored text (Attribute lines included) is given whole."""

        def __init__(self, name: str, kind: str, source: str):
            super().__init__(name)
            self.type = kind  # "Module", "Class" or "Document"
            self.source = crlf(source)
            self._file_path = name

        def pack(self, endien: str, cp_name: str) -> bytes:
            """MODULE record of the dir stream (MS-OVBA 2.3.4.2.3.2); MODULETYPE 0x0021 procedural, 0x0022 else."""
            type_id = PackedData("HI", 0x0021 if self.type == "Module" else 0x0022, 0)
            offset = IdSizeField(0x0031, 4, len(self._cache))
            return (self.modName.pack(endien, cp_name) + self.streamName.pack(endien, cp_name)
                    + self.docString.pack(endien, cp_name) + offset.pack(endien)
                    + self.helpContext.pack(endien, cp_name) + self._cookie.pack(endien)
                    + type_id.pack(endien) + PackedData("HI", 0x002B, 0).pack(endien))

        def to_project_module_string(self) -> str:
            if self.type == "Document":
                return f"Document={self.name}/&H00000000"
            return f"{self.type}={self.name}"

        def write_file(self) -> None:
            with open(self.bin_path, "wb") as f:
                f.write(self._cache + ovba_compress(self.source.encode("cp1252")))

    return SourceModule


def _document_source(name: str, guid: str, code: str = "") -> str:
    base = str(uuid.UUID(guid)).upper()
    head = (f'Attribute VB_Name = "{name}"\nAttribute VB_Base = "0{{{base}}}"\n'
            "Attribute VB_GlobalNameSpace = False\nAttribute VB_Creatable = False\n"
            "Attribute VB_PredeclaredId = True\nAttribute VB_Exposed = True\n"
            "Attribute VB_TemplateDerived = False\nAttribute VB_Customizable = True\n")
    return head + code.lstrip("\n")


def vba_modules(template: Path) -> list[tuple[str, str, str]]:
    """(name, kind, stored source) of every module of our project."""
    tm = template_modules(template)
    xlwings_code = tm["xlwings"]
    xlwings_code, n = re.subn(r'(Public Const PROJECT_NAME As String = )"[^"]*"', r'\1"xlwings"', xlwings_code)
    if n != 1:
        raise SystemExit("xlwings 模板的 VBA 模块中找不到 PROJECT_NAME 常量，模板版本不兼容")
    callbacks = CALLBACKS.read_text(encoding="ascii")
    return [
        ("ThisWorkbook", "Document", _document_source("ThisWorkbook", GUID_WORKBOOK, THIS_WORKBOOK_CODE)),
        ("Sheet1", "Document", _document_source("Sheet1", GUID_WORKSHEET)),
        ("Sheet2", "Document", _document_source("Sheet2", GUID_WORKSHEET)),
        ("Dictionary", "Class", tm["Dictionary"]),
        ("xlwings", "Module", xlwings_code),
        ("FeeLedger", "Module", callbacks),
        ("xlwings_udfs", "Module", udf_vba()),
    ]


def build_vba_project(modules: list[tuple[str, str, str]]) -> bytes:
    """vbaProject.bin (an OLE file) from module sources, via ms-ovba (which works in the current folder)."""
    try:
        from ms_ovba.Models.Entities.reference import Reference
        from ms_ovba.Models.Entities.reference_registered import ReferenceRegistered
        from ms_ovba.Models.Fields.libid_reference import LibidReference
        from ms_ovba.vbaProject import VbaProject
        from ms_ovba.Views import dirStream
        from ms_ovba.Views.project_ole_file import ProjectOleFile
    except ImportError:
        raise SystemExit("缺少 ms-ovba：pip install -e .[addin]") from None
    dirStream.MsOvba = _Compressor  # the dir stream is compressed too
    SourceModule = _module_classes()
    project = VbaProject()
    project.project_id = PROJECT_ID
    for name, kind, source in modules:
        project.add_module(SourceModule(name, kind, source))
    project.add_reference(Reference(ReferenceRegistered(LibidReference(
        uuid.UUID("0002043000000000C000000000000046"), "2.0", "0",
        "C:\\Windows\\System32\\stdole2.tlb", "OLE Automation")), "stdole"))
    project.add_reference(Reference(ReferenceRegistered(LibidReference(
        uuid.UUID("2DF8D04C5BFA101BBDE500AA0044DE52"), "2.0", "0",
        "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL",
        "Microsoft Office 16.0 Object Library")), "Office"))
    random.seed(PROJECT_ID)  # ms-ovba's PROJECT encryption seed and ms-cfb use `random`: same input, same bytes
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            ProjectOleFile.write_file(project)
            return Path(tmp, "vbaProject.bin").read_bytes()
        finally:
            os.chdir(here)


# --------------------------------------------------------------------------- sheets and package parts


def _cell(ref: str, value) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def sheet_xml(rows: list[list], code_name: str, widths=(16, 60)) -> str:
    out = []
    for r, values in enumerate(rows, start=1):
        cells = "".join(_cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(values) if v not in (None, ""))
        out.append(f'<row r="{r}">{cells}</row>')
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheetPr codeName="{code_name}"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>{"".join(out)}</sheetData>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '</worksheet>')


def conf_rows() -> list[list]:
    """The settings sheet: xlwings' keys (blank = use the xlwings ribbon / user config)."""
    return [
        ["Interpreter_Win", ""],
        ["Interpreter_Mac", ""],
        ["PYTHONPATH", ""],
        ["Conda Path", ""],
        ["Conda Env", ""],
        ["UDF Modules", UDF_MODULE],
        ["Debug UDFs", False],
        ["Use UDF Server", False],
        ["Show Console", False],
        [],
        ["说明：本表名为 _xlwings.conf 时不生效。要让加载项自带设置，把表名改为 xlwings.conf 并填写 Interpreter_Win"
         "（如 C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python311\\pythonw.exe）；"
         "通常更简单：在 xlwings 选项卡的 Interpreter 中填写，或在收费大表中加一张 xlwings.conf 工作表。"],
    ]


def functions_rows() -> list[list]:
    sys.path.insert(0, str(ROOT))
    from xlwings_addin.faces import udfs

    rows = [["函数", "说明", "类别", "参数说明…"]]
    for name, args in udf_signatures():
        description, arg_docs = udfs.HELP[name]
        rows.append([name, description[:255], udfs.CATEGORY]
                    + [arg_docs.get(a, a)[:255] for a, _opt in args if a != "caller"])
    return rows


def workbook_xml(template_xml: str) -> str:
    xml = re.sub(r"<mc:AlternateContent.*?</mc:AlternateContent>", "", template_xml, flags=re.S)  # author's path
    sheets = (f'<sheets><sheet name="{CONF_SHEET}" sheetId="2" r:id="rId3"/>'
              f'<sheet name="{FUNCTIONS_SHEET}" sheetId="3" r:id="rId90"/></sheets>')
    return re.sub(r"<sheets>.*?</sheets>", sheets, xml, flags=re.S)


def workbook_rels(template_xml: str) -> str:
    rel = f'<Relationship Id="rId90" Type="{REL_WORKSHEET}" Target="worksheets/sheet2.xml"/>'
    return template_xml.replace("</Relationships>", rel + "</Relationships>")


def root_rels(template_xml: str) -> str:
    xml = re.sub(r'<Relationship [^>]*Type="[^"]*/ui/extensibility"[^>]*/>', "", template_xml)
    rel = f'<Relationship Id="rIdFeeLedgerUI" Type="{REL_UI}" Target="customUI/customUI14.xml"/>'
    return xml.replace("</Relationships>", rel + "</Relationships>")


def content_types(template_xml: str) -> str:
    over = f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{CT_WORKSHEET}"/>'
    if 'Extension="xml"' not in template_xml:
        over += '<Default Extension="xml" ContentType="application/xml"/>'
    return template_xml.replace("</Types>", over + "</Types>")


def build(out: Path = OUT, template: Path | None = None) -> Path:
    template = template or template_path()
    ribbon = RIBBON.read_bytes()
    vba = build_vba_project(vba_modules(template))
    parts: dict[str, bytes] = {}
    with zipfile.ZipFile(template) as z:
        for name in z.namelist():
            parts[name] = z.read(name)
    parts.pop("customUI/customUI.xml", None)
    parts["customUI/customUI14.xml"] = ribbon
    parts["xl/vbaProject.bin"] = vba
    parts["_rels/.rels"] = root_rels(parts["_rels/.rels"].decode("utf-8")).encode("utf-8")
    parts["xl/workbook.xml"] = workbook_xml(parts["xl/workbook.xml"].decode("utf-8")).encode("utf-8")
    parts["xl/_rels/workbook.xml.rels"] = workbook_rels(
        parts["xl/_rels/workbook.xml.rels"].decode("utf-8")).encode("utf-8")
    parts["[Content_Types].xml"] = content_types(parts["[Content_Types].xml"].decode("utf-8")).encode("utf-8")
    parts["xl/worksheets/sheet1.xml"] = sheet_xml(conf_rows(), "Sheet1", (18, 40)).encode("utf-8")
    parts["xl/worksheets/sheet2.xml"] = sheet_xml(functions_rows(), "Sheet2", (18, 60, 10, 30, 30, 30, 30, 30)
                                                  ).encode("utf-8")
    order = ["[Content_Types].xml", "_rels/.rels"] + sorted(n for n in parts if n not in
                                                            ("[Content_Types].xml", "_rels/.rels"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in order:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, parts[name])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="构建收费管理 Excel 加载项 FeeLedger.xlam")
    parser.add_argument("--out", type=Path, default=OUT, help=f"输出文件（默认 {OUT.relative_to(ROOT)}）")
    args = parser.parse_args(argv)
    path = build(args.out)
    print(f"已生成：{path}（{path.stat().st_size:,} 字节）")
    return 0


if __name__ == "__main__":
    sys.exit(main())

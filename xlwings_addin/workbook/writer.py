"""Write results into a closed 收费大表 workbook file — only what changed, safely.

What this module promises (SPEC §7):

* ``save_changes`` touches only the worksheet parts it rewrites (``replace``)
  or appends to (``append``/``audit``), plus ``workbook.xml``, its rels,
  ``[Content_Types].xml`` and ``styles.xml`` *only when* a sheet or a number
  format has to be added (and ``calcChain.xml`` is dropped when it would go
  stale).  Every other zip member is copied unchanged — a 7.6 MB workbook is
  never loaded into openpyxl (30 s) and never re-serialised.
* Strings are written as inline strings (``sharedStrings.xml`` is untouched),
  Decimals exactly (``str``), dates as serial numbers with a date style,
  ``Formula`` as ``<f>`` (and ``fullCalcOnLoad`` so Excel/WPS/LibreOffice
  recompute).  Characters that XML 1.0 forbids are stripped, never written.
* Safety: a workbook open in Excel/WPS (``~$name.xlsx``) or LibreOffice
  (``.~lock.name.xlsx#``) is refused (:class:`WorkbookLocked`) before anything
  is done; two feebook processes on one workbook are serialised by an OS lock
  on ``.name.xlsx.feebook-lock`` (the second waits up to ``LOCK_TIMEOUT``
  seconds, then is refused); with ``expect_digest`` a file changed since it
  was read is refused (:class:`WorkbookChanged`).  The new file is written to a
  temp file in the same folder (``.name.xlsx.<random>.feebook-tmp``, never
  mistaken for a workbook), fsynced, the previous file copied to
  ``备份/<stem>_YYYYmmdd-HHMMSS(-n).xlsx`` (newest ``backups`` kept), then
  ``os.replace``d.  A crash at any point leaves the old file intact.

Example::

    save_changes("收费大表.xlsx",
                 replace={"问题": SheetOutput("问题", ["级别", "工作表", "单元格", "说明"], rows)},
                 append={"收款": [{"收据号": "R001", "金额": Decimal("300.00"), ...}]},
                 audit=[{"操作": "刷新欠费", "数量": 12, "说明": "欠费明细 12 行"}])
"""
from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Callable

from ..ledger import schema
from .package import _rewrite_package
from .raw import column_letter
from .reader import (
    WorkbookError,
    check_xlsx_file,
    file_digest,
)
from .safety import (
    LOCK_TIMEOUT,
    WorkbookChanged,
    WorkbookLocked,
    WorkbookWriteFailed,
    _backup,
    _before_replace_hook,
    _cleanup_stray_temps,
    _current_user,
    _fsync_dir,
    _ProcessLock,
    _write_failed,
    check_not_open,
    check_writable,
    list_backups,
    office_lock_files,
    publish_with_record,
)
from .sheet_xml import (
    _ILLEGAL_XML,
    NUMBER_FORMATS,
    Formula,
    Note,
    SheetOutput,
    _kind_for,
    _note_height,
    _width_of,
    column_widths,
    data_last_row,
    wrapped_columns,
    row_height,
    is_note_row,
)

__all__ = [
    "Formula", "Note", "SheetOutput", "save_changes", "write_new_workbook",
    "WorkbookError", "WorkbookLocked", "WorkbookChanged", "WorkbookWriteFailed", "NUMBER_FORMATS",
    "check_not_open", "check_writable", "list_backups", "office_lock_files", "publish_with_record",
]

# --------------------------------------------------------------------------- save


def save_changes(path, *, replace: dict[str, SheetOutput] | None = None,
                 append: dict[str, list[dict[str, object]]] | None = None,
                 audit: list[dict] | None = None, expect_digest: str | None = None,
                 backups: int = 10, post_process: Callable[[bytes], bytes] | None = None) -> None:
    """Write the given sheet replacements / appended rows / audit rows into the workbook file.

    Raises :class:`WorkbookLocked` (open elsewhere), :class:`WorkbookChanged`
    (``expect_digest`` mismatch) or :class:`WorkbookError`; in every failure
    the file on disk is left exactly as it was.  ``post_process`` may change
    the finished package's bytes before they are written (the 看板 adds its
    chart parts this way), under the same locks, checks and atomic replace.
    """
    path = Path(path)
    replace = dict(replace or {})
    append = {k: list(v) for k, v in (append or {}).items()}
    if audit:
        now = dt.datetime.now().replace(microsecond=0)
        user = _current_user()
        rows = []
        for entry in audit:
            row = {"时间": now, "用户": user}
            row.update({k: v for k, v in entry.items() if v is not None or k not in row})
            rows.append(row)
        append.setdefault(schema.AUDIT, []).extend(rows)
    append = {k: v for k, v in append.items() if v}
    if not replace and not append:
        return  # nothing to write: the file (and its backups) stay as they are
    both = set(replace) & set(append)
    if both:
        raise ValueError(f"sheets both replaced and appended: {sorted(both)}")

    check_not_open(path)
    check_xlsx_file(path)
    check_writable(path)
    with _ProcessLock(path, LOCK_TIMEOUT):
        before = file_digest(path)
        if expect_digest is not None and before != expect_digest:
            raise WorkbookChanged(f"工作簿“{path.name}”在读取后已被修改，请重新运行（本次未写入任何内容）")
        _cleanup_stray_temps(path)
        tmp = None
        try:
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".feebook-tmp")
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as f:
                if post_process is None:
                    _rewrite_package(path, f, replace, append)
                else:
                    staged = io.BytesIO()
                    _rewrite_package(path, staged, replace, append)
                    f.write(post_process(staged.getvalue()))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o777)
            except OSError:
                pass
            # last checks right before the switch: nobody opened or saved it meanwhile
            check_not_open(path)
            if file_digest(path) != before:
                raise WorkbookChanged(f"工作簿“{path.name}”在写入过程中被其他程序修改，请重新运行（本次未写入任何内容）")
            _backup(path, backups, dt.datetime.now())
            _before_replace_hook(tmp, path)
            os.replace(tmp, path)
            tmp = None
            _fsync_dir(path.parent)
        except WorkbookError:
            raise
        except OSError as exc:  # disk full, permissions, a file held open by another program
            if tmp is None:  # already replaced (only the folder fsync failed): the new file is in place
                raise
            raise _write_failed(path, exc) from exc
        finally:
            if tmp is not None:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    pass



# --------------------------------------------------------------------------- new workbooks


def print_ready(ws, out: SheetOutput) -> None:
    """openpyxl worksheet print setup, as the change-only writer does it (sheet_xml): A4 landscape,
    one page wide, header row on every page, footer page x / y and as-of date, frozen, filtered."""
    ws.freeze_panes = "A2"
    ws.page_setup.paperSize = 9
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top, ws.page_margins.bottom = 0.5, 0.6
    # header/footer 0.3 as sheet_xml's PAGE_SETUP: openpyxl's default 0.5 in a 0.6 bottom margin leaves the
    # footer 0.1 in tall, and LibreOffice prints it cut in half
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_title_rows = "1:1"
    ws.oddFooter.left.text = f"截至 {out.as_of:%Y-%m-%d}" if out.as_of else "打印日期 &D"
    ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"
    ws.oddFooter.right.text = "&A"
    ncols = max([len(out.headers)] + [len(r) for r in out.rows]) if (out.headers or out.rows) else 0
    if out.headers and ncols:
        ws.auto_filter.ref = f"A1:{column_letter(ncols - 1)}{data_last_row(out)}"


def write_new_workbook(path, sheets: list[SheetOutput]) -> None:
    """Create a brand-new .xlsx with these sheets (openpyxl, write-only mode); replaces ``path``."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    path = Path(path)
    wb = openpyxl.Workbook(write_only=True)
    for out in sheets:
        ws = wb.create_sheet(out.name)
        print_ready(ws, out)
        kinds = [out.formats.get(h) for h in out.headers]
        widths = column_widths(out)
        wrapped = wrapped_columns(out, widths)
        for i, w in enumerate(widths):
            ws.column_dimensions[column_letter(i)].width = w
        header_cells = []
        for h in out.headers:
            c = WriteOnlyCell(ws, value=_ILLEGAL_XML.sub("", str(h)))
            c.font = Font(bold=True)
            c.alignment = Alignment(wrap_text=True, vertical="top")
            header_cells.append(c)
        if any(_width_of(str(h)) + 2 > widths[i] for i, h in enumerate(out.headers)):
            ws.row_dimensions[1].height = 33
        ws.append(header_cells)
        for r, row in enumerate(out.rows, start=2):
            if len(widths) > 1 and is_note_row(row):
                c = WriteOnlyCell(ws, value=_ILLEGAL_XML.sub("", str(row[0])))
                c.alignment = Alignment(wrap_text=True, vertical="top")
                ws.row_dimensions[r].height = _note_height(str(row[0]), sum(widths))
                ws.merged_cells.add(f"A{r}:{column_letter(len(widths) - 1)}{r}")
                ws.append([c])
                continue
            ht = row_height(row, widths, wrapped) if wrapped else None
            if ht:
                ws.row_dimensions[r].height = ht
            cells = []
            for i, value in enumerate(row):
                kind = _kind_for(value, kinds[i] if i < len(kinds) else None)
                text_like_formula = False
                if isinstance(value, Formula):
                    value = "=" + value.text
                elif isinstance(value, str):
                    value = _ILLEGAL_XML.sub("", str(value))
                    # openpyxl turns any str starting with '=' into a formula: user text
                    # (an owner's name '=HYPERLINK(…)') must stay text (formula injection)
                    text_like_formula = value.startswith("=")
                if kind or isinstance(value, Decimal) or text_like_formula or i in wrapped:
                    c = WriteOnlyCell(ws, value=value)
                    if i in wrapped:
                        c.alignment = Alignment(wrap_text=True)
                    if text_like_formula:
                        c.data_type = "s"
                    if kind:
                        c.number_format = NUMBER_FORMATS[kind]
                    cells.append(c)
                else:
                    cells.append(value)
            ws.append(cells)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".feebook-tmp")
    os.close(fd)
    try:
        wb.save(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a workbook is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

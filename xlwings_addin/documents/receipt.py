"""The printed receipt (收据): ``letters/收据.docx`` filled with a receipt's context (docxtpl)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..resources import find_resource

TEMPLATE_NAME = "收据.docx"


def template_path(workbook: Optional[Path] = None) -> Path:
    """The center's 模板/收据.docx beside ``workbook`` when there is one, else the shipped one."""
    found = find_resource("letters", TEMPLATE_NAME, workbook)
    if found is None:
        raise FileNotFoundError(f"找不到收据模板 {TEMPLATE_NAME}（可运行 feebook templates 导出模板，或重新安装 feebook）")
    return found


def safe_filename(text: str) -> str:
    """A name Windows accepts: no <>:"/\\|?* or control characters, no trailing dot/space."""
    text = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", text).rstrip(" .")
    return text or "_"


def render_receipt(context: dict, out_dir: Path, template: Optional[Path] = None,
                   workbook: Optional[Path] = None) -> Path:
    """Write ``收据_<收据号>_<房号>.docx`` into ``out_dir`` and return its path."""
    from docxtpl import DocxTemplate

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = DocxTemplate(str(template or template_path(workbook)))
    # every value is escaped: an owner name or --note carrying WordprocessingML (a DDEAUTO field,
    # a run with its own formatting) is shown as text, never inserted as XML
    doc.render(context, autoescape=True)
    path = out_dir / safe_filename(f"收据_{context['receipt_no']}_{context['room']}.docx")
    doc.save(str(path))
    return path

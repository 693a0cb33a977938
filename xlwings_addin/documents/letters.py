"""Letters from Word templates: render, name, merge for printing, convert to PDF (SPEC §5).

The contexts come from :mod:`xlwings_addin.documents.contexts` (pure, engine
figures); this module does the file work with the real components: docxtpl
(Jinja tags inside .docx, ``autoescape=True`` so ``& < >`` and Jinja-looking
owner names print literally), docxcompose (one merged file for printing) and
LibreOffice (``soffice --headless --convert-to pdf`` with a private profile).

- A template that uses a variable the context lacks is refused before any
  letter is rendered (:class:`TemplateRefused`, naming the variables).
- File names are ``<房号>_<种类>_<期间>.docx`` with the characters Windows
  forbids (``/ \\ : * ? " < > |``) and control characters replaced by ``_``;
  a name can never leave the output folder, and two rooms that clean to the
  same name get ``_2``, ``_3`` …
"""
from __future__ import annotations

from ..resources import find_resource, resource_dirs
from .fast_docx import compiled
import os
import re
import shutil
import subprocess
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from docx.oxml.ns import qn

LETTERS_DIR = next((d for d in resource_dirs("letters") if d.is_dir()), resource_dirs("letters")[-2])

_ILLEGAL = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


class TemplateRefused(Exception):
    """A template asks for variables the context does not have; the message is Chinese."""


def template_path(kind: str, template_dir: Optional[Path] = None, workbook: Optional[Path] = None) -> Path:
    """``template_dir`` when given; else the center's 模板/ beside ``workbook``, then the shipped one."""
    if template_dir is not None:
        path = Path(template_dir) / f"{kind}.docx"
    else:
        path = find_resource("letters", f"{kind}.docx", workbook) or LETTERS_DIR / f"{kind}.docx"
    if not path.exists():
        raise TemplateRefused(f"找不到模板“{path}”（可运行 feebook templates 导出模板，或重新安装 feebook）")
    return path


def safe_component(text: str, limit: int = 80) -> str:
    """One file-name part safe on Windows: forbidden characters → '_', no leading/trailing dots or spaces."""
    text = _ILLEGAL.sub("_", str(text)).strip().strip(".").strip()
    text = text[:limit] or "_"
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text


def letter_filename(room: str, kind: str, period: str, suffix: str = ".docx") -> str:
    """'3-2-1501', '催费通知单', '2026Q4' → '3-2-1501_催费通知单_2026Q4.docx'."""
    return f"{safe_component(room)}_{safe_component(kind)}_{safe_component(period)}{suffix}"


def _inside(folder: Path, name: str) -> Path:
    target = (folder / name).resolve()
    if target.parent != folder.resolve():
        raise ValueError(f"文件名“{name}”会写到输出目录之外")
    return target


def undeclared_variables(template: Path, context: dict) -> set[str]:
    """Variables the template uses that the context does not provide."""
    from docxtpl import DocxTemplate

    return set(DocxTemplate(str(template)).get_undeclared_template_variables(context=context))


def check_template(template: Path, context: dict) -> None:
    """Refuse a template that asks for anything the context lacks (before rendering anything)."""
    missing = undeclared_variables(template, context)
    if missing:
        names = "、".join(sorted(missing))
        raise TemplateRefused(f"模板“{template.name}”使用了未知变量：{names}；未生成任何文书。"
                              f"请在 Word 中改正模板（可用变量见 xlwings_addin/documents/contexts.py）")


def render_one(template_bytes: bytes, context: dict, target: Path) -> None:
    """Fill the template (compiled once per process, see :mod:`.fast_docx`) and write ``target``."""
    Path(target).write_bytes(compiled(template_bytes).render(context))


@dataclass
class RenderResult:
    files: list = field(default_factory=list)  # (room, Path)
    merged: Optional[Path] = None
    pdfs: list = field(default_factory=list)
    messages: list = field(default_factory=list)  # Chinese lines for the user


def render_letters(kind: str, letters: Iterable[tuple[str, dict]], period_label: str, out_dir: Path, *,
                   template_dir: Optional[Path] = None, workbook: Optional[Path] = None,
                   merge: bool = True, pdf: bool = False,
                   progress: Optional[bool] = None, soffice: Optional[str] = None,
                   pdf_timeout: float = 600) -> RenderResult:
    """Render one .docx per unit into ``out_dir`` (+ a merged print file, + PDFs when asked)."""
    from tqdm import tqdm

    letters = list(letters)
    result = RenderResult()
    if not letters:
        return result
    template = template_path(kind, template_dir, workbook)
    keys = set(letters[0][1])
    for room, ctx in letters:
        if set(ctx) != keys:
            raise ValueError(f"{room} 的文书内容与其他房号不一致：{sorted(keys ^ set(ctx))}")
    check_template(template, letters[0][1])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template_bytes = template.read_bytes()
    used: set[str] = set()
    bar = tqdm(letters, desc=f"生成{kind}", unit="份", disable=(len(letters) < 20) if progress is None else not progress,
               leave=False)
    for room, ctx in bar:
        name = letter_filename(room, kind, ctx.get("periods_covered") or period_label)
        base, n = name[:-5], 2
        while name.lower() in used:
            name = f"{base}_{n}.docx"
            n += 1
        used.add(name.lower())
        target = _inside(out_dir, name)
        render_one(template_bytes, ctx, target)
        result.files.append((room, target))
    result.messages.append(f"已生成{kind} {len(result.files)} 份：{out_dir}")
    if merge and result.files:
        merged_name = f"{safe_component('合并打印')}_{safe_component(kind)}_{safe_component(period_label)}.docx"
        result.merged = merge_documents([p for _, p in result.files], _inside(out_dir, merged_name),
                                        progress=(len(result.files) >= 20) if progress is None else progress)
        result.messages.append(f"合并打印文件：{result.merged}")
    if pdf:
        sources = [p for _, p in result.files] + ([result.merged] if result.merged else [])
        pdfs, message = convert_to_pdf(sources, out_dir, soffice=soffice, timeout=pdf_timeout)
        result.pdfs = pdfs
        result.messages.append(message)
    return result


_SHARED_PARTS = ("word/styles.xml", "word/numbering.xml", "word/_rels/document.xml.rels", "word/settings.xml")


def _shared_parts(path: Path) -> tuple:
    """The parts a letter's body depends on (styles, numbering, relationships, settings)."""
    with zipfile.ZipFile(path) as z:
        infos = {i.filename: i for i in z.infolist()}
        return tuple((infos[n].CRC, infos[n].file_size) if n in infos else None for n in _SHARED_PARTS)


def merge_documents(paths: list[Path], target: Path, progress: bool = False) -> Path:
    """One .docx with every letter, each starting on a new page.

    Letters rendered from the same template share their styles, numbering and
    relationships byte for byte; for those the body is appended as it is (linear
    time: 1,000 letters in seconds).  A document whose parts differ goes through
    docxcompose, which re-maps styles, numbering and relationships element by
    element (correct for any .docx, but about 0.2–0.6 s per letter and growing
    with the merged file, so not used when there is nothing to re-map).
    """
    from docx import Document
    from docx.oxml import parse_xml
    from docx.text.paragraph import Paragraph
    from tqdm import tqdm

    master = Document(str(paths[0]))
    body = master.element.body
    signature = _shared_parts(Path(paths[0]))
    composer = None
    anchor = body.sectPr  # the body's last element: every letter goes before it
    for path in tqdm(paths[1:], desc="合并打印文件", unit="份", disable=not progress, leave=False):
        if _shared_parts(Path(path)) == signature:
            with zipfile.ZipFile(path) as z:
                root = parse_xml(z.read("word/document.xml"))
            elements = [el for el in root.body.iterchildren() if el.tag != qn("w:sectPr")]
            first = next((el for el in elements if el.tag == qn("w:p")), None)
            if first is not None:
                Paragraph(first, None).paragraph_format.page_break_before = True
            for el in elements:
                if anchor is not None:
                    anchor.addprevious(el)
                else:
                    body.append(el)
        else:
            from docxcompose.composer import Composer

            composer = composer or Composer(master)
            doc = Document(str(path))
            if doc.paragraphs:
                doc.paragraphs[0].paragraph_format.page_break_before = True
            composer.append(doc)
    master.save(str(target))
    return target


def find_soffice() -> Optional[str]:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(paths: list[Path], out_dir: Path, soffice: Optional[str] = None,
                   timeout: float = 600) -> tuple[list[Path], str]:
    """Convert with LibreOffice in one headless call using a private, throw-away profile.

    Returns (PDF paths that exist, a Chinese message).  Never raises for a
    missing LibreOffice or a timeout: the .docx files are still there.
    """
    soffice = soffice or find_soffice()
    if not soffice:
        return [], "未安装 LibreOffice（soffice），未生成 PDF；Word 文件已生成"
    out_dir = Path(out_dir)
    profile = Path(tempfile.gettempdir()) / f"feebook-lo-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
           "--convert-to", "pdf", "--outdir", str(out_dir), *[str(p) for p in paths]]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        failed = proc.returncode != 0
    except subprocess.TimeoutExpired:
        return _existing_pdfs(paths, out_dir), f"LibreOffice 转换超时（{timeout:.0f} 秒），部分 PDF 可能未生成"
    except OSError as exc:
        return [], f"无法启动 LibreOffice：{exc}"
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdfs = _existing_pdfs(paths, out_dir)
    if failed or len(pdfs) < len(paths):
        return pdfs, f"PDF 转换未全部完成：{len(pdfs)}/{len(paths)} 个（LibreOffice 返回 {proc.returncode}）"
    return pdfs, f"已转换 PDF {len(pdfs)} 个"


def _existing_pdfs(paths, out_dir: Path) -> list[Path]:
    found = []
    for p in paths:
        target = out_dir / (Path(p).stem + ".pdf")
        if target.exists():
            found.append(target)
    return found

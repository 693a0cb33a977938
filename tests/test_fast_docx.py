"""The compiled-template path writes the document docxtpl itself would write (issue 19)."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from docxtpl import DocxTemplate
from lxml import etree

from xlwings_addin.documents.contexts import KINDS, plan_letters
from xlwings_addin.documents.fast_docx import CompiledTemplate
from xlwings_addin.documents.letters import template_path
from xlwings_addin.jobs.ledger import load

AS_OF = dt.date(2026, 11, 22)


def _canonical(docx: bytes, part: str = "word/document.xml") -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return etree.tostring(etree.fromstring(z.read(part)), method="c14n", exclusive=True)


def _docxtpl(template: bytes, context: dict) -> bytes:
    doc = DocxTemplate(io.BytesIO(template))
    doc.render(context, autoescape=True)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def ledger(demo_workbook):
    return load(demo_workbook).ledger


@pytest.mark.parametrize("kind", KINDS)
def test_every_letter_kind_renders_exactly_as_docxtpl(ledger, kind):
    plan = plan_letters(ledger, kind, AS_OF)
    letters = list(plan.letters[:8])
    assert letters, f"the demo has no {kind} to compare"
    template = template_path(kind).read_bytes()
    compiled = CompiledTemplate(template)
    assert compiled.fast
    for room, context in letters:
        assert _canonical(compiled.render(context)) == _canonical(_docxtpl(template, context)), room


def test_markup_and_line_breaks_in_values_match_docxtpl(ledger):
    """An owner name carrying WordprocessingML is escaped; a newline becomes <w:br/>, as docxtpl does."""
    room, context = plan_letters(ledger, "催缴函", AS_OF).letters[0]
    context = dict(context)
    hostile = '张三</w:t></w:r><w:fldSimple w:instr="DDEAUTO c:\\\\x"/><w:r><w:t>'
    for key, value in context.items():
        if isinstance(value, str):
            context[key] = hostile + "\n第二行 & <b>"
    template = template_path("催缴函").read_bytes()
    fast = CompiledTemplate(template).render(context)
    assert _canonical(fast) == _canonical(_docxtpl(template, context))
    body = zipfile.ZipFile(io.BytesIO(fast)).read("word/document.xml").decode("utf-8")
    assert "fldSimple" not in body.replace("&lt;w:fldSimple", "")
    assert "<w:br/>" in body


def test_every_part_but_the_body_is_the_templates(ledger):
    room, context = plan_letters(ledger, "收费通知单", AS_OF).letters[0]
    template = template_path("收费通知单").read_bytes()
    out = CompiledTemplate(template).render(context)
    with zipfile.ZipFile(io.BytesIO(template)) as t, zipfile.ZipFile(io.BytesIO(out)) as o:
        assert t.namelist() == o.namelist()
        for name in t.namelist():
            if name != "word/document.xml" and "{{" not in t.read(name).decode("utf-8", "replace"):
                assert o.read(name) == t.read(name), name

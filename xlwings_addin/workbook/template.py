"""The empty 收费大表 template (SPEC §2), built from :mod:`xlwings_addin.ledger.schema`.

``build_template(path)`` writes a workbook with every input sheet then every
output sheet, in schema order, each with its header row (required headers
bold, row frozen, sensible widths), number formats on the data columns
(column-level styles, not 5,000 styled empty cells), drop-down lists for every
``choices`` column (rows 2..5000), 参数 filled with the defaults (values kept
as text so ``0.030`` stays exactly ``0.030``) and 佣金规则 with the default
commission rows (§4.6; rates as numbers shown as %).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ..ledger import schema
from .raw import column_letter
from .writer import NUMBER_FORMATS, _width_of

VALIDATION_ROWS = 5000
PARAM_COLUMN_WIDTHS = {"参数": 18, "值": 48, "说明": 60}
# widths a column of this format needs to show its values (a datetime in a 10-wide column shows ###)
KIND_WIDTHS = {"datetime": 20, "date": 12, "money": 14, "rate": 10}
COLUMN_WIDTHS = {(schema.AUDIT, "说明"): 60, (schema.AUDIT, "操作"): 28, (schema.AUDIT, "用户"): 12}


def build_template(path) -> Path:
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for spec in [*schema.INPUT_SHEETS.values(), *schema.OUTPUT_SHEETS.values()]:
        ws = wb.create_sheet(spec.name)
        ws.freeze_panes = "A2"
        for i, header in enumerate(spec.headers):
            letter = column_letter(i)
            cell = ws.cell(row=1, column=i + 1, value=header)
            if header in spec.required:
                cell.font = bold
            width = PARAM_COLUMN_WIDTHS.get(header) if spec.name == schema.PARAMS else None
            kind = spec.formats.get(header) or ("datetime" if (spec.name, header) == (schema.AUDIT, "时间") else None)
            width = width or COLUMN_WIDTHS.get((spec.name, header))
            ws.column_dimensions[letter].width = width or max(10, _width_of(header) + 4, KIND_WIDTHS.get(kind, 0))
            if kind:
                # a column style: new cells typed into this column get the format
                ws.column_dimensions[letter].number_format = NUMBER_FORMATS[kind]
            if header in spec.choices:
                values = ",".join(spec.choices[header])
                dv = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True,
                                    showErrorMessage=True, errorTitle="输入无效",
                                    error=f"请从下拉列表中选择：{values}")
                dv.add(f"{letter}2:{letter}{VALIDATION_ROWS}")
                ws.add_data_validation(dv)

    from .writer import print_ready
    from .sheet_xml import SheetOutput
    for spec in schema.OUTPUT_SHEETS.values():
        print_ready(wb[spec.name], SheetOutput(spec.name, list(spec.headers)))
        wb[spec.name].auto_filter.ref = None

    params = wb[schema.PARAMS]
    params.column_dimensions["B"].number_format = "@"  # values as text: exact, never float
    for r, (key, value, note) in enumerate(schema.PARAM_DEFAULTS, start=2):
        params.cell(row=r, column=1, value=key)
        c = params.cell(row=r, column=2, value=value if value != "" else None)
        c.number_format = "@"
        params.cell(row=r, column=3, value=note)

    rules = wb[schema.COMMISSION_RULES]
    rules.column_dimensions["D"].number_format = "@"
    for r, (month, lower, upper, formula) in enumerate(schema.COMMISSION_RULE_DEFAULTS, start=2):
        rules.cell(row=r, column=1, value=month).number_format = NUMBER_FORMATS["int"]
        for col, rate in ((2, lower), (3, upper)):
            c = rules.cell(row=r, column=col, value=Decimal(rate) if rate != "" else None)
            c.number_format = NUMBER_FORMATS["rate"]
        rules.cell(row=r, column=4, value=formula).number_format = "@"

    wb.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path

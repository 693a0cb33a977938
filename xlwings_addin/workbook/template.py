"""The empty 收费大表 template (SPEC §2), built from :mod:`xlwings_addin.ledger.schema`.

``build_template(path)`` writes a workbook with every input sheet then every
output sheet, in schema order, each with its header row (required headers
bold, row frozen, sensible widths), number formats on the data columns
(column-level styles, not 5,000 styled empty cells), drop-down lists for every
``choices`` column (rows 2..5000), 参数 filled with the defaults (values kept
as text so ``0.030`` stays exactly ``0.030``) and 佣金规则 with the default
commission rows (§4.6; rates as numbers shown as %).

For a new center (issue 21): the company fields of 参数 are empty (check
reports them until filled), a first sheet 使用说明 says what to fill in which
order and the quarterly calendar of company procedure 004, and every header
of an input sheet carries a note (an input message shown when the header cell
is selected) saying whether it is required and its format.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ..ledger import schema
from .raw import column_letter
from .writer import NUMBER_FORMATS, _width_of

VALIDATION_ROWS = 5000
PARAM_COLUMN_WIDTHS = {"参数": 18, "值": 48, "说明": 60}
GUIDE = "使用说明"

FORMAT_NOTES = {
    "money": "金额（元），两位小数，如 1234.50",
    "price": "单价（元），最多四位小数，如 2.50",
    "decimal": "数字，可有小数，如 89.50",
    "date": "日期，如 2026-01-25",
    "datetime": "日期时间，如 2026-01-25 09:30:00",
    "rate": "比例，如 0.8 或 80%",
    "int": "整数，如 3",
    "text": "文本，按原样保存（手机号、账号不会变成科学计数法）",
}
SPECIAL_NOTES = {
    "房号": "文本，楼栋-单元-房号，如 1-1-101；各表的房号必须与“房屋”表一致",
    "期间": "季度写 2026Q1，月写 2026-01",
    "指定期间": "可空；季度写 2026Q1，月写 2026-01",
    "项目编码": "文本，如 WYF；与“收费项目”表一致",
    "参数": "参数名，不要修改",
    "值": "参数的值；公司名称、服务中心、客服电话、收款账户必填",
}

# the order a new center fills the workbook, and the calendar of company procedure 004 (seed 004 §4.1)
GUIDE_ROWS = [
    ["收费大表 使用说明"],
    [],
    ["一、第一次使用：按顺序填写（表头为粗体的列必填；选中表头单元格可看到该列的格式说明）"],
    ["1", "参数", "填写公司名称、服务中心、客服电话、收款账户（空白或示例内容时，校验报错，通知单和托收不能使用）；其余参数已有默认值"],
    ["2", "收费项目", "每个收费项目一行：项目编码、项目名称、计费方式（面积/固定/用量/公摊）、单价、是否计违约金"],
    ["3", "房屋", "每户一行：房号、房屋类型、建筑面积、业主姓名；托收户填开户银行、银行账号、账户名"],
    ["4", "服务助理", "服务助理姓名与负责楼栋（佣金、催收任务按此分配）"],
    ["5", "计费", "加载项“计费”按钮，或命令 feebook bill 收费大表.xlsx --period 2026Q1：应收写入“应收”表"],
    ["6", "收款", "每笔收款一行（前台收款可用“收款登记”按钮或 feebook receive）"],
    ["7", "刷新欠费", "“刷新欠费”按钮或 feebook run：写出 欠费明细、收缴率、问题"],
    ["8", "校验", "“校验”按钮或 feebook check：所有输入问题列在“问题”表，标明工作表和单元格"],
    [],
    ["二、每季度的工作日历（公司《物业管理费收缴程序》）"],
    ["每季度末月28日", "技术组", "抄表，止码交客服（填“抄表”表）"],
    ["每季度首月7日", "服务中心财务", "水电止码录入收费大表"],
    ["每季度首月10日", "服务中心财务", "计算并检查当期应收（计费），报财务管理部"],
    ["每季度首月12日", "财务管理部 / 服务中心财务", "检查复核；打印收费通知单"],
    ["每季度首月15日", "服务中心客服", "张贴收费温馨提示，投递收费通知单"],
    ["每季度首月18日", "服务中心客服 / 财务", "应收费客户短信提示；制作银行托收盘"],
    ["每季度首月19日", "财务管理部", "审核托收盘并盖章"],
    ["每季度首月20日", "服务中心财务", "报盘，跟进托收日期，取得回盘（导入回盘）"],
    ["每季度首月25日", "服务中心财务", "出具托收后的欠费明细清单（刷新欠费）"],
    ["每日", "服务中心客服 / 财务", "前台收款并即时录入；组织催缴（对讲/电话、挂牌、催费通知单），记入催缴记录；报送催收日报"],
    [],
    ["三、文书模板与银行方案"],
    ["", "feebook templates", "把随程序安装的 Word 模板和银行方案复制到“模板”文件夹；放在本工作簿旁边修改后，即优先使用"],
]


def header_note(spec, header: str) -> str:
    """'必填。金额（元），两位小数，如 1234.50' — the note on one input header."""
    kind = "必填" if header in spec.required else "可选"
    if header in spec.choices:
        what = "从下拉列表选择：" + "/".join(spec.choices[header])
    elif header in SPECIAL_NOTES:
        what = SPECIAL_NOTES[header]
    elif header in spec.formats:
        what = FORMAT_NOTES[spec.formats[header]]
    else:
        what = "文本"
    return f"{kind}。{what}"[:255]
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
    guide = wb.create_sheet(GUIDE)
    for r, values in enumerate(GUIDE_ROWS, start=1):
        for c, value in enumerate(values, start=1):
            guide.cell(row=r, column=c, value=value)
        if len(values) == 1:
            guide.cell(row=r, column=1).font = bold
    for letter, width in (("A", 18), ("B", 26), ("C", 100)):
        guide.column_dimensions[letter].width = width
    for spec in [*schema.INPUT_SHEETS.values(), *schema.OUTPUT_SHEETS.values()]:
        ws = wb.create_sheet(spec.name)
        ws.freeze_panes = "A2"
        for i, header in enumerate(spec.headers):
            letter = column_letter(i)
            cell = ws.cell(row=1, column=i + 1, value=header)
            if header in spec.required:
                cell.font = bold
            if spec.name in schema.INPUT_SHEETS:
                single = DataValidation(allow_blank=True, showInputMessage=True, promptTitle=header[:32],
                                        prompt=header_note(spec, header))
                single.add(f"{letter}1")
                ws.add_data_validation(single)
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

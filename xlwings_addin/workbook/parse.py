"""Raw sheets → typed, immutable records, with a 问题 row for every bad cell.

Columns are found by header (order free, extra columns ignored here and kept in
the file).  Values are normalised the way a finance clerk types them:
full-width digits (１２００), numbers stored as text, thousands separators,
stray spaces in 房号, text dates (2026/1/25, 2026-01-25, 2026年1月25日).
A value that cannot be read makes its row a problem (sheet + cell + Chinese
message); the row is skipped and the rest of the sheet goes on.
"""
from __future__ import annotations

import datetime as dt
import difflib
import functools
import operator
import re
import unicodedata
from decimal import Decimal
from itertools import compress, repeat
from typing import Callable, Iterable, Optional

from ..ledger import schema
from ..ledger.money import ZERO, MoneyError, to_decimal, to_money
from ..ledger.periods import Period, PeriodError, parse_date
from ..ledger.records import (
    Assistant,
    BankBatch,
    BankDebit,
    Campaign,
    Charge,
    CommissionRule,
    Complaint,
    Contact,
    Deposit,
    FeeItem,
    HangProposal,
    InstallmentPlan,
    Ledger,
    MeterReading,
    Payment,
    Problem,
    ScopeError,
    Settings,
    SharedCost,
    Source,
    Unit,
    Waiver,
    parse_building_scope,
)
from .raw import RawSheet, blank_cells, column_letter


# Dates outside these are typing mistakes (800 read as 1902-03-10, 9999-12-31): the row is a 问题.
# Dates inside but far from the run's as_of are checked by the jobs (jobs.ledger.date_problems).
EARLIEST_DATE = dt.date(1990, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


class BadCell(ValueError):
    """Raised inside a row parser: the row is skipped and becomes a 问题 row."""

    def __init__(self, header: str, message: str):
        super().__init__(message)
        self.header = header


_INT_LIMIT = 2.0**53
# control characters and invisible format characters (zero-width space, BOM, direction marks);
# U+200D (zero-width joiner) is kept: it is part of emoji sequences
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def clean_text(value) -> str:
    """Cell text, NFKC-folded (full-width → ASCII), control characters removed, stripped."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.isascii() and value.isprintable():  # the common case, no folding needed
            return value.strip()
        return _fold(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _fold(str(value))


@functools.lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    """NFKC (full-width digits and letters → ASCII), control characters removed, stripped."""
    return _CONTROL.sub("", unicodedata.normalize("NFKC", text)).strip()


_SPACES = re.compile(r"\s+")


def clean_room(value) -> str:
    """房号 without any whitespace, full-width folded: ' 1-1-101 ' and '１-１-１０１' → '1-1-101'."""
    text = clean_text(value)
    if " " in text or not text.isprintable():
        text = _INVISIBLE.sub("", _SPACES.sub("", text))
    return text


def _is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return clean_text(value) == ""
    return False


_BLANK, _OK, _BAD = 0, 1, 2
# (converter, value's class, value) → (_BLANK, None) | (_OK, result) | (_BAD, message): a ledger repeats the
# same amounts, dates and periods thousands of times, and every converter is a pure function of the value
_CONVERTED: dict = {}
_CONVERTED_LIMIT = 500_000


def _converted(raw, convert: Callable) -> tuple:
    try:
        key = (convert, raw.__class__, raw)
        hit = _CONVERTED.get(key)
    except TypeError:  # an unhashable value: convert it every time
        key, hit = None, None
    if hit is None:
        if _is_blank(raw):
            hit = (_BLANK, None)
        else:
            try:
                hit = (_OK, convert(raw))
            except (MoneyError, PeriodError) as exc:
                hit = (_BAD, str(exc))
        if key is not None and len(_CONVERTED) < _CONVERTED_LIMIT:
            _CONVERTED[key] = hit
    return hit


def _raw_cell(value):
    """A cell value as the parser reads it: whole floats → int (a reader that leaves whole numbers
    as float, calamine), '' → None."""
    if value.__class__ is float and value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT:
        return int(value)
    return None if value == "" else value


class Row:
    """One data row of a sheet, read by header."""

    __slots__ = ("sheet", "columns", "excel_row", "values", "uncached", "letters", "errors")

    def __init__(self, sheet: RawSheet, columns: dict[str, int], excel_row: int, values: list,
                 letters: Optional[dict[str, str]] = None):
        self.sheet, self.columns, self.excel_row, self.values = sheet, columns, excel_row, values
        self.uncached = sheet.uncached_formulas
        self.letters = letters if letters is not None else {h: column_letter(c) for h, c in columns.items()}
        self.errors = getattr(sheet, "error_cells", None)

    def cell(self, header: str) -> str:
        letter = self.letters.get(header)
        return f"{letter}{self.excel_row}" if letter is not None else f"A{self.excel_row}"

    def source(self, header: str) -> Source:
        return Source(self.sheet.name, self.cell(header))

    def raw(self, header: str):
        col = self.columns.get(header)
        if col is None or col >= len(self.values):
            return None
        if self.uncached and (self.excel_row, col) in self.uncached:
            raise BadCell(header, f"“{header}”是公式但没有计算结果，请在 Excel 中重新计算并保存")
        if self.errors and (self.excel_row, col) in self.errors:
            raise BadCell(header, f"“{header}”是错误值 {self.errors[(self.excel_row, col)]}（公式出错或引用已删除），"
                                  f"请在 Excel 中修正")
        return _raw_cell(self.values[col])

    def blank(self, header: str) -> bool:
        return _is_blank(self.raw(header))

    def text(self, header: str, required: bool = False) -> str:
        value = clean_text(self.raw(header))
        if required and not value:
            raise BadCell(header, f"“{header}”不能为空")
        return value

    def room(self, header: str = "房号") -> str:
        value = clean_room(self.raw(header))
        if not value:
            raise BadCell(header, f"“{header}”不能为空")
        return value

    def _convert(self, header: str, required: bool, convert: Callable):
        kind, value = _converted(self.raw(header), convert)
        if kind == _OK:
            return value
        if kind == _BLANK:
            if required:
                raise BadCell(header, f"“{header}”不能为空")
            return None
        raise BadCell(header, f"“{header}”{value}")

    def money(self, header: str, required: bool = True) -> Optional[Decimal]:
        return self._convert(header, required, to_money)

    def decimal(self, header: str, required: bool = True) -> Optional[Decimal]:
        return self._convert(header, required, to_decimal)

    def integer(self, header: str, required: bool = True, default: Optional[int] = None) -> Optional[int]:
        value = self._convert(header, required, to_decimal)
        if value is None:
            return default
        if value != value.to_integral_value():
            raise BadCell(header, f"“{header}”应为整数，实为 {value}")
        return int(value)

    def date(self, header: str, required: bool = True):
        value = self._convert(header, required, parse_date)
        if value is not None and not (EARLIEST_DATE <= value <= LATEST_DATE):
            raise BadCell(header, f"“{header}”{value:%Y-%m-%d} 不在合理范围（{EARLIEST_DATE:%Y-%m-%d} 至 "
                                  f"{LATEST_DATE:%Y-%m-%d}），可能是年份或日期输错")
        return value

    def period(self, header: str, required: bool = True) -> Optional[Period]:
        return self._convert(header, required, Period.parse)

    def yes(self, header: str, default: bool = False) -> bool:
        value = self.text(header)
        if not value:
            return default
        if value in ("是", "Y", "y", "yes", "YES", "1", "√", "TRUE", "True"):
            return True
        if value in ("否", "N", "n", "no", "NO", "0", "×", "FALSE", "False"):
            return False
        raise BadCell(header, f"“{header}”应填“是”或“否”，实为“{value}”")

    def choice(self, header: str, allowed: Iterable[str], required: bool = True, default: str = "") -> str:
        value = self.text(header, required)
        if not value:
            return default
        if value not in allowed:
            raise BadCell(header, f"“{header}”应为 {'/'.join(allowed)} 之一，实为“{value}”")
        return value


class SheetParser:
    """Finds columns by header and yields rows; collects problems."""

    def __init__(self, raw: dict[str, RawSheet], problems: list[Problem], sheet_names: Iterable[str] = ()):
        self.raw, self.problems = raw, problems
        self.sheet_names = list(sheet_names) or list(raw)

    def rows(self, name: str, required_sheet: bool = False) -> Iterable[Row]:
        prepared = self._prepare(name, required_sheet)
        if prepared is None:
            return
        sheet, columns, letters = prepared
        for excel_row, values in sheet.rows:
            yield Row(sheet, columns, excel_row, values, letters)

    def _prepare(self, name: str, required_sheet: bool = False):
        """(sheet, header → column, header → letter), with the sheet-level 问题; None when unusable."""
        spec = schema.INPUT_SHEETS[name]
        sheet = self.raw.get(name)
        if sheet is None:
            near = near_sheet_names(name, self.sheet_names)
            if near:
                # a sheet that is plainly meant to be this one: its rows would silently be left out
                self.problems.append(Problem.error(
                    Source(name, ""), f"找不到工作表“{name}”；是否为“{'”或“'.join(near)}”？"
                                      f"请把工作表改名为“{name}”（本次未更新结果表）", blocking=True))
            elif required_sheet:
                self.problems.append(Problem.error(
                    Source(name, ""), f"缺少工作表“{name}”（本次未更新结果表）", blocking=True))
            return None
        if sheet.refused:
            self.problems.append(Problem.error(Source(name, sheet.refused_cell), sheet.refused, blocking=True))
            return None
        columns: dict[str, int] = {}
        for idx, header in enumerate(sheet.headers):
            key = clean_text(header).replace(" ", "")
            if not key:
                continue
            if key in columns:
                self.problems.append(
                    Problem.warning(
                        Source(name, f"{column_letter(idx)}1"),
                        f"表头“{key}”重复，使用第一列（{column_letter(columns[key])}列），忽略此列",
                    )
                )
                continue
            columns[key] = idx
        missing = [h for h in spec.required if h not in columns]
        if missing:
            hint = _header_hint(sheet, spec.required, missing, columns)
            self.problems.append(Problem.error(
                Source(name, "1"), f"缺少必需的表头：{'、'.join(missing)}（整张表未读取，本次未更新结果表）{hint}",
                blocking=True))
            return None
        if sheet.hidden:
            self.problems.append(Problem.warning(Source(name, ""), f"工作表“{name}”是隐藏的，仍已读取"))
        for ref in getattr(sheet, "merged", ()):
            first, last = ref.split(":")
            if int(re.sub(r"[A-Z]", "", last)) < 2:
                continue  # a merged title in the header row holds no data
            self.problems.append(Problem.warning(
                Source(name, first),
                f"合并单元格 {ref}：只有左上角 {first} 有值，其余单元格按空白读取，请取消合并并逐行填写"))
        letters = {h: column_letter(c) for h, c in columns.items()}
        return sheet, columns, letters

    def parse(self, name: str, build: Callable[[Row], object], required_sheet: bool = False,
              columnar: bool = True) -> list:
        """The sheet's records, a 问题 for every row its builder rejects.

        A sheet with a :data:`COLUMNAR` plan (应收, 收款, 抄表) is first converted column by
        column; a row whose every cell converts cleanly becomes its record directly, any
        other row goes through ``build`` exactly as without the plan (``columnar=False``),
        so the records and the 问题 are the same either way.
        """
        out = []
        unique = UNIQUE_KEYS.get(name)  # (header, key of a record): a repeated key keeps the first row
        seen: dict = {}
        prepared = self._prepare(name, required_sheet)
        if prepared is None:
            return out
        sheet, columns, letters = prepared
        plan = COLUMNAR.get(name) if columnar else None
        made = plan.convert(sheet, columns) if plan is not None else None
        if made and not any(map(operator.is_, made, repeat(None))):
            keys = list(map(unique[1], made)) if unique is not None else ()
            if len(set(keys)) == len(keys):
                return made  # every row a record, no key repeated: nothing to say
        key_letter = letters.get(unique[0], "A") if unique is not None else ""
        for i, (excel_row, values) in enumerate(sheet.data_rows()):
            record = made[i] if made is not None else None
            if record is None:
                row = Row(sheet, columns, excel_row, values, letters)
                try:
                    record = build(row)
                except BadCell as exc:
                    self.problems.append(Problem.error(row.source(exc.header), f"{exc}，此行未处理"))
                    continue
                if record is None:
                    continue
            if unique is not None:
                key = unique[1](record)
                first = seen.get(key)
                if first is not None:
                    self.problems.append(Problem.error(
                        Source(name, f"{key_letter}{excel_row}"),
                        f"{unique[0]}“{key}”重复（首次出现在 {Source(name, f'{key_letter}{first}')}），此行未处理"))
                    continue
                seen[key] = excel_row
            out.append(record)
        return out


def _fold_name(name: str) -> str:
    """A sheet name compared loosely: NFKC (full-width → ASCII), no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).casefold()


def near_sheet_names(name: str, names: Iterable[str]) -> list[str]:
    """Sheets whose name differs from ``name`` only by spaces, case, full-width characters or a
    prefix/suffix ('收款 ', '收款2026', '应收(2025-2026)', '参数设置') — never ``name`` itself."""
    want = _fold_name(name)
    out = []
    for other in names:
        if other == name or other in schema.INPUT_SHEETS or other in schema.OUTPUT_SHEETS:
            continue
        folded = _fold_name(other)
        if folded == want or (want and want in folded and len(folded) <= len(want) + 12):
            out.append(other)
    if not out:  # one character typed wrong ('收欵'): close, same length
        candidates = [n for n in names if n not in schema.INPUT_SHEETS and n not in schema.OUTPUT_SHEETS]
        folded = {_fold_name(n): n for n in candidates}
        out = [folded[m] for m in difflib.get_close_matches(want, list(folded), n=2, cutoff=0.75)
               if len(m) == len(want)]
    return out


def _header_hint(sheet: RawSheet, required, missing, columns) -> str:
    """Why the headers were not found: a title row above them, or a header with a unit added."""
    for excel_row, values in sheet.data_rows()[:5]:
        texts = {clean_text(v).replace(" ", "") for v in values if not _is_blank(v)}
        if all(h in texts for h in required):
            return f"；第 {excel_row} 行才是表头：请删除表头上方的标题行，让表头位于第 1 行"
    renamed = []
    for h in missing:
        for key, idx in columns.items():
            if key.startswith(h) and key != h:
                renamed.append(f"{column_letter(idx)}1“{key}”应为“{h}”")
                break
    return ("；" + "，".join(renamed)) if renamed else ""


def _settings(parser: SheetParser) -> Settings:
    values: dict[str, tuple[str, Source]] = {}
    for row in parser.rows(schema.PARAMS):
        try:
            key, value = row.text("参数"), row.text("值")
        except BadCell as exc:  # e.g. a formula without a cached value, #REF!
            # a 参数 that cannot be read would silently be replaced by its default: no figures from it
            parser.problems.append(Problem.error(row.source(exc.header), f"{exc}，此行未处理（本次未更新结果表）",
                                                 blocking=True))
            continue
        if not key:
            if value:  # a value without its key: say so rather than drop it
                parser.problems.append(Problem.warning(row.source("参数"), f"参数名为空（值“{value}”），此行未使用"))
            continue
        if key in values:
            parser.problems.append(Problem.warning(
                row.source("参数"), f"参数“{key}”重复（首次出现在 {values[key][1]}），使用此行（最后一行）的值"))
        values[key] = (value, row.source("值"))
    defaults = {k: v for k, v, _ in schema.PARAM_DEFAULTS}
    kwargs: dict = {}

    def get(key: str, convert: Callable, attr: str):
        text, source = values.get(key, (defaults.get(key, ""), Source(schema.PARAMS, "")))
        if text == "" and key in schema.COMPANY_PARAMS:
            kwargs[attr] = ""  # a new center's blank company details stay blank (check says so)
            return
        if text == "":
            text = defaults.get(key, "")
            if text == "":
                return
        try:
            kwargs[attr] = convert(text)
        except (MoneyError, PeriodError, ValueError) as exc:
            parser.problems.append(Problem.error(
                source, f"参数“{key}”的值“{text}”无效（{exc}），本次未更新结果表；请改正后重新运行", blocking=True))

    def within(convert: Callable, low, high, what: str) -> Callable:
        def check(text: str):
            value = convert(text)
            if not (low <= value <= high):
                raise ValueError(f"超出合理范围：应在 {what} 之间")
            return value
        return check

    def positive_int(text: str) -> int:
        value = to_decimal(text)
        if value != value.to_integral_value() or value < 0:
            raise ValueError("应为非负整数")
        return int(value)

    def rate(text: str) -> Decimal:
        text = text.strip()
        value = to_decimal(text.rstrip("%")) / (100 if text.endswith("%") else 1)
        if value < 0:
            raise ValueError("不能为负")
        return value

    def choice(*allowed):
        def check(text: str) -> str:
            if text not in allowed:
                raise ValueError(f"应为 {'/'.join(allowed)} 之一")
            return text
        return check

    for key, attr in (("公司名称", "company"), ("服务中心", "center"), ("客服电话", "hotline"),
                      ("收款账户", "account"), ("缴费方式", "pay_channels"), ("佣金考核项目", "commission_item")):
        get(key, str, attr)
    get("计费周期", choice("季度", "月"), "cycle")
    # plausible ranges (a value outside is a typing mistake, e.g. 3 for 0.0003 multiplies late fees 10,000-fold)
    get("缴费截止日", within(positive_int, 1, 31, "1 和 31"), "due_day")
    get("违约金日费率", within(rate, 0, Decimal("0.005"), "0 和 0.005（日千分之五）"), "late_fee_rate")
    get("违约金宽限天数", within(positive_int, 0, 365, "0 和 365 天"), "grace_days")
    get("违约金上限比例", within(rate, 0, 1, "0 和 1（100%）"), "late_fee_cap")
    get("冲抵顺序", lambda t: choice("先本金后违约金", "先违约金后本金")(t) == "先本金后违约金", "principal_first")
    get("挂牌欠费期数", within(positive_int, 1, 120, "1 和 120 期"), "hang_periods")
    get("律师函欠费天数", within(positive_int, 1, 3650, "1 和 3650 天"), "lawyer_days")
    get("诉讼欠费金额", within(to_money, 0, Decimal("100000000"), "0 和 100,000,000 元"), "litigation_amount")
    get("诉讼时效预警月数", within(positive_int, 0, 120, "0 和 120 个月"), "limitation_warn_months")
    get("LPR年利率", within(rate, 0, Decimal("0.2"), "0 和 0.2（20%，如 3.45% 或 0.0345）"), "lpr")
    kwargs["extra"] = tuple((k, v) for k, (v, _) in values.items())
    kwargs["cells"] = tuple((k, s.cell) for k, (_, s) in values.items() if s.cell)
    return Settings(**kwargs)


def _item(row: Row) -> FeeItem:
    method = row.choice("计费方式", schema.BILLING_METHODS)
    price = row.decimal("单价", required=method != "公摊")
    if price is not None and price < 0:
        raise BadCell("单价", "“单价”不能为负数")
    types = tuple(t for t in re.split(r"[,，、/ ]+", row.text("适用房屋类型")) if t)
    return FeeItem(
        code=row.text("项目编码", required=True),
        name=row.text("项目名称", required=True),
        method=method,
        unit_price=price,
        late_fee=row.yes("计违约金"),
        unit_label=row.text("计费单位"),
        house_types=types,
        source=row.source("项目编码"),
    )


def _unit(row: Row) -> Unit:
    area = row.decimal("建筑面积")
    if area < 0:
        raise BadCell("建筑面积", "“建筑面积”不能为负数")
    occupied = row.choice("入住状态", ("已入住", "空置"), required=False, default="已入住")
    return Unit(
        room=row.room(),
        house_type=row.text("房屋类型", required=True),
        area=area,
        owner=row.text("业主姓名", required=True),
        building=row.text("楼栋"),
        entrance=row.text("单元"),
        mobile=re.sub(r"[\s-]", "", row.text("手机")),
        occupied=occupied == "已入住",
        parking_spaces=row.integer("车位数", required=False, default=0),
        bank_debit=row.yes("托收"),
        bank_name=row.text("开户银行"),
        account_no=re.sub(r"\s", "", row.text("银行账号")),
        account_name=row.text("账户名"),
        assistant=row.text("服务助理"),
        sms_consent=row.yes("短信同意"),
        developer_held=row.yes("开发商持有"),
        note=row.text("备注"),
        source=row.source("房号"),
    )


def _reading(row: Row) -> MeterReading:
    return MeterReading(
        period=row.period("期间"),
        room=row.room(),
        meter=row.choice("表类型", ("水", "电")),
        previous=row.decimal("上期读数"),
        current=row.decimal("本期读数"),
        read_on=row.date("抄表日期", required=False),
        reader=row.text("抄表人"),
        source=row.source("本期读数"),
    )


def _shared(row: Row) -> SharedCost:
    return SharedCost(
        period=row.period("期间"),
        item_code=row.text("项目编码", required=True),
        total=row.money("总金额"),
        method=row.choice("分摊方式", ("面积", "户数")),
        scope=_scope(row),
        source=row.source("总金额"),
        scope_source=row.source("范围"),
    )


def _scope(row: Row) -> str:
    try:
        return parse_building_scope(row.text("范围"))
    except ScopeError as exc:
        raise BadCell("范围", str(exc)) from None


def _charge(row: Row) -> Charge:
    return Charge(
        bill_no=row.text("账单号", required=True),
        period=row.period("期间"),
        room=row.room(),
        item_code=row.text("项目编码", required=True),
        amount=row.money("金额"),
        due_date=row.date("应缴日期"),
        item_name=row.text("项目名称"),
        quantity=row.decimal("数量", required=False),
        unit_price=row.decimal("单价", required=False),
        origin=row.text("来源") or "手工",
        source=row.source("金额"),
    )


def _payment(row: Row) -> Payment:
    amount = row.money("金额")
    reverses = row.text("冲销收据号")
    if amount == 0:
        raise BadCell("金额", "“金额”为0")
    if row.text("渠道") == schema.REFUND:
        return _refund(row, amount, reverses)
    if amount < 0 and not reverses:
        raise BadCell("金额", "负数金额必须填写“冲销收据号”（冲销行）")
    return Payment(
        receipt_no=row.text("收据号", required=True),
        paid_on=row.date("收款日期"),
        room=row.room(),
        amount=amount,
        channel=row.choice("渠道", schema.CHANNELS),
        period=row.period("指定期间", required=False),
        operator=row.text("经办人"),
        batch=row.text("托收批次"),
        reverses=reverses,
        note=row.text("备注"),
        source=row.source("金额"),
        trade_no=row.text("交易单号"),
    )


def _refund(row: Row, amount, reverses: str) -> Payment:
    """渠道 退款: 预存 paid back to the owner; 金额 may be typed positive or negative, kept positive.

    An approver is required (SPEC §2: in 备注 or 经办人); a refund never names a receipt to undo.
    """
    if reverses:
        raise BadCell("冲销收据号", "退款不冲销收据（更正收据请用冲销行），“冲销收据号”应为空")
    if not (row.text("经办人") or row.text("备注")):
        raise BadCell("备注", "退款必须写明审批人（填在“备注”或“经办人”）")
    return Payment(
        receipt_no=row.text("收据号", required=True),
        paid_on=row.date("收款日期"),
        room=row.room(),
        amount=abs(amount),
        channel=schema.REFUND,
        operator=row.text("经办人"),
        note=row.text("备注"),
        source=row.source("金额"),
    )


def _campaign(row: Row) -> Campaign:
    start, end = row.date("开始日期"), row.date("结束日期")
    if end < start:
        raise BadCell("结束日期", f"“结束日期”{end} 早于“开始日期”{start}")
    months = row.integer("预缴月数")
    if months < 1:
        raise BadCell("预缴月数", "“预缴月数”至少为1")
    kind = row.choice("优惠方式", schema.CAMPAIGN_KINDS)
    value = row.decimal("优惠值")
    if value <= 0:
        raise BadCell("优惠值", "“优惠值”应为正数")
    if kind == "折扣率" and value >= 1:
        raise BadCell("优惠值", f"折扣率应小于1（如九五折写 0.95），实为 {value}")
    if kind == "赠送月数" and value != value.to_integral_value():
        raise BadCell("优惠值", f"赠送月数应为整数，实为 {value}")
    return Campaign(
        name=row.text("活动名称", required=True),
        item_code=row.text("项目编码", required=True),
        start=start,
        end=end,
        months=months,
        kind=kind,
        value=value,
        no_arrears_only=row.yes("仅限无欠费"),
        source=row.source("活动名称"),
    )


def _deposit(row: Row) -> Deposit:
    amount = row.money("金额")
    if amount == 0:
        raise BadCell("金额", "押金“金额”为0")
    approver = row.text("审批人")
    if amount < 0 and not approver:
        raise BadCell("审批人", "退还押金必须有“审批人”")
    return Deposit(
        date=row.date("日期"),
        room=row.room(),
        kind=row.text("类型", required=True),
        amount=amount,
        operator=row.text("经办人"),
        approver=approver,
        note=row.text("备注"),
        source=row.source("金额"),
    )


def _waiver(row: Row) -> Waiver:
    amount = row.money("金额")
    if amount <= 0:
        raise BadCell("金额", "减免“金额”应为正数")
    approver = row.text("审批人")
    if not approver:
        raise BadCell("审批人", "减免必须有“审批人”")
    return Waiver(
        date=row.date("日期"),
        room=row.room(),
        kind=row.choice("类型", ("违约金减免", "费用减免")),
        amount=amount,
        reason=row.text("原因", required=True),
        approver=approver,
        period=row.period("期间", required=False),
        source=row.source("金额"),
    )


def _contact(row: Row) -> Contact:
    return Contact(
        date=row.date("日期"),
        room=row.room(),
        method=row.choice("方式", schema.CONTACT_METHODS),
        operator=row.text("经办人"),
        result=row.choice("结果", schema.CONTACT_RESULTS, required=False),
        promise_date=row.date("承诺缴费日", required=False),
        reason=row.choice("欠费原因", schema.ARREARS_REASONS, required=False),
        proof=row.text("送达凭证"),
        note=row.text("备注"),
        source=row.source("日期"),
    )


def _plan(row: Row) -> InstallmentPlan:
    count = row.integer("期数")
    if count < 1:
        raise BadCell("期数", "“期数”至少为1")
    if count > 360:
        raise BadCell("期数", f"“期数”{count} 超出合理范围（1 至 360 期）")
    interval = row.integer("间隔月数", required=False, default=1)
    if interval is not None and not (0 <= interval <= 12):
        raise BadCell("间隔月数", f"“间隔月数”{interval} 超出合理范围（1 至 12 个月）")
    return InstallmentPlan(
        plan_no=row.text("协议号", required=True),
        room=row.room(),
        signed_on=row.date("签订日期"),
        total=row.money("总额"),
        count=count,
        first_due=row.date("首期日期"),
        interval_months=interval or 1,
        status=row.choice("状态", ("履行中", "已完成", "已违约"), required=False, default="履行中"),
        source=row.source("协议号"),
    )


def _complaint(row: Row) -> Complaint:
    return Complaint(
        number=row.text("编号", required=True),
        room=row.room(),
        date=row.date("日期"),
        status=row.choice("状态", ("处理中", "已解决")),
        category=row.text("类别"),
        content=row.text("内容"),
        resolved_on=row.date("解决日期", required=False),
        source=row.source("编号"),
    )


def _assistant(row: Row) -> Assistant:
    buildings = tuple(b for b in re.split(r"[,，、;；\s]+", row.text("负责楼栋")) if b)
    return Assistant(name=row.text("姓名", required=True), buildings=buildings, source=row.source("姓名"))


_FORMULA = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*\*\s*收缴率\s*(?:([+-])\s*(\d+(?:\.\d+)?))?$")


def parse_commission_formula(text: str) -> tuple[Decimal, Decimal]:
    """'2000*收缴率-1400' → (2000, -1400); '500' → (0, 500)."""
    compact = clean_text(text).replace(" ", "").replace("×", "*").replace("＊", "*")
    m = _FORMULA.match(compact)
    if m:
        intercept = Decimal(m.group(3) or "0") * (-1 if m.group(2) == "-" else 1)
        return Decimal(m.group(1)), intercept
    return Decimal(0), to_decimal(compact)


def _rule(row: Row) -> CommissionRule:
    month = row.integer("月份")
    if month not in (1, 2, 3):
        raise BadCell("月份", "“月份”应为 1、2 或 3（季度内第几月）")

    def rate(header: str, required: bool):
        raw = row.raw(header)
        if isinstance(raw, str) and raw.strip().endswith("%"):
            return row._convert(header, required, lambda v: to_decimal(v.strip()[:-1]) / 100)
        return row.decimal(header, required)

    formula = row.text("金额公式", required=True)
    try:
        slope, intercept = parse_commission_formula(formula)
    except MoneyError:
        raise BadCell("金额公式", f"“金额公式”应为数字或 a*收缴率+b，实为“{formula}”") from None
    return CommissionRule(month, rate("收缴率下限", True), rate("收缴率上限", False), slope, intercept, formula,
                          row.source("金额公式"))


def _bank_batch(row: Row) -> BankBatch:
    return BankBatch(
        batch_id=row.text("批次号", required=True),
        profile=row.text("银行方案"),
        created_on=row.date("生成日期"),
        rows=row.integer("笔数"),
        total=row.money("总金额"),
        status=row.choice("状态", ("待回盘", "已回盘", "已作废")),
        period=row.period("期间", required=False),
        returned_on=row.date("回盘日期", required=False),
        file_digest=row.text("回盘文件摘要"),
        approver=row.text("审批人"),
        note=row.text("备注"),
        source=row.source("批次号"),
    )


def _bank_debit(row: Row) -> BankDebit:
    return BankDebit(
        batch_id=row.text("批次号", required=True),
        seq=row.integer("序号"),
        room=row.room(),
        amount=row.money("金额"),
        result=row.choice("结果", ("待回盘", "成功", "失败")),
        account_no=re.sub(r"\s", "", row.text("银行账号")),
        account_name=row.text("账户名"),
        bill_nos=tuple(b for b in re.split(r"[,，;；\s]+", row.text("账单号")) if b),
        reason=row.text("失败原因"),
        returned_on=row.date("回盘日期", required=False),
        receipt_no=row.text("收据号"),
        source=row.source("房号"),
    )


def _hang(row: Row) -> HangProposal:
    return HangProposal(
        room=row.room(),
        proposed_on=row.date("提议日期"),
        periods=row.integer("欠费期数", required=False),
        amount=row.money("欠费金额", required=False),
        approver=row.text("审批人"),
        approved_on=row.date("审批日期", required=False),
        posted_on=row.date("张贴日期", required=False),
        removed_on=row.date("撤下日期", required=False),
        status=row.choice("状态", schema.HANG_STATUSES, required=False, default="待审批"),
        note=row.text("备注"),
        source=row.source("房号"),
    )


# sheet → (Ledger field, row builder, is the sheet required?) — in the order problems are listed
RECORD_SHEETS: dict[str, tuple[str, Callable[[Row], object], bool]] = {
    schema.ITEMS: ("items", _item, True),
    schema.UNITS: ("units", _unit, True),
    schema.READINGS: ("readings", _reading, False),
    schema.SHARED: ("shared_costs", _shared, False),
    schema.CHARGES: ("charges", _charge, True),
    schema.PAYMENTS: ("payments", _payment, True),
    schema.WAIVERS: ("waivers", _waiver, False),
    schema.CONTACTS: ("contacts", _contact, False),
    schema.PLANS: ("plans", _plan, False),
    schema.COMPLAINTS: ("complaints", _complaint, False),
    schema.ASSISTANTS: ("assistants", _assistant, False),
    schema.BANK_BATCHES: ("bank_batches", _bank_batch, False),
    schema.BANK_DEBITS: ("bank_debits", _bank_debit, False),
    schema.HANG: ("hangings", _hang, False),
    schema.COMMISSION_RULES: ("commission_rules", _rule, False),
    schema.CAMPAIGNS: ("campaigns", _campaign, False),
    schema.DEPOSITS: ("deposits", _deposit, False),
}


# ------------------------------------------------------------------ the columnar plans (issue 19)

_REJECT = object()  # a cell the row builder would not accept as it is: its row takes the row path


def _cell_reader(kind: str, required: bool, default="", allowed: tuple = ()) -> Callable:
    """raw cell → the value the matching :class:`Row` method returns, or :data:`_REJECT` where it raises."""
    if kind == "text":
        def read(value):
            text = clean_text(_raw_cell(value))
            if not text:
                return _REJECT if required else default
            return text
    elif kind == "choice":
        def read(value):
            text = clean_text(_raw_cell(value))
            if not text:
                return _REJECT if required else default
            return text if text in allowed else _REJECT
    elif kind == "room":
        def read(value):
            return clean_room(_raw_cell(value)) or _REJECT
    else:
        convert = {"money": to_money, "decimal": to_decimal, "date": parse_date, "period": Period.parse}[kind]

        def read(value):
            status, result = _converted(_raw_cell(value), convert)
            if status == _BLANK:
                return _REJECT if required else None
            if status == _BAD:
                return _REJECT
            if kind == "date" and not (EARLIEST_DATE <= result <= LATEST_DATE):
                return _REJECT
            return result
    return read


class ColumnarPlan:
    """How one sheet's rows map onto a record, field by field, for the column-at-a-time parse.

    ``fields`` are (header, kind, required, default, allowed) in the record's field order
    (its ``source`` last, named by ``source_header``); ``accept`` is the builder's own
    row-level rule on the converted values (e.g. a 收款 row of a negative amount needs a
    冲销收据号).  A plan must say exactly what its row builder says: the tests parse every
    sheet both ways and compare.
    """

    def __init__(self, record, source_header: str, fields: tuple, accept: Optional[Callable] = None,
                 accept_when: tuple = (0, lambda value: False)):
        self.record, self.source_header, self.accept = record, source_header, accept
        self.accept_when = accept_when  # (field, test): a row whose field passes is accepted without asking
        self.fields = [(f[0], _cell_reader(f[1], f[2], *f[3:])) for f in fields]
        self.texts = {f[0] for f in fields if f[1] == "text"}  # read at C speed when every cell is ASCII text
        self.dates = frozenset(f[0] for f in fields if f[1] == "date")  # a date-formatted cell is read here

    def convert(self, sheet: RawSheet, columns: dict[str, int]) -> Optional[list]:
        """Per data row: its record, or None where the row path decides (None: the whole sheet does)."""
        data = sheet.columns
        if data is not None:
            row_numbers = data.row_numbers
        else:
            rows = sheet.rows
            row_numbers = [excel_row for excel_row, _v in rows]
            by_column = list(zip(*map(operator.itemgetter(1), rows)))  # the sheet, a column at a time
        n = len(row_numbers)
        if not n:
            return []
        converted = []
        rejected: set[int] = set()
        for header, read in self.fields:
            idx = columns.get(header)
            if idx is None:
                value = read(None)
                if value is _REJECT:
                    return None
                converted.append([value] * n)
                continue
            if data is not None:
                got = _arrow_column_values(data, idx, read, header in self.texts)
            else:
                got = _column_values(by_column[idx], read, header in self.texts)
            if got is None:
                return None  # TRUE == 1 would share a table entry: this sheet goes the row path
            values, outcomes = got
            if any(v is _REJECT for v in outcomes):
                rejected.update(i for i, v in enumerate(values) if v is _REJECT)
            converted.append(values)
        bad_cells = set(sheet.uncached_formulas or ())
        bad_cells.update(getattr(sheet, "error_cells", None) or {})
        if bad_cells:
            wanted = {columns[h] for h, _ in self.fields if h in columns}
            bad_rows = {row for row, col in bad_cells if col in wanted}
            rejected.update(i for i, excel_row in enumerate(row_numbers) if excel_row in bad_rows)
        if self.accept is not None:
            column, surely = self.accept_when
            if list(map(surely, converted[column])).count(True) != n:  # (all of them, usually: no call per row)
                rejected.update(i for i, args in enumerate(zip(*converted))
                                if i not in rejected and not self.accept(args))
        letter = column_letter(columns[self.source_header]) if self.source_header in columns else "A"
        cells = list(map(letter.__add__, map(str, row_numbers)))  # 'E2', 'E3', …
        sources = map(Source, repeat(sheet.name, n), cells)
        if not rejected:
            return ColumnRecords(map(self.record, *converted, sources), converted, cells)
        keep = [i not in rejected for i in range(n)]
        made = iter(map(self.record, *(compress(c, keep) for c in converted), compress(sources, keep)))
        return [next(made) if k else None for k in keep]


def _column_values(column, read: Callable, text: bool) -> Optional[tuple[list, Iterable]]:
    """(each cell as ``read`` gives it, the distinct outcomes) of one column of cells; None: a
    logical value, the sheet goes the row path."""
    kinds = set(map(type, column))
    if bool in kinds or not kinds <= _PLAIN_CELLS:
        return None
    got = _ascii_texts(column, read) if text and kinds == {str} else None
    if got is not None:
        return got
    table = {value: read(value) for value in set(column)}
    return list(map(table.__getitem__, column)), table.values()


def _ascii_texts(column: list, read: Callable) -> Optional[tuple[list, list]]:
    """A text column's values as ``read`` gives them when every text is printable ASCII (else None):
    clean_text of such a text is strip(), so no call per cell (账单号, 收据号 are all distinct)."""
    if not (all(map(str.isascii, column)) and all(map(str.isprintable, column))):
        return None
    values = list(map(str.strip, column))
    outcomes = [read("")] if "" in values else []
    if outcomes:
        values = [outcomes[0] if v == "" else v for v in values]
    return values, outcomes


def _arrow_column_values(data, index: int, read: Callable, text: bool) -> tuple[list, Iterable]:
    """:func:`_column_values` of column ``index`` of a sheet read a column at a time (the reader took
    only types calamine also gives): each distinct value is read once, the cells filled from those
    outcomes in C."""
    import numpy as np

    array = data.table.column(index)
    if text and array.null_count == 0 and str(array.type) == "string":
        got = _ascii_texts(data.column(index), read)
        if got is not None:
            return got
    encoded = array.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    indices = encoded.indices
    outcomes = [read(value) for value in distinct]
    if indices.null_count:
        outcomes.append(read(None))  # a blank cell's
    table = np.empty(len(outcomes), dtype=object)
    for i, outcome in enumerate(outcomes):
        table[i] = outcome
    positions = np.frombuffer(indices.buffers()[1], dtype=indices.type.to_pandas_dtype())
    positions = positions[indices.offset:indices.offset + len(indices)].astype(np.intp)
    if indices.null_count:
        positions[blank_cells(indices)] = len(distinct)
    if data.keep is not None:
        positions = positions[np.asarray(data.keep)]
    return table[positions].tolist(), outcomes


class ColumnRecords(list):
    """The records of a sheet made a column at a time, with those columns (field values in the
    record's field order, and the source cells): the parse cache stores them as they are."""

    def __init__(self, records, columns: list, cells: list):
        super().__init__(records)
        self.columns, self.cells = columns, cells


_PLAIN_CELLS = frozenset({str, float, int, dt.datetime, dt.date, dt.time, type(None)})


COLUMNAR: dict[str, ColumnarPlan] = {
    schema.CHARGES: ColumnarPlan(Charge, "金额", (
        ("账单号", "text", True), ("期间", "period", True), ("房号", "room", True), ("项目编码", "text", True),
        ("金额", "money", True), ("应缴日期", "date", True), ("项目名称", "text", False),
        ("数量", "decimal", False), ("单价", "decimal", False), ("来源", "text", False, "手工"))),
    # 收款: a refund (渠道 退款, not among the choices), a zero amount or a negative amount
    # without 冲销收据号 take the row path, which says what is wrong or builds the refund
    schema.PAYMENTS: ColumnarPlan(Payment, "金额", (
        ("收据号", "text", True), ("收款日期", "date", True), ("房号", "room", True), ("金额", "money", True),
        ("渠道", "choice", True, "", schema.CHANNELS), ("指定期间", "period", False), ("经办人", "text", False),
        ("托收批次", "text", False), ("冲销收据号", "text", False), ("备注", "text", False),
        ("交易单号", "text", False)),
        accept=lambda args: args[3] > 0 or (args[3] < 0 and args[8] != ""), accept_when=(3, ZERO.__lt__)),
    schema.READINGS: ColumnarPlan(MeterReading, "本期读数", (
        ("期间", "period", True), ("房号", "room", True), ("表类型", "choice", True, "", ("水", "电")),
        ("上期读数", "decimal", True), ("本期读数", "decimal", True), ("抄表日期", "date", False),
        ("抄表人", "text", False))),
}


# sheet → (header, key): rows repeating a key are problems, the first row counts
UNIQUE_KEYS: dict[str, tuple[str, Callable]] = {
    schema.UNITS: ("房号", lambda u: u.room),
    schema.ITEMS: ("项目编码", lambda i: i.code),
    schema.CHARGES: ("账单号", lambda c: c.bill_no),
    schema.PAYMENTS: ("收据号", lambda p: p.receipt_no),
}


def parse_sheet(name: str, raw: dict[str, RawSheet], sheet_names: Iterable[str] = (),
                columnar: bool = True) -> tuple[list, list[Problem]]:
    """One record sheet → (records, its problems).  Depends on that sheet alone (so it can be cached).

    ``sheet_names`` are all the workbook's sheets (when ``raw`` holds only some): a
    missing sheet is looked for among them under a near name ('收款2026').
    """
    problems: list[Problem] = []
    _field, build, required = RECORD_SHEETS[name]
    records = SheetParser(raw, problems, sheet_names).parse(name, build, required_sheet=required, columnar=columnar)
    return records, problems


def header_columns(headers: Iterable[str]) -> dict[str, int]:
    """Header → column index, as :class:`SheetParser` finds columns (first of a repeated header)."""
    columns: dict[str, int] = {}
    for idx, header in enumerate(headers):
        key = clean_text(header).replace(" ", "")
        if key and key not in columns:
            columns[key] = idx
    return columns


def cell_of(source: Source, header: str, columns: Optional[dict[str, int]]) -> Source:
    """The cell of ``header`` in the row of ``source`` (the record's own cell when unknown)."""
    m = re.fullmatch(r"[A-Z]+(\d+)", source.cell or "")
    if not m or not columns or header not in columns:
        return source
    return Source(source.sheet, f"{column_letter(columns[header])}{m.group(1)}")


_room = operator.attrgetter("room")
_item_code = operator.attrgetter("item_code")


def parse_ledger(raw: dict[str, RawSheet], parsed: Optional[dict] = None, sheet_names: Iterable[str] = (),
                 headers: Optional[dict[str, list]] = None, columnar: bool = True) -> Ledger:
    """Every input sheet → a :class:`Ledger`; bad rows become problems, never exceptions.

    ``parsed`` may hold sheets already parsed (name → (records, problems), e.g.
    from the cache of unchanged sheets); the others are parsed from ``raw``.
    ``sheet_names`` lists every sheet of the workbook when ``raw`` holds only
    some, ``headers`` the header rows of sheets not in ``raw`` (to name cells).
    ``columnar=False`` parses every row through its row builder (the reference the
    column-at-a-time path is tested against).
    """
    problems: list[Problem] = []
    sheet_names = list(sheet_names) or list(raw)
    settings = _settings(SheetParser(raw, problems, sheet_names))
    parts: dict[str, list] = {}
    for name, (field_name, _build, _required) in RECORD_SHEETS.items():
        if parsed is not None and name in parsed:
            records, sheet_problems = parsed[name]
        else:
            records, sheet_problems = parse_sheet(name, raw, sheet_names, columnar=columnar)
        parts[field_name] = list(records)
        problems.extend(sheet_problems)
    items, units = parts.pop("items"), parts.pop("units")
    rules = parts.pop("commission_rules") or default_commission_rules()
    ledger_parts = parts

    # Cross-sheet checks: references to unknown rooms/items (repeated keys are caught per sheet).
    # Each problem names the cell holding the bad value (the 房号 / 项目编码 cell, not the 金额 cell).
    rooms = {u.room for u in units}
    codes = {i.code for i in items}
    payments = ledger_parts["payments"]
    ledger_parts["refunds"] = [p for p in payments if p.channel == schema.REFUND]
    ledger_parts["payments"] = [p for p in payments if p.channel != schema.REFUND]
    columns: dict[str, dict[str, int]] = {}
    for name in RECORD_SHEETS:
        if name in raw:
            columns[name] = header_columns(raw[name].headers)
        elif headers and name in headers:
            columns[name] = header_columns(headers[name])
    for key in ("readings", "charges", "payments", "waivers", "contacts", "plans", "complaints", "hangings",
                "refunds", "deposits"):
        records = ledger_parts[key]
        if set(map(_room, records)) <= rooms and (key != "charges" or set(map(_item_code, records)) <= codes):
            continue  # every room (and item) known: nothing to say, every record kept
        kept = []
        for record in records:
            cols = columns.get(record.source.sheet)
            if record.room not in rooms:
                problems.append(Problem.error(cell_of(record.source, "房号", cols),
                                              f"房号“{record.room}”不在“房屋”表中，此行未处理"))
                continue
            if key == "charges" and record.item_code not in codes:
                problems.append(Problem.error(cell_of(record.source, "项目编码", cols),
                                              f"项目编码“{record.item_code}”不在“收费项目”表中，此行未处理"))
                continue
            kept.append(record)
        ledger_parts[key] = kept
    for shared in ledger_parts["shared_costs"]:
        if shared.item_code not in codes:
            problems.append(Problem.error(cell_of(shared.source, "项目编码", columns.get(shared.source.sheet)),
                                          f"项目编码“{shared.item_code}”不在“收费项目”表中"))
    methods = {i.code: i.method for i in items}
    kept = []
    for campaign in ledger_parts["campaigns"]:
        if campaign.item_code not in codes:
            problems.append(Problem.error(cell_of(campaign.source, "项目编码", columns.get(campaign.source.sheet)),
                                          f"项目编码“{campaign.item_code}”不在“收费项目”表中，此活动未使用"))
            continue
        if methods[campaign.item_code] not in ("面积", "固定"):
            problems.append(Problem.error(
                campaign.source, f"优惠活动只适用于按面积或固定计费的项目，“{campaign.item_code}”为{methods[campaign.item_code]}，此活动未使用"))
            continue
        cap = settings.get("预缴上限月数", "12")
        try:
            cap_months = int(to_decimal(cap or "12"))
        except MoneyError:
            cap_months = 12
        if campaign.months > cap_months:
            problems.append(Problem.warning(
                campaign.source, f"优惠活动“{campaign.name}”要求预缴 {campaign.months} 个月，超过参数“预缴上限月数”{cap_months}"))
        kept.append(campaign)
    ledger_parts["campaigns"] = kept
    return Ledger(
        settings=settings,
        items=tuple(items),
        units=tuple(units),
        commission_rules=tuple(rules),
        problems=tuple(problems),
        layout=columns,
        **{k: tuple(v) for k, v in ledger_parts.items()},
    )


def default_commission_rules() -> list[CommissionRule]:
    rules = []
    for month, lower, upper, formula in schema.COMMISSION_RULE_DEFAULTS:
        slope, intercept = parse_commission_formula(formula)
        rules.append(CommissionRule(month, Decimal(lower), Decimal(upper) if upper else None, slope, intercept,
                                    formula, Source(schema.COMMISSION_RULES, "")))
    return rules

"""Jobs: read → engine → the changes to write.  Shared by the CLI, the ribbon macros and the scheduler.

A job takes a :class:`~xlwings_addin.ledger.records.Ledger` and ``as_of`` and returns
:class:`Changes` (sheets to rewrite, rows to append, 操作日志 entries, a
summary for the user and the problems).  Applying changes is the caller's
business: :func:`apply_to_file` for a workbook on disk (atomic, backed up),
the add-in for a workbook open in Excel.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..ledger import schema
from ..engine.aging import AGING_NOTE, arrears_list
from ..engine.allocation import AllocationResult, allocate
from ..engine.billing import bill_period
from ..engine.late_fee import late_fee_formula
from ..engine.rates import collection_rates
from ..ledger.money import ZERO
from ..ledger.periods import Period
from ..ledger.records import ERROR, Charge, Ledger, Problem, Source
from ..workbook.cache import load_ledger
from ..workbook.reader import file_digest, read_workbook
from ..workbook.writer import Formula, SheetOutput, save_changes


@dataclass
class Changes:
    action: str
    replace: dict = field(default_factory=dict)  # sheet → SheetOutput
    append: dict = field(default_factory=dict)  # sheet → [ {header: value} ]
    audit: list = field(default_factory=list)
    summary: list = field(default_factory=list)  # lines in Chinese for the user
    problems: list = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    @property
    def writes(self) -> bool:
        return bool(self.replace or any(self.append.values()))


@dataclass
class LoadedBook:
    path: Path
    ledger: Ledger
    digest: str


def load(path) -> LoadedBook:
    """Read and parse a workbook file (raises WorkbookError for files that are not workbooks)."""
    path = Path(path)
    digest = file_digest(path)
    return LoadedBook(path, load_ledger(path), digest)


def read_inputs(path):
    """The raw input sheets (output sheets are rewritten whole, never read back)."""
    return read_workbook(path, schema.INPUT_SHEETS, clean=False)


def blocking_problems(problems) -> list[Problem]:
    """Problems that mean the workbook could not be fully read (no figures may be published)."""
    return [p for p in problems if getattr(p, "blocking", False)]


WITHHELD_NOTE = "工作簿无法完整读取（见“问题”表中标注“本次未更新结果表”的错误），本次未更新任何结果表，只写入了“问题”和“操作日志”"


def withhold_results(changes: Changes, ledger: Optional[Ledger] = None) -> Changes:
    """A workbook the engine cannot fully read never publishes figures.

    When a required sheet or column is unusable (a blocking problem), only the
    问题 sheet and the 操作日志 entry are written; every result sheet is left as
    it was and no row is appended anywhere, and the summary says so.
    """
    blocking = blocking_problems(changes.problems) or (blocking_problems(ledger.problems) if ledger else [])
    if not blocking:
        return changes
    problems = list(changes.problems)
    if ledger is not None:
        seen = set(problems)
        problems += [p for p in ledger.problems if p not in seen]
    if not changes.problems:
        changes.problems = problems
    kept = {schema.PROBLEMS: problems_sheet(changes.problems)}
    dropped = [name for name in changes.replace if name != schema.PROBLEMS]
    dropped += [name for name, rows in changes.append.items() if rows]
    changes.replace = kept
    changes.append = {}
    note = WITHHELD_NOTE + (f"（未写入：{'、'.join(dict.fromkeys(dropped))}）" if dropped else "")
    changes.audit = [{"操作": changes.action + "（未更新结果表）", "数量": len(blocking),
                      "说明": note[:500]}]
    changes.summary = [note]
    return changes


def apply_to_file(book: LoadedBook, changes: Changes) -> None:
    """Write the changes atomically, refusing if the file changed since it was read.

    A workbook with a blocking problem gets only 问题 and 操作日志 (see :func:`withhold_results`).
    """
    withhold_results(changes, book.ledger)
    audit = list(changes.audit) or [{"操作": changes.action, "数量": 0, "说明": "；".join(changes.summary)[:500]}]
    save_changes(book.path, replace=changes.replace, append=changes.append, audit=audit,
                 expect_digest=book.digest)


# ---------------------------------------------------------------- output sheets

def problems_sheet(problems) -> SheetOutput:
    spec = schema.OUTPUT_SHEETS[schema.PROBLEMS]
    order = {ERROR: 0}
    rows = [[p.level, p.sheet, p.cell, p.message]
            for p in sorted(problems, key=lambda p: (order.get(p.level, 1)))]
    return SheetOutput(spec.name, list(spec.headers), rows, dict(spec.formats))


def charge_row(charge: Charge) -> dict:
    return {
        "账单号": charge.bill_no, "期间": str(charge.period), "房号": charge.room, "项目编码": charge.item_code,
        "项目名称": charge.item_name, "数量": charge.quantity, "单价": charge.unit_price, "金额": charge.amount,
        "应缴日期": charge.due_date, "来源": charge.origin,
    }


def arrears_sheet(ledger: Ledger, allocation: AllocationResult, lines=None) -> SheetOutput:
    spec = schema.OUTPUT_SHEETS[schema.ARREARS]
    headers = list(spec.headers)
    settings = ledger.settings
    lines = arrears_list(ledger.units, allocation) if lines is None else lines
    rows = []
    for kind, developer in (("业主", False), ("开发商", True)):
        part = [a for a in lines if a.unit.developer_held == developer]
        if not part:
            continue
        first = len(rows) + 2
        for a in part:
            formula = "；".join(
                f"{c.charge.period} {c.charge.item_name or c.charge.item_code}: "
                + (late_fee_formula(c.charge.amount, c.charge.due_date,
                                    [(s.day, s.amount) for s in c.settlements], allocation.as_of,
                                    settings.late_fee_rate, settings.grace_days) or "0")
                for c in a.account.charges if c.fee_outstanding > 0
            )
            rows.append([
                a.unit.room, a.unit.building, a.unit.owner, a.period_count, a.oldest_due, a.days_overdue,
                a.principal, a.late_fee, a.late_fee_ref, a.prepaid, a.total, a.bucket,
                a.overdue_principal, "、".join(str(p) for p in a.periods), formula, kind, a.unit.assistant,
            ])
        last = len(rows) + 1
        total = ["合计" if not developer else "开发商持有合计", "", f"{len(part)}户", None, None, None]
        total += [Formula(f"SUM({col}{first}:{col}{last})") for col in "GHIJK"]
        total += ["", Formula(f"SUM(M{first}:M{last})"), "", "", kind, ""]
        rows.append(total)
    rows.append([])
    rows.append([f"截至 {allocation.as_of:%Y-%m-%d}；{AGING_NOTE}；违约金按日费率 {settings.late_fee_rate.normalize()}，"
                 f"法院参考按 LPR {settings.lpr.normalize()}×1.5/365"])
    return SheetOutput(spec.name, headers, rows, dict(spec.formats))


def rates_sheet(rate_rows) -> SheetOutput:
    spec = schema.OUTPUT_SHEETS[schema.RATES]
    rows = []
    for r in rate_rows:
        rows.append([
            str(r.period), r.scope, r.receivable, r.cash, r.waived, r.prepaid, r.current_rate,
            r.current_rate_cash_only, r.arrears_rate, r.overall_rate, r.household_rate,
            r.opening_arrears, r.arrears_collected, r.units_paid, r.units_billed, r.as_of,
        ])
    rows.append([])
    rows.append(["说明：当期收缴率 = (实收+减免+预存冲抵)/应收；不含减免及预存冲抵 = 实收/应收；"
                 "清欠率 = 期初以来收回的往期欠费/期初欠费；综合收缴率 = (当期收回+清欠金额)/(应收+期初欠费)；"
                 "户收费率 = 当期已缴清户数/计费户数"])
    return SheetOutput(spec.name, list(spec.headers), rows, dict(spec.formats))


# ---------------------------------------------------------------- jobs

def date_problems(ledger: Ledger, as_of: dt.date) -> list[Problem]:
    """Dates that parse but are implausible for a run as of ``as_of`` (a year typo such as 2062).

    A date more than a year after ``as_of`` is an error at its cell (the record
    is not counted in this run, and would silently be left out); a 收款日期 more
    than a year before the ledger's first 应收 period is a warning.
    """
    problems: list[Problem] = []
    latest = as_of + dt.timedelta(days=366)
    first = min((c.period.start for c in ledger.charges), default=None)
    earliest = first - dt.timedelta(days=366) if first else None
    checks = [("payments", "paid_on", "收款日期"), ("charges", "due_date", "应缴日期"), ("waivers", "date", "日期"),
              ("contacts", "date", "日期"), ("contacts", "promise_date", "承诺缴费日"),
              ("plans", "signed_on", "签订日期"), ("plans", "first_due", "首期日期")]
    for field_name, attr, header in checks:
        for record in getattr(ledger, field_name):
            day = getattr(record, attr)
            if day is None:
                continue
            if day > latest:
                problems.append(Problem.error(
                    _cell(ledger, record, header), f"“{header}”{day:%Y-%m-%d} 比截至日期 {as_of:%Y-%m-%d} 晚一年以上，"
                                           f"可能是年份输错；此行本次未计入"))
            elif field_name == "payments" and earliest and day < earliest:
                problems.append(Problem.warning(
                    _cell(ledger, record, header), f"“{header}”{day:%Y-%m-%d} 早于第一个应收期间 {first:%Y-%m-%d} 一年以上，"
                                           f"请核对年份"))
    return problems


# engine problems about a 收款 row are made at the row's 金额 cell; the value at fault is elsewhere
_POINT_AT = (("冲销收据号“", "冲销收据号"), ("已被冲销过", "冲销收据号"), ("冲销行房号", "房号"), ("指定期间", "指定期间"))


def point_at_cells(ledger: Ledger, problems) -> list[Problem]:
    """Move a 收款 problem from the 金额 cell to the cell holding the bad value (冲销收据号, 房号, 指定期间)."""
    from ..workbook.parse import cell_of

    columns = (ledger.layout or {}).get(schema.PAYMENTS)
    out = []
    for p in problems:
        if p.sheet == schema.PAYMENTS and columns:
            for phrase, header in _POINT_AT:
                if phrase in p.message:
                    cell = cell_of(Source(p.sheet, p.cell), header, columns).cell
                    p = Problem(p.level, p.sheet, cell, p.message, p.blocking)
                    break
        out.append(p)
    return out


def _cell(ledger: Ledger, record, header: str):
    """The cell of ``header`` in the record's row (the record's own cell if the layout is unknown)."""
    from ..workbook.parse import cell_of

    return cell_of(record.source, header, (ledger.layout or {}).get(record.source.sheet))


def job_check(ledger: Ledger, as_of: Optional[dt.date] = None) -> Changes:
    """Every validation ``run`` does, without writing: parsing, dates, reversals, allocation."""
    problems = list(ledger.problems)
    if as_of is not None:
        problems += date_problems(ledger, as_of) + point_at_cells(ledger, allocate(ledger, as_of).problems)
    changes = Changes("校验", problems=problems)
    changes.summary.append(
        f"读取：房屋 {len(ledger.units)} 户，收费项目 {len(ledger.items)} 项，应收 {len(ledger.charges)} 行，"
        f"收款 {len(ledger.payments)} 行；问题 {len(changes.errors)} 个错误，"
        f"{len(changes.problems) - len(changes.errors)} 个警告")
    return changes


def job_bill(ledger: Ledger, period: Period) -> Changes:
    return withhold_results(_job_bill(ledger, period))


def _job_bill(ledger: Ledger, period: Period) -> Changes:
    result = bill_period(ledger, period)
    problems = list(ledger.problems) + list(result.problems)
    changes = Changes("计费", problems=problems)
    changes.append[schema.CHARGES] = [charge_row(c) for c in result.charges]
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    changes.audit.append({"操作": f"计费 {period}", "数量": len(result.charges),
                          "说明": f"新增应收 {len(result.charges)} 行，合计 {result.total:.2f} 元；"
                                  f"已计费跳过 {result.already_billed} 行"})
    changes.summary.append(f"{period} 计费：新增应收 {len(result.charges)} 行，合计 {result.total:,.2f} 元")
    if result.already_billed:
        changes.summary.append(f"已计费（跳过，不重复）：{result.already_billed} 行")
    return changes


def job_run(ledger: Ledger, as_of: dt.date) -> Changes:
    return withhold_results(_job_run(ledger, as_of))


def _job_run(ledger: Ledger, as_of: dt.date) -> Changes:
    allocation = allocate(ledger, as_of)
    problems = list(ledger.problems) + date_problems(ledger, as_of) + point_at_cells(ledger, allocation.problems)
    rate_rows = collection_rates(ledger, allocation)
    changes = Changes("刷新欠费", problems=problems)
    lines = arrears_list(ledger.units, allocation)
    changes.replace[schema.ARREARS] = arrears_sheet(ledger, allocation, lines)
    changes.replace[schema.RATES] = rates_sheet(rate_rows)
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    owed = sum((a.principal for a in lines), ZERO)
    fees = sum((a.late_fee for a in lines), ZERO)
    changes.audit.append({"操作": f"刷新欠费 截至{as_of:%Y-%m-%d}", "数量": len(lines),
                          "说明": f"欠费 {len(lines)} 户，本金 {owed:.2f}，违约金 {fees:.2f}"})
    center = [r for r in rate_rows if r.scope == "全部"]
    if center:
        r = center[-1]
        changes.summary.append(
            f"{r.period} 应收 {r.receivable:,.2f} 元，实收 {r.collected:,.2f} 元，"
            f"当期收缴率 {_pct(r.current_rate)}（不含减免及预存冲抵 {_pct(r.current_rate_cash_only)}）")
    changes.summary.append(f"欠费 {len(lines)} 户，欠费本金 {owed:,.2f} 元，违约金 {fees:,.2f} 元")
    top = lines[:5]
    if top:
        changes.summary.append("欠费最多：" + "，".join(f"{a.unit.room} {a.principal + a.late_fee:,.2f}" for a in top))
    return changes


def _pct(rate: Optional[Decimal]) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"

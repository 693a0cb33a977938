"""Jobs: read → engine → the changes to write.  Shared by the CLI, the ribbon macros and the scheduler.

A job takes a :class:`~xlwings_addin.ledger.records.Ledger` and ``as_of`` and returns
:class:`Changes` (sheets to rewrite, rows to append, 操作日志 entries, a
summary for the user and the problems).  Applying changes is the caller's
business: :func:`apply_to_file` for a workbook on disk (atomic, backed up),
the add-in for a workbook open in Excel.
"""
from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Optional

from ..ledger import schema
from ..engine.aging import AGING_NOTE, DEBTOR_DEFINITION, arrears_list, arrears_order, debtors_among, is_debtor
from ..engine.allocation import AllocationResult, PreparedAllocation, allocate, allocate_units, prepare_allocation
from ..engine.billing import bill_period
from ..engine.deposits import deposit_summary, deposits_held
from ..engine.late_fee import late_fee_formula
from ..engine.rates import add_rate_rows, collection_rates
from ..ledger.money import ZERO
from ..ledger.periods import Period
from ..ledger.records import ERROR, Charge, Ledger, Payment, Problem, Source
from ..workbook.cache import load_ledger
from ..workbook.reader import file_digest, read_workbook
from ..workbook.writer import Formula, SheetOutput, save_changes
from .. import alongside
from ..alongside import Partner, PartnerLost


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
    lines = arrears_list(ledger.units, allocation) if lines is None else lines
    return _arrears_sheet(ledger.settings, allocation.as_of, lines,
                          {a.unit.room: arrears_row(a, ledger.settings, allocation.as_of) for a in lines})


def arrears_row(a, settings, as_of: dt.date) -> list:
    """One unit's row of 欠费明细 (its arrears line ``a``, with the account behind it)."""
    formula = "；".join(
        f"{c.charge.period} {c.charge.item_name or c.charge.item_code}: "
        + (late_fee_formula(c.charge.amount, c.charge.due_date, [(s.day, s.amount) for s in c.settlements], as_of,
                            settings.late_fee_rate, settings.grace_days) or "0")
        for c in a.account.charges if c.late_fee and c.fee_outstanding > 0  # (no fee: none outstanding)
    )
    return [
        a.unit.room, a.unit.building, a.unit.owner, a.period_count, a.oldest_due, a.days_overdue,
        a.principal, a.late_fee, a.late_fee_ref, a.prepaid, a.total, a.bucket,
        a.overdue_principal, "、".join(str(p) for p in a.periods), formula,
        "开发商" if a.unit.developer_held else "业主", a.unit.assistant,
    ]


def _arrears_sheet(settings, as_of: dt.date, lines, row_of: dict) -> SheetOutput:
    """欠费明细 of the lines (in their order), each unit's row from ``row_of`` (room → :func:`arrears_row`)."""
    spec = schema.OUTPUT_SHEETS[schema.ARREARS]
    headers = list(spec.headers)
    rows = []
    for kind, developer in (("业主", False), ("开发商", True)):
        part = [a for a in lines if a.unit.developer_held == developer]
        if not part:
            continue
        first = len(rows) + 2
        rows.extend(row_of[a.unit.room] for a in part)
        last = len(rows) + 1
        owing = sum(1 for a in part if is_debtor(a))
        fee_only = len(part) - owing
        count = f"欠费户{owing}户" + (f"（另仅欠违约金{fee_only}户）" if fee_only else "")
        total = ["合计" if not developer else "开发商持有合计", "", count, None, None, None]
        total += [Formula(f"SUM({col}{first}:{col}{last})") for col in "GHIJK"]
        total += ["", Formula(f"SUM(M{first}:M{last})"), "", "", kind, ""]
        rows.append(total)
    rows.append([])
    rows.append([f"截至 {as_of:%Y-%m-%d}；{DEBTOR_DEFINITION}；{AGING_NOTE}；违约金按日费率 {settings.late_fee_rate.normalize()}，"
                 f"法院参考按 LPR {settings.lpr.normalize()}×1.5/365"])
    return SheetOutput(spec.name, headers, rows, dict(spec.formats), as_of=as_of)


def rates_sheet(rate_rows, as_of: dt.date | None = None) -> SheetOutput:
    spec = schema.OUTPUT_SHEETS[schema.RATES]
    rows = []
    for r in rate_rows:
        rows.append([
            str(r.period), r.scope, r.receivable, r.cash, r.waived, r.prepaid, r.current_rate,
            r.current_rate_cash_only, r.arrears_rate, r.overall_rate, r.household_rate,
            r.opening_arrears, r.arrears_collected, r.units_paid, r.units_billed, r.as_of, r.discount,
        ])
    rows.append([])
    rows.append(["说明：当期收缴率 = (实收+减免+预存冲抵+优惠)/应收；不含减免及预存冲抵 = 实收/应收（也不含优惠）；"
                 "清欠率 = 期初以来收回的往期欠费/期初欠费；综合收缴率 = (当期收回+清欠金额)/(应收+期初欠费)；"
                 "户收费率 = 当期已缴清户数/计费户数"])
    as_of = as_of or max((r.as_of for r in rate_rows if r.as_of), default=None)
    return SheetOutput(spec.name, list(spec.headers), rows, dict(spec.formats), as_of=as_of)


# ---------------------------------------------------------------- jobs

def company_problems(ledger: Ledger) -> list[Problem]:
    """A new center's company and bank details (参数) that are blank or still a sample value: errors,
    because letters would print them and bank files would carry them."""
    settings = ledger.settings
    values = {"公司名称": settings.company, "服务中心": settings.center, "客服电话": settings.hotline,
              "收款账户": settings.account}
    problems = []
    for key in schema.COMPANY_PARAMS:
        value = (values.get(key) or "").strip()
        where = Source(schema.PARAMS, settings.cell_of(key) or "B1")
        if not value:
            problems.append(Problem.error(where, f"参数“{key}”为空：收费通知单、催缴函等文书和银行托收前必须填写"))
        elif any(mark in value for mark in schema.PLACEHOLDER_MARKS):
            problems.append(Problem.error(where, f"参数“{key}”仍是示例或占位内容（“{value}”）：发函、托收前请改为本中心的真实信息"))
    return problems


def empty_ledger_hints(ledger: Ledger) -> list[str]:
    """What to fill first when the workbook has no 收费项目, 房屋 or 应收 yet (Chinese lines; empty when ready)."""
    missing = []
    if not ledger.items:
        missing.append("“收费项目”（项目编码、名称、计费方式、单价）")
    if not ledger.units:
        missing.append("“房屋”（房号、房屋类型、建筑面积、业主姓名）")
    if not missing:
        if not ledger.charges:
            return ["提示：“应收”表还没有数据，请先运行计费（feebook bill 工作簿 --period 2026Q4，或加载项“计费”按钮）。"]
        return []
    return ["提示：工作簿还没有数据。请按顺序填写：1. “参数”表的公司名称、服务中心、客服电话、收款账户；"
            f"2. {'；'.join(missing)}；然后计费（feebook bill）。填写说明见“使用说明”表。"]



def date_problems(ledger: Ledger, as_of: dt.date) -> list[Problem]:
    """Dates that parse but are implausible for a run as of ``as_of`` (a year typo such as 2062).

    A date more than a year after ``as_of`` is an error at its cell (the record
    is not counted in this run, and would silently be left out); a 收款日期 more
    than a year before the ledger's first 应收 period is a warning.
    """
    problems: list[Problem] = []
    latest = as_of + dt.timedelta(days=366)
    periods = list(map(_PERIOD, ledger.charges))
    distinct = dict(zip(map(id, periods), periods)).values()  # (charges share a few period objects)
    first = min((p.start for p in distinct), default=None)
    earliest = first - dt.timedelta(days=366) if first else None
    checks = [("payments", "paid_on", "收款日期"), ("charges", "due_date", "应缴日期"), ("waivers", "date", "日期"),
              ("contacts", "date", "日期"), ("contacts", "promise_date", "承诺缴费日"),
              ("plans", "signed_on", "签订日期"), ("plans", "first_due", "首期日期")]
    for field_name, attr, header in checks:
        records = getattr(ledger, field_name)
        days = list(map(operator.attrgetter(attr), records))
        # (a quick look first: most ledgers have no date out of range, and checking each record below is slow)
        present = [d for d in days if d is not None] if None in days else days
        if not present or (max(present) <= latest and (field_name != "payments" or not earliest
                                                         or min(present) >= earliest)):
            continue
        for record, day in zip(records, days):
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


_PERIOD = operator.attrgetter("period")


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
    problems = list(ledger.problems) + company_problems(ledger)
    if as_of is not None:
        problems += date_problems(ledger, as_of) + point_at_cells(ledger, allocate(ledger, as_of).problems)
    changes = Changes("校验", problems=problems)
    changes.summary.append(
        f"读取：房屋 {len(ledger.units)} 户，收费项目 {len(ledger.items)} 项，应收 {len(ledger.charges)} 行，"
        f"收款 {len(ledger.payments)} 行；问题 {len(changes.errors)} 个错误，"
        f"{len(changes.problems) - len(changes.errors)} 个警告")
    changes.summary.extend(empty_ledger_hints(ledger))
    return changes


def job_bill(ledger: Ledger, period: Period, as_of: Optional[dt.date] = None) -> Changes:
    """计费; with ``as_of`` (the day of entry) 欠费明细 and 收缴率 are rewritten with the new 应收 rows in the
    same write, so a period billed once its bills are payable leaves no derived sheet stale."""
    changes = _job_bill(ledger, period)
    if as_of is not None and not blocking_problems(changes.problems):
        refresh_after_posting(ledger, changes, as_of)
    return withhold_results(changes)


def _job_bill(ledger: Ledger, period: Period) -> Changes:
    result = bill_period(ledger, period)
    problems = list(ledger.problems) + list(result.problems)
    changes = Changes("计费", problems=problems)
    if result.refused:
        changes.summary.append(f"{period} 未计费：{result.refused}")
        return changes
    changes.append[schema.CHARGES] = [charge_row(c) for c in result.charges]
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    changes.audit.append({"操作": f"计费 {period}", "数量": len(result.charges),
                          "说明": f"新增应收 {len(result.charges)} 行，合计 {result.total:.2f} 元；"
                                  f"已计费跳过 {result.already_billed} 行"})
    changes.summary.append(f"{period} 计费：新增应收 {len(result.charges)} 行，合计 {result.total:,.2f} 元")
    if not ledger.items or not ledger.units:
        changes.summary.extend(empty_ledger_hints(ledger))
    if result.already_billed:
        changes.summary.append(f"已计费（跳过，不重复）：{result.already_billed} 行")
    if result.overlapping:
        changes.summary.append(f"与已有应收期间重叠（跳过，不重复收费）：{result.overlapping} 行，见“问题”表")
    for message in result.missing:
        changes.summary.append(f"警告：{message}")
    abnormal = sum(1 for p in result.problems if "用量" in p.message and ("为负" in p.message or "3倍" in p.message))
    if abnormal:
        changes.summary.append(f"用量异常（为负或超过该户中位数3倍）：{abnormal} 行，见“问题”表")
    return changes


def worth_a_process(ledger: Ledger) -> bool:
    """A ledger whose units are worth replaying in two processes (alongside.worth_a_process)."""
    return alongside.worth_a_process(len(ledger.charges) + len(ledger.payments))


def job_run(ledger: Ledger, as_of: dt.date) -> Changes:
    return withhold_results(_job_run(ledger, as_of))


@dataclass
class _RunPart:
    """What ``feebook run`` publishes of some of the units: the estate's, or one half's."""

    problems: list  # of the units' replays, in unit order (the estate's: after those all replays share)
    lines: list  # their arrears lines (Arrears), in 欠费明细 order
    rows: dict  # room → its 欠费明细 row
    rate_rows: list  # RateRow; of a half: every (period, scope), to be added to the other half's
    refunded: Decimal


def _run_part(ledger: Ledger, prepared: PreparedAllocation, units, share=None) -> _RunPart:
    accounts, problems = allocate_units(prepared, units)
    allocation = AllocationResult(prepared.as_of, accounts, tuple(problems))
    lines = arrears_list(units, allocation)
    rows = {a.unit.room: arrears_row(a, ledger.settings, prepared.as_of) for a in lines}
    return _RunPart(problems, lines, rows, collection_rates(ledger, allocation, share=share),
                    sum((a.refunded for a in accounts.values()), ZERO))


def _child_half(channel, ledger: Ledger, prepared: PreparedAllocation, units) -> _RunPart:
    """The second half of the units, in the child process (see :func:`_run_parts`)."""
    def share(periods, cycles):
        channel.send((periods, cycles))
        return channel.receive()

    part = _run_part(ledger, prepared, units, share)
    part.lines = [replace(a, account=None) for a in part.lines]  # their accounts stay here: the rows are made
    return part


# the share of the units this process replays: a little under half, as it also swaps the periods and
# merges the halves (measured on 5,000 units: both halves then reach the swap together)
_FIRST_HALF = 0.46


def _run_parts(ledger: Ledger, as_of: dt.date, meanwhile: Callable[[], Any]) -> tuple[_RunPart, Any]:
    """(the estate's :class:`_RunPart`, what ``meanwhile()`` gave); ``meanwhile`` is work that needs
    none of the replays, done while the child (if any) hands its half over.

    Each unit's account is replayed on its own, so on a large estate (Linux) the units are replayed
    in two halves at once: the second half by a forked child (alongside.py) that hands back only
    its lines, rows, 收缴率 rows and problems — never its accounts.  The two halves' 收缴率 rows add
    up to the estate's (rates.add_rate_rows): once both have read their charges they swap the
    periods they met, so each counts its charges as arrears of every period.  The halves'
    problems follow in unit order and their lines are merged in 欠费明细 order: the figures are
    those of replaying the estate in one piece, which is what is done when no child can be had
    or the child fails (tests/test_alongside.py compares them).
    """
    prepared = prepare_allocation(ledger, as_of)
    units = list(ledger.units)
    if worth_a_process(ledger) and len(units) > 1 and len({u.room for u in units}) == len(units):
        half = int(len(units) * _FIRST_HALF)
        with Partner(_child_half, ledger, prepared, units[half:]) as partner:
            if partner.forked:
                def share(periods, cycles):
                    theirs = partner.channel.receive()
                    both = (sorted(set(periods) | set(theirs[0])), set(cycles) | set(theirs[1]))
                    partner.channel.send(both)
                    return both
                try:
                    mine = _run_part(ledger, prepared, units[:half], share)
                    other = meanwhile()
                    theirs = partner.result()
                except PartnerLost:
                    pass  # the child ended without its half: the whole estate is replayed here
                else:
                    return _RunPart(list(prepared.problems) + mine.problems + theirs.problems,
                                    sorted(mine.lines + theirs.lines, key=arrears_order), {**mine.rows, **theirs.rows},
                                    add_rate_rows([mine.rate_rows, theirs.rate_rows]),
                                    mine.refunded + theirs.refunded), other
    whole = _run_part(ledger, prepared, units)
    whole.problems = list(prepared.problems) + whole.problems
    return whole, meanwhile()


def _job_run(ledger: Ledger, as_of: dt.date) -> Changes:
    def meanwhile():  # what needs no replay: the dates' problems and the deposits held
        return date_problems(ledger, as_of), (deposits_held(ledger, as_of) if ledger.deposits else ([], []))

    estate, (dates, (held, deposit_problems)) = _run_parts(ledger, as_of, meanwhile)
    lines, rate_rows = estate.lines, estate.rate_rows
    problems = list(ledger.problems) + dates + point_at_cells(ledger, estate.problems) + deposit_problems
    changes = Changes("刷新欠费", problems=problems)
    changes.replace[schema.ARREARS] = _arrears_sheet(ledger.settings, as_of, lines, estate.rows)
    changes.replace[schema.RATES] = rates_sheet(rate_rows, as_of)
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    owing = debtors_among(lines, as_of)
    owed = owing.principal
    fees = sum((a.late_fee for a in lines), ZERO)
    changes.audit.append({"操作": f"刷新欠费 截至{as_of:%Y-%m-%d}", "数量": owing.count,
                          "说明": f"欠费户 {owing.count} 户，本金 {owed:.2f}，违约金 {fees:.2f}；"
                                  f"仅欠违约金 {owing.fee_only_count} 户"})
    center = [r for r in rate_rows if r.scope == "全部"]
    if center:
        r = center[-1]
        changes.summary.append(
            f"{r.period} 应收 {r.receivable:,.2f} 元，实收 {r.collected:,.2f} 元，"
            f"当期收缴率 {_pct(r.current_rate)}（不含减免及预存冲抵 {_pct(r.current_rate_cash_only)}）")
    changes.summary.append(f"{owing.text()}；违约金合计 {fees:,.2f} 元")
    top = lines[:5]
    if top:
        changes.summary.append("欠费最多：" + "，".join(f"{a.unit.room} {a.principal + a.late_fee:,.2f}" for a in top))
    if ledger.deposits:
        changes.summary.append(deposit_summary(held))
    if estate.refunded:
        changes.summary.append(f"预存退款 {estate.refunded:,.2f} 元（已从预存余额扣除）")
    horizon = as_of + dt.timedelta(days=366)
    later = [p for p in ledger.payments if as_of < p.paid_on <= horizon]
    if later:  # not an error (a run as of a past day), but never left out without a word
        changes.summary.append(f"收款日期晚于截至日期 {as_of:%Y-%m-%d} 的收款 {len(later)} 笔，合计 "
                               f"{sum((p.amount for p in later), ZERO):,.2f} 元，本次未计入（如是日期输错，请改正）")
    changes.summary.extend(empty_ledger_hints(ledger))
    return changes


def _payment_of(row: dict) -> Payment:
    period = row.get("指定期间")
    return Payment(receipt_no=str(row.get("收据号") or ""), paid_on=row["收款日期"], room=str(row["房号"]),
                   amount=Decimal(row["金额"]), channel=str(row.get("渠道") or ""),
                   period=Period.parse(period) if period else None, operator=str(row.get("经办人") or ""),
                   batch=str(row.get("托收批次") or ""), reverses=str(row.get("冲销收据号") or ""),
                   note=str(row.get("备注") or ""))


def _charge_of(row: dict) -> Charge:
    return Charge(bill_no=str(row["账单号"]), period=Period.parse(str(row["期间"])), room=str(row["房号"]),
                  item_code=str(row["项目编码"]), amount=Decimal(row["金额"]), due_date=row["应缴日期"],
                  item_name=str(row.get("项目名称") or ""), quantity=row.get("数量"), unit_price=row.get("单价"),
                  origin=str(row.get("来源") or "手工"))


def refresh_after_posting(ledger: Ledger, changes: Changes, as_of: dt.date) -> Changes:
    """Money was posted (回盘, 收款, 冲销, 对账入账, 临时收费, 退款): rewrite 欠费明细 and 收缴率 from the ledger
    *with* the new 应收/收款 rows, in the same write, so they never disagree with the ledger this write leaves."""
    rows = changes.append.get(schema.PAYMENTS) or []
    bills = changes.append.get(schema.CHARGES) or []
    if not rows and not bills:
        return changes
    paid = [_payment_of(r) for r in rows]
    after = replace(ledger, charges=tuple(ledger.charges) + tuple(_charge_of(r) for r in bills),
                    payments=tuple(ledger.payments) + tuple(p for p in paid if p.channel != schema.REFUND),
                    refunds=tuple(ledger.refunds) + tuple(p for p in paid if p.channel == schema.REFUND))
    day = max([as_of] + [r["收款日期"] for r in rows if isinstance(r.get("收款日期"), dt.date)])
    estate, _ = _run_parts(after, day, lambda: None)
    changes.replace[schema.ARREARS] = _arrears_sheet(after.settings, day, estate.lines, estate.rows)
    changes.replace[schema.RATES] = rates_sheet(estate.rate_rows)
    changes.summary.append(f"已同时刷新“欠费明细”“收缴率”：{debtors_among(estate.lines, day).text()}")
    return changes


def _pct(rate: Optional[Decimal]) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"

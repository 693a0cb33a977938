"""HQ (财务管理部): the per-center step of ``feebook hq`` and the 报送 summary file of ``feebook submit``.

Seed 004 step 3 (day 10): each center "计算并检查当期应收物业管理费，并将记录报送财务管理部";
step 4 (day 12): 财务管理部 "检查复核".  The roll-up runs :func:`center_facts` once per
file — a **pure function of one file** (path, as_of, quarter → compact tables), so the
same step can be mapped over the files by a process pool here, or by Dask / Ray on a
cluster — and then rolls the compact tables up (:mod:`jobs.hq_rollup`, pandas).

A worker returns only the compact tables (a few dozen rows per center), never the
parsed ledger, so memory stays bounded by the workers whatever the number of centers.

The facts are plain dicts of str / int / list (money as ``"1234.50"`` strings) so that
they pickle cheaply and round-trip through JSON, which is how the 报送 file
(:func:`write_submission`) carries them: an .xlsx with readable sheets for people and
a hidden ``报送数据`` sheet holding the facts as JSON for ``feebook hq``.

Facts of one center::

    file, kind (工作簿/报送), status (已读取/无法读取/有错误), reason, center, as_of,
    settings {违约金日费率, 缴费截止日, 计费周期}, errors, warnings, problems [first errors],
    rates [{期间, 应收, 实收, 减免, 预存冲抵, 期初欠费, 清欠金额, 已缴清户数, 计费户数}],
    arrears {欠费户数, 欠费本金, 违约金, <aging bucket>: principal …},
    commission [{服务助理, 季度, 月份, 截至日期, 应收, 已收, 累计收缴率, 档位, 佣金}],
    review {本期, 上期, 本期应收, 上期应收, 本期计费户数, 上期计费户数, 上期计费本期未计费 [rooms]}

A workbook whose 问题 has errors is "not fully read": its status is 有错误 and it
publishes no figures (house rule) — 复核 lists it with its first errors.
"""
from __future__ import annotations

import datetime as dt
import gc
import json
import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..engine.aging import AGING_BUCKETS, aging_summary, arrears_list
from ..engine.allocation import allocate
from ..engine.commission import commission_rows
from ..engine.rates import CENTER, collection_rates
from ..ledger.money import ZERO
from ..ledger.periods import Period, period_containing
from ..ledger.records import ERROR
from ..workbook.reader import WorkbookError

FACTS_VERSION = 1
READ, UNREADABLE, WITH_ERRORS = "已读取", "无法读取", "有错误"
KIND_WORKBOOK, KIND_SUBMISSION = "工作簿", "报送"
SUBMISSION_SHEET = "报送数据"  # hidden sheet of a 报送 file: the facts as JSON, in chunks
CHUNK = 30000  # characters per cell (Excel's limit is 32,767)
MISSING_ROOMS_KEPT = 20  # rooms billed last period but not this one: how many are named


def review_period(as_of: dt.date, cycle: str, quarter: Optional[Period]) -> Period:
    """The period a reviewer looks at: ``quarter`` (or, for a monthly center, its month
    containing min(as_of, quarter end)); without ``quarter`` the period containing as_of."""
    if quarter is None:
        return period_containing(as_of, cycle)
    if cycle == "月":
        return period_containing(min(as_of, quarter.end), "月")
    return quarter


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _empty(path: Path, status: str, reason: str, as_of: dt.date) -> dict:
    return {"version": FACTS_VERSION, "file": path.name, "kind": KIND_WORKBOOK, "status": status, "reason": reason,
            "center": "", "as_of": as_of.isoformat(), "settings": {}, "errors": 0, "warnings": 0, "problems": [],
            "rates": [], "arrears": {}, "commission": [], "review": {}}


HQ_SHEETS = {"各中心收缴率", "复核"}  # an HQ workbook (feebook hq's output) is no center's


def is_submission(path: Path) -> bool:
    """True for a 报送 file written by :func:`write_submission` (it has the 报送数据 sheet)."""
    from python_calamine import CalamineWorkbook

    names = set(CalamineWorkbook.from_path(str(path)).sheet_names)
    if HQ_SHEETS <= names:
        raise WorkbookError("这是汇总工作簿（feebook hq 的输出），不是服务中心的工作簿或报送文件")
    return SUBMISSION_SHEET in names


def center_facts(path, as_of: dt.date, quarter: Optional[Period] = None) -> dict:
    """The compact tables of one center file (a workbook or a 报送 file).  Pure: one file in, facts out.

    Never raises for a bad file: a file that is not a readable workbook comes back
    with status 无法读取 and the reason, so the roll-up goes on with the others.
    """
    path = Path(path)
    try:
        if is_submission(path):
            return read_submission(path)
        return ledger_facts(path, as_of, quarter)
    except WorkbookError as exc:
        return _empty(path, UNREADABLE, str(exc), as_of)
    except Exception as exc:  # a file no reader understands (zip of something else, corrupt XML …)
        return _empty(path, UNREADABLE, f"不是可读取的工作簿（{type(exc).__name__}: {str(exc)[:200]}）", as_of)


def center_facts_job(args: tuple) -> dict:
    """Process-pool wrapper: one file; collects the garbage before the next file (workers may inherit a paused gc)."""
    try:
        return center_facts(*args)
    finally:
        gc.collect()


def ledger_facts(path: Path, as_of: dt.date, quarter: Optional[Period] = None) -> dict:
    from ..workbook.cache import load_ledger

    ledger = load_ledger(path)
    settings = ledger.settings
    facts = _empty(path, READ, "", as_of)
    facts["center"] = settings.center
    facts["settings"] = {"违约金日费率": f"{settings.late_fee_rate.normalize():f}", "缴费截止日": settings.due_day,
                         "计费周期": settings.cycle}
    allocation = allocate(ledger, as_of)
    problems = list(ledger.problems) + list(allocation.problems)
    errors = [p for p in problems if p.level == ERROR]
    facts["errors"], facts["warnings"] = len(errors), len(problems) - len(errors)
    facts["problems"] = [f"{p.sheet}!{p.cell} {p.message}" for p in errors[:3]]
    if errors:  # a workbook the engine cannot fully read never publishes figures
        facts["status"] = WITH_ERRORS
        facts["reason"] = f"问题表有 {len(errors)} 个错误，数字未计入汇总"
        return facts

    for r in collection_rates(ledger, allocation, scopes={CENTER: {"rooms": None, "item": None}}):
        facts["rates"].append({
            "期间": str(r.period), "应收": _money(r.receivable), "实收": _money(r.cash), "减免": _money(r.waived),
            "预存冲抵": _money(r.prepaid), "期初欠费": _money(r.opening_arrears),
            "清欠金额": _money(r.arrears_collected), "已缴清户数": r.units_paid, "计费户数": r.units_billed,
        })

    lines = arrears_list(ledger.units, allocation)
    arrears = {"欠费户数": sum(1 for a in lines if a.principal > 0),
               "欠费本金": _money(sum((a.principal for a in lines), ZERO)),
               "违约金": _money(sum((a.late_fee for a in lines), ZERO))}
    arrears.update({bucket: _money(v) for bucket, v in aging_summary(lines, as_of).items()})
    facts["arrears"] = arrears

    cq = quarter or period_containing(as_of, "季度")
    rows, _warnings = commission_rows(ledger, allocation, cq, as_of)
    for r in rows:
        facts["commission"].append({
            "服务助理": r.assistant, "季度": str(r.quarter), "月份": r.month, "截至日期": r.at.isoformat(),
            "应收": _money(r.receivable), "已收": _money(r.collected),
            "累计收缴率": None if r.rate is None else f"{r.rate:.6f}", "档位": r.tier,
            "佣金": None if r.amount is None else _money(r.amount),
        })

    current = review_period(as_of, settings.cycle, quarter)
    previous = current.previous()
    billed: dict[Period, Decimal] = defaultdict(lambda: ZERO)
    rooms: dict[Period, set] = defaultdict(set)
    for c in ledger.charges:
        if c.period in (current, previous):
            billed[c.period] += c.amount
            rooms[c.period].add(c.room)
    missing = sorted(rooms[previous] - rooms[current]) if rooms[current] else []
    facts["review"] = {"本期": str(current), "上期": str(previous), "本期应收": _money(billed[current]),
                       "上期应收": _money(billed[previous]), "本期计费户数": len(rooms[current]),
                       "上期计费户数": len(rooms[previous]), "上期计费本期未计费户数": len(missing),
                       "上期计费本期未计费": missing[:MISSING_ROOMS_KEPT]}
    return facts


# ------------------------------------------------------------------ 报送 file (feebook submit)

def write_submission(facts: dict, out_dir) -> Path:
    """Write the 报送 file: readable 报送 / 收缴率 / 欠费 / 佣金 sheets (protected) and the hidden 报送数据.

    The file is made read-only on disk; ``feebook hq`` accepts it in place of the workbook.
    """
    from openpyxl import Workbook

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = (facts.get("center") or Path(facts["file"]).stem).replace("/", "_").replace("\\", "_")
    path = out_dir / f"{name}_报送_{facts['as_of']}.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = "报送"
    info = [("服务中心", facts["center"]), ("截至日期", facts["as_of"]), ("来源文件", facts["file"]),
            ("状态", facts["status"]), ("说明", facts["reason"]), ("错误数", facts["errors"]),
            ("警告数", facts["warnings"])]
    info += [(k, v) for k, v in facts["settings"].items()]
    info += [(k, v if not isinstance(v, list) else "、".join(v)) for k, v in facts["review"].items()]
    info += [(f"欠费 {k}", v) for k, v in facts["arrears"].items()]
    ws.append(["项目", "值"])
    for k, v in info:
        ws.append([k, v])
    for title, rows in (("收缴率", facts["rates"]), ("佣金", facts["commission"])):
        sheet = wb.create_sheet(title)
        if rows:
            headers = list(rows[0])
            sheet.append(headers)
            for r in rows:
                sheet.append([r[h] for h in headers])
    data = wb.create_sheet(SUBMISSION_SHEET)
    text = json.dumps(facts, ensure_ascii=False)
    for i in range(0, len(text), CHUNK):
        data.append([text[i:i + CHUNK]])
    data.sheet_state = "hidden"
    for sheet in wb.worksheets:
        sheet.protection.sheet = True
    wb.security.lockStructure = True
    if path.exists():
        os.chmod(path, 0o644)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, path)
    os.chmod(path, 0o444)
    return path


def read_submission(path: Path) -> dict:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SUBMISSION_SHEET).to_python()
    text = "".join(str(r[0]) for r in rows if r and r[0] not in (None, ""))
    facts = json.loads(text)
    if facts.get("version") != FACTS_VERSION:
        raise WorkbookError(f"报送文件版本 {facts.get('version')} 不受支持（应为 {FACTS_VERSION}）")
    facts["kind"] = KIND_SUBMISSION
    facts["submitted_from"] = facts.get("file", "")
    facts["file"] = path.name
    return facts


__all__ = ["center_facts", "center_facts_job", "ledger_facts", "write_submission", "read_submission",
           "is_submission", "review_period", "READ", "UNREADABLE", "WITH_ERRORS", "AGING_BUCKETS",
           "SUBMISSION_SHEET"]

"""The yearly litigation batch (issue 18): one folder per unit at stage 诉讼, a 诉讼清单, 催缴记录 rows.

    <out>/诉讼清单.xlsx                       batch summary for 客户关系部 (+ sheet 未列入 with reasons)
    <out>/<房号>/要素式起诉状_<房号>.docx      complaint with 附件一 计算表 and 附件二 证据目录
    <out>/<房号>/计算表_<房号>.xlsx            the same 计算表 and 证据目录 as sheets

Names and phone numbers appear only inside ``<out>``; the summary lines for
the terminal and the 操作日志 entry carry 房号 and masked names only.
A 催缴记录 row per unit (方式 诉讼, 结果 已生成) is appended to the workbook —
the clerk records 立案 later.  Generating the same batch again on the same day
appends no duplicate rows (and a unit already logged is on the ladder's 诉讼中
hold, so it is listed under 未列入).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from ..documents.contexts import DEADLINE_DAYS, LAWYER, date_cn
from ..documents.letters import safe_component
from ..documents.litigation import CALC_HEADERS, COMPLAINT, EVIDENCE_HEADERS, complaint_context, render_complaint
from ..engine.dunning import mask_name
from ..engine.litigation import GENERATED, SUIT, Case, LitigationBatch, litigation_batch
from ..ledger import schema
from ..ledger.records import Ledger
from ..workbook.writer import SheetOutput, write_new_workbook
from .ledger import Changes

SUMMARY_NAME = "诉讼清单"
SUMMARY_HEADERS = ("房号", "业主", "欠费期数", "欠费本金", "违约金(合同)", "违约金(法院参考)", "主张口径", "主张合计",
                   "诉讼时效届满日", "时效起算", "最近送达催告", "律师函送达", "说明", "材料目录")
MONEY = "money"


def lawyer_deadline_days(ledger: Ledger) -> int:
    """律师函 payment deadline in days (documents.contexts.DEADLINE_DAYS, 参数 律师函付款期限天数 overrides)."""
    try:
        return int(ledger.settings.get(f"{LAWYER}付款期限天数") or DEADLINE_DAYS[LAWYER])
    except ValueError:
        return DEADLINE_DAYS[LAWYER]


@dataclass
class PackResult:
    batch: LitigationBatch
    folders: list = field(default_factory=list)  # (room, Path)
    summary_file: Optional[Path] = None


def _calc_sheet(case: Case) -> SheetOutput:
    rows = []
    for i, x in enumerate(case.lines, start=1):
        rows.append([i, str(x.period), x.item, x.amount, x.due, x.paid, x.paid_text, x.principal,
                     x.days if x.principal > 0 else None, x.fee_formula, x.fee, x.fee_ref_formula, x.fee_ref])
    t = case.totals
    rows.append(["合计", "", "", None, None, None, "", t.principal, None, "", t.fee, "", t.fee_ref])
    rows.append(["主张", "", "", None, None, None, "", None, None, f"主张口径：{t.basis}", t.claimed_fee,
                 "主张合计（本金＋主张违约金）", t.claim_total])
    formats = {"应收金额": MONEY, "已缴金额": MONEY, "欠费本金": MONEY, "合同违约金": MONEY, "法院参考违约金": MONEY,
               "应缴日期": "date", "逾期天数": "int"}
    return SheetOutput("计算表", list(CALC_HEADERS), rows, formats)


def _evidence_sheet(items: list[dict]) -> SheetOutput:
    rows = [[int(e["no"]), e["name"], e["kind"], e["detail"], e["proves"]] for e in items]
    return SheetOutput("证据目录", list(EVIDENCE_HEADERS), rows, {})


def _summary_row(case: Case, folder: str) -> list:
    last = case.last_demand
    lawyer = case.stage.lawyer_letter
    notes = []
    if case.part_payments:
        notes.append("最后一次送达催告后有部分缴费：" + "；".join(
            f"{p.paid_on:%Y-%m-%d} {p.amount:,.2f}" for p in case.part_payments))
    if case.owner_reason:
        notes.append(f"催缴记录登记的欠费原因：{case.owner_reason}")
    periods = len({x.period for x in case.lines if x.principal > 0})
    return [case.room, case.unit.owner, periods, case.totals.principal, case.totals.fee, case.totals.fee_ref,
            case.totals.basis, case.totals.claim_total, case.limitation.expires, case.limitation.basis,
            f"{last.date:%Y-%m-%d} {last.method}（{last.proof.strip()}）" if last else "",
            f"{lawyer.date:%Y-%m-%d}（期限 {case.stage.deadline:%Y-%m-%d}）" if lawyer else "",
            "；".join(notes), folder]


def job_litigation(ledger: Ledger, as_of: dt.date, out_dir: Path, *, rooms: Optional[Iterable[str]] = None,
                   operator: str = "客户关系部", template_dir: Optional[Path] = None,
                   record: bool = True) -> tuple[Changes, PackResult]:
    """Write the packs into ``out_dir`` and return the 催缴记录 rows to append (as Changes)."""
    batch = litigation_batch(ledger, as_of, lawyer_deadline_days(ledger), rooms=rooms)
    changes = Changes("生成诉讼材料", problems=list(batch.problems))
    result = PackResult(batch)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_rows, used = [], set()
    for case in batch.cases:
        name = safe_component(case.room)
        base, n = name, 2
        while name.lower() in used:
            name = f"{base}_{n}"
            n += 1
        used.add(name.lower())
        folder = out_dir / name
        folder.mkdir(exist_ok=True)
        ctx = complaint_context(ledger, case, as_of)
        render_complaint(ctx, folder / f"{COMPLAINT}_{name}.docx", template_dir)
        write_new_workbook(folder / f"计算表_{name}.xlsx", [_calc_sheet(case), _evidence_sheet(ctx["evidence"])])
        result.folders.append((case.room, folder))
        summary_rows.append(_summary_row(case, name))
    if batch.cases or batch.left_out:
        summary = SheetOutput(SUMMARY_NAME, list(SUMMARY_HEADERS), summary_rows,
                              {"欠费本金": MONEY, "违约金(合同)": MONEY, "违约金(法院参考)": MONEY, "主张合计": MONEY,
                               "诉讼时效届满日": "date", "欠费期数": "int"})
        left = SheetOutput("未列入", ["房号", "业主", "原因"], [[x.room, x.owner, x.reason] for x in batch.left_out])
        result.summary_file = out_dir / f"{SUMMARY_NAME}_{as_of:%Y%m%d}.xlsx"
        write_new_workbook(result.summary_file, [summary, left])

    # what the terminal and the log see: 房号, masked names, figures — nothing else of the owner
    changes.summary.append(f"诉讼材料（截至 {as_of:%Y-%m-%d}，违约金主张口径 {batch.basis}）："
                           f"列入 {len(batch.cases)} 户，未列入 {len(batch.left_out)} 户 → {out_dir}")
    for case in batch.cases:
        t = case.totals
        extra = "，最后一次送达催告后有部分缴费" if case.part_payments else ""
        changes.summary.append(f"  {case.room} {mask_name(case.unit.owner)}：欠费本金 {t.principal:,.2f}，"
                               f"违约金 合同 {t.fee:,.2f} / 法院参考 {t.fee_ref:,.2f}，"
                               f"时效届满 {case.limitation.expires:%Y-%m-%d}{extra}")
    for x in batch.left_out:
        changes.summary.append(f"  未列入 {x.room} {mask_name(x.owner)}：{x.reason}")
    if result.summary_file:
        changes.summary.append(f"  诉讼清单：{result.summary_file}")

    if record and batch.cases:
        seen = {(c.date, c.room, c.method) for c in ledger.contacts}
        rows = []
        for case in batch.cases:
            if (as_of, case.room, SUIT) in seen:
                continue
            rows.append({"日期": as_of, "房号": case.room, "方式": SUIT, "经办人": operator, "结果": GENERATED,
                         "送达凭证": "",
                         "备注": f"列入{as_of.year}年集中诉讼批次，材料已生成（{date_cn(as_of)}）；立案后请另记立案日期及案号"})
        if rows:
            changes.append[schema.CONTACTS] = rows
            changes.audit.append({"操作": "生成诉讼材料", "数量": len(rows),
                                  "说明": f"截至 {as_of:%Y-%m-%d} 列入诉讼批次 {len(rows)} 户："
                                          + "、".join(r["房号"] for r in rows)[:400]})
        changes.summary.append(f"  催缴记录：新增 {len(rows)} 行（方式 诉讼，结果 已生成）")
    return changes, result

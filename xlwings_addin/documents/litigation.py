"""The litigation pack of one unit: 要素式起诉状 (Word), 计算表 and 证据目录 (SPEC §5; issue 18).

Pure context building from an :class:`~xlwings_addin.engine.litigation.Case`
(engine figures, nothing recomputed here) plus rendering of the Word template
``letters/要素式起诉状.docx`` (docxtpl, ``autoescape=True``; made by
``scripts/make_litigation_template.py``).  The complaint's claimed figures and
the 计算表 rows come from the same :class:`~xlwings_addin.engine.litigation.CalcLine`
list, so they cannot disagree.

The defendant's identity-card fields are left blank for the lawyer: the
workbook never stores ID numbers.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Optional

from ..engine.late_fee import court_reference_rate
from ..engine.litigation import CLAIM_REFERENCE, LAWYER_LETTER, SUIT, Case, delivered
from ..ledger.money import daxie, round_money
from ..ledger.records import Ledger
from .contexts import date_cn, fee_standard, money_text, rate_cn
from .letters import check_template, render_one, template_path

COMPLAINT = "要素式起诉状"
CALC_HEADERS = ("序号", "期间", "收费项目", "应收金额", "应缴日期", "已缴金额", "缴款明细", "欠费本金", "逾期天数",
                "合同违约金计算式", "合同违约金", "法院参考违约金计算式", "法院参考违约金")
EVIDENCE_HEADERS = ("序号", "证据名称", "类别", "内容及来源", "证明目的")
KIND_CONTRACT, KIND_STANDARD, KIND_STATEMENT, KIND_CONTACT, KIND_LAWYER = (
    "物业服务合同", "收费标准公示", "应收/收款明细", "催缴记录", "律师函")
EVIDENCE_KINDS = (KIND_CONTRACT, KIND_STANDARD, KIND_STATEMENT, KIND_CONTACT, KIND_LAWYER)


def _param(ledger: Ledger, key: str, blank: str) -> str:
    return (ledger.settings.get(key) or "").strip() or blank


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def basis_text(ledger: Ledger, basis: str) -> str:
    s = ledger.settings
    if basis == CLAIM_REFERENCE:
        return (f"按一年期贷款市场报价利率（LPR {_percent(s.lpr)}）的1.5倍，即每日 {_percent(s.lpr)}×1.5÷365 计算"
                "（法院参考口径）")
    return f"按合同约定每日{rate_cn(s.late_fee_rate)}（{s.late_fee_rate.normalize()}）计算"


def contact_text(c) -> str:
    parts = [f"{date_cn(c.date)}", c.method]
    if c.result:
        parts.append(c.result)
    text = " ".join(parts)
    text += f"，送达凭证：{c.proof.strip()}" if (c.proof or "").strip() else "，无送达凭证"
    return text


def evidence_items(ledger: Ledger, case: Case) -> list[dict]:
    """The numbered 证据目录: contract, fee standard, statement, each 催缴记录 row, the 律师函."""
    contract = ledger.settings.get("物业服务合同") or "《物业服务合同》"
    standard = fee_standard(ledger, [x.charge for x in case.account.charges])
    periods = "、".join(dict.fromkeys(x.period.label_cn for x in case.lines))
    items = [
        (KIND_CONTRACT, contract, f"{contract}（原件及复印件）",
         f"原告与被告之间存在物业服务合同关系；原告为 {case.room} 房屋提供物业服务；物业费标准及逾期违约金的约定"),
        (KIND_STANDARD, "收费标准公示", f"收费标准：{standard}；公示照片及物价备案文件",
         "物业费收费标准已经公示，被告应缴金额的计算依据"),
        (KIND_STATEMENT, f"{case.room} 应收/收款明细", f"收费大表“应收”“收款”表中本户记录及附件一计算表（{periods}）",
         "被告欠费的期间、应收金额、已缴金额及欠费本金，违约金的计算"),
    ]
    for c in case.contacts:
        if c.method in (LAWYER_LETTER, SUIT):
            continue
        if delivered(c):
            proves = "原告已履行催告义务；该次催告已送达，诉讼时效自送达之日起重新计算（民法典第一百九十五条）"
        elif (c.proof or "").strip():
            proves = "原告进行了催缴；有凭证但结果未记为“已送达”，请律师核实送达情况后再作为催告证据"
        else:
            proves = "原告进行了催缴（内部记录，无送达凭证，仅作参考）"
        name = f"催缴记录（{c.method}，{date_cn(c.date)}）"
        detail = contact_text(c) + (f"；经办人 {c.operator}" if c.operator else "")
        items.append((KIND_CONTACT, name, detail, proves))
    for c in case.contacts:
        if c.method != LAWYER_LETTER:
            continue
        if delivered(c):
            proves = ("原告委托律师书面催告被告在合理期限内支付，期限届满被告仍未支付（民法典第九百四十四条）；"
                      "诉讼时效重新计算")
        else:
            proves = "律师函未记录送达，仅作参考"
        items.append((KIND_LAWYER, f"律师函及送达凭证（{date_cn(c.date)}）", contact_text(c), proves))
    return [{"no": str(i), "name": name, "kind": kind, "detail": detail, "proves": proves}
            for i, (kind, name, detail, proves) in enumerate(items, start=1)]


def calc_rows(case: Case) -> list[dict]:
    return [{
        "no": str(i), "period": x.period.label_cn, "item": x.item, "amount": money_text(x.amount),
        "due": date_cn(x.due), "paid": money_text(x.paid), "paid_text": x.paid_text or "—",
        "principal": money_text(x.principal), "days": str(x.days) if x.principal > 0 else "—",
        "fee_formula": x.fee_formula, "fee": money_text(x.fee),
        "ref_formula": x.fee_ref_formula, "fee_ref": money_text(x.fee_ref),
    } for i, x in enumerate(case.lines, start=1)]


def service_text(ledger: Ledger, case: Case, since: dt.date, as_of: dt.date) -> str:
    """物业服务情况: service since the first owed period, and the owner's 投诉 as the workbook records them."""
    text = f"原告自{date_cn(since)}起持续为被告房屋提供物业服务"
    complaints = sorted((c for c in ledger.complaints if c.room == case.room and c.date <= as_of),
                        key=lambda c: c.date)
    if not complaints:
        return text + "；期间无被告投诉记录"
    listed = "；".join(f"{date_cn(c.date)}{('（' + c.category + '）') if c.category else ''}"
                      f"{'，已于' + date_cn(c.resolved_on) + '解决' if c.resolved_on and c.resolved_on <= as_of else '，' + c.status}"
                      for c in complaints)
    return text + f"；期间被告投诉 {len(complaints)} 次：{listed}"


def complaint_context(ledger: Ledger, case: Case, as_of: dt.date) -> dict:
    """Every value of the 要素式起诉状 template, formatted for print."""
    s = ledger.settings
    unit, totals = case.unit, case.totals
    basis = totals.basis
    periods = list(dict.fromkeys(x.period for x in case.lines if x.principal > 0))
    periods_text = "、".join(p.label_cn for p in periods)
    first_period = min((x.period for x in case.lines), default=None)
    sent = list(case.delivered_demands)
    lawyer = case.stage.lawyer_letter
    undelivered = [c for c in case.contacts if c.method != SUIT and not delivered(c)]
    if case.part_payments:
        p = case.part_payments
        part_text = (f"最后一次送达催告（{date_cn(case.last_demand.date)}）后被告曾部分缴费："
                     + "；".join(f"{date_cn(x.paid_on)} {money_text(x.amount)} 元（收据 {x.receipt_no}）" for x in p)
                     + "，已在计算表中冲抵；部分缴费亦使诉讼时效重新计算")
    else:
        part_text = "最后一次送达催告后被告未再缴费"
    reason = case.owner_reason
    reason_text = (f"催缴记录登记的欠费原因为“{reason}”" if reason else "催缴记录未登记欠费原因，被告未提出拒缴理由")
    other = totals.other_fee
    other_label = "合同约定口径" if basis == CLAIM_REFERENCE else "法院参考口径（LPR×1.5）"
    ref_rate = court_reference_rate(s.lpr)
    return {
        "company": s.company,
        "credit_code": _param(ledger, "统一社会信用代码", "（请填写统一社会信用代码）"),
        "legal_rep": _param(ledger, "法定代表人", "（请填写法定代表人）"),
        "company_address": _param(ledger, "公司住所", "（请填写公司住所）"),
        "hotline": s.hotline,
        "center": s.center,
        "law_firm": _param(ledger, "律师事务所", "（律师事务所名称）"),
        "lawyer": _param(ledger, "律师", "（承办律师）"),
        "contract": s.get("物业服务合同") or "《物业服务合同》",
        "owner": unit.owner,
        "room": unit.room,
        "area": f"{unit.area:.2f}",
        "house_type": unit.house_type,
        "date_cn": date_cn(as_of),
        "fee_standard": fee_standard(ledger, [x.charge for x in case.account.charges]),
        "rate_text": rate_cn(s.late_fee_rate),
        "lpr_text": _percent(s.lpr),
        "ref_rate_text": f"{_percent(s.lpr)}×1.5÷365 ≈ {round(ref_rate * 100, 6).normalize():f}%/日",
        "service_text": service_text(ledger, case, first_period.start if first_period else case.oldest_due, as_of),
        "periods_text": periods_text,
        "period_count": str(len(periods)),
        "oldest_due": date_cn(case.oldest_due),
        "principal_total": money_text(totals.principal),
        "principal_daxie": daxie(totals.principal),
        "fee_total": money_text(totals.fee),
        "fee_ref_total": money_text(totals.fee_ref),
        "claimed_fee": money_text(totals.claimed_fee),
        "claimed_fee_daxie": daxie(totals.claimed_fee),
        "claim_basis": basis,
        "claim_basis_text": basis_text(ledger, basis),
        "other_fee": money_text(other),
        "other_label": other_label,
        "claim_total": money_text(totals.claim_total),
        "claim_total_daxie": daxie(round_money(totals.claim_total)),
        "claim_note": (f"本状主张的违约金为{basis}口径 {money_text(totals.claimed_fee)} 元；"
                       f"{other_label}为 {money_text(other)} 元，供律师评估（民法典第五百八十五条，合同编通则解释第六十五条）"),
        "demands": [{"date": date_cn(c.date), "method": c.method, "proof": c.proof.strip()} for c in sent],
        "demand_count": str(len(sent)),
        "undelivered_text": (f"另有催缴记录 {len(undelivered)} 次未记录送达（结果非“已送达”或无送达凭证），"
                             "未作为催告证据" if undelivered else ""),
        "lawyer_date": date_cn(lawyer.date) if lawyer else "",
        "lawyer_proof": lawyer.proof.strip() if lawyer else "",
        "lawyer_deadline": date_cn(case.stage.deadline),
        "limitation_text": (f"诉讼时效自{case.limitation.basis}（{date_cn(case.limitation.start)}）起算，"
                            f"至{date_cn(case.limitation.expires)}届满，起诉时未届满"),
        "reason_text": reason_text,
        "part_payment_text": part_text,
        "calc_lines": calc_rows(case),
        "evidence": evidence_items(ledger, case),
    }


def render_complaint(context: dict, target: Path, template_dir: Optional[Path] = None) -> Path:
    """Render ``要素式起诉状.docx`` into ``target`` (refused if the template asks for an unknown variable)."""
    template = template_path(COMPLAINT, template_dir)
    check_template(template, context)
    render_one(template.read_bytes(), context, Path(target))
    return Path(target)

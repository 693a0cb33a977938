"""Bank collection (银行托收): the 托收盘 sent to the bank and the 回盘 it sends back (SPEC §3, §6).

The round trip, as the seed's quarterly calendar runs it (seed 004 §4.1 steps 10–12):

1. **Export** (day 18): one debit per unit with 托收 = 是 and money owing —
   amount = open principal of the unit's payable bills of the period and
   earlier, as of ``as_of`` (plus the accrued late fee only when 参数
   ``托收含违约金`` = 是).  Units whose 银行账号 is not 12–19 digits are a 问题
   and left out; the rest still go.  The batch is recorded in 托收批次
   (状态 待回盘) and its rows in 托收明细 (结果 待回盘).  While the batch is
   open its units are **locked**: no second batch and no front-desk receipt
   may take them.
2. **Import** (day 25): the 回盘 is matched to the batch by 批次号 + 序号
   (and the account, amount and room must agree).  Successes are posted as
   收款 rows (渠道 托收, 托收批次, 收据号 ``TS<批次号>-<序号>``, dated the
   bank's debit date); failures keep their reason (余额不足, 账户冻结, 户名不符
   …) and 回盘日期 in 托收明细, where the dunning list and 催收日报 read them.
   The batch becomes 已回盘 and its units unlock.  The file's sha256 is kept
   in 回盘文件摘要: the same file imported twice posts nothing.  A file whose
   totals or rows do not match the batch is refused whole, listing what
   differs, and nothing is written.

托收批次 and 托收明细 are engine-maintained sheets: every export/import
rewrites them whole from the parsed records plus the change (a 回盘 updates
existing rows, which an append cannot do).  Rows there that cannot be read
would be lost by such a rewrite, so export and import refuse to run while
either sheet has an unreadable row.

Bank profiles are data (``workbooks/bank_profiles/*.json``; a center may put
its own next to its workbook in ``bank_profiles/``): file kind (``csv`` with a
delimiter, or ``fixed`` with field widths in *bytes* of the encoding and
padding), encoding (GBK for most Chinese banks), amount unit (元 or 分), the
fields of the header, column-title, detail and trailer lines for the export
and for the return, and the bank's result codes.  Field names:
``batch_id seq account name amount room memo date merchant_no count total
success_count success_total result reason``; ``{"const": "H"}`` is a literal.

Worked example (profile ``csv_gbk``, amounts in 元): a unit owing 2026Q4
物业管理费 1,200.00 of which 500.00 is paid gives the detail line
``1,6222020200112233445,张三,700.00,1-1-101,物业费2026Q4``; a batch of it and
one 300.00 debit has the header ``H,2026Q4-01,4403000123,20261018,2,1000.00``.
In ``fixed_gbk`` the same 700.00 is ``000000070000`` (12 bytes, 分, zero-padded)
and 张三 is 4 bytes of GBK followed by 36 spaces.

Everything here is pure (bytes in, bytes and :class:`~xlwings_addin.jobs.ledger.Changes`
out) except :func:`load_profile`, which reads a JSON file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

from ..ledger import schema
from ..engine.allocation import allocate
from ..engine.dunning import mask_name
from .ledger import Changes, problems_sheet, refresh_after_posting
from ..ledger.money import ZERO
from ..ledger.periods import Period
from ..ledger.records import BankBatch, BankDebit, Ledger, Problem, Source
from ..workbook.writer import SheetOutput

from ..exchange.bank_files import (  # noqa: F401  (the profile/file names are re-exported for callers)
    ACCOUNT_RE, CHANNEL, FAILURE, OPEN, RETURN_SOURCE, RETURNED, SUCCESS, VOID, BankFile, BankFileError, BankProfile,
    DebitLine, ProfileError, _line_values, _render_fields, load_profile, parse_file, profile_dirs, profile_from_dict,
    render_file,
)

# --------------------------------------------------------------------------- locks and lists


def open_batches(ledger: Ledger) -> dict[str, BankBatch]:
    return {b.batch_id: b for b in ledger.bank_batches if b.status == OPEN}


def locked_rooms(ledger: Ledger) -> dict[str, str]:
    """Room → batch id, for every unit with a debit in a batch still 待回盘 (its bills are locked)."""
    batches = open_batches(ledger)
    return {d.room: d.batch_id for d in ledger.bank_debits if d.batch_id in batches and d.result == OPEN}


def lock_message(room: str, batch_id: str) -> str:
    return (f"房号 {room} 的账单已在托收批次 {batch_id} 中（待回盘），回盘导入前不能再收款或再次托收；"
            f"如银行未受理此批次，请在“托收批次”表把状态改为“已作废”")


def failed_debits(ledger: Ledger, on: Optional[dt.date] = None) -> list[BankDebit]:
    """托收明细 rows whose debit failed (optionally only those returned on ``on``), with reason and date."""
    return [d for d in ledger.bank_debits if d.result == FAILURE and (on is None or d.returned_on == on)]


def batch_row(b: BankBatch) -> dict:
    return {"批次号": b.batch_id, "银行方案": b.profile, "生成日期": b.created_on, "笔数": b.rows, "总金额": b.total,
            "状态": b.status, "期间": str(b.period) if b.period else "", "回盘日期": b.returned_on,
            "回盘文件摘要": b.file_digest, "审批人": b.approver, "备注": b.note}


def debit_row(d: BankDebit) -> dict:
    return {"批次号": d.batch_id, "序号": d.seq, "房号": d.room, "金额": d.amount, "结果": d.result,
            "银行账号": d.account_no, "账户名": d.account_name, "账单号": ",".join(d.bill_nos),
            "失败原因": d.reason, "回盘日期": d.returned_on, "收据号": d.receipt_no}


def _sheet(name: str, rows: list[dict]) -> SheetOutput:
    spec = schema.INPUT_SHEETS[name]
    headers = list(spec.headers)
    return SheetOutput(name, headers, [[r.get(h) for h in headers] for r in rows], dict(spec.formats))


def batches_sheet(batches: Iterable[BankBatch]) -> SheetOutput:
    return _sheet(schema.BANK_BATCHES, [batch_row(b) for b in batches])


def debits_sheet(debits: Iterable[BankDebit]) -> SheetOutput:
    return _sheet(schema.BANK_DEBITS, [debit_row(d) for d in debits])


def _unreadable_bank_rows(ledger: Ledger) -> list[Problem]:
    return [p for p in ledger.problems
            if p.level == "错误" and p.sheet in (schema.BANK_BATCHES, schema.BANK_DEBITS)]


def _mask_account(account: str) -> str:
    return f"…{account[-4:]}" if len(account) > 4 else account


def compact_period(period: Period) -> str:
    return str(period).replace("-", "")


def next_batch_id(ledger: Ledger, period: Period) -> str:
    """``2026Q4-01``, ``2026Q4-02`` …: the period and a sequence never reused (even for 已作废 batches)."""
    prefix = compact_period(period) + "-"
    used = [int(b.batch_id[len(prefix):]) for b in ledger.bank_batches
            if b.batch_id.startswith(prefix) and b.batch_id[len(prefix):].isdigit()]
    used += [int(d.batch_id[len(prefix):]) for d in ledger.bank_debits
             if d.batch_id.startswith(prefix) and d.batch_id[len(prefix):].isdigit()]
    return f"{prefix}{max(used, default=0) + 1:02d}"


def receipt_for(batch_id: str, seq: int) -> str:
    return f"TS{batch_id}-{seq:04d}"


# --------------------------------------------------------------------------- export


@dataclass
class BatchPlan:
    batch: Optional[BankBatch]
    debits: list[BankDebit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped_locked: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # rooms left out for a bad account number or name


def plan_batch(ledger: Ledger, period: Period, profile: BankProfile, as_of: dt.date,
               batch_id: Optional[str] = None) -> BatchPlan:
    """Who is debited and for how much (no file, no changes)."""
    allocation = allocate(ledger, as_of)
    include_fee = ledger.settings.get("托收含违约金", "否").strip() == "是"
    locks = locked_rooms(ledger)
    batch_id = batch_id or next_batch_id(ledger, period)
    memo = profile.memo.format(period=period, batch=batch_id)
    plan = BatchPlan(None)
    merchant = ledger.settings.get("托收单位代码", "") or profile.merchant_no
    probe = BankFile(batch_id, as_of, 0, ZERO, (), merchant)
    for unit in ledger.units:
        if not unit.bank_debit:
            continue
        account = allocation.accounts.get(unit.room)
        if account is None:
            continue
        owing = [c for c in account.charges if c.charge.period <= period and c.open > 0]
        amount = sum((c.open for c in owing), ZERO)
        if include_fee:
            amount += sum((c.fee_outstanding for c in account.charges if c.charge.period <= period), ZERO)
        if amount <= 0:
            continue
        if unit.room in locks:
            plan.skipped_locked.append(unit.room)
            plan.problems.append(Problem.warning(unit.source, lock_message(unit.room, locks[unit.room])))
            continue
        number = re.sub(r"\s", "", unit.account_no)
        if not ACCOUNT_RE.fullmatch(number):
            shown = f"“{_mask_account(number)}”，共 {len(number)} 位" if number else "空白"
            plan.problems.append(Problem.error(
                unit.source, f"房号 {unit.room} 托收=是，但银行账号无效（{shown}；应为12–19位数字），未列入托收盘"))
            plan.rejected.append(unit.room)
            continue
        name = unit.account_name or unit.owner
        line = DebitLine(len(plan.debits) + 1, number, amount, name, unit.room, memo)
        try:
            _render_fields(profile, profile.export.detail, _line_values(line, probe, profile))
        except ValueError as exc:
            # the terminal and 问题 never show a full 账户名 (personal data): mask it in the message
            text = str(exc).replace(name, mask_name(name)) if name else str(exc)
            plan.problems.append(Problem.error(unit.source, f"房号 {unit.room} 不能写入托收盘：{text}，未列入"))
            plan.rejected.append(unit.room)
            continue
        bills = tuple(c.charge.bill_no for c in owing)
        plan.debits.append(BankDebit(batch_id, line.seq, unit.room, amount, OPEN, number, name, bills,
                                     source=Source(schema.BANK_DEBITS)))
    if plan.debits:
        total = sum((d.amount for d in plan.debits), ZERO)
        plan.batch = BankBatch(batch_id, profile.id, as_of, len(plan.debits), total, OPEN, period,
                               note=f"{profile.name}" + ("，含违约金" if include_fee else ""),
                               source=Source(schema.BANK_BATCHES))
    return plan


def export_batch(ledger: Ledger, period: Period, profile: BankProfile, as_of: dt.date,
                 batch_id: Optional[str] = None) -> tuple[bytes, Changes]:
    """The 托收盘 bytes and the changes that record the batch (empty bytes when nobody is to be debited)."""
    changes = Changes("托收盘")
    blocked = _unreadable_bank_rows(ledger)
    if blocked:
        changes.problems = blocked
        changes.summary.append("“托收批次”或“托收明细”有无法读取的行，改写这两张表会丢失它们；请先修正（本次未生成托收盘）")
        return b"", changes
    plan = plan_batch(ledger, period, profile, as_of, batch_id)
    problems = list(ledger.problems) + plan.problems
    changes.problems = problems
    if plan.batch is None:
        changes.summary.append(f"{period} 没有需要托收的房屋（托收=是且有欠费），未生成托收盘")
        if plan.problems:
            changes.replace[schema.PROBLEMS] = problems_sheet(problems)
        return b"", changes
    batch = plan.batch
    merchant = ledger.settings.get("托收单位代码", "") or profile.merchant_no
    memo = profile.memo.format(period=period, batch=batch.batch_id)
    lines = tuple(DebitLine(d.seq, d.account_no, d.amount, d.account_name, d.room, memo) for d in plan.debits)
    data = render_file(profile, BankFile(batch.batch_id, as_of, batch.rows, batch.total, lines, merchant))
    changes.replace[schema.BANK_BATCHES] = batches_sheet(list(ledger.bank_batches) + [batch])
    changes.replace[schema.BANK_DEBITS] = debits_sheet(list(ledger.bank_debits) + plan.debits)
    changes.replace[schema.PROBLEMS] = problems_sheet(problems)
    bad = plan.rejected
    changes.audit.append({"操作": f"托收盘 {batch.batch_id}", "数量": batch.rows,
                          "说明": f"{profile.name}；{period}；{batch.rows} 笔，合计 {batch.total:.2f} 元；"
                                  f"账号问题 {len(bad)} 户；待回盘户跳过 {len(plan.skipped_locked)} 户"})
    changes.summary.append(f"托收批次 {batch.batch_id}（{profile.name}）：{batch.rows} 笔，合计 {batch.total:,.2f} 元，"
                           f"状态 待回盘；这些房屋的账单在回盘前已锁定")
    if bad:
        changes.summary.append(f"未列入（银行账号等问题，见“问题”表）：{len(bad)} 户：" +
                               "、".join(bad[:10]) + ("……" if len(bad) > 10 else ""))
    if plan.skipped_locked:
        changes.summary.append(f"已在待回盘批次中、本批次不含：{len(plan.skipped_locked)} 户")
    return data, changes


# --------------------------------------------------------------------------- import


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refuse(changes: Changes, messages: list[str], head: str) -> Changes:
    changes.problems.extend(Problem.error(RETURN_SOURCE, m) for m in messages)
    changes.summary.append(f"{head}，回盘未导入，工作簿未改动：")
    changes.summary.extend(f"  {m}" for m in messages[:30])
    if len(messages) > 30:
        changes.summary.append(f"  …… 另有 {len(messages) - 30} 处")
    return changes


def reconcile(batch: BankBatch, debits: dict[int, BankDebit], f: BankFile, profile: BankProfile) -> list[str]:
    """Every difference between a 回盘 and its batch (empty when they agree)."""
    diffs = []
    if f.count != batch.rows:
        diffs.append(f"笔数：回盘 {f.count}，批次 {batch.rows}")
    if f.total != batch.total:
        diffs.append(f"总金额：回盘 {f.total:.2f}，批次 {batch.total:.2f}")
    seen: Counter = Counter(line.seq for line in f.lines)
    for seq, n in sorted(seen.items()):
        if n > 1:
            diffs.append(f"序号 {seq} 在回盘中出现 {n} 次")
    known = set(profile.success_codes) | {code for code, _ in profile.result_codes}
    for line in f.lines:
        where = f"第 {line.line_no} 行（序号 {line.seq}）"
        debit = debits.get(line.seq)
        if debit is None:
            diffs.append(f"{where}账号 {_mask_account(line.account)} 不在批次 {batch.batch_id} 中")
            continue
        if line.account != debit.account_no:
            diffs.append(f"{where}账号 {_mask_account(line.account)} 与批次中的 {_mask_account(debit.account_no)} 不符")
        if line.amount != debit.amount:
            diffs.append(f"{where}金额 {line.amount:.2f} 与批次中的 {debit.amount:.2f} 不符")
        if profile.returns.has("room") and line.room and line.room != debit.room:
            diffs.append(f"{where}用户编号 {line.room} 与批次中的房号 {debit.room} 不符")
        if line.result not in known:
            diffs.append(f"{where}处理结果代码“{line.result}”不在银行方案“{profile.id}”中")
    missing = sorted(set(debits) - set(seen))
    if missing:
        shown = "、".join(str(s) for s in missing[:20]) + ("……" if len(missing) > 20 else "")
        diffs.append(f"批次中有 {len(missing)} 笔不在回盘中：序号 {shown}")
    return diffs


def import_return(ledger: Ledger, data: bytes, profile: BankProfile, as_of: dt.date,
                  existing_receipts: Iterable[str] = ()) -> Changes:
    """A 回盘's bytes → the changes that post it (nothing to write when it is refused or already in).

    ``existing_receipts``: every 收据号 in the 收款 sheet, including rows the
    parser could not read (so a generated number never collides).
    """
    changes = Changes("回盘导入")
    blocked = _unreadable_bank_rows(ledger)
    if blocked:
        changes.problems = blocked
        changes.summary.append("“托收批次”或“托收明细”有无法读取的行，改写这两张表会丢失它们；请先修正（回盘未导入）")
        return changes
    try:
        f = parse_file(profile, data, returned=True)
    except BankFileError as exc:
        return _refuse(changes, exc.messages, f"回盘文件无法按银行方案“{profile.id}”读取")
    digest = file_sha256(data)
    done = next((b for b in ledger.bank_batches if b.file_digest == digest), None)
    if done is not None:
        changes.summary.append(f"此回盘文件已于 {done.returned_on or '之前'} 导入（批次 {done.batch_id}），"
                               f"本次未入账任何款项，工作簿未改动")
        return changes
    batch = next((b for b in ledger.bank_batches if b.batch_id == f.batch_id), None)
    if batch is None:
        return _refuse(changes, [f"回盘的批次号“{f.batch_id}”不在“托收批次”表中"], "批次不符")
    if batch.status == VOID:
        return _refuse(changes, [f"批次 {batch.batch_id} 已作废"], "批次不符")
    debits = {d.seq: d for d in ledger.bank_debits if d.batch_id == batch.batch_id}
    diffs = reconcile(batch, debits, f, profile)
    if diffs:
        return _refuse(changes, diffs, f"回盘与托收批次 {batch.batch_id} 不符")

    day = f.date or as_of
    outcome = {}
    for line in f.lines:
        if line.result in profile.success_codes:
            outcome[line.seq] = (SUCCESS, "")
        else:
            outcome[line.seq] = (FAILURE, line.reason.strip() or profile.reason_for(line.result) or line.result)

    if batch.status == RETURNED:  # a re-sent file (other bytes) for a batch already in: match by 批次号+序号
        differ = [f"序号 {seq}：已入账“{debits[seq].result}{' ' + debits[seq].reason if debits[seq].reason else ''}”，"
                  f"此文件为“{res}{' ' + why if why else ''}”"
                  for seq, (res, why) in sorted(outcome.items())
                  if (debits[seq].result, debits[seq].reason if debits[seq].result == FAILURE else "") != (res, why)]
        if differ:
            return _refuse(changes, [f"批次 {batch.batch_id} 已于 {batch.returned_on} 回盘，此文件结果与已入账不一致"] + differ,
                           "重复回盘")
        changes.summary.append(f"批次 {batch.batch_id} 已于 {batch.returned_on} 回盘，此文件结果与已入账一致，"
                               f"本次未入账任何款项，工作簿未改动")
        return changes

    taken = set(existing_receipts) | {p.receipt_no for p in ledger.payments}
    clash = [receipt_for(batch.batch_id, s) for s, (res, _) in outcome.items()
             if res == SUCCESS and receipt_for(batch.batch_id, s) in taken]
    if clash:
        return _refuse(changes, [f"收据号 {'、'.join(clash[:10])} 已存在于“收款”表"], "收据号重复")

    payments, updated = [], {}
    for seq, (res, why) in sorted(outcome.items()):
        d = debits[seq]
        receipt = receipt_for(batch.batch_id, seq) if res == SUCCESS else ""
        updated[seq] = replace(d, result=res, reason=why, returned_on=day, receipt_no=receipt)
        if res == SUCCESS:
            payments.append({"收据号": receipt, "收款日期": day, "房号": d.room, "金额": d.amount, "渠道": CHANNEL,
                             "经办人": "银行托收", "托收批次": batch.batch_id,
                             "备注": f"回盘 {profile.id} 序号{seq}"})
    new_batch = replace(batch, status=RETURNED, returned_on=day, file_digest=digest)
    all_debits = [updated.get(d.seq, d) if d.batch_id == batch.batch_id else d for d in ledger.bank_debits]
    changes.append[schema.PAYMENTS] = payments
    changes.replace[schema.BANK_BATCHES] = batches_sheet(
        [new_batch if b.batch_id == batch.batch_id else b for b in ledger.bank_batches])
    changes.replace[schema.BANK_DEBITS] = debits_sheet(all_debits)
    ok = [u for u in updated.values() if u.result == SUCCESS]
    bad = [u for u in updated.values() if u.result == FAILURE]
    ok_total = sum((u.amount for u in ok), ZERO)
    bad_total = sum((u.amount for u in bad), ZERO)
    reasons = Counter(u.reason for u in bad)
    reason_text = "，".join(f"{r} {n}" for r, n in reasons.most_common())
    changes.audit.append({"操作": f"回盘导入 {batch.batch_id}", "数量": len(updated),
                          "说明": f"扣款日 {day:%Y-%m-%d}；成功 {len(ok)} 笔 {ok_total:.2f} 元；失败 {len(bad)} 笔 "
                                  f"{bad_total:.2f} 元（{reason_text or '无'}）；文件摘要 {digest[:16]}"})
    changes.summary.append(f"批次 {batch.batch_id} 回盘（扣款日 {day:%Y-%m-%d}）：成功 {len(ok)} 笔 {ok_total:,.2f} 元"
                           f"（已记入“收款”，渠道 托收），失败 {len(bad)} 笔 {bad_total:,.2f} 元"
                           + (f"（{reason_text}）" if bad else ""))
    if bad:
        changes.summary.append("托收失败（已记入“托收明细”，转入催缴）：" +
                               "；".join(f"{u.room} {u.amount:.2f} {u.reason}" for u in bad[:10]) +
                               ("……" if len(bad) > 10 else ""))
    changes.summary.append(f"批次已关闭（已回盘），{len(updated)} 户账单解锁")
    if day > as_of:
        changes.summary.append(f"注意：回盘扣款日 {day} 晚于截至日期 {as_of}")
    return refresh_after_posting(ledger, changes, as_of)


# --------------------------------------------------------------------------- the bank's side (tests, demo)


def simulate_return(profile: BankProfile, export_data: bytes, failures: dict[int, str],
                    debit_date: dt.date) -> bytes:
    """What the bank would send back for a 托收盘: every line succeeds except ``failures`` (序号 → result code)."""
    f = parse_file(profile, export_data, returned=False)
    success = profile.success_codes[0]
    lines = tuple(replace(line, result=failures.get(line.seq, success),
                          reason=profile.reason_for(failures[line.seq]) or "" if line.seq in failures else "")
                  for line in f.lines)
    ok = [line for line in lines if line.seq not in failures]
    return render_file(profile, replace(f, date=debit_date, lines=lines, success_count=len(ok),
                                        success_total=sum((x.amount for x in ok), ZERO)), returned=True)

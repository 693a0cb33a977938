"""对账: a channel's statement (WeChat, Alipay, a bank) matched against 收款 (issue 17).

Every statement row and every 收款 row of the channel in the statement's days
gets one 对账 row, of exactly one 类型:

* 已对平 — a 收款 row carries the statement row's 交易单号 (the channel's order
  number or the merchant order number) and the same amount; or, for 收款 rows
  typed without 交易单号, the same channel, room and amount within
  ``MATCH_DAYS`` days (the room read from the row's 商品名称/附加数据/备注);
* 金额不符 — the 交易单号 matches but the amounts differ;
* 渠道有台账无 — the channel settled money no 收款 row records;
* 台账有渠道无 — a 收款 row of this channel (微信/支付宝/转账) in the
  statement's days that no statement row settles;
* 退款 — a refund; a reversal of the receipt it refunds is *proposed*
  (``feebook reverse``), never performed.

``post=True`` records each 渠道有台账无 row whose room is known as a 收款 row
(渠道 of the channel, 交易单号, 经办人 对账, the next receipt number), except
when the same room has a 收款 row of this channel the statement does not
settle (the clerk may have typed it with a wrong amount: checked by hand), or
the room's bills are locked in a 托收批次 still 待回盘.

Idempotent: a statement row is recorded once per 来源 and 交易单号 (a refund
by its 退款单号, an unmatched 收款 row by its 收据号); importing the same
statement again adds no 对账 row, and posts nothing because the posted 收款
rows now carry the 交易单号.  The channel's 手续费 total is in the summary,
the 操作日志 and (per row) the 对账 column 手续费.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Iterable, Optional

from ..exchange.statements import (OTHER, PAYMENT, REFUND, Statement, StatementError, StatementProfile,
                                   parse_statement, room_named)
from ..ledger import schema
from ..ledger.money import ZERO, round_money
from ..ledger.records import ERROR, Ledger, Payment, Problem, Source
from ..workbook.parse import clean_text
from .bank import lock_message, locked_rooms
from .ledger import Changes, refresh_after_posting
from .receipts import next_receipt_no, receipt_prefix

MATCHED, AMOUNT_DIFFERS, LEDGER_ONLY, CHANNEL_ONLY, REFUNDED = schema.RECONCILE_TYPES
OPERATOR = "对账"
MATCH_DAYS = 3
STATEMENT = Source("对账单")


def record_key(source: str, kind: str, trade_no: str, refund_no: str, receipt_no: str) -> tuple:
    """What makes a 对账 row unique: a channel transaction once per 来源, an unmatched 收款 row once."""
    if kind == LEDGER_ONLY:
        return (source, "收据", receipt_no)
    if kind == REFUNDED:
        return (source, "退款", refund_no or trade_no)
    return (source, "交易", trade_no)


def recorded_keys(sheet) -> tuple[set, set]:
    """(keys, 收据号 already settled) of the 对账 sheet as typed (a RawSheet, or None)."""
    keys, settled = set(), set()
    if sheet is None:
        return keys, settled
    col = {clean_text(h): i for i, h in enumerate(sheet.headers)}

    def get(values, header):
        i = col.get(header)
        return clean_text(values[i]) if i is not None and i < len(values) else ""

    for _n, values in sheet.rows:
        kind = get(values, "类型")
        if not kind:
            continue
        keys.add(record_key(get(values, "来源"), kind, get(values, "交易单号"), get(values, "退款单号"),
                            get(values, "收据号")))
        if kind in (MATCHED, AMOUNT_DIFFERS) and get(values, "收据号"):
            settled.add(get(values, "收据号"))
    return keys, settled


def _row(as_of, profile, kind, *, trade_no="", time="", amount=ZERO, room="", receipt="", note="", fee=None,
         refund_no="", merchant_no="") -> dict:
    return {"对账日期": as_of, "来源": profile.source, "交易单号": trade_no or None, "交易时间": time or None,
            "金额": amount, "房号": room or None, "收据号": receipt or None, "类型": kind, "说明": note or None,
            "手续费": fee, "退款单号": refund_no or None, "商户订单号": merchant_no or None}


def reconcile(ledger: Ledger, statement: Statement, as_of: dt.date, *, recorded=None, post: bool = False,
              existing_receipts: Iterable[str] = ()) -> Changes:
    """The 对账 rows (and with ``post`` the 收款 rows) for one parsed statement."""
    profile = statement.profile
    changes = Changes(f"对账 {profile.source}")
    keys, settled_before = recorded or (set(), set())
    unreadable = [p for p in ledger.problems if p.level == ERROR and p.sheet == schema.PAYMENTS]
    if post and unreadable:
        changes.problems = unreadable
        changes.summary.append("“收款”表有无法读取的行，可能漏认已入账的款项；请先修正再入账（本次未对账，工作簿未改动）")
        return changes
    rooms = [u.room for u in ledger.units]
    payments = [p for p in ledger.payments if p.amount > 0 and not p.reverses]
    reversed_ = {p.reverses: p for p in ledger.payments if p.reverses}
    by_trade: dict[str, Payment] = {}
    for p in payments:
        if p.trade_no:
            by_trade.setdefault(p.trade_no, p)
    matched: set[str] = set()
    rows: list[tuple[dict, object]] = []  # (对账 row, statement row or None)

    def lookup(srow) -> Optional[Payment]:
        for number in (srow.trade_no, srow.merchant_no):
            if number and number in by_trade:
                return by_trade[number]
        return None

    # 1. payments settled by the channel
    loose = [p for p in payments if p.channel == profile.channel and not p.trade_no]
    for s in statement.of_kind(PAYMENT):
        stamp = f"{s.time:%Y-%m-%d %H:%M:%S}"
        room, named = room_named(s.text, rooms)
        common = dict(trade_no=s.trade_no, time=stamp, amount=s.amount, fee=s.fee, merchant_no=s.merchant_no)
        p = lookup(s)
        if p is not None:
            matched.add(p.receipt_no)
            note = "" if p.channel == profile.channel else f"收款表渠道为“{p.channel}”"
            if p.amount == s.amount:
                rows.append((_row(as_of, profile, MATCHED, room=p.room, receipt=p.receipt_no, note=note, **common), s))
            else:
                diff = s.amount - p.amount
                rows.append((_row(as_of, profile, AMOUNT_DIFFERS, room=p.room, receipt=p.receipt_no, **common,
                                  note=f"台账 {p.amount:.2f} 元，渠道 {s.amount:.2f} 元，差额 {diff:+.2f} 元"
                                       + (f"；{note}" if note else "")), s))
            continue
        near = [p for p in loose if p.receipt_no not in matched and room and p.room == room and p.amount == s.amount
                and abs((p.paid_on - s.day).days) <= MATCH_DAYS]
        if near:
            p = min(near, key=lambda x: (abs((x.paid_on - s.day).days), x.receipt_no))
            matched.add(p.receipt_no)
            rows.append((_row(as_of, profile, MATCHED, room=p.room, receipt=p.receipt_no, **common,
                              note="按房号、金额、日期对上（收款行未填交易单号）"), s))
            continue
        if room:
            note = ""
        elif len(named) > 1:
            note = f"商品名称/附加数据中有多个房号（{'、'.join(named)}），请人工入账"
        else:
            note = "未能从商品名称/附加数据/备注识别房号，请人工入账"
        rows.append((_row(as_of, profile, CHANNEL_ONLY, room=room, note=note, **common), s))

    # 2. 收款 rows of this channel in the statement's days that the channel did not settle
    first, last = statement.first_day, statement.last_day
    ledger_only, ledger_rows = [], []
    if first is not None:
        for p in payments:
            if (p.channel == profile.channel and first <= p.paid_on <= last and p.receipt_no not in matched
                    and p.receipt_no not in settled_before and p.receipt_no not in reversed_):
                ledger_only.append(p)
                ledger_rows.append((_row(as_of, profile, LEDGER_ONLY, trade_no=p.trade_no,
                                         time=f"{p.paid_on:%Y-%m-%d}", amount=p.amount, room=p.room,
                                         receipt=p.receipt_no, note="渠道对账单中没有此笔，请核对是否收错渠道或漏收"),
                                    None))
    doubtful = {p.room for p in ledger_only}

    # 3. post what the channel settled and the ledger lacks (only with --post)
    posted = []
    if post:
        locks = locked_rooms(ledger)
        taken = {str(r).strip() for r in existing_receipts} | {p.receipt_no for p in ledger.payments}
        for record, s in rows:  # the payment rows
            if record["类型"] != CHANNEL_ONLY or not record["房号"]:
                continue
            room = record["房号"]
            if room in doubtful:
                record["说明"] = f"{room} 有本渠道未对上的收款行（见“台账有渠道无”），未自动入账，请人工核对"
                continue
            if room in locks:
                record["说明"] = lock_message(room, locks[room]) + "；未自动入账"
                continue
            receipt = next_receipt_no(taken, receipt_prefix(ledger, s.day))
            taken.add(receipt)
            posted.append({"收据号": receipt, "收款日期": s.day, "房号": room, "金额": s.amount,
                           "渠道": profile.channel, "经办人": OPERATOR, "交易单号": s.trade_no or s.merchant_no,
                           "备注": f"{profile.source}对账入账 {s.time:%Y-%m-%d %H:%M:%S}"})
            record["收据号"] = receipt
            record["说明"] = f"已入账：收据 {receipt}"

    fresh = {r["交易单号"]: r for r in posted}  # posted just now: a refund of them is proposed too

    # 4. refunds: propose (never perform) the reversal of the receipt refunded
    proposals = []
    for s in statement.of_kind(REFUND):
        stamp = f"{s.time:%Y-%m-%d %H:%M:%S}"
        p = lookup(s)
        just = fresh.get(s.trade_no) or fresh.get(s.merchant_no)
        if p is None and just is not None:
            p = Payment(just["收据号"], just["收款日期"], just["房号"], just["金额"], just["渠道"],
                        trade_no=just["交易单号"])
        room = p.room if p is not None else room_named(s.text, rooms)[0]
        if p is None:
            note = f"未找到交易单号 {s.trade_no or s.merchant_no} 的收款行，请人工核对"
        elif p.receipt_no in reversed_:
            note = f"收据 {p.receipt_no} 已于 {reversed_[p.receipt_no].paid_on} 冲销"
        else:
            rest = p.amount - s.amount
            note = (f"建议冲销收据 {p.receipt_no}（feebook reverse 工作簿 --receipt {p.receipt_no} "
                    f"--reason {profile.source}退款{s.refund_no}）")
            if rest > 0:
                note += f"；部分退款，冲销后按实收 {rest:.2f} 元重新开收据"
            proposals.append(f"{p.receipt_no}（{p.room} 退款 {s.amount:,.2f} 元）")
        rows.append((_row(as_of, profile, REFUNDED, trade_no=s.trade_no, time=stamp, amount=-s.amount, room=room,
                          receipt=p.receipt_no if p is not None else "", note=note, fee=s.fee, refund_no=s.refund_no,
                          merchant_no=s.merchant_no), s))

    rows.extend(ledger_rows)

    new = []
    skipped = 0
    for record, _s in rows:
        key = record_key(profile.source, record["类型"], record["交易单号"] or "", record["退款单号"] or "",
                         record["收据号"] or "")
        if key in keys:
            skipped += 1
            continue
        keys.add(key)
        new.append(record)
    if new:
        changes.append[schema.RECONCILIATION] = new
    if posted:
        changes.append[schema.PAYMENTS] = posted

    counts = Counter(r["类型"] for r, _s in rows)
    fee = statement.fee_total
    received = sum((s.amount for s in statement.of_kind(PAYMENT)), ZERO)
    refunded = sum((s.amount for s in statement.of_kind(REFUND)), ZERO)
    span = f"{first:%Y-%m-%d}" + (f" 至 {last:%Y-%m-%d}" if last != first else "") if first else "（无交易）"
    text = "，".join(f"{k} {counts[k]}" for k in schema.RECONCILE_TYPES if counts[k])
    changes.summary.append(f"{profile.name} {span}：收款 {len(statement.of_kind(PAYMENT))} 笔 {received:,.2f} 元，"
                           f"退款 {len(statement.of_kind(REFUND))} 笔 {refunded:,.2f} 元，"
                           f"手续费合计 {round_money(fee):,.2f} 元")
    changes.summary.append(f"对账结果：{text or '无'}")
    others = statement.of_kind(OTHER)
    if others:
        changes.summary.append(f"其他 {len(others)} 笔（支出或非支付交易）不参与对账")
    if skipped:
        changes.summary.append(f"已在“对账”表中的 {skipped} 笔未重复写入")
    if posted:
        total = sum((r["金额"] for r in posted), ZERO)
        changes.summary.append(f"已入账（渠道 {profile.channel}，经办人 对账）：{len(posted)} 笔 {total:,.2f} 元，"
                               f"收据 {posted[0]['收据号']}" + (f" 至 {posted[-1]['收据号']}" if len(posted) > 1 else ""))
    waiting = [r for r, _s in rows if r["类型"] == CHANNEL_ONLY and not (r["收据号"])]
    if waiting:
        changes.summary.append(f"渠道有台账无、未入账 {len(waiting)} 笔" +
                               ("（加 --post 入账已识别房号的款项）" if not post else "（见“对账”表说明）"))
    if proposals:
        changes.summary.append("退款，建议冲销（未执行，请核实后用 feebook reverse）：" + "；".join(proposals))
    if new or posted:
        changes.audit.append({"操作": f"对账 {profile.source} {span}", "数量": len(new),
                              "说明": f"{text or '无'}；手续费 {round_money(fee):.2f} 元；入账 {len(posted)} 笔；"
                                      f"已对账跳过 {skipped} 笔"})
    elif rows:
        changes.summary.append("此对账单已导入过，本次未写入任何内容")
    # posted 收款 rows: 欠费明细 and 收缴率 are rewritten with them in the same write (never left stale)
    return refresh_after_posting(ledger, changes, as_of)


def refuse(profile: StatementProfile, exc: StatementError) -> Changes:
    changes = Changes(f"对账 {profile.source}")
    changes.problems.extend(Problem.error(STATEMENT, m) for m in exc.messages)
    changes.summary.append(f"对账单无法按“{profile.name}”读取，未导入，工作簿未改动：")
    changes.summary.extend(f"  {m}" for m in exc.messages[:20])
    return changes


def reconcile_file(ledger: Ledger, profile: StatementProfile, data: bytes, as_of: dt.date, *, recorded=None,
                   post: bool = False, existing_receipts: Iterable[str] = ()) -> Changes:
    """Bytes of a statement → the changes (nothing to write when the file is refused)."""
    try:
        statement = parse_statement(profile, data)
    except StatementError as exc:
        return refuse(profile, exc)
    return reconcile(ledger, statement, as_of, recorded=recorded, post=post, existing_receipts=existing_receipts)


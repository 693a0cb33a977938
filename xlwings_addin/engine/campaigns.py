"""预缴优惠活动 (prepayment campaigns, seed 004 §4.2 item 10: 鼓励客户一次性多缴费).

A row of 优惠活动 names an item (按面积 or 固定 only), a window 开始日期–结束日期,
预缴月数 N and a discount (优惠方式 / 优惠值).  A payment earns the campaign when

1. it is dated inside the window (both ends included);
2. the unit qualifies: with 仅限无欠费 = 是, nothing is overdue on the payment's
   day before it (no open principal whose 应缴日期 is earlier than that day);
3. it prepays at least N months of the item: (payment − principal overdue
   before it) ≥ N × the unit's monthly fee of the item (面积: 建筑面积 × 单价;
   固定: 单价 × 车位数 or 1).  Only the payment itself counts, never an old 预存.

The discount is a settlement of its own kind, **优惠** (not 实收, not 减免, not
预存冲抵), settled on the item's bills from the first month after the N prepaid
months — counted from the first month of the period the payment falls in, or of
the first later period whose bill of the item is not already settled (paying in
late November when 2026Q4 is paid prepays 2027-01 onwards) — as they become
payable (the "right future bill"), up to the discount:

- 赠送月数 v: v × the monthly fee (rounded to 0.01);
- 折扣率 r (0 < r < 1, 九五折 = 0.95): N × monthly fee × (1 − r), rounded to 0.01;
- 减免金额 v: v.

Each payment earns a campaign at most once, and a payment earns at most one
campaign per item (the first row of 优惠活动 that it earns).

Worked example (交一年送一月): 物业管理费 2.50 元/㎡·月, 1-1-101 of 100 ㎡ pays
2.50 × 100 = 250.00 a month.  Campaign 2026-01-01–2026-01-31, 预缴月数 12,
赠送月数 1, 仅限无欠费 = 是.  On 2026-01-10, owing nothing overdue (2026Q1's
750.00 is due 2026-01-25), the owner pays 3,000.00 = 12 × 250.00: the campaign
is earned, 优惠 = 1 × 250.00 = 250.00.  The payment settles 2026Q1 in cash
(750.00, payable since 2026-01-01) and 2026Q2–Q4 by 预存冲抵 as each becomes
payable (3 × 750.00 = 2,250.00); the 13th month
is 2027-01, so 2027Q1's 750.00 bill is settled 250.00 by 优惠 the day it
becomes payable and 500.00 remains to pay.  In 收缴率 for 2027Q1 with nothing
else paid: 当期收缴率 = 250/750 = 33.33% (优惠 counts, like 减免), excluding
减免, 预存冲抵 and 优惠 = 0/750 = 0%.  Paying 2,999.99 instead earns nothing
(just misses by 0.01, which `feebook receive` says).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from ..ledger.money import ZERO, round_money
from ..ledger.periods import add_months
from ..ledger.records import Campaign, FeeItem, Payment, Unit

DISCOUNT = "优惠"


@dataclass(frozen=True)
class Offer:
    """What a payment does with a campaign: earned (discount > 0) or why not."""

    campaign: Campaign
    earned: bool
    months: int  # whole months of the item the payment prepays
    discount: Decimal  # earned discount (0 when not earned)
    shortfall: Decimal  # how much more would have earned it (0 when earned or not qualified)
    reason: str  # Chinese, for the clerk
    from_month: Optional[dt.date] = None  # the discount settles the item's bills from this month
    needed: Decimal = ZERO  # 预缴月数 × monthly fee

    @property
    def near_miss(self) -> bool:
        """Not earned, but close: short by at most a quarter of what was needed, or paid enough while owing."""
        if self.earned:
            return False
        if self.shortfall > 0:
            return self.shortfall * 4 <= self.needed
        return True  # refused for arrears (仅限无欠费): worth saying


def monthly_fee(item: FeeItem, unit: Unit) -> Decimal:
    """The unit's fee of the item for one month (0 when the item does not apply or is not per month)."""
    if not item.applies_to(unit.house_type) or item.unit_price is None:
        return ZERO
    if item.method == "面积":
        return unit.area * item.unit_price
    if item.method == "固定":
        return item.unit_price * (Decimal(unit.parking_spaces) if item.per_parking_space else Decimal(1))
    return ZERO


def discount_of(campaign: Campaign, fee: Decimal) -> Decimal:
    if campaign.kind == "赠送月数":
        return round_money(campaign.value * fee)
    if campaign.kind == "折扣率":
        return round_money(campaign.months * fee * (1 - campaign.value))
    return round_money(campaign.value)


def evaluate(campaign: Campaign, payment: Payment, unit: Unit, item: FeeItem, overdue_before: Decimal,
             period_start: dt.date) -> Optional[Offer]:
    """The payment against one campaign; None when the campaign has nothing to say about it.

    ``overdue_before``: the unit's principal overdue (应缴日期 before the payment day) just before it;
    ``period_start``: first day of the first period the payment prepays (the one it falls in, or the
    first later one not yet settled), or a function item code → that day.
    """
    if payment.amount <= 0 or not (campaign.start <= payment.paid_on <= campaign.end):
        return None
    fee = monthly_fee(item, unit)
    if fee <= 0:
        return None
    needed = campaign.months * fee
    if campaign.no_arrears_only and overdue_before > 0:
        if payment.amount < needed:
            return None
        return Offer(campaign, False, 0, ZERO, ZERO,
                     f"有欠费 {overdue_before:,.2f} 元，不符合优惠活动“{campaign.name}”（仅限无欠费）", None, needed)
    usable = payment.amount - overdue_before
    months = int(max(usable, ZERO) // fee)
    if usable < needed:
        short = round_money(needed - max(usable, ZERO))
        return Offer(campaign, False, months, ZERO, short,
                     f"差 {short:,.2f} 元未达到优惠活动“{campaign.name}”（需预缴 {campaign.months} 个月"
                     f"{item.name}，共 {round_money(needed):,.2f} 元）", None, needed)
    discount = discount_of(campaign, fee)
    first = period_start(item.code) if callable(period_start) else period_start
    start = add_months(first, campaign.months)
    return Offer(campaign, True, months, discount, ZERO,
                 f"符合优惠活动“{campaign.name}”：{campaign.kind} {campaign.value.normalize()}，优惠 {discount:,.2f} 元，"
                 f"冲抵 {start:%Y-%m} 起的{item.name}", start, needed)


def earned_offer(campaigns, payment: Payment, unit: Unit, items: dict, overdue_before: Decimal,
                 period_start: dt.date) -> list[Offer]:
    """Every campaign's word on the payment (earned ones first-come per item; others as hints)."""
    out: list[Offer] = []
    earned_items: set[str] = set()
    for campaign in campaigns:
        item = items.get(campaign.item_code)
        if item is None:
            continue
        offer = evaluate(campaign, payment, unit, item, overdue_before, period_start)
        if offer is None:
            continue
        if offer.earned:
            if campaign.item_code in earned_items:
                continue
            earned_items.add(campaign.item_code)
        out.append(offer)
    return out

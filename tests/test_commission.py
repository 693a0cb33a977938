"""佣金 (SPEC §4.6): tiers with hand-worked amounts, rule-table warnings, rates per assistant, what-if."""
from __future__ import annotations

from decimal import Decimal

import pytest
from ledger_builders import Q4, charge, day, ledger, pay, unit, waiver

from xlwings_addin.engine.allocation import allocate
from xlwings_addin.engine.commission import (
    CommissionGap,
    commission_for,
    commission_rows,
    rule_warnings,
    tier_label,
    what_if,
)
from xlwings_addin.ledger.records import ERROR, Assistant, CommissionRule
from xlwings_addin.workbook.parse import default_commission_rules

D = Decimal
RULES = tuple(default_commission_rules())

# month → rate → amount, worked by hand from the seed-004 table:
#   month 1: <80% 50; 2000r−1400; ≥95% 500     month 2: <80% 0; 3000r−2350; ≥95% 500
#   month 3: <80% −100; 4000r−3500; ≥95% 500
HAND = {
    1: {"0.7999": "50.00",            # below 80%
        "0.80": "200.00",             # 2000×0.80−1400 = 1600−1400 (80% itself is in the higher tier)
        "0.875": "350.00",            # 1750−1400
        "0.9499": "499.80",           # 1899.80−1400
        "0.95": "500.00",             # 95% itself is the top tier
        "1": "500.00"},
    2: {"0.7999": "0.00",
        "0.80": "50.00",              # 2400−2350
        "0.875": "275.00",            # 2625−2350
        "0.9499": "499.70",           # 2849.70−2350
        "0.95": "500.00",
        "1": "500.00"},
    3: {"0.7999": "-100.00",
        "0.80": "-300.00",            # 3200−3500: falls from −100
        "0.875": "0.00",              # 3500−3500
        "0.9499": "299.60",           # 3799.60−3500
        "0.95": "500.00",
        "1": "500.00"},
}


@pytest.mark.parametrize("month,rate,expected", [(m, r, a) for m, rows in HAND.items() for r, a in rows.items()])
def test_commission_for_hand_worked(month, rate, expected):
    assert commission_for(RULES, month, D(rate)) == D(expected)


def test_commission_rounds_half_up_to_cent():
    # month 1 at 0.8123425: 2000×0.8123425 = 1624.685; −1400 = 224.685 → 224.69 (ROUND_HALF_UP)
    assert commission_for(RULES, 1, D("0.8123425")) == D("224.69")


def test_gap_raises_chinese_error():
    rules = [CommissionRule(1, D("0.5"), None, D(0), D(100))]
    with pytest.raises(CommissionGap, match="没有覆盖"):
        commission_for(rules, 1, D("0.4"))


def test_tier_labels():
    assert tier_label(RULES[0]) == "80%以下"
    assert tier_label(RULES[1]) == "80%（含）至95%"
    assert tier_label(RULES[2]) == "95%及以上"


def test_default_table_warns_on_month3_fall_and_never_errors():
    problems = rule_warnings(RULES)
    assert problems and all(p.level != ERROR for p in problems)
    texts = [p.message for p in problems]
    # month 3: −100 just below 80%, 4000×0.8−3500 = −300 at 80% → falls
    assert any("第3月" in t and "由 -100.00 元降为 -300.00 元" in t for t in texts)
    # month 1 jumps 50 → 200 at 80%; month 3 jumps 300 → 500 at 95% (4000×0.95−3500 = 300)
    assert any("第1月" in t and "由 50.00 元跳升至 200.00 元" in t for t in texts)
    assert any("第3月" in t and "95%" in t and "由 300.00 元跳升至 500.00 元" in t for t in texts)
    # month 1 at 95%: 2000×0.95−1400 = 500 = 500 → continuous, no warning there
    assert not any("第1月" in t and "95%" in t for t in texts)
    assert not any("重叠" in t or "空档" in t for t in texts)


def test_overlap_gap_and_missing_month_warnings():
    rules = [
        CommissionRule(1, D("0"), D("0.8"), D(0), D(50)),
        CommissionRule(1, D("0.85"), None, D(0), D(500)),      # gap 80%–85%
        CommissionRule(2, D("0"), D("0.9"), D(0), D(0)),
        CommissionRule(2, D("0.8"), None, D(0), D(500)),       # overlaps 80%–90%
        # no month 3 at all
    ]
    texts = [p.message for p in rule_warnings(rules)]
    assert any("第1月" in t and "80% 至 85%" in t and "空档" in t for t in texts)
    assert any("第2月" in t and "重叠" in t for t in texts)
    assert any("缺少第3月" in t for t in texts)


def _tiny_estate(**kw):
    # four units in building 1, one in building 2; each 物业管理费 2026Q4 = 1,000.00 due 2026-10-25
    units = [unit("1-101"), unit("1-102"), unit("1-103"), unit("1-104"), unit("2-101", building="2")]
    charges = [charge(u.room, Q4, "1000.00") for u in units]
    return units, charges


def test_rate_tier_and_what_if_on_tiny_estate():
    units, charges = _tiny_estate()
    payments = [
        pay("R1", "1-101", "2026-10-10", "1000.00"),
        pay("R2", "1-102", "2026-10-12", "600.00"),
        pay("R3", "1-103", "2026-10-20", "400.00"),
        pay("R4", "2-101", "2026-10-05", "1000.00"),
        pay("R5", "1-104", "2026-11-03", "1000.00"),  # month 2
    ]
    lg = ledger(units, charges=charges, payments=payments, commission_rules=RULES,
                assistants=(Assistant("小王", ("1",)), Assistant("小李", ("2",))))
    as_of = day("2026-11-15")
    rows, problems = commission_rows(lg, allocate(lg, as_of), Q4, as_of)
    by = {(r.assistant, r.month): r for r in rows}
    assert set(by) == {("小王", 1), ("小王", 2), ("小李", 1), ("小李", 2)}  # month 3 not started
    wang1 = by[("小王", 1)]
    # 小王 at 2026-10-31: collected 1000+600+400 = 2000 of 4000 → 50% → month 1 below 80% → 50.00
    assert wang1.at == day("2026-10-31")
    assert (wang1.receivable, wang1.collected, wang1.rate) == (D("4000.00"), D("2000.00"), D("0.5"))
    assert wang1.amount == D("50.00") and wang1.tier == "80%以下"
    # issue 20: October has ended by 2026-11-15 → no what-if for it any more
    assert wang1.what_if is None and "本月已结束" in wang1.note
    # on 2026-10-31 (the month's last day) it still has one: next tier 80%: 0.8×4000 − 2000 = 1200.00;
    # balances 1-104 1000, 1-103 600, 1-102 400 → 1-104 + 1-103
    early = {(r.assistant, r.month): r for r in commission_rows(lg, allocate(lg, day("2026-10-31")), Q4)[0]}
    wi = early[("小王", 1)].what_if
    assert wi.needed == D("1200.00")
    assert [r for r, _b in wi.rooms] == ["1-104", "1-103"]
    assert wi.rooms_total == D("1600.00")
    # month 2 runs to as_of (2026-11-15, before month end): 3000/4000 = 75% → month 2 below 80% → 0.00
    wang2 = by[("小王", 2)]
    assert wang2.at == as_of and wang2.rate == D("0.75") and wang2.amount == D("0.00")
    assert wang2.what_if.needed == D("200.00") and [r for r, _ in wang2.what_if.rooms] == ["1-103"]
    # 小李 at 100% → 500, top tier, no what-if
    li1 = by[("小李", 1)]
    assert li1.rate == 1 and li1.amount == D("500.00") and li1.what_if is None and li1.note == "已在最高档"
    assert not [p for p in problems if p.level == ERROR]


def test_waiver_counts_in_commission_rate_and_whole_center_without_assistants():
    units, charges = _tiny_estate()
    payments = [pay("R1", "1-101", "2026-10-10", "1000.00"), pay("R2", "1-102", "2026-10-10", "1000.00"),
                pay("R3", "1-103", "2026-10-10", "1000.00"), pay("R4", "1-104", "2026-10-10", "700.00")]
    waivers = [waiver("1-104", "2026-10-15", "费用减免", "100.00")]
    lg = ledger(units, charges=charges, payments=payments, waivers=waivers, commission_rules=RULES)
    rows, _ = commission_rows(lg, allocate(lg, day("2026-10-31")), Q4)
    (row,) = rows
    # whole center (5 units, 5,000.00): 3,700 paid + 100 waived = 3,800 → 76% → 50.00; 80% needs 4,000 − 3,800 = 200
    assert row.assistant == "全部" and row.rate == D("0.76") and row.amount == D("50.00")
    assert row.what_if.needed == D("200.00")
    # 2-101 owes 1,000.00 (largest), 1-104 owes 200.00
    assert [r for r, _ in row.what_if.rooms] == ["2-101"]


def test_what_if_needed_is_ceiled_to_the_cent():
    # R = 3 × 1,111.11 = 3,333.33, C = 1,111.11: 0.8 × 3,333.33 − 1,111.11 = 1,555.554 → 1,555.56
    # check: 2,666.67 / 3,333.33 ≥ 0.8 while 2,666.66 / 3,333.33 < 0.8
    wi = what_if(D("1111.11"), D("3333.33"), D("0.8"), {"A": D("1111.11"), "B": D("1111.11")})
    assert wi.needed == D("1555.56")
    assert (D("1111.11") + wi.needed) / D("3333.33") >= D("0.8")
    assert (D("1111.11") + wi.needed - D("0.01")) / D("3333.33") < D("0.8")
    assert len(wi.rooms) == 2 and wi.reachable


def test_more_than_three_assistants_is_a_warning():
    units, charges = _tiny_estate()
    names = ("甲", "乙", "丙", "丁")
    lg = ledger(units, charges=charges, commission_rules=RULES, assistants=tuple(Assistant(n, ("1",)) for n in names))
    _rows, problems = commission_rows(lg, allocate(lg, day("2026-10-31")), Q4)
    hits = [p for p in problems if "不得超过3人" in p.message]
    assert len(hits) == 1 and hits[0].level == "警告" and hits[0].sheet == "服务助理"

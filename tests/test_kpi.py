"""KPIs (seed 000 §三) on a five-unit estate, every figure worked by hand."""
from __future__ import annotations

from decimal import Decimal

from ledger_builders import Q3, Q4, charge, day, ledger, pay, unit, waiver

from xlwings_addin.engine.allocation import allocate
from xlwings_addin.engine.kpi import kpis, trend_rows
from xlwings_addin.ledger.records import Assistant, Contact

D = Decimal
AS_OF = day("2026-12-15")


def _estate():
    # A B C in building 1, D E in building 2; 物业管理费 2026Q4 1,000.00 each, due 2026-10-25.
    # A also owes 2026Q3 1,000.00 (due 07-25), paid 09-20 — after the "same day" 09-14 of Q3.
    units = [unit("A"), unit("B"), unit("C"), unit("D", building="2"), unit("E", building="2")]
    charges = [charge(u.room, Q4, "1000.00") for u in units] + [charge("A", Q3, "1000.00")]
    payments = [
        pay("P0", "A", "2026-09-20", "1000.00", "现金"),   # Q3 bill
        pay("P1", "B", "2026-09-15", "300.00", "微信"),    # nothing due: 预存, offset against Q4 on 10-01
        pay("P2", "A", "2026-10-20", "1000.00", "微信"),   # 5 days early
        pay("P3", "B", "2026-11-04", "700.00", "现金"),    # 10 days late
        pay("P4", "C", "2026-11-14", "300.00", "转账"),    # 20 days late
        pay("P5", "C", "2026-11-20", "50.00", "POS"),
        pay("P6", "C", "2026-11-21", "-50.00", "POS", reverses="P5"),  # reversed: counts nowhere
    ]
    waivers = [waiver("C", "2026-10-26", "费用减免", "200.00")]
    contacts = [
        Contact(day("2026-11-01"), "C", "电话", result="承诺缴费", reason="服务不满"),
        Contact(day("2026-11-01"), "D", "电话", result="未接通", reason="经济困难"),
        Contact(day("2026-12-10"), "D", "上门", result="拒缴", reason="恶意拖欠"),
        Contact(day("2026-12-01"), "E", "短信", result="已送达"),
        Contact(day("2026-09-01"), "A", "短信", result="已送达", reason="遗忘"),  # before Q4
    ]
    return ledger(units, charges=charges, payments=payments, waivers=waivers, contacts=tuple(contacts),
                  assistants=(Assistant("小王", ("1",)), Assistant("小李", ("2",))))


def test_rates_with_and_without_waiver_and_prepaid_offset():
    lg = _estate()
    k = kpis(lg, allocate(lg, AS_OF), Q4)
    # Q4: receivable 5 × 1,000 = 5,000; 实收 A 1,000 + B 700 + C 300 = 2,000; 预存冲抵 B 300; 减免 C 200
    assert (k.center.receivable, k.center.cash, k.center.prepaid, k.center.waived) == (
        D("5000.00"), D("2000.00"), D("300.00"), D("200.00"))
    assert k.center.current_rate == D("0.5")             # 2,500 / 5,000 — waiver and offset change the rate
    assert k.center.current_rate_cash_only == D("0.4")   # 2,000 / 5,000
    month, quarter, year = k.rates
    assert month.receivable == 0 and month.rate is None  # nothing due in December (quarterly billing)
    assert quarter.rate == D("0.5") and quarter.rate_cash_only == D("0.4")
    # year 2026: Q3 1,000 (paid) + Q4 5,000 → (1,000 + 2,500) / 6,000 = 0.58333…
    assert year.receivable == D("6000.00") and year.collected == D("3500.00")
    assert round(year.rate, 4) == D("0.5833")
    # by building: 1 = A B C: (1,000 + 1,000 + 500) / 3,000;  2 = D E: 0 / 2,000
    scope = {r.scope: r for r in k.by_scope}
    assert scope["楼栋:1"].collected == D("2500.00") and scope["楼栋:2"].current_rate == 0
    assert scope["服务助理:小李"].receivable == D("2000.00")


def test_average_days_online_share_and_on_time():
    lg = _estate()
    k = kpis(lg, allocate(lg, AS_OF), Q4)
    # 实收 in Q4: 1,000 × (−5) + 700 × 10 + 300 × 20 = −5,000 + 7,000 + 6,000 = 8,000; / 2,000 = 4.0 days
    # (B's 300 of 09-15 settled Q4 as 预存冲抵, not as a payment; A's Q3 payment is outside Q4)
    assert k.average_days == D("4.0")
    # channels in Q4 (P5 reversed by P6): 微信 1,000, 转账 300, 现金 700 → online 1,300 / 2,000 = 65%
    assert k.channels == {"微信": D("1000.00"), "转账": D("300.00"), "现金": D("700.00")}
    assert k.online_share == D("0.65")
    # on time: only A had Q4 settled by 10-25 (B had 300 of 预存) → 1 of 5
    assert k.on_time == (1, 5)


def test_success_rate_and_reasons():
    lg = _estate()
    k = kpis(lg, allocate(lg, AS_OF), Q4)
    # contacted in Q4: C (11-01, paid 11-14 ≤ 12-01: success), D (11-01, nothing by 12-01: failure),
    # E (12-01, window to 12-31 not over at 12-15: pending) → 1 / (3 − 1) = 50%
    s = k.success
    assert (s.contacted, s.succeeded, s.pending, s.contacts) == (3, 1, 1, 4)
    assert s.rate == D("0.5")
    # owing at 12-15: C 500 (服务不满), D 1,000 (latest reason 恶意拖欠), E 1,000 (no reason)
    assert [(b.label, b.units, b.amount) for b in k.reasons] == [
        ("服务不满", 1, D("500.00")), ("恶意拖欠", 1, D("1000.00")), ("未记录", 1, D("1000.00"))]
    assert [(b.label, b.amount) for b in k.buildings] == [("1", D("500.00")), ("2", D("2000.00"))]
    assert [(b.label, b.units) for b in k.amounts if b.units] == [("1000元以下", 1), ("1000–3000元", 2)]
    # aging at 12-15 from 10-25: 51 days → all 2,500.00 in 31–90
    assert k.aging["31-90天"] == D("2500.00") and sum(k.aging.values()) == D("2500.00")


def test_trend_same_day_into_each_period():
    lg = _estate()
    rows = trend_rows(lg, allocate(lg, AS_OF), AS_OF)
    center = [r for r in rows if r.scope == "全部"]
    # as_of is day 75 after 2026-10-01; Q3 is looked at on 2026-07-01 + 75 = 09-14, before A paid (09-20)
    assert [(str(r.period), r.as_of) for r in center] == [("2026Q3", day("2026-09-14")), ("2026Q4", AS_OF)]
    assert center[0].current_rate == 0 and center[1].current_rate == D("0.5")
    # Q4 清欠率: nothing open at 2026-09-30 (A paid Q3 on 09-20) → no opening arrears
    assert center[1].opening_arrears == 0 and center[1].arrears_rate is None
    # scopes: 全部, 楼栋:1, 楼栋:2, 服务助理:小王, 服务助理:小李 — and Q3 only where A lives
    assert [r.scope for r in rows] == ["全部", "全部", "楼栋:1", "楼栋:1", "楼栋:2", "服务助理:小王",
                                       "服务助理:小王", "服务助理:小李"]


def test_trend_clears_arrears_rate_on_same_day():
    # Q3 1,000 unpaid at 09-30; 400 collected on 10-10 → Q4 清欠率 at day 75 = 400 / 1,000 = 40%
    # 综合 = (Q4 0 + 400) / (Q4 1,000 + 1,000) = 20%
    lg = ledger([unit("A")], charges=[charge("A", Q3, "1000.00"), charge("A", Q4, "1000.00")],
                payments=[pay("P1", "A", "2026-10-10", "400.00")])
    rows = [r for r in trend_rows(lg, allocate(lg, AS_OF), AS_OF) if r.scope == "全部"]
    q4 = rows[-1]
    assert q4.opening_arrears == D("1000.00") and q4.arrears_rate == D("0.4") and q4.overall_rate == D("0.2")

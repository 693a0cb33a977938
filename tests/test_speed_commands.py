"""Issue 19, the commands' own work: each faster path gives exactly what the plain one gave.

* 看板 (:func:`engine.kpi.kpis`): the 收缴率 sheet and the 收缴率趋势 (each trend period as of the
  same day into it) come from one pass over the charges (:func:`engine.kpi.rates_and_trend`,
  :func:`engine.rates.rates_and_cuts`), the current period's rows from the trend, the
  月度/季度/年度 rates from one pass — against the former code, kept here as the reference
  (each trend period on the whole allocation, one pass per window);
* 佣金 (:func:`engine.commission.commission_rows`): the held units from :func:`engine.dunning.held_tasks`
  (the ladder only for units that can be held) and the quarter's charges cut once — against
  :func:`engine.dunning.dunning_tasks` and the item-only cut;
* 催收任务: the periods text from the arrears line equals the one read from the account;
* ``bank import``: the 收据号 taken from the loaded ledger when no row of 收款 was skipped, the sheet
  read again raw otherwise (a skipped row's number still blocks a 回盘 receipt).

On the demo estate at several days (quarter and month cycles) and on every hostile workbook.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

import hostile_corpus as hc
from xlwings_addin.engine import commission as commission_module
from xlwings_addin.engine import kpi
from xlwings_addin.engine.aging import arrears_list, arrears_of, debtors
from xlwings_addin.engine.allocation import CASH, PREPAID, WAIVED, allocate
from xlwings_addin.engine.commission import commission_rows
from xlwings_addin.engine.dunning import _periods_text, dunning_tasks, held_tasks
from xlwings_addin.engine.rates import CENTER, collection_rates, rates_and_cuts, scopes_of
from xlwings_addin.faces.cli import main
from xlwings_addin.faces.commands.bank import raw_receipt_numbers, receipt_numbers
from xlwings_addin.jobs.ledger import load
from xlwings_addin.ledger import schema
from xlwings_addin.ledger.money import ZERO
from xlwings_addin.ledger.periods import Period, period_containing
from xlwings_addin.workbook.parse import parse_ledger
from xlwings_addin.workbook.reader import WorkbookError, read_workbook
from xlwings_addin.workbook.writer import save_changes

DAYS = (dt.date(2026, 11, 22), dt.date(2026, 10, 1), dt.date(2026, 12, 31), dt.date(2026, 7, 25),
        dt.date(2025, 9, 30), dt.date(2025, 1, 15))


# ------------------------------------------------------------------ the former code, as the reference

def reference_trend(ledger, allocation, as_of=None, periods=kpi.TREND_PERIODS, scopes=None):
    t = as_of or allocation.as_of
    current = period_containing(t, ledger.settings.cycle)
    offset = (t - current.start).days
    scopes = scopes if scopes is not None else scopes_of(ledger, by_item=False)
    wanted = [current]
    while len(wanted) < periods:
        wanted.insert(0, wanted[0].previous())
    rows = []
    for p in wanted:
        rows.extend(collection_rates(ledger, allocation, periods=[p], scopes=scopes, as_of=kpi.same_day(p, offset)))
    order = {label: i for i, label in enumerate(scopes)}
    rows.sort(key=lambda r: (order[r.scope], r.period))
    return rows


def reference_window_rate(allocation, label, start, end, as_of):
    rec = cash = waived = prepaid = ZERO
    for acc in allocation.accounts.values():
        for s in acc.charges:
            c = s.charge
            if not (start <= c.due_date <= end) or c.payable_from > as_of:
                continue
            rec += c.amount
            cash += s.settled(CASH, until=as_of)
            waived += s.settled(WAIVED, until=as_of)
            prepaid += s.settled(PREPAID, until=as_of)
    return kpi.WindowRate(label, start, end, rec, cash, waived, prepaid)


def reference_on_time(allocation, period):
    state = {}
    for acc in allocation.accounts.values():
        for s in acc.charges:
            if s.charge.period == period:
                ok = s.settled(until=s.charge.due_date) >= s.charge.amount
                state[acc.room] = state.get(acc.room, True) and ok
    return sum(1 for v in state.values() if v), len(state)


def reference_kpis(ledger, allocation, period=None, as_of=None):
    t = as_of or allocation.as_of
    period = period or period_containing(t, ledger.settings.cycle)
    start, end = period.start, min(period.end, t)
    scope_rows = collection_rates(ledger, allocation, periods=[period], scopes=scopes_of(ledger, by_item=False),
                                  as_of=t)
    channels = kpi.channel_totals(allocation, start, end)
    lines = arrears_list(ledger.units, allocation)
    return kpi.Kpis(
        as_of=t, period=period, window=(start, end),
        rates=tuple(reference_window_rate(allocation, label, a, b, t) for label, a, b in kpi.calendar_windows(t)),
        center=next((r for r in scope_rows if r.scope == CENTER), None),
        by_scope=tuple(r for r in scope_rows if r.scope != CENTER),
        average_days=kpi.average_days_to_pay(allocation, start, end),
        channels=channels,
        online_share=kpi.online_share(channels),
        success=kpi.success_rate(ledger, allocation, start, end, t),
        reasons=tuple(kpi.reasons_breakdown(ledger, allocation, lines)),
        aging=kpi.arrears_by_aging(ledger, allocation, lines),
        buildings=tuple(kpi.arrears_by_building(ledger, allocation, lines)),
        amounts=tuple(kpi.arrears_by_amount(ledger, allocation, lines)),
        on_time=reference_on_time(allocation, period),
        trend=tuple(reference_trend(ledger, allocation, t)),
        debtors=debtors(ledger.units, allocation, lines),
    )


def reference_commission(ledger, allocation, quarter, as_of, monkeypatch):
    """commission_rows as it was: every unit's dunning task for the held ones, the item-only cut."""
    with monkeypatch.context() as m:
        m.setattr(commission_module, "held_tasks",
                  lambda led, day, alloc: tuple(t for t in dunning_tasks(led, day, alloc).tasks if t.held))
        only_items = commission_module._only_items
        m.setattr(commission_module, "_only_items", lambda alloc, codes, _period=None: only_items(alloc, codes))
        return commission_rows(ledger, allocation, quarter, as_of)


def same(a, b) -> bool:
    """Equal, and equal as printed (Decimal('0') and Decimal('0.00') are equal but print differently)."""
    return a == b and repr(a) == repr(b)


def check_all(ledger, day, monkeypatch) -> None:
    allocation = allocate(ledger, day)
    assert same(kpi.kpis(ledger, allocation), reference_kpis(ledger, allocation))
    quarter = period_containing(day, "季度")
    other = quarter.previous().previous()
    assert same(kpi.kpis(ledger, allocation, period=other), reference_kpis(ledger, allocation, period=other))
    assert same(kpi.trend_rows(ledger, allocation, day, periods=3), reference_trend(ledger, allocation, day, 3))
    assert same(kpi.rates_and_trend(ledger, allocation, day),
                (collection_rates(ledger, allocation), reference_trend(ledger, allocation, day)))
    earlier = day - dt.timedelta(days=50)  # cuts as of a day before the allocation's, rows of chosen periods
    assert same(kpi.rates_and_trend(ledger, allocation, earlier, periods=5, with_rates=False)[1],
                reference_trend(ledger, allocation, earlier, 5))
    cuts = kpi.trend_cuts(ledger, day, 4)
    scopes = scopes_of(ledger)
    assert same(rates_and_cuts(ledger, allocation, cuts, scopes, scopes=scopes),
                (collection_rates(ledger, allocation, scopes=scopes),
                 [r for p, d in cuts for r in collection_rates(ledger, allocation, periods=[p], scopes=scopes,
                                                               as_of=d)]))
    windows = kpi.calendar_windows(day) + [("空", day, day - dt.timedelta(days=1))]
    assert same(kpi.window_rates(allocation, windows, day),
                [reference_window_rate(allocation, label, a, b, day) for label, a, b in windows])
    for q in (quarter, quarter.previous()):
        assert same(commission_rows(ledger, allocation, q, day),
                    reference_commission(ledger, allocation, q, day, monkeypatch))
    result = dunning_tasks(ledger, day, allocation)
    assert same(held_tasks(ledger, day, allocation), tuple(t for t in result.tasks if t.held))
    for unit in ledger.units:
        account = allocation.accounts.get(unit.room)
        line = arrears_of(unit, account, day) if account is not None else None
        if line is not None:
            assert _periods_text(account, day, line.periods) == _periods_text(account, day)


# ------------------------------------------------------------------ the demo estate


@pytest.fixture(scope="module")
def demo_ledger(demo_workbook):
    return load(demo_workbook).ledger


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_demo_estate_same_as_the_plain_code(demo_ledger, day, monkeypatch):
    check_all(demo_ledger, day, monkeypatch)


@pytest.mark.parametrize("day", DAYS[:3], ids=str)
def test_demo_estate_monthly_cycle_same_as_the_plain_code(demo_ledger, day, monkeypatch):
    """A 月 cycle: month trend periods over quarter bills (none is any trend period's own)."""
    monthly = replace(demo_ledger, settings=replace(demo_ledger.settings, cycle="月"))
    check_all(monthly, day, monkeypatch)


def test_demo_estate_has_what_the_checks_need(demo_ledger):
    """The comparisons above are not vacuous: holds, several trend periods, open arrears, owing units."""
    day = DAYS[0]
    allocation = allocate(demo_ledger, day)
    assert len(held_tasks(demo_ledger, day, allocation)) >= 2
    trend = kpi.trend_rows(demo_ledger, allocation, day)
    assert len({r.period for r in trend}) >= 5
    assert any(r.opening_arrears > 0 for r in trend if r.period != trend[-1].period)
    assert commission_rows(demo_ledger, allocation, period_containing(day, "季度"), day)[0]


def test_cut_of_a_period_without_charges_and_a_cut_given_twice():
    """A cut whose period has no bill of its own still counts its 期初欠费 (as collection_rates does
    for a period asked for), a period without bills gives no row of 收缴率, and a cut asked for twice
    gives its rows twice without adding its arrears twice."""
    from ledger_builders import charge, item, ledger, pay, unit

    q4, q1_27 = Period.quarter(2026, 4), Period.quarter(2027, 1)
    book = ledger(units=[unit("1-1-101")], items=[item("WYF")], charges=[charge("1-1-101", q4, "300.00", "2026-10-15")],
                  payments=[pay("R1", "1-1-101", "2027-01-10", "100.00"), pay("R2", "1-1-101", "2027-02-20", "50.00")])
    day = dt.date(2027, 2, 25)
    allocation = allocate(book, day)
    scopes = {CENTER: {"rooms": None, "item": None}}
    cut = (q1_27, dt.date(2027, 1, 31))
    full, rows = rates_and_cuts(book, allocation, [cut, cut], scopes, scopes=scopes)
    assert [str(r.period) for r in full] == ["2026Q4"]  # 2027Q1 has no bill: no row of its own
    # 2027Q1 as of 01-31: 期初欠费 300.00 (open at 01-01), 100.00 collected by 01-31 (the 02-20 payment is later)
    assert [(str(r.period), r.as_of, r.receivable, r.opening_arrears, r.arrears_collected) for r in rows] == \
        [("2027Q1", dt.date(2027, 1, 31), ZERO, Decimal("300.00"), Decimal("100.00"))] * 2
    assert same(rows[:1], collection_rates(book, allocation, periods=[q1_27], scopes=scopes, as_of=cut[1]))
    with pytest.raises(ValueError):
        rates_and_cuts(book, allocation, [(q1_27, dt.date(2027, 3, 1))], scopes)  # after the allocation's day


# ------------------------------------------------------------------ the hostile corpus


def _hostile_ledger(case, folder):
    path = case.build(folder)
    try:
        return path, parse_ledger(read_workbook(path, schema.INPUT_SHEETS, clean=False))
    except WorkbookError:
        pytest.skip("a file the reader refuses has nothing to compute")


HOSTILE = [c for c in hc.available_cases() if not c.refuses and not c.needs_soffice]


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.name)
def test_hostile_workbooks_same_as_the_plain_code(case, tmp_path, monkeypatch):
    _path, ledger = _hostile_ledger(case, tmp_path)
    day = dt.date.fromisoformat(hc.AS_OF)
    try:
        reference = reference_kpis(ledger, allocate(ledger, day))
    except Exception as exc:  # noqa: BLE001 — then the new code must fail the same way
        with pytest.raises(type(exc)):
            check_all(ledger, day, monkeypatch)
        return
    assert reference is not None
    check_all(ledger, day, monkeypatch)


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.name)
def test_hostile_receipt_numbers_block_what_the_raw_sheet_blocks(case, tmp_path):
    path = case.build(tmp_path)
    try:
        book = load(path)
    except WorkbookError:
        pytest.skip("a file the reader refuses has nothing to compute")
    parsed = {p.receipt_no for p in book.ledger.payments}
    fast, raw = set(receipt_numbers(book)), set(raw_receipt_numbers(path))
    assert fast | parsed == raw | parsed  # what import_return treats as taken
    if not any(p.sheet == schema.PAYMENTS for p in book.ledger.problems):
        assert fast == raw


def test_demo_receipt_numbers_without_reading_again(demo_workbook):
    book = load(demo_workbook)
    assert not any(p.sheet == schema.PAYMENTS for p in book.ledger.problems)
    numbers = receipt_numbers(book)
    assert len(numbers) > 100 and sorted(numbers) == sorted(raw_receipt_numbers(demo_workbook))


# ------------------------------------------------------------------ bank import end to end


def _exported(tmp_path):
    from test_bank import DEBIT_DAY, export, make_workbook
    from xlwings_addin.jobs import bank

    path = make_workbook(tmp_path)
    data, _ = export(path, "csv_gbk")
    returned = tmp_path / "回盘.csv"
    returned.write_bytes(bank.simulate_return(bank.load_profile("csv_gbk"), data, {}, DEBIT_DAY))
    return path, returned


def test_bank_import_posts_as_before(tmp_path, capsys):
    path, returned = _exported(tmp_path)
    assert main(["bank", "import", str(path), str(returned), "--bank", "csv_gbk", "--as-of", "2026-10-25"]) == 0
    posted = [(p.receipt_no, p.room, p.amount) for p in load(path).ledger.payments if p.channel == "托收"]
    assert posted == [("TS2026Q4-01-0001", "1-1-101", Decimal("750.00")),
                      ("TS2026Q4-01-0002", "1-1-102", Decimal("400.00")),
                      ("TS2026Q4-01-0003", "1-2-101", Decimal("900.00"))]


def test_bank_import_still_refused_by_a_skipped_row_holding_its_receipt_number(tmp_path, capsys):
    """A 收款 row the parser skips (金额 0) holds TS2026Q4-01-0002: the sheet is read raw, the 回盘 refused."""
    path, returned = _exported(tmp_path)
    save_changes(path, append={schema.PAYMENTS: [{"收据号": "TS2026Q4-01-0002", "收款日期": dt.date(2026, 10, 20),
                                                 "房号": "1-1-102", "金额": Decimal("0"), "渠道": "现金"}]}, backups=0)
    book = load(path)
    assert "TS2026Q4-01-0002" not in {p.receipt_no for p in book.ledger.payments}
    assert "TS2026Q4-01-0002" in receipt_numbers(book)
    before = Path(path).read_bytes()
    assert main(["bank", "import", str(path), str(returned), "--bank", "csv_gbk", "--as-of", "2026-10-25"]) == 1
    assert "收据号 TS2026Q4-01-0002 已存在于“收款”表" in capsys.readouterr().out
    assert Path(path).read_bytes() == before

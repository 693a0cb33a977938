"""Work done alongside (issue 19): a child process changes when a result is made, never what it is.

- ``Partner``: the child's messages and result arrive as sent; a child that fails raises
  ``PartnerLost`` here; ``FEEBOOK_FORK=0`` forks nothing.
- ``feebook run`` with the units replayed in two halves (the second by a child) gives exactly the
  Changes of replaying them in one piece — on the demo estate, and with every unit's account
  changed by hand-made events; a child that dies makes this process replay the whole estate.
- The 收缴率 rows of two halves add up to the estate's (``add_rate_rows``), an empty half row too.
- The parse cache entries written by a detached child are the ones written here: the next load
  reads them back into the same ledger.
- The sheet scan: the windows inflated straight from the file's bytes are the part's bytes, a
  damaged CRC is refused as zipfile refuses it, and the RE2 check that lets a plain window skip
  the Python searches gives the same SheetScan as those searches, on the demo estate and on
  every sheet of the hostile corpus.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_corpus as hc
import test_rates_reference as ref
from xlwings_addin import alongside
from xlwings_addin.alongside import Partner, PartnerLost, can_fork, detached, wait_detached
from xlwings_addin.engine.rates import RateRow, add_rate_rows
from xlwings_addin.jobs import ledger as jobs
from xlwings_addin.ledger.periods import Period
from xlwings_addin.workbook import cache, parse, reader
from xlwings_addin.workbook.reader import WorkbookError, read_workbook

AS_OF = dt.date(2026, 11, 22)
needs_fork = pytest.mark.skipif(not can_fork(), reason="fork: Linux only")


def _echo_twice(channel, start):
    got = channel.receive()
    channel.send(got + start)
    return channel.receive() * 2


def _die(channel):
    os._exit(3)


@needs_fork
def test_a_partner_talks_and_gives_its_result():
    with Partner(_echo_twice, 10) as partner:
        assert partner.forked
        partner.channel.send(5)
        assert partner.channel.receive() == 15
        partner.channel.send("ab")
        assert partner.result() == "abab"
        assert not partner.forked  # reaped


@needs_fork
def test_a_partner_that_dies_is_lost():
    with Partner(_die) as partner:
        with pytest.raises(PartnerLost):
            partner.result()


def test_without_fork_nothing_is_forked(monkeypatch):
    monkeypatch.setenv("FEEBOOK_FORK", "0")
    assert not can_fork()
    with Partner(_echo_twice, 1) as partner:
        assert not partner.forked
        with pytest.raises(PartnerLost):
            partner.result()
    assert detached(sorted, [2, 1]) is False


@needs_fork
def test_a_cancelled_partner_is_reaped():
    partner = Partner(_echo_twice, 1)  # waits for a message that never comes
    pid = partner._pid
    partner.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left


def _changes(ledger, as_of, monkeypatch, fork: bool):
    monkeypatch.setattr(alongside, "WORTH_A_PROCESS", 0 if fork else 10 ** 9)  # the demo estate is small
    forked = []
    real = Partner.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        forked.append(self.forked)
    monkeypatch.setattr(Partner, "__init__", spy)
    changes = jobs.job_run(ledger, as_of)
    monkeypatch.setattr(Partner, "__init__", real)
    return changes, forked


def _same(a, b):
    assert a.replace.keys() == b.replace.keys()
    for name in a.replace:
        assert a.replace[name].rows == b.replace[name].rows, name
    assert a.summary == b.summary and a.audit == b.audit and a.problems == b.problems


@needs_fork
def test_run_in_two_halves_gives_the_changes_of_one_piece(demo_workbook, monkeypatch):
    ledger = jobs.load(demo_workbook).ledger
    whole, forked = _changes(ledger, AS_OF, monkeypatch, fork=False)
    assert forked == []
    halves, forked = _changes(ledger, AS_OF, monkeypatch, fork=True)
    assert forked == [True]
    assert len(whole.replace["收缴率"].rows) > 20 and len(whole.replace["欠费明细"].rows) > 20
    _same(whole, halves)
    # as of a day inside the history: other periods started, other arrears
    early = dt.date(2026, 2, 10)
    _same(_changes(ledger, early, monkeypatch, fork=False)[0], _changes(ledger, early, monkeypatch, fork=True)[0])


@needs_fork
def test_a_child_that_dies_leaves_the_whole_replay_here(demo_workbook, monkeypatch):
    ledger = jobs.load(demo_workbook).ledger
    whole, _ = _changes(ledger, AS_OF, monkeypatch, fork=False)
    monkeypatch.setattr(jobs, "_child_half", lambda channel, *args: os._exit(3))
    replayed, forked = _changes(ledger, AS_OF, monkeypatch, fork=True)
    assert forked == [True]
    _same(whole, replayed)


def _both_ways(book, as_of, monkeypatch):
    with monkeypatch.context() as m:
        whole, _ = _changes(book, as_of, m, fork=False)
    with monkeypatch.context() as m:
        halves, forked = _changes(book, as_of, m, fork=True)
    assert forked == [True]
    _same(whole, halves)


@needs_fork
@pytest.mark.parametrize("name", ["out of order", "principal last", "campaign and earmarks", "months beside quarters"])
def test_hand_made_ledgers_give_the_same_changes_in_halves(name, monkeypatch):
    """Bills payable out of paying order, 红冲, zero bills, reversals, refunds, 预存 for later periods,
    费用减免 and 违约金减免, 优惠活动; one half billed by months, the other by quarters (the halves
    swap their periods and cycles): the Changes of replaying them in halves are those of one piece."""
    from ledger_builders import charge, item, ledger, pay, unit
    from xlwings_addin.ledger.records import Settings

    if name in ("out of order", "principal last"):
        book = ref._out_of_order_book(settings=Settings(principal_first=name == "out of order", grace_days=3))
    elif name == "campaign and earmarks":
        bills = [charge(ref.ROOMS[0], p, "750.00") for p in (ref.Q1, ref.Q2, ref.Q3, ref.Q4, ref.Q1_27)]
        book = ledger(units=[unit(r) for r in ref.ROOMS], charges=bills + [charge(ref.ROOMS[2], ref.Q2, "600.00")],
                      campaigns=(ref.YEAR_GETS_A_MONTH,),
                      payments=[pay("R1", ref.ROOMS[0], "2026-01-10", "3000.00"),
                                pay("R2", ref.ROOMS[0], "2026-02-01", "750.00", period=ref.Q4),
                                pay("R3", ref.ROOMS[2], "2026-05-01", "100.00")])
    else:
        months = [Period.month(2026, m) for m in (1, 2, 3, 4, 5)]
        book = ledger(units=[unit(r) for r in ref.ROOMS], items=[item("WYF"), item("SF", "水费", "用量", "4.10", False)],
                      charges=[charge(ref.ROOMS[0], p, "250.00") for p in months] + [
                          charge(ref.ROOMS[1], ref.Q1, "750.00"), charge(ref.ROOMS[1], ref.Q2, "750.00"),
                          charge(ref.ROOMS[2], ref.Q2, "600.00", code="SF")],
                      payments=[pay("R1", ref.ROOMS[0], "2026-02-20", "300.00"),
                                pay("R3", ref.ROOMS[1], "2026-04-15", "900.00")])
    for as_of in ref.DAYS_2026:
        _both_ways(book, as_of, monkeypatch)


@needs_fork
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(book=ref.ledgers(), as_of=st.integers(min_value=-30, max_value=560).map(
    lambda n: ref.START + dt.timedelta(days=n)))
def test_random_ledgers_give_the_same_changes_in_halves(book, as_of, monkeypatch):
    _both_ways(book, as_of, monkeypatch)


@needs_fork
@pytest.mark.parametrize("case", [c for c in hc.available_cases() if not c.refuses and not c.needs_soffice],
                         ids=lambda c: c.name)
def test_hostile_workbooks_give_the_same_changes_in_halves(case, tmp_path, monkeypatch):
    path = case.build(tmp_path)
    try:
        book = jobs.load(path).ledger
    except WorkbookError:
        pytest.skip("a file the reader refuses has nothing to run")
    if len(book.units) < 2:
        pytest.skip("one unit: nothing to halve")
    _both_ways(book, AS_OF, monkeypatch)


def test_only_a_middle_sized_estate_is_replayed_in_halves():
    """Below 20,000 records a process costs more than it saves; above 500,000 (about 10,000 units × 12
    quarters) the pages both processes would copy take the command past its memory (2 GB at 20,000)."""
    from types import SimpleNamespace

    def book(charges, payments):
        return SimpleNamespace(charges=range(charges), payments=range(payments))
    assert not jobs.worth_a_process(book(15_000, 4_999))
    assert jobs.worth_a_process(book(15_000, 5_000))
    assert jobs.worth_a_process(book(160_200, 62_000))  # 5,000 units × 12 quarters
    assert jobs.worth_a_process(book(400_000, 100_000))
    assert not jobs.worth_a_process(book(400_000, 100_001))
    assert not jobs.worth_a_process(book(640_800, 248_000))  # 20,000 units × 12 quarters


def _rate(period, scope, receivable, cash, opening, paid, billed):
    return RateRow(Period.parse(period), scope, AS_OF, Decimal(receivable), Decimal(cash), Decimal("0"),
                   Decimal("0"), Decimal(opening), Decimal("0"), paid, billed)


def test_rate_rows_of_two_halves_add_up():
    # 2026Q3 全部: half one billed 2 units 1,000.00 (700.00 paid, 1 unit paid up), half two 1 unit
    # 500.00 (500.00 paid) → 1,500.00, 1,200.00, 2 of 3 units paid, 80%.  楼栋:2 is billed only in
    # half two; 楼栋:1 is empty in both halves (no 应收, no 期初欠费): no row.
    one = [_rate("2026Q3", "全部", "1000.00", "700.00", "0", 1, 2), _rate("2026Q3", "楼栋:1", "0", "0", "0", 0, 0),
           _rate("2026Q3", "楼栋:2", "0", "0", "0", 0, 0)]
    two = [_rate("2026Q3", "全部", "500.00", "500.00", "0", 1, 1), _rate("2026Q3", "楼栋:1", "0", "0", "0", 0, 0),
           _rate("2026Q3", "楼栋:2", "500.00", "500.00", "0", 1, 1)]
    total = add_rate_rows([one, two])
    assert [(r.scope, r.receivable, r.collected, r.units_paid, r.units_billed) for r in total] == [
        ("全部", Decimal("1500.00"), Decimal("1200.00"), 2, 3), ("楼栋:2", Decimal("500.00"), Decimal("500.00"), 1, 1)]
    assert total[0].current_rate == Decimal("0.8")
    with pytest.raises(ValueError):
        add_rate_rows([one, two[:2]])


@needs_fork
def test_cache_entries_written_by_a_detached_child_load_back_the_same(demo_workbook, tmp_path, monkeypatch):
    monkeypatch.setenv("FEEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(alongside, "WORTH_A_PROCESS", 0)
    took = []
    real = alongside.detached
    monkeypatch.setattr(cache, "detached", lambda *a, **k: took.append(real(*a, **k)) or took[-1])
    first = cache.load_ledger(demo_workbook)
    assert took == [True]
    wait_detached()
    entries = sorted((tmp_path / "cache").glob("*.pickle"))
    assert len(entries) >= 3  # 应收, 收款, 抄表 at least
    parsed = []
    real_parse = parse.parse_sheet
    monkeypatch.setattr(parse, "parse_sheet", lambda name, *a, **k: parsed.append(name) or real_parse(name, *a, **k))
    again = cache.load_ledger(demo_workbook)
    assert parsed and not {"应收", "收款", "抄表"} & set(parsed)  # those came from the child's entries
    assert again == first and again.problems == first.problems


def _parts(path):
    package = path.read_bytes()
    z = zipfile.ZipFile(io.BytesIO(package))
    return package, z, [p["part"] for p in reader.sheet_parts(z) if p.get("part") in z.namelist()]


def test_windows_from_the_package_bytes_are_the_part(demo_workbook):
    package, z, parts = _parts(demo_workbook)
    for part in parts:
        data = b"".join(window[overlap:] for window, overlap, _odd in reader._windows(z, part, package))
        assert data == z.read(part)


def _with_crc(package: bytes, z: zipfile.ZipFile, part: str, crc: int) -> bytes:
    """The package with ``part``'s CRC-32 changed in its local header and its central directory entry."""
    info = z.getinfo(part)
    out = bytearray(package)
    out[info.header_offset + 14:info.header_offset + 18] = crc.to_bytes(4, "little")
    name = part.encode()
    pos = package.find(b"PK\x01\x02")
    while pos >= 0:
        length = int.from_bytes(package[pos + 28:pos + 30], "little")
        if package[pos + 46:pos + 46 + length] == name:
            out[pos + 16:pos + 20] = crc.to_bytes(4, "little")
            return bytes(out)
        pos = package.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(f"{part} not in the central directory")


def test_a_damaged_crc_is_refused_as_zipfile_refuses_it(demo_workbook, tmp_path):
    package, z, parts = _parts(demo_workbook)
    big = max(parts, key=lambda p: z.getinfo(p).file_size)
    damaged = _with_crc(package, z, big, z.getinfo(big).CRC ^ 1)
    zd = zipfile.ZipFile(io.BytesIO(damaged))
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        zd.read(big)
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        reader._scan_sheet(zd, big, damaged)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(damaged)
    with pytest.raises(WorkbookError, match="已损坏"):
        read_workbook(bad)


def _scan_or_error(z, part, package):
    try:
        s = reader._scan_sheet(z, part, package)
    except Exception as e:  # noqa: BLE001 — refused the same way by both, or not
        return type(e).__name__
    # the column extent is rough either way (26 for one-letter columns): what it decides is compared
    return s.max_row, s.has_formulas, s.has_errors, s.merges, s.a1_value, reader._absurd(s.max_row, s.max_col)


def _scans_agree(path, monkeypatch) -> list:
    package, z, parts = _parts(path)
    for part in parts:
        fast = _scan_or_error(z, part, package)
        with monkeypatch.context() as m:
            m.setattr(reader, "_odd_search", lambda: None)  # every window searched by the Python expressions
            slow = _scan_or_error(z, part, package)
        assert fast == slow, part
    return parts


def test_the_re2_check_scans_the_demo_estate_as_the_python_searches_do(demo_workbook, monkeypatch):
    assert len(_scans_agree(demo_workbook, monkeypatch)) > 10


@pytest.mark.parametrize("case", [c for c in hc.available_cases() if not c.needs_soffice], ids=lambda c: c.name)
def test_the_re2_check_scans_hostile_workbooks_as_the_python_searches_do(case, tmp_path, monkeypatch):
    path = case.build(tmp_path)
    try:
        _parts(path)
    except Exception:  # noqa: BLE001 — not a zip package: no sheet to scan
        pytest.skip("not a readable zip package")
    _scans_agree(path, monkeypatch)


@needs_fork
def test_a_program_that_ignores_sigchld_still_gets_its_results(monkeypatch):
    """With SIGCHLD ignored the kernel reaps children itself: waiting for them must not fail."""
    import signal

    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        with Partner(_echo_twice, 1) as partner:
            partner.channel.send(2)
            assert partner.channel.receive() == 3
            partner.channel.send(4)
            assert partner.result() == 8
        with Partner(_echo_twice, 1) as partner:
            pass  # cancelled while it waits
        assert detached(sorted, [2, 1]) is True
        wait_detached()
    finally:
        signal.signal(signal.SIGCHLD, before)

"""The per-sheet parse cache: unchanged sheets are not read again, and the result is always the same."""
from __future__ import annotations

import datetime as dt
import pickle
from decimal import Decimal

import pytest

from xlwings_addin.ledger import schema
from xlwings_addin.jobs.ledger import apply_to_file, job_run, load
from xlwings_addin.workbook import cache, parse
from xlwings_addin.workbook.reader import read_workbook
from xlwings_addin.workbook.writer import save_changes


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """Count which sheets are parsed from cells, with a cache folder of this test's own."""
    monkeypatch.setenv("FEEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[str] = []
    real = parse.parse_sheet

    def parse_sheet(name, raw, *more, **options):
        if name in raw:
            calls.append(name)
        return real(name, raw, *more, **options)

    monkeypatch.setattr(cache.parse, "parse_sheet", parse_sheet)
    return calls


def uncached(path):
    return parse.parse_ledger(read_workbook(path, schema.INPUT_SHEETS))


def test_second_load_reuses_unchanged_sheets_and_gives_the_same_ledger(demo_copy, counted):
    first = load(demo_copy).ledger
    assert schema.CHARGES in counted and schema.PAYMENTS in counted
    counted.clear()
    apply_to_file(load(demo_copy), job_run(load(demo_copy).ledger, dt.date(2026, 11, 22)))  # rewrites outputs only
    counted.clear()
    second = load(demo_copy).ledger
    # 应收 (4,806 rows), 收款 and 抄表 came from the cache; small sheets are always parsed
    assert schema.CHARGES not in counted and schema.PAYMENTS not in counted and schema.READINGS not in counted
    assert second == first == uncached(demo_copy)


def test_a_changed_sheet_is_parsed_again(demo_copy, counted):
    load(demo_copy)
    save_changes(demo_copy, backups=0, append={schema.PAYMENTS: [
        {"收据号": "SK-CACHE-1", "收款日期": dt.date(2026, 11, 20), "房号": "1-1-101", "金额": Decimal("12.34"),
         "渠道": "现金"}]})
    counted.clear()
    ledger = load(demo_copy).ledger
    assert schema.PAYMENTS in counted and schema.CHARGES not in counted
    assert any(p.receipt_no == "SK-CACHE-1" and p.amount == Decimal("12.34") for p in ledger.payments)
    assert ledger == uncached(demo_copy)


def test_a_damaged_or_foreign_cache_file_is_ignored(demo_copy, counted, tmp_path):
    load(demo_copy)
    for file in (tmp_path / "cache").glob("*.pickle"):
        file.write_bytes(b"not a pickle")
    counted.clear()
    assert load(demo_copy).ledger == uncached(demo_copy)
    assert schema.CHARGES in counted
    # an entry whose key does not match (another version of the sheet) is not used either
    for file in (tmp_path / "cache").glob("*.pickle"):
        key, records, problems = pickle.loads(file.read_bytes())
        file.write_bytes(pickle.dumps((key[:-1] + ("other code",), records[:1], problems)))
    counted.clear()
    assert load(demo_copy).ledger == uncached(demo_copy)
    assert schema.CHARGES in counted


def test_cache_can_be_turned_off(demo_copy, counted, monkeypatch, tmp_path):
    monkeypatch.setenv("FEEBOOK_CACHE", "0")
    load(demo_copy)
    load(demo_copy)
    assert counted.count(schema.CHARGES) == 2
    assert not (tmp_path / "cache").exists()


def test_packed_columns_read_back_exactly():
    """A column of distinct texts is stored as one NUL-joined text; any other column as it is — and every
    column reads back equal, element for element (a text holding NUL, blanks, a shared value, numbers)."""
    distinct = [f"ZD-{i:05d}" for i in range(300)]
    columns = {
        "distinct": distinct,
        "with blanks": [f"R{i}" if i % 7 else "" for i in range(300)],
        "with a NUL": distinct[:-1] + ["坏\0值"],
        "shared": ["1-1-101"] * 300,
        "numbers": [Decimal(i) for i in range(300)],
        "mixed": distinct[:-1] + [None],
        "one": ["X"],
    }
    for name, column in columns.items():
        packed = cache._joined(column)
        assert cache._split(packed) == column, name
        assert isinstance(packed, str) == (name in ("distinct", "with blanks")), name


def test_the_parse_hands_its_columns_to_the_cache(demo_copy, counted):
    """应收 parsed a column at a time arrives at the cache with the columns it was made from; packed
    from them or from the records it reads back the same records."""
    raw = read_workbook(demo_copy, [schema.CHARGES], clean=False,
                        columnar={n: p.dates for n, p in parse.COLUMNAR.items()})
    records, _problems = parse.parse_sheet(schema.CHARGES, raw)
    assert isinstance(records, parse.ColumnRecords) and len(records.columns) == 10 and len(records) > 1000
    from_columns = cache._pack(records)
    from_records = cache._pack(list(records))
    assert isinstance(from_columns[2][0], str)  # 账单号: one joined text
    assert cache._unpack(from_columns) == cache._unpack(from_records) == list(records)
    assert [c.source.cell for c in cache._unpack(from_columns)[:2]] == ["E2", "E3"]

"""Work done alongside (issue 19): a child process changes when a result is made, never what it is.

- ``Alongside``: the child's result equals the function's; a child that fails leaves the function to
  run here (so its exception is raised here); ``FEEBOOK_FORK=0`` runs it here.
- ``feebook run`` with the 收缴率 rows summed in a child gives exactly the Changes it gives without.
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

import pytest

import hostile_corpus as hc
from xlwings_addin import alongside
from xlwings_addin.alongside import Alongside, can_fork, detached, wait_detached
from xlwings_addin.jobs import ledger as jobs
from xlwings_addin.workbook import cache, parse, reader
from xlwings_addin.workbook.reader import WorkbookError, read_workbook

AS_OF = dt.date(2026, 11, 22)
needs_fork = pytest.mark.skipif(not can_fork(), reason="fork: Linux only")


def _square(n):
    return n * n


def _fail(n):
    raise ValueError(f"bad {n}")


def _child_only(n):
    """Fails in a child (whose pid is not the test's), works here: the fallback is seen."""
    if os.getpid() != _child_only.parent:
        os._exit(3)
    return n + 1


@needs_fork
def test_a_child_computes_the_result():
    with Alongside(_square, 12) as work:
        assert work.forked
        assert work.result() == 144


@needs_fork
def test_a_child_that_fails_leaves_the_work_to_this_process():
    _child_only.parent = os.getpid()
    with Alongside(_child_only, 41) as work:
        assert work.forked
        assert work.result() == 42  # computed here after the child exited with 3
    with Alongside(_fail, 7) as work, pytest.raises(ValueError, match="bad 7"):
        work.result()  # the child's error is met again here


def test_without_fork_the_work_is_done_here(monkeypatch):
    monkeypatch.setenv("FEEBOOK_FORK", "0")
    assert not can_fork()
    with Alongside(_square, 3) as work:
        assert not work.forked
        assert work.result() == 9
    assert detached(_square, 2) is False


@needs_fork
def test_a_cancelled_child_is_reaped():
    work = Alongside(_square, 5)
    pid = work._pid
    work.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left


@needs_fork
def test_run_gives_the_same_changes_with_the_rates_summed_in_a_child(demo_workbook, monkeypatch):
    ledger = jobs.load(demo_workbook).ledger
    monkeypatch.setenv("FEEBOOK_FORK", "0")
    here = jobs.job_run(ledger, AS_OF)
    monkeypatch.delenv("FEEBOOK_FORK")
    monkeypatch.setattr(jobs, "WORTH_A_PROCESS", 0)  # the demo estate is small: fork anyway
    forked = []
    real = Alongside.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        forked.append(self.forked)
    monkeypatch.setattr(Alongside, "__init__", spy)
    there = jobs.job_run(ledger, AS_OF)
    assert forked == [True]
    rates = here.replace["收缴率"].rows
    assert len(rates) > 20 and rates == there.replace["收缴率"].rows
    assert here.replace["欠费明细"].rows == there.replace["欠费明细"].rows
    assert here.summary == there.summary and here.audit == there.audit and here.problems == there.problems


@needs_fork
def test_cache_entries_written_by_a_detached_child_load_back_the_same(demo_workbook, tmp_path, monkeypatch):
    monkeypatch.setenv("FEEBOOK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "WORTH_A_PROCESS", 0)
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

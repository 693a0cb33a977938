"""Crashes, full disks, locked files and concurrent writers, through the ``feebook`` CLI (SPEC §7).

tests/test_workbook_io.py already kills the *writer function* at chosen points
and checks the writer's locks; these tests do the same to whole ``feebook``
processes, the way a clerk's machine would fail.
"""
from __future__ import annotations

import errno
import subprocess
import threading
import time
from pathlib import Path

import pytest

import hostile_corpus as hc
from xlwings_addin.ledger import schema
from xlwings_addin.workbook import package, writer

pytestmark = pytest.mark.hostile
ROOT = Path(__file__).resolve().parent.parent


def small_book(tmp_path, name="收费大表.xlsx", charges=False) -> Path:
    book = hc.Book()
    if not charges:
        book.sheets["应收"] = book.sheets["应收"][:1]
    return hc.save_book(book, tmp_path / name)


def feebook(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(hc.FEEBOOK + [str(a) for a in args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


# --------------------------------------------------------------------------- kill -9 during save


def test_kill_feebook_run_at_random_moments(demo_copy, tmp_path):
    """30 ``feebook run`` processes SIGKILLed at random moments: old file or complete new file, never broken."""
    result = hc.kill_trials(demo_copy, tmp_path / "kill", trials=30)
    assert result["broken"] == 0, result["failures"]
    assert result["failures"] == []
    assert result["trials"] == 30 == result["old"] + result["old_mid_write"] + result["new"]
    assert result["old"] + result["old_mid_write"] > 0  # some kills landed before the switch
    # after the kills, the next run sweeps the temp files and works
    target = tmp_path / "kill" / "trial" / demo_copy.name
    r = feebook("run", target, "--as-of", "2026-11-22")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert [f for f in target.parent.iterdir() if f.name.endswith(".feebook-tmp")] == []


# --------------------------------------------------------------------------- disk full


@pytest.mark.parametrize("where", ["_copy_member", "_backup", "_before_replace_hook"])
def test_disk_full_through_the_cli_leaves_the_workbook(tmp_path, monkeypatch, where):
    """ENOSPC while writing the temp file, the backup or right before the switch: exit 1, Chinese, no traceback."""
    path = small_book(tmp_path)
    before = path.read_bytes()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(package if where == "_copy_member" else writer, where, full)
    code, out, err, crashed = hc.run_cli(["run", path, "--as-of", hc.AS_OF])
    assert not crashed and "Traceback" not in err, err
    assert code == 1
    assert "磁盘空间不足" in err and "原文件未改动" in err and path.name in err
    assert path.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir() if "feebook-tmp" in f.name] == []


def test_disk_full_in_the_real_zip_write(tmp_path, monkeypatch):
    """The write itself (zipfile → the temp file) fails half-way, as a full disk does."""
    path = small_book(tmp_path)
    before = path.read_bytes()
    real_write = package.zipfile.ZipFile.writestr
    calls = {"n": 0}

    def writestr(self, *a, **k):
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, *a, **k)

    monkeypatch.setattr(package.zipfile.ZipFile, "writestr", writestr)
    code, out, err, crashed = hc.run_cli(["run", path, "--as-of", hc.AS_OF])
    assert calls["n"] > 2  # the failure really happened inside the write
    assert not crashed and code == 1 and "磁盘空间不足" in err, err
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- locked by another program


@pytest.mark.parametrize("lock, program", [("~${}", "Excel/WPS"), (".~lock.{}#", "LibreOffice")])
def test_workbook_open_in_another_program_is_refused(tmp_path, lock, program):
    path = small_book(tmp_path)
    before = path.read_bytes()
    (tmp_path / lock.format(path.name)).write_text("someone", encoding="utf-8")
    r = feebook("bill", path, "--period", "2026Q1")
    assert "Traceback" not in r.stderr
    assert r.returncode == 1  # a refused write (cli docstring: 1 … or the write was refused)
    assert program in r.stderr and "请先关闭该工作簿" in r.stderr
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- two writers at once


def test_second_feebook_waits_for_the_first(tmp_path):
    """While another feebook holds the write lock, ``feebook bill`` waits, then writes (it read an unchanged file)."""
    path = small_book(tmp_path)
    release = threading.Event()

    def hold():
        with writer._ProcessLock(path, 5):
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.2)
    proc = subprocess.Popen(hc.FEEBOOK + ["bill", str(path), "--period", "2026Q1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    assert proc.poll() is None  # still waiting for the lock
    release.set()
    t.join()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "已写入" in out, err
    # 3 units × WYF (100, 89.50, 120 ㎡ × 2.50 × 3) and 1-1-101's water (112 − 100) × 4.10 = 49.20
    rows = hc.sheet_values(path, [schema.CHARGES])[schema.CHARGES][1]
    assert len(rows) == 4


@pytest.mark.parametrize("trial", range(4))
def test_two_feebook_processes_at_once_lose_no_update(tmp_path, trial):
    """``bill 2026Q1`` and ``bill 2026Q2`` started together: each either writes or is refused — nothing is lost."""
    path = small_book(tmp_path)
    procs = {q: subprocess.Popen(hc.FEEBOOK + ["bill", str(path), "--period", q], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for q in ("2026Q1", "2026Q2")}
    results = {q: (p.wait(timeout=120), *p.communicate()) for q, p in procs.items()}
    written = []
    for q, (code, out, err) in results.items():
        assert "Traceback" not in err, err
        if code == 0:
            assert "已写入" in out
            written.append(q)
        else:
            assert code == 1 and ("已被修改" in err or "正在写入" in err), (code, out, err)
    assert written, results  # at least one of them got through
    rows = hc.sheet_values(path, [schema.CHARGES])[schema.CHARGES][1]
    periods = sorted({values[1] for _n, values in rows})
    # Q1 bills 4 lines (3 × WYF + 1 water), Q2 bills 3 (no Q2 meter reading)
    assert periods == sorted(written)
    assert len(rows) == sum(4 if q == "2026Q1" else 3 for q in written)
    audit = hc.sheet_values(path, [schema.AUDIT])[schema.AUDIT][1]
    assert len(audit) == len(written)

"""Benchmark: `feebook run` (and `bill`) on a large estate, stage by stage, against the raw-read floor.

Builds (once, cached in --dir) an estate of --units units with --quarters
quarters of history, then measures:

- floor: python-calamine reading every cell of every sheet (to_python), the
  least any reader of this file can do;
- feebook run: read (reader), parse (records + 问题), compute (allocation, late
  fees, arrears, rates), write (save_changes of the output sheets);
- feebook bill of one more quarter (new 应收 rows appended);
- feebook dunning / commission / dashboard, cold, as the CLI runs them, and ``bank import`` of a
  4,000-line 回盘 (on a variant of the estate with 4,000 托收 units, see :func:`bank_estate`).

Prints seconds per stage, the total, the ratio to the floor and peak memory
(ru_maxrss).  Usage::

    python scripts/bench.py                       # 5,000 units × 12 quarters
    python scripts/bench.py --units 20000         # the 20,000-unit case
    python scripts/bench.py --hq                  # feebook hq: 50 centers × 2,000 units × 8 quarters

``--hq`` (issue 16) builds (once, cached) --hq-centers center workbooks of
--hq-units units × --hq-quarters quarters, each with its own 服务中心 and
seed, and times ``feebook hq`` cold (no parse cache) for each CENTERS:JOBS of
--hq-sweep: the per-center step in worker processes, the pandas roll-up and
the HQ workbook, with the peak memory of the main process and of the largest
worker (ru_maxrss of RUSAGE_SELF / RUSAGE_CHILDREN).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from python_calamine import CalamineWorkbook  # noqa: E402

from xlwings_addin.jobs import ledger as jobs  # noqa: E402
from xlwings_addin.faces.gcpause import paused_gc  # noqa: E402
from xlwings_addin.alongside import wait_detached  # noqa: E402
from xlwings_addin.demo import build_demo_workbook  # noqa: E402
from xlwings_addin.ledger.periods import period_containing  # noqa: E402
from xlwings_addin.workbook.cache import load_ledger  # noqa: E402
from xlwings_addin.workbook.parse import parse_ledger  # noqa: E402
from xlwings_addin.workbook.reader import file_digest  # noqa: E402
from xlwings_addin.workbook.writer import save_changes  # noqa: E402

AS_OF = dt.date(2026, 11, 22)


def floor_read(path: Path) -> float:
    start = time.perf_counter()
    wb = CalamineWorkbook.from_path(str(path))
    cells = 0
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        cells += sum(len(r) for r in rows)
    elapsed = time.perf_counter() - start
    print(f"  floor (calamine raw read, {cells:,} cells): {elapsed:6.2f} s")
    return elapsed


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<40s} {elapsed:6.2f} s")
    return result, elapsed


def bench_run(path: Path) -> float:
    """A cold run as `feebook run` does it: an empty parse cache, so every input sheet is read and
    parsed (each sheet parsed while calamine loads the next) and the cache entries are written."""
    book, t_load = timed("read + parse (+ cache entries written)", lambda: jobs.load(path))
    return _compute_and_write(path, book.ledger, t_load)


def bench_stages(path: Path) -> float:
    """The cold load split into its parts, one after the other (no overlap, no cache): where the time goes."""
    from xlwings_addin.ledger import schema
    from xlwings_addin.workbook import parse
    from xlwings_addin.workbook.reader import read_workbook

    # as load_ledger reads: 应收, 收款 and 抄表 into Arrow columns by fastexcel, the rest by calamine
    columnar = {name: plan.dates for name, plan in parse.COLUMNAR.items()}
    raw, t_read = timed("stage: read (scan + fastexcel/calamine)", lambda: read_workbook(
        path, schema.INPUT_SHEETS, clean=False, columnar=columnar))
    _, t_parse = timed("stage: parse (records + 问题)", lambda: parse_ledger(raw))
    return t_read + t_parse


def bench_run_warm(path: Path) -> float:
    """The usual run: the sheets that did not change since the last run come from the parse cache."""
    jobs.load(path)  # the previous run (fills the cache); then a day's new payment arrives
    save_changes(path, append={"收款": [{"收据号": "BENCH-1", "收款日期": AS_OF, "房号": "1-1-101",
                                       "金额": Decimal("100.00"), "渠道": "现金"}]}, backups=1)
    ledger, t_load = timed("load (cache + changed sheets: 收款)", lambda: load_ledger(path))
    return _compute_and_write(path, ledger, t_load)


def _compute_and_write(path: Path, ledger, t_load: float) -> float:
    changes, t_compute = timed("compute (allocation, late fee, rates)", lambda: jobs.job_run(ledger, AS_OF))
    digest = file_digest(path)
    _, t_write = timed("write (output sheets, atomic)", lambda: save_changes(
        path, replace=changes.replace, audit=[{"操作": "bench run", "数量": 0}], expect_digest=digest, backups=1))
    total = t_load + t_compute + t_write
    print(f"  {'feebook run total':<40s} {total:6.2f} s")
    return total


def bench_bill(path: Path) -> float:
    book, t_load = timed("bill: read + parse", lambda: jobs.load(path))
    period = period_containing(AS_OF).next()
    changes, t_compute = timed(f"bill: compute {period}", lambda: jobs.job_bill(book.ledger, period))
    _, t_write = timed(f"bill: append {len(changes.append['应收']):,} 应收 rows",
                       lambda: jobs.apply_to_file(book, changes))
    total = t_load + t_compute + t_write
    print(f"  {'feebook bill total':<40s} {total:6.2f} s")
    return total


def bench_letters(path: Path, count: int = 1000) -> float:
    """``feebook letters --kind 催缴函`` for ``count`` owing units: contexts, one .docx each, the merged print file."""
    import tempfile

    from xlwings_addin.documents.contexts import DEMAND, plan_letters
    from xlwings_addin.documents.letters import render_letters
    from xlwings_addin.engine.allocation import allocate

    book, t_load = timed("letters: read + parse", lambda: jobs.load(path))
    allocation, t_alloc = timed("letters: allocation", lambda: allocate(book.ledger, AS_OF))
    owing = [room for room, acc in allocation.accounts.items()
             if any(s.open > 0 for s in acc.charges)][:count]
    plan, t_plan = timed(f"letters: {len(owing):,} 催缴函 contexts",
                         lambda: plan_letters(book.ledger, DEMAND, AS_OF, rooms=owing, allocation=allocation))
    out = Path(tempfile.mkdtemp(prefix="feebook-bench-letters-"))
    result, t_render = timed(f"letters: render {len(plan.letters):,} .docx + merge",
                             lambda: render_letters(DEMAND, plan.letters, "bench", out, progress=False))
    shutil.rmtree(out, ignore_errors=True)
    total = t_plan + t_render
    print(f"  {'letters total (contexts + render + merge)':<40s} {total:6.2f} s  ({len(result.files):,} letters)")
    return total


def bench_command(argv: list) -> float:
    """One feebook command, in this process (as the CLI runs it), on a private copy of the workbook."""
    import contextlib
    import io
    import tempfile

    from xlwings_addin.faces.cli import main as feebook

    folder = Path(tempfile.mkdtemp(prefix="feebook-bench-cmd-"))
    book = folder / "book.xlsx"
    shutil.copyfile(argv[1], book)
    argv = [argv[0], str(book), *argv[2:]]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = feebook(argv)
    elapsed = time.perf_counter() - start
    shutil.rmtree(folder, ignore_errors=True)
    print(f"  {'feebook ' + argv[0] + ' (exit ' + str(code) + ')':<40s} {elapsed:6.2f} s")
    return elapsed


BANK_UNITS = 4000  # issue 19: a 回盘 of 4,000 lines
BANK_EXPORT_DAY = dt.date(2026, 10, 1)  # the 托收盘: on the quarter's first day every unit owes its bill …
BANK_DEBIT_DAY = dt.date(2026, 10, 8)  # … the bank debits (and dates its 回盘) a week later


def bank_estate(path: Path, units: int = BANK_UNITS) -> Path:
    """The estate with 托收 = 是 (开户银行 / 银行账号 / 账户名 filled) for its first ``units`` units, 否 for the rest.

    The demo estate has few 托收 units (1,686 of 5,000), and by AS_OF most have paid the quarter, so
    a 托收盘 made then has ~300 lines.  This variant (built once per source file, kept beside it,
    written by the product's own writer) is exported on BANK_EXPORT_DAY, when every unit still owes
    the quarter: one debit line per 托收 unit.
    """
    from xlwings_addin.ledger import schema
    from xlwings_addin.workbook.reader import read_workbook
    from xlwings_addin.workbook.writer import SheetOutput

    variant = path.with_name(f"{path.stem}.bank{units}-{file_digest(path)[:12]}.xlsx")
    if variant.exists():
        return variant
    for old in path.parent.glob(f"{path.stem}.bank{units}-*.xlsx"):
        old.unlink()
    sheet = read_workbook(path, sheets=[schema.UNITS])[schema.UNITS]
    headers = [str(h or "") for h in sheet.headers]
    col = {h: headers.index(h) for h in ("业主姓名", "托收", "开户银行", "银行账号", "账户名")}
    rows = []
    for i, (_number, values) in enumerate(sheet.rows):
        values = list(values) + [None] * (len(headers) - len(values))
        if i < units:
            values[col["托收"]] = "是"
            values[col["开户银行"]] = values[col["开户银行"]] or "建设银行"
            values[col["银行账号"]] = values[col["银行账号"]] or f"62220202{i:011d}"
            values[col["账户名"]] = values[col["账户名"]] or values[col["业主姓名"]]
        else:
            values[col["托收"]] = "否"  # exactly ``units`` debits
        rows.append(values)
    spec = schema.INPUT_SHEETS[schema.UNITS]
    tmp = variant.with_name("building-" + variant.name)
    shutil.copyfile(path, tmp)
    save_changes(tmp, replace={schema.UNITS: SheetOutput(schema.UNITS, headers, rows, dict(spec.formats))},
                 backups=0)
    tmp.replace(variant)
    return variant


def bench_bank_import(path: Path) -> float:
    """`feebook bank import` of a 4,000-line 回盘 (issue 19).

    On a private copy of :func:`bank_estate` (4,000 托收 units): `bank export` of the quarter on
    BANK_EXPORT_DAY and the bank's 回盘 (two failures, debited BANK_DEBIT_DAY) are made first, not
    timed (and leave no parse cache); then `bank import --as-of AS_OF` is timed cold, as the CLI runs it.
    (Units that paid the quarter themselves after the debit day get the debit back as 预存: the figures
    do not matter here, the work does — 4,000 收款 rows posted, 欠费明细 and 收缴率 refreshed.)
    """
    import tempfile

    from xlwings_addin.faces.cli import main as feebook
    from xlwings_addin.jobs.bank import load_profile, simulate_return

    folder = Path(tempfile.mkdtemp(prefix="feebook-bench-bank-"))
    book = folder / "book.xlsx"
    shutil.copyfile(bank_estate(path), book)
    period = period_containing(AS_OF)
    import contextlib
    import io
    cache = os.environ.get("FEEBOOK_CACHE")
    os.environ["FEEBOOK_CACHE"] = "0"  # the export leaves no parse cache behind: the import is timed cold
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            feebook(["bank", "export", str(book), "--period", str(period), "--bank", "csv_gbk",
                     "--as-of", str(BANK_EXPORT_DAY), "--out", str(folder)])
    finally:
        if cache is None:
            os.environ.pop("FEEBOOK_CACHE")
        else:
            os.environ["FEEBOOK_CACHE"] = cache
    exported = next(folder.glob("托收盘_*"))
    profile = load_profile("csv_gbk")
    returned = folder / "回盘.csv"
    returned.write_bytes(simulate_return(profile, exported.read_bytes(), {1: "1001", 2: "1002"}, BANK_DEBIT_DAY))
    lines = len(returned.read_bytes().splitlines())
    print(f"  回盘: {lines:,} lines (debits of {BANK_UNITS:,} 托收 units, exported {BANK_EXPORT_DAY})")
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = feebook(["bank", "import", str(book), str(returned), "--bank", "csv_gbk", "--as-of", str(AS_OF)])
    elapsed = time.perf_counter() - start
    shutil.rmtree(folder, ignore_errors=True)
    print(f"  {'bank import (' + format(lines, ',') + ' lines, exit ' + str(code) + ')':<40s} {elapsed:6.2f} s")
    return elapsed


def resave_with_libreoffice(path: Path) -> None:
    """Re-save the workbook as LibreOffice would (every part rewritten, sharedStrings reshuffled) — a clerk's cold day."""
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="feebook-resave-"))
    subprocess.run(["soffice", f"-env:UserInstallation=file://{out}/profile", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(path)], check=True,
                   capture_output=True, timeout=1800)
    shutil.move(str(out / path.name), str(path))
    shutil.rmtree(out, ignore_errors=True)


def child(kind: str, path: Path) -> int:
    """One measurement in a fresh process, so that peak memory is that command's own."""
    with paused_gc():  # as the feebook command line does
        total = {"floor": floor_read, "stages": bench_stages, "run": bench_run, "warm": bench_run_warm, "bill": bench_bill,
                 "letters": bench_letters, "bank_import": bench_bank_import,
                 "dunning": lambda p: bench_command(["dunning", p, "--as-of", str(AS_OF)]),
                 "commission": lambda p: bench_command(["commission", p, "--quarter", "2026Q4", "--as-of", str(AS_OF)]),
                 "dashboard": lambda p: bench_command(["dashboard", p, "--as-of", str(AS_OF)])}[kind](path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {'peak memory (' + kind + ')':<40s} {peak:6.0f} MB")
    wait_detached()  # the cache entries' writer (alongside.py), so that it is counted below
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if children:  # the half of the units replayed by a child (jobs/ledger.py), the cache writer
        print(f"  {'peak memory of its largest child':<40s} {children:6.0f} MB")
    print(f"RESULT {total:.4f} {peak:.1f}")
    return 0


def measure(kind: str, path: Path) -> tuple[float, float]:
    result = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True, text=True,
                            check=True)
    lines = result.stdout.splitlines()
    for line in lines:
        if not line.startswith("RESULT"):
            print(line)
    total, peak = lines[-1].split()[1:]
    return float(total), float(peak)


# ------------------------------------------------------------------ feebook hq (issue 16)

def build_centers(folder: Path, n: int, units: int, quarters: int) -> list[Path]:
    """n distinct center workbooks (own seed, own 服务中心), built once and kept in folder."""
    from xlwings_addin.ledger import schema
    from xlwings_addin.workbook.writer import SheetOutput

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"center{i:03d}.xlsx"
        if not path.exists():
            start = time.perf_counter()
            tmp = folder / f"building-{i:03d}.xlsx"
            build_demo_workbook(tmp, n_units=units, quarters=quarters, as_of=AS_OF, billed=True, seed=20261122 + i)
            rows = [[k, f"第{i + 1:03d}服务中心" if k == "服务中心" else v, note] for k, v, note in schema.PARAM_DEFAULTS]
            save_changes(tmp, replace={schema.PARAMS: SheetOutput(schema.PARAMS, ["参数", "值", "说明"], rows, {})},
                         backups=0)
            tmp.replace(path)
            print(f"  built {path.name} in {time.perf_counter() - start:.1f} s", flush=True)
        paths.append(path)
    return paths


def hq_child(folder: Path, jobs: int) -> int:
    """One cold `feebook hq` in this fresh process: per-center step (pool), roll-up, HQ workbook."""
    from xlwings_addin.faces.commands.hq import center_files, collect
    from xlwings_addin.jobs import hq_rollup

    files = center_files(folder)
    with paused_gc():  # as the feebook command line does
        start = time.perf_counter()
        facts = collect(files, AS_OF, None, jobs)
        t_centers = time.perf_counter() - start
        start = time.perf_counter()
        tables = hq_rollup.rollup(facts, AS_OF)
        t_rollup = time.perf_counter() - start
        start = time.perf_counter()
        hq_rollup.write_hq_workbook(folder.parent / f"HQ-{len(files)}-{jobs}.xlsx", tables)
        t_write = time.perf_counter() - start
    bad = sum(1 for f in facts if f["status"] != "已读取")
    main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    total = t_centers + t_rollup + t_write
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print(f"  cpu time (main + workers) {cpu:.1f} s = {cpu / len(files):.2f} s/center; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  {len(files)} centers, --jobs {jobs}: per-center step {t_centers:6.1f} s "
          f"({t_centers / len(files):.2f} s/center), roll-up {t_rollup:.2f} s, write {t_write:.2f} s, "
          f"total {total:6.1f} s; peak main {main_peak:,.0f} MB, largest worker {worker_peak:,.0f} MB"
          + (f"; {bad} not read" if bad else ""))
    print(f"RESULT {total:.4f} {max(main_peak, worker_peak):.1f}")
    return 0


def bench_hq(args) -> int:
    base = Path(args.dir) / f"hq_{args.hq_units}x{args.hq_quarters}"
    print(f"feebook hq: center workbooks of {args.hq_units:,} units × {args.hq_quarters} quarters in {base}")
    start = time.perf_counter()
    paths = build_centers(base / "centers", args.hq_centers, args.hq_units, args.hq_quarters)
    print(f"  {len(paths)} centers ready ({time.perf_counter() - start:.0f} s), "
          f"{sum(p.stat().st_size for p in paths) / 1e6:.0f} MB; cpu_count {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f} (machine shared: figures include contention)")
    env = dict(os.environ, FEEBOOK_CACHE="0")  # cold: every center read and parsed
    results = []
    for spec in args.hq_sweep.split(","):
        n, jobs = (int(x) for x in spec.split(":"))
        folder = base / f"run-{n}"
        if not folder.exists():
            folder.mkdir()
            for p in paths[:n]:
                (folder / p.name).symlink_to(p)
        result = subprocess.run([sys.executable, __file__, "--hq-child", str(folder), str(jobs)],
                                capture_output=True, text=True, env=env)
        if result.returncode:
            print(result.stdout + result.stderr)
            return 1
        lines = result.stdout.splitlines()
        print("\n".join(line for line in lines if not line.startswith("RESULT")), flush=True)
        total, peak = (float(x) for x in lines[-1].split()[1:])
        results.append((n, jobs, total, peak))
    print("  centers  jobs  seconds  s/center  peak MB")
    for n, jobs, total, peak in results:
        print(f"  {n:7d}  {jobs:4d}  {total:7.1f}  {total / n:8.2f}  {peak:7.0f}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--quarters", type=int, default=12)
    parser.add_argument("--dir", default="/tmp/feebook-bench")
    parser.add_argument("--resave", action="store_true",
                        help="re-save the estate with LibreOffice first (as Excel would), so every run is cold")
    parser.add_argument("--only", choices=("run", "letters"), help="measure only the run (cold) or the letters")
    parser.add_argument("--hq", action="store_true", help="benchmark feebook hq instead (issue 16)")
    parser.add_argument("--hq-centers", type=int, default=50)
    parser.add_argument("--hq-units", type=int, default=2000)
    parser.add_argument("--hq-quarters", type=int, default=8)
    parser.add_argument("--hq-sweep", default="10:2,25:2,50:2,50:1", help="CENTERS:JOBS,… to time")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--hq-child", nargs=2, metavar=("FOLDER", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child[0], Path(args.child[1]))
    if args.hq_child:
        return hq_child(Path(args.hq_child[0]), int(args.hq_child[1]))
    if args.hq:
        return bench_hq(args)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"estate_{args.units}x{args.quarters}.xlsx"
    if not source.exists():
        start = time.perf_counter()
        build_demo_workbook(source, n_units=args.units, quarters=args.quarters, as_of=AS_OF, billed=True)
        print(f"built {source} in {time.perf_counter() - start:.1f} s")
    work = folder / "work.xlsx"
    shutil.copyfile(source, work)
    if args.resave:
        start = time.perf_counter()
        resave_with_libreoffice(work)
        print(f"re-saved with LibreOffice in {time.perf_counter() - start:.1f} s")
    if args.only == "letters":
        letters, letters_peak = measure("letters", work)
        print(f"  1,000 催缴函 + merged file: {letters:.1f} s (goal < 20 s); peak {letters_peak:,.0f} MB")
        return 0
    print(f"estate: {args.units:,} units × {args.quarters} quarters, {source.stat().st_size / 1e6:.1f} MB")
    floor, _ = measure("floor", work)
    os.environ["FEEBOOK_CACHE_DIR"] = str(folder / "parse-cache")
    shutil.rmtree(folder / "parse-cache", ignore_errors=True)
    measure("stages", work)
    run, run_peak = measure("run", work)
    if args.units >= 20000:  # the large case: under 15 s and 2 GB
        print(f"  ratio cold run / floor: {run / floor:.2f}×; {run:.1f} s (goal < 15 s); "
              f"peak {run_peak:,.0f} MB (goal < 2,048 MB)")
    else:
        print(f"  ratio cold run / floor: {run / floor:.2f}× (goal ≤ 1.5×, never above 2.5×); "
              f"peak {run_peak:,.0f} MB (goal < 1,024 MB)")
    if args.only == "run":
        return 0
    warm, warm_peak = measure("warm", work)
    print(f"  ratio warm run / floor: {warm / floor:.2f}× (goal ≤ 2.5×); peak {warm_peak:,.0f} MB")
    bill, bill_peak = measure("bill", work)
    print(f"  ratio bill / floor: {bill / floor:.2f}× (goal ≤ 2.5×); peak {bill_peak:,.0f} MB")
    for kind in ("dunning", "commission", "dashboard", "bank_import"):
        seconds, peak = measure(kind, work)
        print(f"  ratio {kind} / floor: {seconds / floor:.2f}× (goal ≤ 2.5×); peak {peak:,.0f} MB")
    letters, letters_peak = measure("letters", work)
    print(f"  1,000 催缴函 + merged file: {letters:.1f} s (goal < 20 s); peak {letters_peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

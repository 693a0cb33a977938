"""Run the hostile-input corpus and the kill-during-save trials; print the counts (issues 8 and 14).

    .venv/bin/python scripts/hostile_report.py [--kills 30] [--keep DIR]

Cases tried (and per defect of issue 14), refusals, 问题 rows, crashes,
tracebacks (a Python traceback or "程序内部错误" on the terminal), silent drops
(cases with a data row neither parsed nor named in 问题) and the rows lost,
misleading results (exit 0 for a workbook that is not fine, figures published
from a workbook that could not be fully read, figures unlike the hand-worked
ones), cases not as expected — all must be 0 except the case counts — and the
outcome of each ``feebook run`` killed with SIGKILL at a random moment (old
file / old file with a temp left mid-write / complete new file / broken — must
be 0).  Exit code 1 if anything is wrong.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import hostile_corpus as hc  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30, help="kill-during-save trials of `run` (default 30)")
    parser.add_argument("--bill-kills", type=int, default=0,
                        help="kill-during-save trials of `bill --period 2027Q1` (appends 应收 rows; default 0)")
    parser.add_argument("--keep", help="folder to keep the generated workbooks in (default: a temp folder)")
    args = parser.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hostile-"))
    folder.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    outcomes = hc.run_corpus(folder / "corpus")
    skipped = [c.name for c in hc.CASES if c not in hc.available_cases()]
    print(f"Hostile corpus ({time.monotonic() - t0:.1f} s):")
    for o in outcomes:
        mark = "ok " if not o.failures else "BAD"
        what = (f"refused, exit {o.exit_code}: {o.stderr.strip().splitlines()[-1] if o.stderr.strip() else ''}"
                if o.unchanged is not None else f"exit {o.exit_code}, 问题 {len(o.problems)} 行")
        case = next(c for c in hc.CASES if c.name == o.case)
        tag = f"{case.defect:>5s}" if case.defect else "     "
        print(f"  [{mark}] {tag} {o.case:40s} {what[:110]}")
        for f in o.failures:
            print(f"        {f[:300]}")
    if skipped:
        print(f"  skipped (LibreOffice missing): {', '.join(skipped)}")
    counts = hc.counts(outcomes)
    for k, v in counts.items():
        print(f"{k:>24}: {v}")
    defects: dict[str, int] = {}
    for c in hc.available_cases():
        if c.defect:
            key = c.defect.rstrip("abcd")
            defects[key] = defects.get(key, 0) + 1
    print(f"{'issue 14 cases':>24}: {sum(defects.values())} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(defects.items(), key=lambda kv: int(kv[0].split('.')[1])))})")

    kills = {"trials": 0, "broken": 0, "failures": []}
    if args.kills:
        from xlwings_addin.demo import build_demo_workbook
        from xlwings_addin.jobs.ledger import apply_to_file, job_bill, load

        book = folder / "kill" / "示例花园_收费大表.xlsx"
        book.parent.mkdir(parents=True, exist_ok=True)
        for period in build_demo_workbook(book, as_of=dt.date(2026, 11, 22)):
            loaded = load(book)
            apply_to_file(loaded, job_bill(loaded.ledger, period))
        t0 = time.monotonic()
        kills = hc.kill_trials(book, folder / "kill" / "trials", trials=args.kills)
        print(f"Kill during save: {kills['trials']} × SIGKILL of `feebook run` on the 300-unit demo "
              f"({time.monotonic() - t0:.1f} s): old file {kills['old']}, old file with a temp left mid-write "
              f"{kills['old_mid_write']}, complete new file {kills['new']}, broken {kills['broken']}")
        for f in kills["failures"]:
            print(f"  {f}")
    if args.bill_kills:
        from xlwings_addin.demo import build_demo_workbook
        from xlwings_addin.jobs.ledger import apply_to_file, job_bill, load

        book = folder / "kill-bill" / "示例花园_收费大表.xlsx"
        book.parent.mkdir(parents=True, exist_ok=True)
        for period in build_demo_workbook(book, as_of=dt.date(2026, 11, 22)):
            loaded = load(book)
            apply_to_file(loaded, job_bill(loaded.ledger, period))
        t0 = time.monotonic()
        bill = hc.kill_trials(book, folder / "kill-bill" / "trials", trials=args.bill_kills, seed=14,
                              command=("bill", "--period", "2027Q1"))
        print(f"Kill during save: {bill['trials']} × SIGKILL of `feebook bill --period 2027Q1` "
              f"({time.monotonic() - t0:.1f} s): old file {bill['old']}, old file with a temp left mid-write "
              f"{bill['old_mid_write']}, complete new file {bill['new']}, broken {bill['broken']}")
        for f in bill["failures"]:
            print(f"  {f}")
        kills["broken"] = kills.get("broken", 0) + bill["broken"]
    bad = (counts["crashes"] or counts["tracebacks"] or counts["data lost (rows)"] or counts["misleading results"]
           or counts["cases not as expected"] or kills["broken"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""``feebook hq`` / ``feebook submit``: 财务管理部's view of every service center (seed 004 steps 3–4).

- hq FOLDER --as-of D --out HQ.xlsx [--quarter Q] [--jobs N] [--parquet DIR] [--threshold 30%]
  reads every center file (``*.xlsx``: workbooks or 报送 files) in worker processes (one per
  core by default), rolls them up and writes 各中心收缴率, 各中心欠费, 复核, 排名, 图表, 各中心佣金.
  Exit 1 when any file could not be read (or had 问题 errors, so no figures), else 0.
- submit WB --out DIR [--as-of D] [--quarter Q] writes the center's compact read-only 报送 file.

pandas is imported only inside :func:`cmd_hq` (through ``jobs.hq_rollup``).
"""
from __future__ import annotations

import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ...jobs.hq import READ, UNREADABLE, center_facts, center_facts_job, write_submission


def threshold_arg(text: str) -> Decimal:
    import argparse

    try:
        text = text.strip()
        value = Decimal(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"阈值“{text}”无效，应为比例如 0.3 或 30%") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("阈值应大于 0")
    return value


def center_files(folder: Path) -> list[Path]:
    """The center files of the folder: ``*.xlsx``, not Excel lock files (~$…), not the HQ output itself."""
    return sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$") and p.is_file())


def collect(files: list[Path], as_of, quarter, jobs: int) -> list[dict]:
    """Run the per-center step over the files: in worker processes (jobs > 1) or in this process."""
    tasks = [(str(p), as_of, quarter) for p in files]
    if jobs <= 1 or len(files) <= 1:
        return [center_facts_job(t) for t in tasks]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
        return list(pool.map(center_facts_job, tasks, chunksize=1))


def cmd_hq(args) -> int:
    from ..cli import UsageError, today
    from ...jobs import hq_rollup

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UsageError(f"文件夹“{folder}”不存在")
    out = Path(args.out)
    if args.parquet:
        try:
            hq_rollup.check_parquet()
        except hq_rollup.ParquetUnavailable as exc:
            raise UsageError(str(exc)) from None
    if args.quarter is not None and not args.quarter.is_quarter:
        raise UsageError("--quarter 应为季度，如 2026Q4")
    files = [p for p in center_files(folder) if p.resolve() != out.resolve()]
    if not files:
        raise UsageError(f"文件夹“{folder}”中没有 .xlsx 文件")
    as_of = args.as_of or today()
    jobs = args.jobs or os.cpu_count() or 1
    facts = collect(files, as_of, args.quarter, jobs)
    tables = hq_rollup.rollup(facts, as_of, args.threshold)
    try:
        hq_rollup.write_hq_workbook(out, tables)
    except OSError as exc:
        print(f"无法写入“{out}”（是否已在 Excel 中打开？）：{exc}", file=sys.stderr)
        return 1
    read = sum(1 for f in facts if f["status"] == READ)
    print(f"已写入：{out}（{len(files)} 个文件，已读取 {read} 个；截至 {as_of:%Y-%m-%d}）")
    totals = tables.rates[tables.rates["服务中心"] == hq_rollup.TOTAL]
    if len(totals):
        last = totals.iloc[-1]
        rate = last["当期收缴率"]
        print(f"{last['期间']} 合计 应收 {last['应收']:,.2f} 元，当期收缴率 "
              + ("—" if rate is None else f"{rate * 100:.2f}%"))
    for center, names in hq_rollup.duplicate_centers(facts).items():
        print(f"注意：服务中心“{center}”出现在 {len(names)} 个文件中（{'、'.join(names)}），合计中重复计入；"
              f"见“复核”表", file=sys.stderr)
    if args.parquet:
        written = hq_rollup.write_parquet(args.parquet, tables)
        print(f"parquet：{len(written)} 个文件写入 {args.parquet}")
    for f in facts:
        if f["status"] != READ:
            label = UNREADABLE if f["status"] == UNREADABLE else f["status"]
            print(f"  {label}：{f['file']} — {f['reason']}", file=sys.stderr)
    return 1 if tables.unreadable else 0


def cmd_submit(args) -> int:
    from ..cli import today

    as_of = args.as_of or today()
    facts = center_facts(args.workbook, as_of, args.quarter)
    if facts["status"] == UNREADABLE:
        print(f"无法处理：{facts['reason']}", file=sys.stderr)
        return 2
    path = write_submission(facts, args.out)
    print(f"已写入报送文件：{path}（{facts['center']}，截至 {as_of:%Y-%m-%d}，只读）")
    if facts["status"] != READ:
        print(f"注意：{facts['reason']}，报送文件不含数字，请先修正问题表中的错误", file=sys.stderr)
        for p in facts["problems"]:
            print(f"  [错误] {p}", file=sys.stderr)
        return 1
    return 0


def register(sub) -> None:
    from ..cli import add_as_of, period_arg

    p = sub.add_parser("hq", help="财务管理部：汇总文件夹中各服务中心的工作簿/报送文件（收缴率、欠费、复核、排名、佣金）")
    p.add_argument("folder", help="各服务中心工作簿（*.xlsx）所在文件夹")
    p.add_argument("--out", required=True, help="输出的汇总工作簿，如 HQ.xlsx")
    p.add_argument("--quarter", type=period_arg, default=None, help="复核、排名、佣金的季度，如 2026Q4（默认截至日期所在期间）")
    p.add_argument("--jobs", type=int, default=None, help="并行进程数（默认每个 CPU 核一个）")
    p.add_argument("--parquet", default=None, help="同时把各表导出为 parquet 到此文件夹（需要 pyarrow）")
    p.add_argument("--threshold", type=threshold_arg, default=Decimal("0.30"),
                   help="复核：本期应收较上期变动超过此比例时提示（默认 30%%）")
    add_as_of(p)
    p.set_defaults(func=cmd_hq)

    p = sub.add_parser("submit", help="报送：把本中心的汇总数字写成只读的报送文件（feebook hq 可直接汇总）")
    p.add_argument("workbook")
    p.add_argument("--out", required=True, help="输出文件夹")
    p.add_argument("--quarter", type=period_arg, default=None, help="佣金的季度，如 2026Q4（默认截至日期所在季度）")
    add_as_of(p)
    p.set_defaults(func=cmd_submit)

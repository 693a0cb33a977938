"""The seed-004 quarterly calendar, run unattended with ``schedule`` (SPEC §3).

============  ==============================================  ======  ===========================
job           when                                            time    writes
============  ==============================================  ======  ===========================
欠费明细      day 25 of a period's first month                07:00   欠费明细/收缴率/问题 (jobs.job_run)
催收任务      every working day (incl. 调休 weekend days)      07:30   催收任务, 挂牌 proposals
短信提醒      day 18 of a period's first month (a statutory   09:00   短信提醒_<date>.csv
              holiday moves it to the next day that is not)
微信对账      every day, when 参数 ``微信账单文件夹`` is set       09:30   对账 (jobs.reconcile)
              (WeChat's bill of a day is ready from 09:00
              the next day)
催收日报      every working day                               18:30   催收日报
============  ==============================================  ======  ===========================

微信对账 reconciles yesterday's WeChat merchant bill: the CSV in the folder
named by 参数 ``微信账单文件夹`` (relative to the workbook's folder) whose name
holds yesterday's date (``2026-11-21`` or ``20261121``) — the merchant
platform's download, saved there by hand or by the platform's own tool.  No
file: the job is skipped (logged).  It posts the 渠道有台账无 rows only when
参数 ``微信对账自动入账`` = 是; a refused bill is a failure (logged).

Every job writes its files into ``<out>/<YYYY-MM-DD>/`` and an 操作日志 row
into the workbook.  A job that would write a workbook open in Excel/WPS/
LibreOffice (lock file) is skipped with a logged warning; any other failure is
logged and the next job still runs (``schedule`` itself does not catch job
exceptions, so every job is wrapped).  ``run_day(…, day)`` runs one day's jobs
(``feebook schedule WB --once --as-of DATE``); :func:`build_scheduler` makes
a private ``schedule.Scheduler()`` for the long-running loop.

The log (``<out>/feebook-scheduler.log``) holds job names, dates, counts and
file names — never an owner's name or phone number.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import schedule

from .gcpause import paused_gc
from ..ledger import schema
from ..jobs.dunning import dunning_changes, job_daily_report, job_sms
from ..engine.holidays import SMS, calendar_problem, day_info, next_contact_day
from ..jobs.ledger import apply_to_file, job_run, load
from ..ledger.periods import period_containing
from ..exchange.sms import sms_file_name, write_sms_csv
from ..workbook.writer import WorkbookLocked, check_not_open, write_new_workbook

JOB_ARREARS, JOB_TASKS, JOB_SMS, JOB_DAILY = "欠费明细", "催收任务", "短信提醒", "催收日报"
JOB_WECHAT = "微信对账"
JOB_ORDER = (JOB_ARREARS, JOB_TASKS, JOB_SMS, JOB_WECHAT, JOB_DAILY)
JOB_TIMES = {JOB_ARREARS: "07:00", JOB_TASKS: "07:30", JOB_SMS: "09:00", JOB_WECHAT: "09:30", JOB_DAILY: "18:30"}
WECHAT_FOLDER_KEY, WECHAT_POST_KEY = "微信账单文件夹", "微信对账自动入账"
SMS_DAY, ARREARS_DAY = 18, 25
LOG_NAME = "feebook-scheduler.log"

log = logging.getLogger("feebook.scheduler")

DONE, SKIPPED, FAILED = "完成", "跳过", "失败"


@dataclass
class JobOutcome:
    job: str
    day: dt.date
    status: str
    message: str = ""
    files: list[Path] = field(default_factory=list)


def jobs_due(day: dt.date, cycle: str = "季度", wechat: bool = False) -> list[str]:
    """The jobs of the calendar that fall on ``day`` (in running order); 微信对账 only with ``wechat``."""
    due = []
    first_month = period_containing(day, cycle).first_month == day.month
    if first_month and day.day == ARREARS_DAY:
        due.append(JOB_ARREARS)
    info = day_info(day)
    if info.workday:
        due.append(JOB_TASKS)
    if first_month and day.day >= SMS_DAY and next_contact_day(day.replace(day=SMS_DAY), SMS) == day:
        due.append(JOB_SMS)
    if wechat:
        due.append(JOB_WECHAT)
    if info.workday:
        due.append(JOB_DAILY)
    return due


def wechat_bill_for(workbook: Path, folder_setting: str, day: dt.date) -> Optional[Path]:
    """The WeChat bill of the day before ``day`` in the configured folder (None when there is none)."""
    folder = Path(folder_setting)
    if not folder.is_absolute():
        folder = Path(workbook).resolve().parent / folder
    bill_day = day - dt.timedelta(days=1)
    stamps = (f"{bill_day:%Y-%m-%d}", f"{bill_day:%Y%m%d}")
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() == ".csv" and any(s in p.name for s in stamps))
    return found[0] if found else None


def dated_folder(out_root: Path, day: dt.date) -> Path:
    return Path(out_root) / f"{day:%Y-%m-%d}"


def _sheet_file(folder: Path, sheet, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_new_workbook(path, [sheet])
    return path


def run_job(job: str, workbook: Path, day: dt.date, out_root: Path) -> JobOutcome:
    """Run one job for ``day``; raises on failure (see :func:`safe_run`)."""
    workbook = Path(workbook)
    try:
        check_not_open(workbook)
    except WorkbookLocked as exc:
        log.warning("%s %s：跳过，工作簿正在被其他程序打开（%s）", job, day, type(exc).__name__)
        return JobOutcome(job, day, SKIPPED, str(exc))
    book = load(workbook)
    folder = dated_folder(out_root, day)
    files: list[Path] = []
    if job == JOB_ARREARS:
        changes = job_run(book.ledger, day)
        apply_to_file(book, changes)
        files.append(_sheet_file(folder, changes.replace[schema.ARREARS], f"欠费明细_{day:%Y-%m-%d}.xlsx"))
    elif job == JOB_TASKS:
        changes, _ = dunning_changes(book.ledger, day)
        apply_to_file(book, changes)
        files.append(_sheet_file(folder, changes.replace[schema.TASKS], f"催收任务_{day:%Y-%m-%d}.xlsx"))
    elif job == JOB_SMS:
        changes, export = job_sms(book.ledger, day)
        apply_to_file(book, changes)
        files.append(write_sms_csv(folder / sms_file_name(day), export))
    elif job == JOB_WECHAT:
        from ..exchange.statements import load_profile as load_statement_profile
        from ..jobs.reconcile import reconcile_file, recorded_keys
        from ..workbook.reader import read_workbook

        settings = book.ledger.settings
        bill = wechat_bill_for(workbook, settings.get(WECHAT_FOLDER_KEY, ""), day)
        if bill is None:
            message = f"未找到 {day - dt.timedelta(days=1)} 的微信账单（{settings.get(WECHAT_FOLDER_KEY, '')}）"
            log.warning("%s %s：跳过，%s", job, day, message)
            return JobOutcome(job, day, SKIPPED, message)
        sheets = read_workbook(workbook, sheets=[schema.RECONCILIATION, schema.PAYMENTS])
        payments = sheets.get(schema.PAYMENTS)
        receipts = []
        if payments is not None and "收据号" in payments.headers:
            col = payments.headers.index("收据号")
            receipts = [str(v[col]).strip() for _n, v in payments.rows if col < len(v) and v[col] is not None]
        changes = reconcile_file(book.ledger, load_statement_profile("wechat", workbook), bill.read_bytes(), day,
                                 recorded=recorded_keys(sheets.get(schema.RECONCILIATION)),
                                 post=settings.get(WECHAT_POST_KEY, "否").strip() == "是",
                                 existing_receipts=receipts)
        if changes.errors:
            raise ValueError(f"微信账单 {bill.name} 未导入：" + "；".join(p.message for p in changes.errors[:3]))
        if changes.writes:
            apply_to_file(book, changes)
    elif job == JOB_DAILY:
        changes = job_daily_report(book.ledger, day)
        apply_to_file(book, changes)
        files.append(_sheet_file(folder, changes.replace[schema.DAILY], f"催收日报_{day:%Y-%m-%d}.xlsx"))
    else:
        raise ValueError(f"unknown job {job}")
    message = "；".join(changes.summary)
    log.info("%s %s：完成，%s 条记录，文件 %s", job, day, (changes.audit[0].get("数量") if changes.audit else 0),
             ", ".join(f.name for f in files))
    return JobOutcome(job, day, DONE, message, files)


def safe_run(job: str, workbook: Path, day: dt.date, out_root: Path) -> JobOutcome:
    """:func:`run_job` that never raises: a locked workbook is a skip, anything else a logged failure."""
    try:
        return run_job(job, workbook, day, out_root)
    except WorkbookLocked as exc:
        log.warning("%s %s：跳过，工作簿正在被其他程序打开（%s）", job, day, type(exc).__name__)
        return JobOutcome(job, day, SKIPPED, str(exc))
    except Exception as exc:  # noqa: BLE001 — one failing job must not stop the others
        log.error("%s %s：失败（%s: %s）", job, day, type(exc).__name__, exc, exc_info=True)
        return JobOutcome(job, day, FAILED, f"{type(exc).__name__}: {exc}")


def run_day(workbook, day: dt.date, out_root, cycle: Optional[str] = None,
            wechat: Optional[bool] = None) -> list[JobOutcome]:
    """Every job due on ``day``, each wrapped; returns their outcomes."""
    workbook, out_root = Path(workbook), Path(out_root)
    if cycle is None or wechat is None:
        try:
            settings = load(workbook).ledger.settings
        except Exception as exc:  # noqa: BLE001
            log.error("读取工作簿失败（%s: %s）", type(exc).__name__, exc)
            return [JobOutcome("读取工作簿", day, FAILED, f"{type(exc).__name__}: {exc}")]
        cycle = cycle or settings.cycle
        wechat = bool(settings.get(WECHAT_FOLDER_KEY, "").strip()) if wechat is None else wechat
    problem = calendar_problem(day)
    if problem:
        log.warning("%s", problem.message)
    due = jobs_due(day, cycle, wechat)
    log.info("%s（%s）应运行：%s", day, day_info(day).label, "、".join(due) or "无")
    with paused_gc():
        return [safe_run(job, workbook, day, out_root) for job in due]


def build_scheduler(workbook, out_root, clock: Callable[[], dt.date] = dt.date.today,
                    cycle: str = "季度", wechat: Optional[bool] = None) -> schedule.Scheduler:
    """A private scheduler: each job at its time every day, running only on the days it is due.

    ``wechat`` None: 微信对账 is scheduled when the workbook's 参数 names a 微信账单文件夹.
    """
    scheduler = schedule.Scheduler()
    if wechat is None:
        try:
            wechat = bool(load(workbook).ledger.settings.get(WECHAT_FOLDER_KEY, "").strip())
        except Exception:  # noqa: BLE001 — no readable workbook yet: the job is not scheduled
            wechat = False

    def make(job: str):
        def run():
            try:
                day = clock()
                if job in jobs_due(day, cycle, wechat):
                    safe_run(job, Path(workbook), day, Path(out_root))
            except Exception as exc:  # noqa: BLE001 — never let the loop die
                log.error("%s：调度失败（%s: %s）", job, type(exc).__name__, exc, exc_info=True)
        run.__name__ = f"job_{JOB_ORDER.index(job)}"
        return run

    for job in JOB_ORDER:
        if job == JOB_WECHAT and not wechat:
            continue
        scheduler.every().day.at(JOB_TIMES[job]).do(make(job)).tag(job)
    return scheduler


def run_forever(scheduler: schedule.Scheduler, poll_seconds: float = 30.0,
                should_stop: Callable[[], bool] = lambda: False) -> None:
    while not should_stop():
        try:
            scheduler.run_pending()
        except Exception as exc:  # noqa: BLE001
            log.error("调度循环出错（%s: %s），继续运行", type(exc).__name__, exc, exc_info=True)
        time.sleep(poll_seconds)


class log_to:
    """Context manager: scheduler log lines also go to ``<out>/feebook-scheduler.log`` and stderr."""

    def __init__(self, out_root, stream=None):
        self.path = Path(out_root) / LOG_NAME
        self.stream = stream
        self.handlers: list[logging.Handler] = []

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
        file_handler = logging.FileHandler(self.path, encoding="utf-8")
        self.handlers.append(file_handler)
        if self.stream is not None:
            self.handlers.append(logging.StreamHandler(self.stream))
        for h in self.handlers:
            h.setFormatter(fmt)
            log.addHandler(h)
        log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        for h in self.handlers:
            log.removeHandler(h)
            h.close()

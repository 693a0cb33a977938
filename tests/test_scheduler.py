"""The seed-004 calendar: which jobs run on which day, --once, failures, locked workbooks, no personal data in logs."""
from __future__ import annotations

import datetime as dt

import schedule

from xlwings_addin.faces import scheduler as sch
from xlwings_addin.faces.cli import main
from xlwings_addin.jobs.ledger import load
from xlwings_addin.workbook.reader import read_workbook

D = dt.date


def test_calendar_of_jobs():
    # 2026-10-18 is a Sunday in the quarter's first month: only the SMS export
    assert sch.jobs_due(D(2026, 10, 18)) == ["短信提醒"]
    # 2026-10-25 is a Sunday: 欠费明细 (after the bank 回盘), no working-day jobs
    assert sch.jobs_due(D(2026, 10, 25)) == ["欠费明细"]
    # 2026-10-10 is a 调休 Saturday: a working day
    assert sch.jobs_due(D(2026, 10, 10)) == ["催收任务", "催收日报"]
    # National Day: nothing
    assert sch.jobs_due(D(2026, 10, 1)) == []
    # 2026-11-18 (Wednesday) is not in a quarter's first month: only the daily jobs
    assert sch.jobs_due(D(2026, 11, 18)) == ["催收任务", "催收日报"]
    # monthly billing: every month is a period's first month
    assert sch.jobs_due(D(2026, 11, 18), cycle="月") == ["催收任务", "短信提醒", "催收日报"]
    # 2026-01-19 Monday after a Sunday 18th: the SMS ran on the 18th, not again
    assert sch.jobs_due(D(2026, 1, 19)) == ["催收任务", "催收日报"]


def _sheet_rows(path, name):
    book = read_workbook(path)
    return [row for _n, row in book[name].rows] if name in book else []


def test_schedule_once_on_the_18th_makes_the_sms_file_and_nothing_else(demo_copy, tmp_path, capsys):
    out = tmp_path / "out"
    before_tasks = _sheet_rows(demo_copy, "催收任务")
    before_daily = _sheet_rows(demo_copy, "催收日报")
    before_arrears = _sheet_rows(demo_copy, "欠费明细")
    before_audit = _sheet_rows(demo_copy, "操作日志")
    rc = main(["schedule", str(demo_copy), "--once", "--as-of", "2026-10-18", "--out", str(out)])
    assert rc == 0
    folder = out / "2026-10-18"
    assert [p.name for p in folder.iterdir()] == ["短信提醒_2026-10-18.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["2026-10-18", "feebook-scheduler.log"]
    text = (folder / "短信提醒_2026-10-18.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and text.count(b"\n") > 10
    assert _sheet_rows(demo_copy, "催收任务") == before_tasks
    assert _sheet_rows(demo_copy, "催收日报") == before_daily
    assert _sheet_rows(demo_copy, "欠费明细") == before_arrears
    audit = _sheet_rows(demo_copy, "操作日志")
    assert len(audit) == len(before_audit) + 1 and "导出短信提醒 2026-10-18" in audit[-1]

    # nothing personal in the log file or in 操作日志
    ledger = load(demo_copy).ledger
    log_text = (out / "feebook-scheduler.log").read_text(encoding="utf-8")
    audit_text = " ".join(str(c) for row in audit for c in row)
    for u in ledger.units:
        for secret in (u.mobile, u.owner):
            if secret and len(secret) >= 2:
                assert secret not in log_text and secret not in audit_text, "personal data leaked"


def test_a_working_day_writes_tasks_and_daily_report_into_the_dated_folder(demo_copy, tmp_path):
    out = tmp_path / "out"
    outcomes = sch.run_day(demo_copy, D(2026, 10, 10), out)
    assert [(o.job, o.status) for o in outcomes] == [("催收任务", "完成"), ("催收日报", "完成")]
    assert sorted(p.name for p in (out / "2026-10-10").iterdir()) == ["催收任务_2026-10-10.xlsx",
                                                                    "催收日报_2026-10-10.xlsx"]
    tasks = _sheet_rows(demo_copy, "催收任务")
    assert len(tasks) > 20 and tasks[0][0]
    daily = _sheet_rows(demo_copy, "催收日报")
    assert daily[0][1] == "今日收款合计"


def test_one_failing_job_is_logged_and_the_next_still_runs(demo_copy, tmp_path, monkeypatch):
    real = sch.run_job

    def flaky(job, *a, **kw):
        if job == "催收任务":
            raise RuntimeError("模拟故障")
        return real(job, *a, **kw)

    monkeypatch.setattr(sch, "run_job", flaky)
    out = tmp_path / "out"
    with sch.log_to(out):
        outcomes = sch.run_day(demo_copy, D(2026, 10, 12), out)
    assert [(o.job, o.status) for o in outcomes] == [("催收任务", "失败"), ("催收日报", "完成")]
    log_text = (out / sch.LOG_NAME).read_text(encoding="utf-8")
    assert "催收任务 2026-10-12：失败（RuntimeError: 模拟故障）" in log_text
    assert "催收日报 2026-10-12：完成" in log_text


def test_a_workbook_open_in_excel_is_skipped_with_a_warning(demo_copy, tmp_path):
    lock = demo_copy.with_name("~$" + demo_copy.name)
    lock.write_text("x")
    out = tmp_path / "out"
    with sch.log_to(out):
        outcomes = sch.run_day(demo_copy, D(2026, 10, 25), out)
    assert [(o.job, o.status) for o in outcomes] == [("欠费明细", "跳过")]
    assert "跳过" in (out / sch.LOG_NAME).read_text(encoding="utf-8")
    assert not (out / "2026-10-25").exists()
    rc = main(["schedule", str(demo_copy), "--once", "--as-of", "2026-10-25", "--out", str(out)])
    assert rc == 1  # issue 14: every due job skipped for the lock means nothing was done — not a success


def test_scheduler_uses_its_own_instance_and_survives_exceptions(tmp_path, monkeypatch):
    calls = []

    def fake_safe_run(job, workbook, day, out):
        calls.append((job, day))
        if job == "短信提醒":
            raise RuntimeError("boom")

    monkeypatch.setattr(sch, "safe_run", fake_safe_run)
    s = sch.build_scheduler(tmp_path / "x.xlsx", tmp_path / "out", clock=lambda: D(2026, 10, 18))
    assert isinstance(s, schedule.Scheduler) and s is not schedule.default_scheduler
    assert len(s.get_jobs()) == 4 and not schedule.get_jobs()
    s.run_all()  # every job runs its check; the raising one does not stop the loop
    assert calls == [("短信提醒", D(2026, 10, 18))]

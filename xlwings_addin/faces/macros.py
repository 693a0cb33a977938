"""Ribbon macros of the 收费管理 tab: each reads the open workbook, calls the same job as the CLI, writes through Excel.

Every macro is ``def name(book=None, as_of=None)`` — the ribbon calls it with no
argument (``RunPython "import xlwings_addin.faces.macros as m; m.bill()"``) and it acts
on ``xw.Book.caller()``; tests pass a book (an in-memory fake, or
``xw.Book(json=...)``) and a fixed ``as_of``.  The shape is always:

    read (live face) → the CLI's job function → apply_changes (through Excel) → files → message box

* progress in Excel's status bar (``book.app.status_bar``), reset at the end;
* a short message box at the end (``book.app.alert``), the lines also returned
  as :class:`MacroResult` for tests;
* files (letters, SMS CSV, 托收盘, receipts, the report) go to
  ``<workbook folder>/输出/<as_of>/`` — never the workbook file itself, which
  Excel holds open: the workbook changes go through Excel (:func:`apply_changes`).

Questions to the user (a period, an amount, a file) go through two small hooks,
:func:`ask_text` and :func:`ask_open_filename`, which use Excel's InputBox /
GetOpenFilename on Windows and return the default (or None) elsewhere; tests
replace them.
"""
from __future__ import annotations

import datetime as dt
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .gcpause import paused_gc
from ..ledger import schema
from ..jobs.ledger import Changes, job_bill, job_check, job_run, problems_sheet
from ..ledger.periods import Period, PeriodError, period_containing
from ..ledger.records import Ledger
from ..workbook.live import apply_changes, current_user, read_book, read_sheet
from ..workbook.parse import clean_room, clean_text, parse_ledger
from ..workbook.reader import WorkbookError
from ..workbook.writer import publish_with_record

TITLE = "收费管理"
OUTPUT_DIR = "输出"
SELECTABLE = (schema.ARREARS, schema.TASKS)  # sheets whose selected rows pick the units for letters


class Cancelled(Exception):
    """The user cancelled a question; nothing was written."""


@dataclass
class MacroResult:
    title: str
    lines: list = field(default_factory=list)
    files: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    ok: bool = True

    @property
    def message(self) -> str:
        lines = [str(x) for x in self.lines]
        shown = lines[:18] + ([f"……（另有 {len(lines) - 18} 行）"] if len(lines) > 18 else [])
        return "\n".join(shown)


# --------------------------------------------------------------------------- hooks (tests replace these)


def today() -> dt.date:
    return dt.date.today()


def ask_text(book, prompt: str, default: str) -> Optional[str]:
    """Excel's InputBox on Windows (None when cancelled); elsewhere the default."""
    if sys.platform != "win32":
        return default
    try:
        value = book.app.api.InputBox(prompt, TITLE, default)
    except Exception:
        return default
    if value is False or value == "False":
        return None
    return str(value)


def ask_open_filename(book, title: str, file_filter: str = "所有文件 (*.*),*.*") -> Optional[str]:
    """Excel's file dialog on Windows (None when cancelled or not available)."""
    if sys.platform != "win32":
        return None
    try:
        import xlwings as xw

        result = xw.apps.active.api.GetOpenFilename(file_filter, 1, title)
    except Exception:
        return None
    if result in (False, None, "False"):
        return None
    return str(result)


# --------------------------------------------------------------------------- the frame every macro runs in


class Session:
    """One click: the book, the day, the output folder, progress and the final message."""

    def __init__(self, book, title: str, as_of: Optional[dt.date]):
        if book is None:
            import xlwings as xw

            book = xw.Book.caller()
        self.book = book
        self.title = title
        self.as_of = as_of or today()
        self.result = MacroResult(title)
        self._ledger: Optional[Ledger] = None

    # -- Excel UI, each guarded: the Server route and the test fake lack some of it
    def status(self, text) -> None:
        try:
            self.book.app.status_bar = f"{TITLE} · {self.title}：{text}" if text else False
        except Exception:
            pass

    def alert(self) -> None:
        try:
            self.book.app.alert(self.result.message or "完成", title=f"{TITLE} · {self.title}")
        except Exception:
            pass

    # -- reading and writing
    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self.status("读取工作簿…")
            self._ledger = parse_ledger(read_book(self.book))
        return self._ledger

    def raw(self, sheet: str):
        for s in self.book.sheets:
            if s.name == sheet:
                return read_sheet(s)
        return None

    def apply(self, changes: Changes) -> None:
        self.result.changes.append(changes)
        self.status("写入工作簿…")
        app = getattr(self.book, "app", None)
        try:
            app.screen_updating = False
        except Exception:
            pass
        try:
            apply_changes(self.book, changes)
        finally:
            try:
                app.screen_updating = True
            except Exception:
                pass

    def report(self, changes: Changes) -> None:
        """The job's summary and its problems (counts and the first errors, with sheet and cell)."""
        self.result.lines.extend(changes.summary)
        errors = changes.errors
        if changes.problems:
            self.result.lines.append(f"问题：{len(errors)} 个错误，{len(changes.problems) - len(errors)} 个警告"
                                     f"（详见“问题”工作表）")
            for p in errors[:3]:
                self.result.lines.append(f"  {p.sheet}!{p.cell} {p.message}")
        if errors:
            self.result.ok = False

    @property
    def out_dir(self) -> Path:
        """<workbook folder>/输出/<as_of>/ (the home folder when the book has no folder, e.g. never saved)."""
        full = Path(str(getattr(self.book, "fullname", "") or ""))
        base = full.parent if full.is_absolute() else Path.home() / "收费管理"
        path = base / OUTPUT_DIR / f"{self.as_of:%Y-%m-%d}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def workbook_path(self) -> Optional[Path]:
        full = Path(str(getattr(self.book, "fullname", "") or ""))
        return full if full.is_absolute() else None

    def file(self, path: Path) -> None:
        self.result.files.append(Path(path))
        self.result.lines.append(f"文件：{path}")

    def ask(self, prompt: str, default: str) -> str:
        value = ask_text(self.book, prompt, default)
        if value is None:
            raise Cancelled()
        return value.strip() or default

    def ask_period(self, prompt: str, default: Period) -> Period:
        text = self.ask(prompt, str(default))
        try:
            return Period.parse(text)
        except (PeriodError, ValueError):
            raise WorkbookError(f"期间“{text}”无效，应如 2026Q4 或 2026-10") from None

    # -- selection
    def selected_rooms(self, sheets=SELECTABLE) -> Optional[list[str]]:
        """房号 of the selected rows when the selection is on one of ``sheets`` (None = no such selection)."""
        try:
            sel = self.book.selection
            sheet = sel.sheet
            first, count = sel.row, sel.shape[0]
        except Exception:
            return None
        if sel is None or sheet.name not in sheets:
            return None
        raw = read_sheet(sheet)
        if "房号" not in raw.headers:
            return None
        col = raw.headers.index("房号")
        wanted = set(range(first, first + count))
        rooms = [clean_room(values[col]) for number, values in raw.rows
                 if number in wanted and values[col] is not None]
        rooms = [r for r in dict.fromkeys(rooms) if r and r not in ("合计", "开发商持有合计")]
        return rooms or None


def _run(title: str, book, as_of, body: Callable[[Session], None]) -> MacroResult:
    s = Session(book, title, as_of)
    try:
        with paused_gc():
            body(s)
    except Cancelled:
        s.result.lines = ["已取消，工作簿未改动。"]
        s.result.ok = False
    except WorkbookError as exc:
        s.result.lines.append(f"无法完成：{exc}")
        s.result.ok = False
    except Exception as exc:  # a bug: still a short message, the details in a log next to the outputs
        s.result.ok = False
        s.result.lines.append(f"{title}出错：{type(exc).__name__}: {exc}")
        try:
            log = s.out_dir / "错误日志.txt"
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {title}\n{traceback.format_exc()}\n")
            s.result.lines.append(f"详细信息：{log}")
        except OSError:
            pass
    finally:
        s.status(None)
    s.alert()
    return s.result


def _not_installed(s: Session, feature: str, exc: ImportError) -> None:
    s.result.ok = False
    s.result.lines.append(f"“{feature}”功能未安装（{exc.name or exc}），请更新 feebook 后再试。")


# --------------------------------------------------------------------------- 计费


def bill(book=None, as_of=None) -> MacroResult:
    """计费: the period's charges into 应收 (``feebook bill``); asks for the period (default: this one)."""
    def body(s: Session):
        period = s.ask_period("计费期间（如 2026Q4 或 2026-10）：",
                              period_containing(s.as_of, s.ledger.settings.cycle))
        s.status(f"计费 {period}…")
        changes = job_bill(s.ledger, period, s.as_of)
        s.apply(changes)
        s.report(changes)
    return _run("计费", book, as_of, body)


def refresh_arrears(book=None, as_of=None) -> MacroResult:
    """刷新欠费: 欠费明细, 收缴率, 问题 as of today (``feebook run``)."""
    def body(s: Session):
        s.status("冲抵收款、计算违约金…")
        changes = job_run(s.ledger, s.as_of)
        s.apply(changes)
        s.report(changes)
    return _run("刷新欠费", book, as_of, body)


def check(book=None, as_of=None) -> MacroResult:
    """校验: the input problems (``feebook check``), listed on the 问题 sheet."""
    def body(s: Session):
        changes = job_check(s.ledger)
        changes.replace[schema.PROBLEMS] = problems_sheet(changes.problems)
        s.apply(changes)
        s.report(changes)
    return _run("校验", book, as_of, body)


# --------------------------------------------------------------------------- 催收


def dunning_tasks(book=None, as_of=None) -> MacroResult:
    """催收任务: today's work list and 挂牌 proposals (``feebook dunning``)."""
    def body(s: Session):
        try:
            from ..jobs.dunning import job_dunning
        except ImportError as exc:
            return _not_installed(s, "催收任务", exc)
        s.status("生成催收任务…")
        changes = job_dunning(s.ledger, s.as_of)
        s.apply(changes)
        s.report(changes)
    return _run("催收任务", book, as_of, body)


def export_sms(book=None, as_of=None) -> MacroResult:
    """导出短信: the SMS reminder CSV (``feebook export sms``) into the output folder."""
    def body(s: Session):
        try:
            from ..jobs.dunning import job_sms
            from ..exchange.sms import sms_file_name, write_sms_csv
        except ImportError as exc:
            return _not_installed(s, "导出短信", exc)
        s.status("整理短信提醒…")
        changes, export = job_sms(s.ledger, s.as_of)
        s.apply(changes)
        path = write_sms_csv(s.out_dir / sms_file_name(s.as_of), export)
        s.report(changes)
        s.file(path)
    return _run("导出短信", book, as_of, body)


# --------------------------------------------------------------------------- 文书


def _letters(s: Session, kind: str, period: Optional[Period]) -> None:
    try:
        from .commands.letters import job_letters
    except ImportError as exc:
        return _not_installed(s, kind, exc)
    rooms = s.selected_rooms()
    scope = f"选中的 {len(rooms)} 户" if rooms else "全部房屋"
    s.status(f"生成{kind}（{scope}）…")
    changes, result = job_letters(s.ledger, kind, s.as_of, s.out_dir / kind, period=period, rooms=rooms,
                                  operator=current_user(), progress=False, workbook=s.workbook_path())
    if changes.writes:
        s.apply(changes)
    s.result.lines.append(f"范围：{scope}")
    s.report(changes)
    s.result.files.extend(Path(p) for _room, p in result.files)
    if result.merged:
        s.result.files.append(Path(result.merged))
    s.result.lines.append(f"文件夹：{s.out_dir / kind}"
                          + (f"（合并打印：{Path(result.merged).name}）" if result.merged else ""))


def fee_notices(book=None, as_of=None) -> MacroResult:
    """生成收费通知单 for the selected rows of 欠费明细/催收任务, or for every unit (``feebook letters --kind 收费通知单``)."""
    def body(s: Session):
        _letters(s, "收费通知单", period_containing(s.as_of, s.ledger.settings.cycle))
    return _run("生成收费通知单", book, as_of, body)


def dunning_notices(book=None, as_of=None) -> MacroResult:
    """生成催费通知单 for the selected rows of 欠费明细/催收任务, or every owing unit; logged in 催缴记录."""
    def body(s: Session):
        _letters(s, "催费通知单", None)
    return _run("生成催费通知单", book, as_of, body)


# --------------------------------------------------------------------------- 银行


def _receipt_numbers(s: Session) -> list[str]:
    """Every 收据号 typed in 收款, including rows the parser skips (as ``feebook receive`` reads them)."""
    raw = s.raw(schema.PAYMENTS)
    if raw is None or "收据号" not in raw.headers:
        return []
    col = raw.headers.index("收据号")
    return [clean_text(v[col]) for _n, v in raw.rows if col < len(v) and v[col] is not None]


def _profile(s: Session):
    from ..jobs.bank import ProfileError, load_profile

    name = s.ask("银行方案（bank_profiles 文件夹中的方案名，如 csv_gbk、fixed_gbk）：", "csv_gbk")
    try:
        return load_profile(name, s.workbook_path())
    except ProfileError as exc:
        raise WorkbookError(str(exc)) from None


def bank_export(book=None, as_of=None) -> MacroResult:
    """导出托收盘 (``feebook bank export``): the bank file into the output folder, the batch into the workbook."""
    def body(s: Session):
        try:
            from ..jobs.bank import export_batch
        except ImportError as exc:
            return _not_installed(s, "导出托收盘", exc)
        profile = _profile(s)
        period = s.ask_period("托收期间（含此前各期欠费）：", period_containing(s.as_of, s.ledger.settings.cycle))
        s.status("生成托收盘…")
        data, changes = export_batch(s.ledger, period, profile, s.as_of)
        if not data:
            if changes.writes:
                s.apply(changes)
            s.report(changes)
            return
        batch_id = changes.replace[schema.BANK_BATCHES].rows[-1][0]
        target = s.out_dir / f"托收盘_{batch_id}_{profile.id}{profile.suffix}"
        if target.exists():
            raise WorkbookError(f"文件“{target}”已存在，未覆盖")
        # the file first, then the batch (bills locked), then the file appears
        publish_with_record(target, lambda tmp: tmp.write_bytes(data), lambda: s.apply(changes))
        s.report(changes)
        s.file(target)
    return _run("导出托收盘", book, as_of, body)


def bank_import(book=None, as_of=None) -> MacroResult:
    """导入回盘 (``feebook bank import``): pick the bank's return file; successes become 收款 rows."""
    def body(s: Session):
        try:
            from ..jobs.bank import import_return
        except ImportError as exc:
            return _not_installed(s, "导入回盘", exc)
        chosen = ask_open_filename(s.book, "选择银行回盘文件")
        if not chosen:
            raise Cancelled()
        profile = _profile(s)
        try:
            data = Path(chosen).read_bytes()
        except OSError as exc:
            raise WorkbookError(f"无法读取回盘文件“{chosen}”：{exc.strerror or exc}") from None
        s.status("核对回盘…")
        changes = import_return(s.ledger, data, profile, s.as_of, existing_receipts=_receipt_numbers(s))
        if changes.writes:
            s.apply(changes)
        s.result.lines.append(f"回盘文件：{Path(chosen).name}")
        s.report(changes)
    return _run("导入回盘", book, as_of, body)


def receive_selected(book=None, as_of=None) -> MacroResult:
    """收款登记 (``feebook receive``) for the unit of the selected row (欠费明细, 催收任务 or 房屋).

    Asks for the amount (default: what the unit owes) and the channel (default
    现金); appends the 收款 row and writes the receipt (.docx) to the output folder.
    """
    def body(s: Session):
        try:
            from ..engine.aging import arrears_of
            from ..engine.allocation import allocate
            from ..documents.receipt import render_receipt
            from ..jobs.receipts import FRONT_DESK_CHANNELS, receive
        except ImportError as exc:
            return _not_installed(s, "收款登记", exc)
        rooms = s.selected_rooms(SELECTABLE + (schema.UNITS,))
        if not rooms or len(rooms) != 1:
            raise WorkbookError("请先在“欠费明细”“催收任务”或“房屋”表中选中一户所在的行，再点“收款登记”")
        room = rooms[0]
        unit = s.ledger.unit_by_room().get(room)
        owed = ""
        if unit is not None:
            line = arrears_of(unit, allocate(s.ledger, s.as_of).accounts[room], s.as_of)
            owed = f"{line.total:.2f}" if line is not None and line.total > 0 else ""
        amount = s.ask(f"{room} 收款金额（元）：", owed)
        channel = s.ask(f"收款渠道（{'/'.join(FRONT_DESK_CHANNELS)}）：", FRONT_DESK_CHANNELS[0])
        if channel not in FRONT_DESK_CHANNELS:
            raise WorkbookError(f"收款渠道“{channel}”无效，可选：{'、'.join(FRONT_DESK_CHANNELS)}")
        raw = s.raw(schema.PAYMENTS)
        changes, context = receive(s.ledger, room, amount, channel, s.as_of, operator=current_user(),
                                   existing_receipts=_receipt_numbers(s),
                                   new_row=max((n for n, _v in raw.rows), default=1) + 1 if raw else None,
                                   headers=[str(h or "") for h in raw.headers] if raw else ())
        if context is None:
            s.report(changes)
            s.result.ok = False
            return
        s.apply(changes)
        s.report(changes)
        try:
            s.file(render_receipt(context, s.out_dir / "收据", workbook=s.workbook_path()))
        except OSError as exc:  # the payment is recorded; the print can be redone
            s.result.lines.append(f"收款已记录，但收据文件未生成：{exc}")
    return _run("收款登记", book, as_of, body)


# --------------------------------------------------------------------------- 对账与开票 (issue 17)


def reconcile_statement(book=None, as_of=None) -> MacroResult:
    """渠道对账 (``feebook reconcile``): pick a WeChat/Alipay/bank statement; 对账 rows, optionally 收款 rows."""
    def body(s: Session):
        try:
            from ..exchange.statements import StatementProfileError, load_profile
            from ..jobs.reconcile import reconcile_file, recorded_keys
            from .commands.reconcile import SOURCES
        except ImportError as exc:
            return _not_installed(s, "渠道对账", exc)
        chosen = ask_open_filename(s.book, "选择微信/支付宝/银行对账单", "对账单 (*.csv;*.zip;*.txt),*.csv;*.zip;*.txt")
        if not chosen:
            raise Cancelled()
        source = s.ask("对账单来源（wechat、alipay 或 bank:方案名）：",
                       "alipay" if chosen.lower().endswith(".zip") else "wechat")
        name = source.split(":", 1)[1].strip() if source.lower().startswith(("bank:", "银行:")) else \
            SOURCES.get(source.lower(), SOURCES.get(source, ""))
        if not name:
            raise WorkbookError(f"对账单来源“{source}”无效，应为 wechat、alipay 或 bank:方案名")
        try:
            profile = load_profile(name, s.workbook_path())
        except StatementProfileError as exc:
            raise WorkbookError(str(exc)) from None
        post = s.ask("把“渠道有台账无”且能识别房号的款项记入收款表？（是/否）：", "否") == "是"
        try:
            data = Path(chosen).read_bytes()
        except OSError as exc:
            raise WorkbookError(f"无法读取对账单“{chosen}”：{exc.strerror or exc}") from None
        s.status("核对对账单…")
        changes = reconcile_file(s.ledger, profile, data, s.as_of, recorded=recorded_keys(s.raw(schema.RECONCILIATION)),
                                 post=post, existing_receipts=_receipt_numbers(s))
        if changes.writes:
            s.apply(changes)
        s.result.lines.append(f"对账单：{Path(chosen).name}")
        s.report(changes)
    return _run("渠道对账", book, as_of, body)


def invoice_export(book=None, as_of=None) -> MacroResult:
    """数电票开票 (``feebook invoice``): the 批量开票 import file for a date range into the output folder."""
    def body(s: Session):
        try:
            from ..jobs.invoice import export_invoices, file_name, import_sheets
            from ..ledger.periods import parse_date
            from ..workbook.writer import write_new_workbook
        except ImportError as exc:
            return _not_installed(s, "数电票开票", exc)
        dates = []
        for prompt, default in (("收款日期起（YYYY-MM-DD）：", s.as_of.replace(day=1)), ("收款日期止（YYYY-MM-DD）：", s.as_of)):
            text = s.ask(prompt, f"{default:%Y-%m-%d}")
            try:
                dates.append(parse_date(text))
            except (PeriodError, ValueError):
                raise WorkbookError(f"日期“{text}”无效，应如 2026-11-30") from None
        start, end = dates
        raw = {name: sheet for name in (schema.ITEMS, schema.INVOICING) for sheet in [s.raw(name)] if sheet is not None}
        s.status("整理开票数据…")
        result, changes = export_invoices(s.ledger, start, end, s.as_of, raw)
        if result is None:
            if changes.writes:
                s.apply(changes)
            s.report(changes)
            return
        target = s.out_dir / file_name(start, end, result)
        if target.exists():
            raise WorkbookError(f"文件“{target}”已存在，未覆盖")
        # the file first, then 开票, then the file appears
        publish_with_record(target, lambda tmp: write_new_workbook(tmp, import_sheets(result)),
                            lambda: s.apply(changes))
        s.report(changes)
        s.file(target)
    return _run("数电票开票", book, as_of, body)


# --------------------------------------------------------------------------- 报表


def commission(book=None, as_of=None) -> MacroResult:
    """计算佣金 (``feebook commission``): the 佣金 sheet for this quarter."""
    def body(s: Session):
        try:
            from .commands.reports import job_commission
        except ImportError as exc:
            return _not_installed(s, "计算佣金", exc)
        s.status("计算佣金…")
        changes = job_commission(s.ledger, period_containing(s.as_of, "季度"), s.as_of)
        s.apply(changes)
        s.report(changes)
    return _run("计算佣金", book, as_of, body)


def summary_report(book=None, as_of=None) -> MacroResult:
    """生成总结报告 (``feebook report``): the quarter's 催收总结报告 (.docx) into the output folder."""
    def body(s: Session):
        try:
            from ..documents.report import render_report
        except ImportError as exc:
            return _not_installed(s, "生成总结报告", exc)
        quarter = period_containing(s.as_of, "季度")
        s.status(f"生成 {quarter} 催收总结报告…")
        result = render_report(s.ledger, quarter, s.as_of, s.out_dir, workbook=s.workbook_path())
        s.result.lines.extend(result.summary)
        s.file(result.docx)
    return _run("生成总结报告", book, as_of, body)


# ribbon button id (customUI14.xml) → macro.  The add-in's one VBA callback (RibbonMyAddin.Ribbon) runs
# ``ribbon(control.Id)``: a new button is a <button id=…> in customUI14.xml plus one entry here.
BUTTONS: dict[str, Callable[..., MacroResult]] = {
    "btnBill": bill, "btnRun": refresh_arrears, "btnCheck": check,
    "btnDunning": dunning_tasks, "btnSms": export_sms,
    "btnFeeNotices": fee_notices, "btnDunningNotices": dunning_notices,
    "btnBankExport": bank_export, "btnBankImport": bank_import, "btnReceive": receive_selected,
    "btnCommission": commission, "btnReport": summary_report,
    "btnReconcile": reconcile_statement, "btnInvoice": invoice_export,
}

# ribbon button label → macro (the wiring test checks labels and ids against customUI14.xml)
RIBBON = {
    "计费": bill, "刷新欠费": refresh_arrears, "校验": check,
    "催收任务": dunning_tasks, "导出短信": export_sms,
    "生成收费通知单": fee_notices, "生成催费通知单": dunning_notices,
    "导出托收盘": bank_export, "导入回盘": bank_import, "收款登记": receive_selected,
    "计算佣金": commission, "生成总结报告": summary_report,
    "渠道对账": reconcile_statement, "数电票开票": invoice_export,
}


def ribbon(control_id: str, book=None, as_of=None) -> Optional[MacroResult]:
    """What every ribbon button runs (through RunPython): the macro of ``BUTTONS[control_id]``."""
    macro = BUTTONS.get(str(control_id))
    if macro is None:  # a button in the ribbon XML without a Python function: say so, do not crash
        try:
            import xlwings as xw

            target = book or xw.Book.caller()
            target.app.alert(f"按钮“{control_id}”还没有对应的功能，请更新 feebook。", title="收费管理",
                             buttons="ok", mode="critical")
        except Exception:
            pass
        return None
    return macro(book, as_of)


__all__ = ["MacroResult", "ask_open_filename", "ask_text", "today", "ribbon", *[f.__name__ for f in RIBBON.values()]]

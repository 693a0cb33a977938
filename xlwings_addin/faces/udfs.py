"""Worksheet functions (xlwings UDFs) of the 收费管理 add-in — each a few lines over the engine.

In Excel (Windows, xlwings): ``=FB_LATEFEE(1200, DATE(2026,1,25), DATE(2026,3,1))`` → 12.60.
The docstring is the tooltip Excel shows; ``HELP`` below carries the same text
for the add-in build (function wizard descriptions, see scripts/build_addin.py).

Every function is plain Python too (on Linux ``xw.func`` is a no-op; on
Windows it only attaches metadata), so tests call them directly.

Errors are Excel errors, never text and never a traceback: a bad argument
gives ``#VALUE!``, something looked up and not found (a 房号, a 范围, a tier)
gives ``#N/A`` — so ``SUM`` over them fails loudly instead of skipping them.
Python returns a :class:`CellError` (the text ``#VALUE!`` / ``#N/A``); the
add-in's VBA wrapper turns it into ``CVErr(xlErrValue)`` / ``CVErr(xlErrNA)``.
The Chinese reason is kept per cell: ``=FB_ERROR(B2)`` shows why B2 failed.

Functions that read the workbook (FB_ARREARS, FB_RATE, FB_COMMISSION,
FB_STAGE) get the calling cell as ``caller`` (xlwings passes it; it is not an
Excel argument), are volatile (recalculated whenever Excel recalculates, so a
new 收款 row shows at once) and read the open book through the live face.
The parsed ledger is cached by the workbook's full name — xlwings builds a new
Book wrapper on every access, so the wrapper itself is no key — and is read
again when an input sheet changes size (a row added or removed; checked at most
once per :data:`CHECK_INTERVAL`, so the cells of one recalculation make no COM
call after the first) or after :data:`LEDGER_TTL` seconds (a value edited in
place), so one recalculation of many cells reads the workbook once.

Results are values for the cell: money as a float rounded to 0.01 (computed
in Decimal by the engine), rates as a fraction (format the cell as %).
"""
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Optional

import xlwings as xw

from ..ledger import schema
from ..engine.aging import aging_bucket, arrears_of
from ..engine.allocation import allocate
from ..engine.commission import CommissionGap, commission_for
from ..engine.late_fee import accrued_late_fee, court_reference_rate
from ..ledger.money import MoneyError, daxie, to_decimal
from ..ledger.periods import Period, PeriodError, parse_date
from ..ledger.records import Ledger, room_hint

CATEGORY = "收费管理"
_PARAMS = {key: value for key, value, _ in schema.PARAM_DEFAULTS}
DEFAULT_RATE = Decimal(_PARAMS["违约金日费率"])
DEFAULT_LPR = Decimal(_PARAMS["LPR年利率"])
EXCEL_EPOCH = dt.date(1899, 12, 30)

# name → (description, {argument: description}) — the tooltip texts (also written into the add-in)
HELP: dict[str, tuple[str, dict[str, str]]] = {}


VALUE, NA = "#VALUE!", "#N/A"
VOLATILE: set[str] = set()  # functions that read the workbook: Application.Volatile in the VBA wrapper


class BadArgument(ValueError):
    """A bad cell argument (→ ``#VALUE!``); the message (Chinese) is what FB_ERROR shows."""


class NotFound(BadArgument):
    """Something the arguments name does not exist (→ ``#N/A``)."""


class CellError(str):
    """What a function returns on failure: the Excel error text, with the Chinese ``reason``."""

    reason: str

    def __new__(cls, code: str, reason: str):
        self = super().__new__(cls, code)
        self.reason = reason
        return self

    @property
    def code(self) -> str:
        return str(self)


# (workbook full name, sheet name, cell address) → the Chinese reason of that cell's last error
_REASONS: dict[tuple, str] = {}
_REASONS_MAX = 10_000


def udf(description: str, volatile: bool = False, ranges: tuple = (), **arg_docs: str) -> Callable:
    """Register a worksheet function: xlwings metadata on Windows, ``HELP`` everywhere."""

    def wrap(f: Callable) -> Callable:
        HELP[f.__name__] = (description, arg_docs)
        if volatile:
            VOLATILE.add(f.__name__)
        f.__doc__ = description
        for name, doc in arg_docs.items():
            f = xw.arg(name, "range", doc=doc)(f) if name in ranges else xw.arg(name, doc=doc)(f)
        return xw.func(category=CATEGORY, volatile=volatile)(f)

    return wrap


def _cell_key(caller) -> Optional[tuple]:
    """(book full name, sheet name, address) of the calling cell; None outside a cell."""
    try:
        sheet = caller.sheet
        address = getattr(caller, "address", None) or f"R{caller.row}C{caller.column}"
        return (str(sheet.book.fullname), str(sheet.name), str(address).replace("$", ""))
    except Exception:  # not a Range (None, a Book in tests): no place to keep the reason
        return None


def _remember(caller, reason: Optional[str]) -> None:
    key = _cell_key(caller) if caller is not None else None
    if key is None:
        return
    if reason is None:
        _REASONS.pop(key, None)
        return
    if len(_REASONS) >= _REASONS_MAX:
        _REASONS.clear()
    _REASONS[key] = reason


def _safe(compute: Callable[[], Any], caller=None) -> Any:
    """The value, or a :class:`CellError` — never an exception (Excel would show a traceback)."""
    try:
        value = compute()
    except NotFound as exc:
        error = CellError(NA, str(exc))
    except BadArgument as exc:
        error = CellError(VALUE, str(exc))
    except CommissionGap as exc:  # no 佣金规则 row covers the rate
        error = CellError(NA, str(exc))
    except Exception as exc:  # a bug or an unreadable book: an error value with a short reason, no traceback
        error = CellError(VALUE, f"无法计算（{type(exc).__name__}: {str(exc)[:120]}）")
    else:
        _remember(caller, None)
        return value
    _remember(caller, error.reason)
    return error


# --------------------------------------------------------------------------- argument parsing


def _missing(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _amount(value, what: str) -> Decimal:
    if _missing(value):
        raise BadArgument(f"缺少{what}")
    if isinstance(value, bool):
        raise BadArgument(f"{what}应为数字")
    try:
        return to_decimal(value)
    except (MoneyError, InvalidOperation, ValueError, TypeError):
        raise BadArgument(f"{what}不是数字：{value}") from None


def _date(value, what: str) -> dt.date:
    if _missing(value):
        raise BadArgument(f"缺少{what}")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 1 <= value <= 2958465:  # Excel serials 1900-01-01 … 9999-12-31
            raise BadArgument(f"{what}不是有效日期：{value}")
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    try:
        return parse_date(value)
    except (PeriodError, ValueError, TypeError):
        raise BadArgument(f"{what}不是有效日期：{value}") from None


def _as_of(value) -> dt.date:
    return dt.date.today() if _missing(value) else _date(value, "截至日期")


def _whole(value, what: str, default: Optional[int] = None) -> int:
    if _missing(value):
        if default is None:
            raise BadArgument(f"缺少{what}")
        return default
    number = _amount(value, what)
    if number != number.to_integral_value():
        raise BadArgument(f"{what}应为整数：{value}")
    return int(number)


def _rate(value, what: str, default: Decimal) -> Decimal:
    if _missing(value):
        return default
    text = str(value).strip()
    if isinstance(value, str) and text.endswith("%"):
        return _amount(text[:-1], what) / 100
    rate = value if isinstance(value, Decimal) else _amount(value, what)
    if rate < 0:
        raise BadArgument(f"{what}不能为负数：{value}")
    return rate


def _room(value) -> str:
    if _missing(value):
        raise BadArgument("缺少房号")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --------------------------------------------------------------------------- the open workbook

# workbook full name → [read at, checked at, shape fingerprint, ledger]
_LEDGERS: dict[str, list] = {}
LEDGER_TTL = 5.0  # seconds: a value edited in place is seen after at most this long (or F9)
CHECK_INTERVAL = 1.0  # seconds: the cells of one recalculation trust the fingerprint checked by the first
_CLOCK = time.monotonic  # tests replace it


def _fingerprint(book) -> tuple:
    """Every input sheet's used-range position and size: cheap over COM (no cell values), and it
    changes whenever a row is added or removed — a new 收款 or 应收 line, a new 房屋."""
    out = []
    for sheet in book.sheets:
        name = sheet.name
        if name in schema.INPUT_SHEETS:
            rng = sheet.used_range
            out.append((name, rng.row, rng.column, tuple(rng.shape)))
    return tuple(out)


def invalidate(fullname: Optional[str] = None) -> None:
    """Forget the cached ledger of one workbook (or of all)."""
    if fullname is None:
        _LEDGERS.clear()
    else:
        _LEDGERS.pop(str(fullname), None)


def ledger_of(caller) -> Ledger:
    """The parsed ledger of the caller's workbook (``caller`` is the calling Range; a Book works too).

    Cached by the book's full name; read again when :func:`_fingerprint` changes or the entry is
    older than :data:`LEDGER_TTL`.
    """
    if caller is None:
        raise BadArgument("此函数需在收费大表工作簿的单元格中使用")
    book = caller.sheet.book if hasattr(caller, "sheet") else caller
    key = str(book.fullname)
    now = _CLOCK()
    cached = _LEDGERS.get(key)
    if cached and now - cached[0] < LEDGER_TTL:
        if now - cached[1] < CHECK_INTERVAL:  # the same recalculation: no COM call at all
            return cached[3]
        shape = _fingerprint(book)
        if shape == cached[2]:
            cached[1] = now
            return cached[3]
    else:
        shape = _fingerprint(book)
    from ..workbook.live import read_book
    from ..workbook.parse import parse_ledger

    ledger = parse_ledger(read_book(book))
    if len(_LEDGERS) >= 4:
        _LEDGERS.clear()
    _LEDGERS[key] = [now, now, shape, ledger]
    return ledger


_ALLOCATIONS: dict = {}  # (id(ledger), as_of) → (ledger, allocation)


def allocation_of(ledger: Ledger, day):
    """The ledger's allocation as of ``day``, computed once for all the cells that ask for it
    (a column of =FB_ARREARS(...) must not replay the whole ledger once per cell)."""
    hit = _ALLOCATIONS.get((id(ledger), day))
    if hit is None or hit[0] is not ledger:
        if len(_ALLOCATIONS) >= 8:
            _ALLOCATIONS.clear()
        hit = _ALLOCATIONS[(id(ledger), day)] = (ledger, allocate(ledger, day))
    return hit[1]


def _unit(ledger: Ledger, room: str):
    unit = ledger.unit_by_room().get(room)
    if unit is None:
        raise NotFound(f"房号不存在：{room}" + room_hint(room, ledger.unit_by_room()))
    return unit


# --------------------------------------------------------------------------- the functions


@udf("违约金：本金自应缴日期（加宽限天数）次日起按日费率单利计至截至日期，四舍五入到分",
     principal="欠费本金（元）", due_date="应缴日期", as_of="截至日期",
     rate="日费率，默认 0.0003（日万分之三）", grace="宽限天数，默认 0")
def FB_LATEFEE(principal, due_date, as_of, rate=None, grace=None, caller=None):
    def compute():
        amount = _amount(principal, "本金")
        due, day = _date(due_date, "应缴日期"), _date(as_of, "截至日期")
        fee = accrued_late_fee(amount, due, (), day, _rate(rate, "日费率", DEFAULT_RATE),
                               _whole(grace, "宽限天数", 0))
        return float(fee)
    return _safe(compute, caller)


@udf("违约金法院参考值：日费率 = LPR年利率×1.5/365，其余同 FB_LATEFEE",
     principal="欠费本金（元）", due_date="应缴日期", as_of="截至日期",
     lpr="一年期LPR年利率，默认 0.030", grace="宽限天数，默认 0")
def FB_LATEFEE_REF(principal, due_date, as_of, lpr=None, grace=None, caller=None):
    def compute():
        amount = _amount(principal, "本金")
        due, day = _date(due_date, "应缴日期"), _date(as_of, "截至日期")
        daily = court_reference_rate(_rate(lpr, "LPR年利率", DEFAULT_LPR))
        return float(accrued_late_fee(amount, due, (), day, daily, _whole(grace, "宽限天数", 0)))
    return _safe(compute, caller)


@udf("房屋截至日期的应缴合计（欠费本金＋违约金－预存余额），读取本工作簿", volatile=True,
     room="房号，如 1-1-101", as_of="截至日期，默认今天")
def FB_ARREARS(room, as_of=None, caller=None):
    def compute():
        ledger, key, day = ledger_of(caller), _room(room), _as_of(as_of)
        unit = _unit(ledger, key)
        line = arrears_of(unit, allocation_of(ledger, day).accounts[key], day)
        return 0.0 if line is None else float(line.total)
    return _safe(compute, caller)


@udf("当期收缴率 =（实收＋减免＋预存冲抵）/应收，读取本工作簿；范围：全部、楼栋号、服务助理姓名或项目编码", volatile=True,
     scope="范围：全部 / 1（楼栋）/ 服务助理姓名 / 项目编码，或“楼栋:1”这样的完整写法",
     period="期间，如 2026Q4 或 2026-10", as_of="截至日期，默认今天")
def FB_RATE(scope, period, as_of=None, caller=None):
    def compute():
        from ..engine.rates import collection_rates, scopes_of

        ledger, day = ledger_of(caller), _as_of(as_of)
        try:
            p = Period.parse(period)
        except (PeriodError, ValueError, TypeError):
            raise BadArgument(f"期间无效：{period}") from None
        label = "全部" if _missing(scope) else _room(scope)
        scopes = scopes_of(ledger)
        for candidate in (label, f"楼栋:{label}", f"服务助理:{label}", f"项目:{label}"):
            if candidate in scopes:
                break
        else:
            raise NotFound(f"范围不存在：{label}")
        rows = collection_rates(ledger, allocation_of(ledger, day), periods=[p],
                                scopes={candidate: scopes[candidate]}, as_of=day)
        rate = rows[0].current_rate if rows else None
        if rate is None:
            raise NotFound(f"{p} 没有应收")
        return float(rate)
    return _safe(compute, caller)


@udf("佣金（元/月）：按本工作簿“佣金规则”表，第 month 月在累计收缴率 rate 时的佣金（80%、95% 属上一档）", volatile=True,
     rate="累计收缴率，如 0.875 或 87.5%", month="季度内第几月：1、2 或 3")
def FB_COMMISSION(rate, month, caller=None):
    def compute():
        if caller is None:
            from ..workbook.parse import default_commission_rules
            rules = default_commission_rules()
        else:
            rules = ledger_of(caller).commission_rules
        m = _whole(month, "月份")
        if m not in (1, 2, 3):
            raise BadArgument(f"月份应为 1、2 或 3：{month}")
        if _missing(rate):
            raise BadArgument("缺少收缴率")
        r = _rate(rate, "收缴率", Decimal(0))
        if r > 1:
            raise BadArgument(f"收缴率不能超过 100%：{rate}")
        return float(commission_for(rules, m, r))
    return _safe(compute, caller)


@udf("房屋截至日期的催收阶段（提醒/沟通/跟进/挂牌/律师函/诉讼，暂停时注明原因），读取本工作簿", volatile=True,
     room="房号，如 1-1-101", as_of="截至日期，默认今天")
def FB_STAGE(room, as_of=None, caller=None):
    def compute():
        from ..engine.dunning import stage_of

        ledger, key, day = ledger_of(caller), _room(room), _as_of(as_of)
        _unit(ledger, key)
        task = stage_of(ledger, allocation_of(ledger, day), key, day)
        if task is None:
            return "无需催收"
        return f"{task.stage}（{task.hold}）" if task.held and task.hold else task.stage
    return _safe(compute, caller)


@udf("金额的人民币大写，如 1234.5 → 壹仟贰佰叁拾肆元伍角整", amount="金额（元）")
def FB_DAXIE(amount, caller=None):
    return _safe(lambda: daxie(_amount(amount, "金额")), caller)


@udf("账龄区间：未到期 / 1-30天 / 31-90天 / 91-180天 / 181-365天 / 1-3年 / 3年以上（按应缴日期计）",
     days="逾期天数（截至日期 − 应缴日期）")
def FB_AGING(days, caller=None):
    return _safe(lambda: aging_bucket(_whole(days, "逾期天数")), caller)


@udf("显示某个单元格里 FB_ 函数出错（#VALUE! 或 #N/A）的中文原因；没有出错时为空", ranges=("ref",),
     ref="出错的单元格，如 B2")
def FB_ERROR(ref, caller=None):
    def compute():
        if ref is None or not hasattr(ref, "sheet"):
            raise BadArgument("请引用一个单元格，如 =FB_ERROR(B2)")
        return _REASONS.get(_cell_key(ref), "")
    return _safe(compute)

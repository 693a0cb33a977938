"""The ledger's records: immutable, each remembering the sheet and cell it came from.

The engine works only on these (no openpyxl, no xlwings).  A record that is
written back to the workbook is turned into a row by the workbook layer.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

from .periods import Period


def quick_init(cls=None, *, derived: str = ""):
    """Give a frozen dataclass an ``__init__`` that fills the instance's ``__dict__`` directly.

    The ``__init__`` that ``@dataclass(frozen=True)`` writes sets each field through
    ``object.__setattr__`` (a frozen class refuses ``self.x = …``), about three times the cost of
    storing into the dict; the records read from the big sheets (160,000 应收 rows) are made in
    bulk, so their constructor shows in every run.  Same signature, same defaults, same instance
    (equal, same repr and hash, still frozen).  ``derived``: one statement computing an attribute
    that is not a field from the fields (``d`` is the instance's dict), run last — in place of a
    ``__post_init__``, which such a class must not have.
    """
    if cls is None:
        return lambda c: quick_init(c, derived=derived)
    fields = dataclasses.fields(cls)
    if any(not f.init or f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"quick_init: {cls.__name__} has a field without a plain default")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"quick_init: {cls.__name__} has a __post_init__ (give it as derived=)")
    namespace: dict = {}
    params = []
    for f in fields:
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = ["    d = self.__dict__"] + [f"    d[{f.name!r}] = {f.name}" for f in fields]
    if derived:
        body.append(f"    {derived}")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), namespace)  # noqa: S102 — our own fields
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init
    return cls



@quick_init
@dataclass(frozen=True)
class Source:
    """Where a value came from: ``Source("收款", "D17")``.  Engine-made records have cell ''."""

    sheet: str
    cell: str = ""

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet


ERROR = "错误"
WARNING = "警告"


@dataclass(frozen=True)
class Problem:
    """A row of the 问题 sheet: level (错误/警告), sheet, cell and a Chinese message."""

    level: str
    sheet: str
    cell: str
    message: str
    # the workbook cannot be fully read (a required sheet/column missing, a 参数 value unusable…):
    # no result sheet may be published from it, only 问题 and 操作日志 are written
    blocking: bool = field(default=False, compare=False)

    @classmethod
    def error(cls, source: Source, message: str, blocking: bool = False) -> "Problem":
        return cls(ERROR, source.sheet, source.cell, message, blocking)

    @classmethod
    def warning(cls, source: Source, message: str) -> "Problem":
        return cls(WARNING, source.sheet, source.cell, message)


@dataclass(frozen=True)
class Settings:
    """The 参数 sheet, typed.  ``extra`` keeps every other key (letter texts, bank options…)."""

    company: str = "示例物业服务有限公司"
    center: str = "示例花园服务中心"
    hotline: str = "0755-12345678"
    account: str = ""
    pay_channels: str = ""
    cycle: str = "季度"
    due_day: int = 25
    late_fee_rate: Decimal = Decimal("0.0003")
    grace_days: int = 0
    late_fee_cap: Optional[Decimal] = None
    principal_first: bool = True
    hang_periods: int = 2
    lawyer_days: int = 180
    litigation_amount: Decimal = Decimal("5000")
    limitation_warn_months: int = 30
    lpr: Decimal = Decimal("0.030")
    commission_item: str = "物业管理费"
    extra: tuple[tuple[str, str], ...] = ()
    cells: tuple[tuple[str, str], ...] = ()  # 参数 key → the cell of its value ("B2"), as read

    def get(self, key: str, default: str = "") -> str:
        return dict(self.extra).get(key, default)

    def cell_of(self, key: str) -> str:
        return dict(self.cells).get(key, "")


@dataclass(frozen=True)
class FeeItem:
    code: str
    name: str
    method: str  # 面积 / 固定 / 用量 / 公摊
    unit_price: Optional[Decimal]
    late_fee: bool
    unit_label: str = ""
    house_types: tuple[str, ...] = ()  # empty = all
    source: Source = Source("收费项目")

    def applies_to(self, house_type: str) -> bool:
        return not self.house_types or house_type in self.house_types

    @property
    def meter(self) -> str:
        """For 用量 items: which meter (水/电) the item reads."""
        text = self.name + self.unit_label
        if "水" in text or "吨" in text:
            return "水"
        if "电" in text or "度" in text or "千瓦" in text or "kWh" in text:
            return "电"
        return ""

    @property
    def per_parking_space(self) -> bool:
        return "车位" in self.unit_label


@dataclass(frozen=True)
class Unit:
    room: str
    house_type: str
    area: Decimal
    owner: str
    building: str = ""
    entrance: str = ""
    mobile: str = ""
    occupied: bool = True
    parking_spaces: int = 0
    bank_debit: bool = False
    bank_name: str = ""
    account_no: str = ""
    account_name: str = ""
    assistant: str = ""
    sms_consent: bool = False
    developer_held: bool = False
    note: str = ""
    source: Source = Source("房屋")


@quick_init
@dataclass(frozen=True)
class MeterReading:
    period: Period
    room: str
    meter: str  # 水 / 电
    previous: Decimal
    current: Decimal
    read_on: Optional[dt.date] = None
    reader: str = ""
    source: Source = Source("抄表")

    @property
    def usage(self) -> Decimal:
        return self.current - self.previous


@dataclass(frozen=True)
class SharedCost:
    period: Period
    item_code: str
    total: Decimal
    method: str  # 面积 / 户数
    scope: str = ""  # 楼栋号, several joined by "、"; blank = 全部
    source: Source = Source("公摊")
    scope_source: Optional[Source] = None  # the 范围 cell

    @property
    def buildings(self) -> tuple[str, ...]:
        """The building keys of 范围 (see :func:`building_key`); () = the whole center."""
        return tuple(building_key(b) for b in re.split(r"[,，、;；\s]+", self.scope) if b)


class ScopeError(ValueError):
    """A 公摊 范围 that is not understood; the message is Chinese."""


_BUILDING_SUFFIX = re.compile(r"(号楼|栋|幢|座|号|楼)$")
_BUILDING_TOKEN = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]*")


def building_key(text: str) -> str:
    """A building as a comparable key: ``2``, ``楼栋:2``, ``2号楼``, ``2栋`` → ``2``.

    Other names (``南区``) are kept as typed, so a 房屋 楼栋 spelled the same still matches.
    """
    text = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    text = re.sub(r"^楼栋[:：]?", "", text)
    bare = _BUILDING_SUFFIX.sub("", text)
    return bare if _BUILDING_TOKEN.fullmatch(bare) else text


def parse_building_scope(text: str) -> str:
    """公摊 范围 → building keys joined by "、" ('' = 全部); raises :class:`ScopeError`.

    Accepts ``2``, ``楼栋:2``, ``2号楼``, ``2栋`` and comma lists of these (``1,2`` ``1号楼、3栋``).
    """
    text = unicodedata.normalize("NFKC", str(text or "")).strip()
    if text in ("", "全部", "全小区"):
        return ""
    keys = []
    for token in (t for t in re.split(r"[,，、;；\s]+", text) if t):
        prefix = re.match(r"^([^:]*):", token)
        key = building_key(token)
        if (prefix and prefix.group(1) != "楼栋") or not key:
            raise ScopeError(f"无法理解的范围“{token}”，应写楼栋号，如 2、楼栋:2、2号楼、2栋，多个用逗号分隔，空白为全部")
        if key not in keys:
            keys.append(key)
    return "、".join(keys)


# payable_from: the day the bill can be paid or offset from prepayment — its period's first day, or
# its due date if that is earlier (min(period.start, due_date))
@quick_init(derived='d["payable_from"] = due_date if due_date < period.start else period.start')
@dataclass(frozen=True)
class Charge:
    """A row of 应收: one unit, one item, one period."""

    bill_no: str
    period: Period
    room: str
    item_code: str
    amount: Decimal
    due_date: dt.date
    item_name: str = ""
    quantity: Optional[Decimal] = None
    unit_price: Optional[Decimal] = None
    origin: str = "计费"
    source: Source = Source("应收")


@quick_init
@dataclass(frozen=True)
class Payment:
    """A row of 收款.  A reversal has a negative amount and names the receipt it undoes."""

    receipt_no: str
    paid_on: dt.date
    room: str
    amount: Decimal
    channel: str
    period: Optional[Period] = None
    operator: str = ""
    batch: str = ""
    reverses: str = ""
    note: str = ""
    trade_no: str = ""  # 交易单号: the channel's order number (微信/支付宝订单号 or the merchant order number)
    source: Source = Source("收款")


@dataclass(frozen=True)
class Waiver:
    """A row of 减免: 违约金减免 reduces the late fee, 费用减免 the principal."""

    date: dt.date
    room: str
    kind: str
    amount: Decimal
    reason: str
    approver: str
    period: Optional[Period] = None
    source: Source = Source("减免")


@dataclass(frozen=True)
class Contact:
    """A row of 催缴记录."""

    date: dt.date
    room: str
    method: str
    operator: str = ""
    result: str = ""
    promise_date: Optional[dt.date] = None
    reason: str = ""
    proof: str = ""
    note: str = ""
    source: Source = Source("催缴记录")


@dataclass(frozen=True)
class InstallmentPlan:
    plan_no: str
    room: str
    signed_on: dt.date
    total: Decimal
    count: int
    first_due: dt.date
    interval_months: int = 1
    status: str = "履行中"
    source: Source = Source("分期协议")


@dataclass(frozen=True)
class Complaint:
    number: str
    room: str
    date: dt.date
    status: str
    category: str = ""
    content: str = ""
    resolved_on: Optional[dt.date] = None
    source: Source = Source("投诉")


@dataclass(frozen=True)
class Assistant:
    name: str
    buildings: tuple[str, ...] = ()  # empty = whole center
    source: Source = Source("服务助理")


@dataclass(frozen=True)
class CommissionRule:
    """amount = slope × rate + intercept, for lower ≤ rate < upper (upper None = no bound)."""

    month: int
    lower: Decimal
    upper: Optional[Decimal]
    slope: Decimal
    intercept: Decimal
    formula: str = ""
    source: Source = Source("佣金规则")

    def covers(self, rate: Decimal) -> bool:
        return rate >= self.lower and (self.upper is None or rate < self.upper)


@dataclass(frozen=True)
class BankBatch:
    """A row of 托收批次: one 托收盘 sent to a bank.  Its bills are locked while 待回盘."""

    batch_id: str
    profile: str
    created_on: dt.date
    rows: int
    total: Decimal
    status: str  # 待回盘 / 已回盘 / 已作废
    period: Optional[Period] = None
    returned_on: Optional[dt.date] = None
    file_digest: str = ""
    approver: str = ""
    note: str = ""
    source: Source = Source("托收批次")


@dataclass(frozen=True)
class BankDebit:
    """A row of 托收明细: one unit's debit in a batch and, after the 回盘, its result."""

    batch_id: str
    seq: int
    room: str
    amount: Decimal
    result: str  # 待回盘 / 成功 / 失败
    account_no: str = ""
    account_name: str = ""
    bill_nos: tuple[str, ...] = ()
    reason: str = ""
    returned_on: Optional[dt.date] = None
    receipt_no: str = ""
    source: Source = Source("托收明细")


@dataclass(frozen=True)
class HangProposal:
    """A row of 挂牌: a proposal to post a unit on the arrears board, and its approval."""

    room: str
    proposed_on: dt.date
    periods: Optional[int] = None
    amount: Optional[Decimal] = None
    approver: str = ""
    approved_on: Optional[dt.date] = None
    posted_on: Optional[dt.date] = None
    removed_on: Optional[dt.date] = None
    status: str = "待审批"  # 待审批 / 已批准 / 已张贴 / 已撤下 / 不予批准
    note: str = ""
    source: Source = Source("挂牌")


@dataclass(frozen=True)
class Campaign:
    """A row of 优惠活动: prepay at least ``months`` months of ``item_code`` between start and end, earn ``kind``."""

    name: str
    item_code: str
    start: dt.date
    end: dt.date
    months: int
    kind: str  # 赠送月数 / 折扣率 / 减免金额
    value: Decimal
    no_arrears_only: bool = False
    source: Source = Source("优惠活动")


@dataclass(frozen=True)
class Deposit:
    """A row of 押金: money held (金额 > 0, 收取) or paid back (金额 < 0, 退还).  Never fee income."""

    date: dt.date
    room: str
    kind: str
    amount: Decimal
    operator: str = ""
    approver: str = ""
    note: str = ""
    source: Source = Source("押金")


@dataclass(frozen=True)
class Ledger:
    """Everything read from one workbook: the input of every engine function."""

    settings: Settings = field(default_factory=Settings)
    items: tuple[FeeItem, ...] = ()
    units: tuple[Unit, ...] = ()
    readings: tuple[MeterReading, ...] = ()
    shared_costs: tuple[SharedCost, ...] = ()
    charges: tuple[Charge, ...] = ()
    payments: tuple[Payment, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    contacts: tuple[Contact, ...] = ()
    plans: tuple[InstallmentPlan, ...] = ()
    complaints: tuple[Complaint, ...] = ()
    assistants: tuple[Assistant, ...] = ()
    commission_rules: tuple[CommissionRule, ...] = ()
    bank_batches: tuple[BankBatch, ...] = ()
    bank_debits: tuple[BankDebit, ...] = ()
    hangings: tuple[HangProposal, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    deposits: tuple[Deposit, ...] = ()
    refunds: tuple[Payment, ...] = ()  # 收款 rows of 渠道 退款 (amount > 0 = paid back), kept apart from payments
    problems: tuple[Problem, ...] = ()
    # sheet → {header: column index} as read (to name the exact cell of a value); empty when unknown
    layout: dict = field(default_factory=dict, compare=False, repr=False)

    def unit_by_room(self) -> dict[str, Unit]:
        return {u.room: u for u in self.units}

    def item_by_code(self) -> dict[str, FeeItem]:
        return {i.code: i for i in self.items}


@functools.cache
def _field_names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _reduce_by_constructor(self):
    """Pickle a record as ``cls(*fields)``: unpickled records are built like fresh ones
    (with their derived values and the compact instance layout that attribute access is fast on)."""
    return self.__class__, tuple(getattr(self, name) for name in _field_names(self.__class__))


for _record in (Source, Problem, FeeItem, Unit, MeterReading, SharedCost, Charge, Payment, Waiver, Contact,
                InstallmentPlan, Complaint, Assistant, CommissionRule, BankBatch, BankDebit, HangProposal, Campaign, Deposit):
    _record.__reduce__ = _reduce_by_constructor


# --------------------------------------------------------------------------- a mistyped 房号

# what a hurried hand types for what: letter O for zero, letter I/l for one, other dashes for '-'
_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "〇": "0", "I": "1", "l": "1", "|": "1",
                             "－": "-", "—": "-", "–": "-", "_": "-", "/": "-", " ": "", "　": ""})


def _room_key(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", str(text)).translate(_CONFUSABLE).strip()


def nearest_rooms(room: str, rooms, n: int = 3) -> list[str]:
    """Existing 房号 closest to a mistyped one: '3-2-5O2' → ['3-2-502'] (confusable characters first,
    then difflib's similarity ≥ 0.75)."""
    import difflib

    rooms = [str(r) for r in rooms]
    key = _room_key(room)
    by_key: dict[str, list[str]] = {}
    for r in rooms:
        by_key.setdefault(_room_key(r), []).append(r)
    exact = [r for r in by_key.get(key, []) if r != room]
    if exact:
        return exact[:n]
    close = difflib.get_close_matches(key, list(by_key), n=n, cutoff=0.75)
    return [r for k in close for r in by_key[k]][:n]


def room_hint(room: str, rooms) -> str:
    """'（是否为 3-2-502？）' for a 房号 that does not exist, '' when nothing is close."""
    near = nearest_rooms(room, rooms)
    return f"（是否为 {'、'.join(near)}？）" if near else ""

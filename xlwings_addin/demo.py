"""A realistic sample estate (示例花园) and the demo run of ``feebook demo``.

Three buildings of residences, a row of shops and a car park (about 300
units by default), six quarters of history ending with the quarter of
``as_of``, and owners who pay on time, late, partly, chronically not at all;
one owner on an installment plan, one with an open complaint, one unit held
by the developer.  Everything is generated from a fixed random seed, so the
same call always builds the same estate.

:func:`generate_estate` returns plain rows (sheet → list of {header: value});
the demo writes them into a copy of the template and then runs the real
cycle (``bill`` each quarter, then ``run``) through :mod:`xlwings_addin.jobs.ledger`.
"""
from __future__ import annotations

import datetime as dt
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .resources import WORKBOOK_TEMPLATE, find_resource
from .ledger import schema
from .engine.billing import bill_period
from .ledger.money import ZERO, round_money
from .ledger.periods import Period, add_months, period_containing
from .ledger.records import Ledger
from .workbook.parse import parse_ledger

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文斌"

ITEMS = (
    # code, name, method, price, unit label, house types, late fee
    ("WYF", "物业管理费", "面积", "2.50", "元/㎡·月", "住宅", "是"),
    ("SPWYF", "商铺物业管理费", "面积", "5.00", "元/㎡·月", "商铺", "是"),
    ("CWF", "车位管理费", "固定", "80.00", "元/车位·月", "车位", "是"),
    ("SF", "水费", "用量", "4.10", "元/吨", "住宅,商铺", "否"),
    ("GTDF", "公共区域电费", "公摊", "", "元", "住宅", "否"),
)


# 数电票: sample 税收分类编码 and 税率 per item (a center's tax staff confirms its own before invoicing)
TAX = {
    "WYF": ("3040802010000000000", "6%"), "SPWYF": ("3040802010000000000", "6%"),
    "CWF": ("3040802010000000000", "6%"), "SF": ("1100301010000000000", "3%"),
    "GTDF": ("1100101020000000000", "13%"),
}


@dataclass(frozen=True)
class Behaviour:
    kind: str  # ontime / late / partial / chronic / designated / installment / complaint / developer
    start_missing: int = 0  # chronic: index of the first quarter they stopped paying


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def build_units(n_units: int, rng: random.Random) -> list[dict]:
    """About 80% residences in 3 buildings, 7% shops, the rest parking spaces."""
    n_shops = max(2, n_units * 7 // 100)
    n_parking = max(2, n_units * 13 // 100)
    n_homes = n_units - n_shops - n_parking
    buildings = 3 if n_units < 2000 else max(3, n_units // 400)
    assistants = ["小王", "小李", "小陈"]
    rows = []
    per_building = -(-n_homes // buildings)
    for b in range(1, buildings + 1):
        for k in range(per_building):
            if len(rows) >= n_homes:
                break
            entrance = 1 + k % 2
            floor = 1 + (k // 2) // 2
            room_no = floor * 100 + 1 + (k // 2) % 2
            area = Decimal(rng.choice(("68.40", "89.50", "95.20", "112.35", "128.00", "143.60")))
            rows.append({"房号": f"{b}-{entrance}-{room_no}", "楼栋": str(b), "单元": str(entrance),
                         "房屋类型": "住宅", "建筑面积": area})
    for s in range(1, n_shops + 1):
        rows.append({"房号": f"S-{s:03d}", "楼栋": "商业街", "单元": "", "房屋类型": "商铺",
                     "建筑面积": Decimal(rng.choice(("45.00", "60.50", "88.80", "120.00")))})
    for p in range(1, n_parking + 1):
        rows.append({"房号": f"P-{p:03d}", "楼栋": "车库", "单元": "", "房屋类型": "车位",
                     "建筑面积": Decimal("12.50"), "车位数": 1})
    banks = ("工商银行", "建设银行", "招商银行", "农业银行")
    for i, row in enumerate(rows):
        row["业主姓名"] = _name(rng)
        row["手机"] = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        row["入住状态"] = "已入住" if rng.random() < 0.9 else "空置"
        row.setdefault("车位数", 0)
        debit = rng.random() < 0.35
        row["托收"] = "是" if debit else "否"
        if debit:
            row["开户银行"] = rng.choice(banks)
            row["银行账号"] = "6222" + "".join(str(rng.randrange(10)) for _ in range(15))
            row["账户名"] = row["业主姓名"]
        building = row["楼栋"]
        row["服务助理"] = assistants[(int(building) - 1) % 3] if building.isdigit() else "小陈"
        row["短信同意"] = "是" if rng.random() < 0.8 else "否"
        row["开发商持有"] = "否"
    return rows


def _behaviours(rooms: list[str], rng: random.Random, quarters: int) -> dict[str, Behaviour]:
    out = {}
    for room in rooms:
        x = rng.random()
        if x < 0.68:
            out[room] = Behaviour("ontime")
        elif x < 0.80:
            out[room] = Behaviour("late")
        elif x < 0.88:
            out[room] = Behaviour("partial")
        elif x < 0.93:
            out[room] = Behaviour("chronic", start_missing=rng.randrange(1, quarters))
        else:
            out[room] = Behaviour("designated")
    homes = [r for r in rooms if r[0].isdigit()]
    out[homes[3]] = Behaviour("installment")
    out[homes[7]] = Behaviour("complaint", start_missing=quarters - 3)
    out[homes[-1]] = Behaviour("developer")
    return out


def generate_estate(n_units: int = 300, quarters: int = 6, last: Period = Period.quarter(2026, 4),
                    seed: int = 20261122):
    """Input rows for every sheet, the quarters, and the behaviour of each room."""
    rng = random.Random(seed)
    units = build_units(n_units, rng)
    periods = [last]
    while len(periods) < quarters:
        periods.insert(0, periods[0].previous())
    rooms = [u["房号"] for u in units]
    behaviours = _behaviours(rooms, rng, quarters)
    for u in units:
        if behaviours[u["房号"]].kind == "developer":
            u["开发商持有"] = "是"
            u["业主姓名"] = "示例置业有限公司"
            u["入住状态"] = "空置"
            u["托收"] = "否"
        if behaviours[u["房号"]].kind in ("chronic",):
            u["托收"] = "否"

    items = [{"项目编码": c, "项目名称": n, "计费方式": m, "单价": Decimal(p) if p else None, "计费单位": lbl,
              "适用房屋类型": t, "计违约金": lf, "税收分类编码": TAX[c][0], "税率": TAX[c][1]}
             for c, n, m, p, lbl, t, lf in ITEMS]
    readings, shared = [], []
    meter = {u["房号"]: Decimal(rng.randrange(100, 900)) for u in units if u["房屋类型"] in ("住宅", "商铺")}
    for p in periods:
        for u in units:
            room = u["房号"]
            if room not in meter:
                continue
            occupied = u["入住状态"] == "已入住"
            use = Decimal(rng.randrange(8, 40) if occupied else rng.randrange(0, 2))
            if u["房屋类型"] == "商铺":
                use *= 3
            readings.append({"期间": str(p), "房号": room, "表类型": "水", "上期读数": meter[room],
                             "本期读数": meter[room] + use, "抄表日期": add_months(p.start, 2).replace(day=28),
                             "抄表人": "技术组"})
            meter[room] += use
        shared.append({"期间": str(p), "项目编码": "GTDF", "总金额": Decimal(rng.randrange(9000, 14000)) + Decimal("0.37"),
                       "分摊方式": "面积", "范围": ""})
    sheets = {
        schema.UNITS: units, schema.ITEMS: items, schema.READINGS: readings, schema.SHARED: shared,
        schema.ASSISTANTS: [{"姓名": "小王", "负责楼栋": "1"}, {"姓名": "小李", "负责楼栋": "2"},
                            {"姓名": "小陈", "负责楼栋": "3,商业街,车库"}],
    }
    return sheets, periods, behaviours


def _ledger_for_billing(sheets) -> Ledger:
    """Parse generated rows through the real parser (as RawSheets) to bill them in memory."""
    from .workbook.raw import RawSheet

    raw = {}
    for name, rows in sheets.items():
        headers = list(schema.INPUT_SHEETS[name].headers)
        raw[name] = RawSheet(name, headers, [(i + 2, [_cell(r.get(h)) for h in headers]) for i, r in enumerate(rows)])
    return parse_ledger(raw)


def _cell(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def simulate_payments(ledger: Ledger, periods, behaviours, as_of: dt.date, seed: int = 7):
    """Payments, contacts, waivers, plans and complaints that follow each room's behaviour."""
    rng = random.Random(seed)
    bills = defaultdict(lambda: defaultdict(lambda: ZERO))  # room → period → amount
    for p in periods:
        for c in bill_period(ledger, p).charges:
            bills[c.room][p] += c.amount
    debit_rooms = {u.room for u in ledger.units if u.bank_debit}
    payments, contacts, waivers, plans, complaints = [], [], [], [], []
    receipt = 0

    def pay(room, day, amount, channel=None, period=None, batch=""):
        nonlocal receipt
        if day > as_of or amount <= 0:
            return
        receipt += 1
        channel = channel or ("托收" if room in debit_rooms else rng.choice(("微信", "支付宝", "现金", "POS", "转账")))
        payments.append({"收据号": f"SK{day:%Y}{receipt:06d}", "收款日期": day, "房号": room, "金额": amount,
                         "渠道": channel, "指定期间": str(period) if period else None, "经办人": "前台",
                         "托收批次": batch if channel == "托收" else None})

    due_day = ledger.settings.due_day
    for room, behaviour in behaviours.items():
        for idx, p in enumerate(periods):
            amount = bills[room].get(p, ZERO)
            due = p.due_date(due_day)
            if not amount:
                continue
            kind = behaviour.kind
            if kind == "ontime" or (kind == "chronic" and idx < behaviour.start_missing) or (
                    kind == "complaint" and idx < behaviour.start_missing):
                day = p.start + dt.timedelta(days=rng.randrange(5, 24)) if room not in debit_rooms else \
                    p.start + dt.timedelta(days=22)
                pay(room, day, amount, batch=f"TS{p}")
            elif kind == "late":
                pay(room, due + dt.timedelta(days=rng.randrange(10, 80)), amount)
            elif kind == "partial":
                half = round_money(amount / 2)
                pay(room, due + dt.timedelta(days=rng.randrange(0, 20)), half)
                if idx < len(periods) - 2:
                    pay(room, due + dt.timedelta(days=rng.randrange(60, 150)), amount - half)
            elif kind == "designated":
                pay(room, due + dt.timedelta(days=rng.randrange(-10, 30)), amount, period=p)
            elif kind == "installment":
                if idx < 2:
                    pay(room, due - dt.timedelta(days=3), amount)
    # the installment owner: owed quarters 3..n, signed a plan, honouring it so far
    inst_room = next(r for r, b in behaviours.items() if b.kind == "installment")
    owed = sum((bills[inst_room][p] for p in periods[2:-1]), ZERO)
    if owed:
        signed = periods[-2].start + dt.timedelta(days=40)
        count = 6
        per = round_money(owed / count)
        plans.append({"协议号": "FQ2026-001", "房号": inst_room, "签订日期": signed, "总额": owed, "期数": count,
                      "首期日期": signed + dt.timedelta(days=10), "间隔月数": 1, "状态": "履行中"})
        for k in range(count):
            day = add_months(signed + dt.timedelta(days=10), k)
            pay(inst_room, day, per if k < count - 1 else owed - per * (count - 1), channel="微信")
    comp_room = next(r for r, b in behaviours.items() if b.kind == "complaint")
    complaints.append({"编号": "TS-2026-017", "房号": comp_room, "日期": periods[-3].start + dt.timedelta(days=12),
                       "类别": "工程质量", "内容": "卫生间楼板渗水至楼下，多次报修未修复", "状态": "处理中"})
    # contacts for the debtors, and a waiver for a hardship case
    for room, behaviour in behaviours.items():
        if behaviour.kind in ("chronic", "partial", "complaint"):
            last_due = periods[-2].due_date(due_day)
            contacts.append({"日期": last_due + dt.timedelta(days=9), "房号": room, "方式": "短信", "经办人": "前台",
                             "结果": "已送达", "送达凭证": "短信平台回执"})
            contacts.append({"日期": last_due + dt.timedelta(days=16), "房号": room, "方式": "电话", "经办人": "小王",
                             "结果": rng.choice(("未接通", "承诺缴费", "拒缴")),
                             "欠费原因": {"chronic": "恶意拖欠", "partial": "经济困难",
                                          "complaint": "服务不满"}[behaviour.kind]})
        if behaviour.kind == "chronic":
            contacts.append({"日期": periods[-1].start + dt.timedelta(days=30), "房号": room, "方式": "上门",
                             "经办人": "小王", "结果": "拒缴", "欠费原因": "恶意拖欠", "送达凭证": "催费通知单签收"})
    partial_room = next((r for r, b in behaviours.items() if b.kind == "partial"), None)
    if partial_room:
        waivers.append({"日期": periods[-2].start + dt.timedelta(days=60), "房号": partial_room,
                        "期间": str(periods[-3]), "类型": "违约金减免", "金额": Decimal("20.00"),
                        "原因": "家庭经济困难，经服务中心负责人同意", "审批人": "张经理"})
    payments.sort(key=lambda r: (r["收款日期"], r["收据号"]))
    return {schema.PAYMENTS: payments, schema.CONTACTS: contacts, schema.WAIVERS: waivers, schema.PLANS: plans,
            schema.COMPLAINTS: complaints}


# the sample estate's company details (the empty template leaves them blank for a real center to fill)
SAMPLE_COMPANY = {
    "公司名称": "示例物业服务有限公司",
    "服务中心": "示例花园服务中心",
    "客服电话": "0755-12345678",
    "收款账户": "示例物业服务有限公司 招商银行示例支行 7559 0000 0000 001",
}


def fill_sample_company(path: Path) -> None:
    """Write :data:`SAMPLE_COMPANY` into the 参数 sheet of a fresh copy of the template."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb[schema.PARAMS]
    for row in ws.iter_rows(min_row=2):
        key = row[0].value
        if key in SAMPLE_COMPANY:
            row[1].value = SAMPLE_COMPANY[key]
    wb.save(path)


def template_path() -> Path:
    found = find_resource("workbooks", WORKBOOK_TEMPLATE)
    if found is not None:
        return found
    # installed without the repository's workbooks/ folder: build the template from schema.py
    import tempfile

    from .workbook.template import build_template

    target = Path(tempfile.mkdtemp(prefix="feebook-template-")) / "收费大表.xlsx"
    build_template(target)
    return target


def build_demo_workbook(path: Path, n_units: int = 300, quarters: int = 6, as_of: dt.date = dt.date(2026, 11, 22),
                        seed: int = 20261122, billed: bool = False):
    """Write the sample estate's inputs into a copy of the template; return its periods.

    With ``billed=False`` (the demo) 应收 is left empty for ``feebook bill`` to
    fill; ``billed=True`` (benchmarks) writes the same billing engine's lines at once.
    """
    from .jobs.ledger import charge_row
    from .workbook.writer import save_changes

    last = period_containing(as_of)
    sheets, periods, behaviours = generate_estate(n_units, quarters, last, seed)
    ledger = _ledger_for_billing(sheets)
    sheets.update(simulate_payments(ledger, periods, behaviours, as_of))
    if billed:
        sheets[schema.CHARGES] = [charge_row(c) for p in periods for c in bill_period(ledger, p).charges]
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_path(), path)
    fill_sample_company(path)
    save_changes(path, append=sheets, audit=[{"操作": "生成示例工作簿", "数量": n_units, "说明": f"{quarters}个季度"}],
                 backups=0)
    return periods


def run_demo(out: Path, as_of: dt.date = dt.date(2026, 11, 22), units: int = 300) -> int:
    """``feebook demo``: build the sample, bill every quarter, run, print a summary."""
    from .jobs.ledger import apply_to_file, job_bill, job_run, load

    out.mkdir(parents=True, exist_ok=True)
    path = out / "示例花园_收费大表.xlsx"
    if path.exists():
        path.unlink()
    periods = build_demo_workbook(path, n_units=units, as_of=as_of)
    print(f"示例工作簿：{path}（{units} 户，{len(periods)} 个季度：{periods[0]}–{periods[-1]}）")
    for p in periods:
        book = load(path)
        changes = job_bill(book.ledger, p)
        apply_to_file(book, changes)
        print("  " + changes.summary[0])
    hooks = _demo_hooks()
    # seed 004 step 12: the 回盘 is imported first, then 欠费明细 is refreshed (and everything after reads it)
    for hook in [h for h in hooks if getattr(h, "before_refresh", False)]:
        hook(path, out, as_of)
    book = load(path)
    changes = job_run(book.ledger, as_of)
    apply_to_file(book, changes)
    print(f"截至 {as_of:%Y-%m-%d}：")
    for line in changes.summary:
        print("  " + line)
    for hook in [h for h in hooks if not getattr(h, "before_refresh", False)]:
        hook(path, out, as_of)
    print(f"结果已写入“欠费明细”“收缴率”“问题”工作表；输出目录：{out.resolve()}")
    return 1 if changes.errors else 0


def _demo_hooks():
    """Extra demo steps registered by feature modules (letters, dunning, reports…)."""
    import importlib
    import pkgutil

    from .faces import commands

    hooks = []
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        hook = getattr(module, "demo_step", None)
        if hook is not None:
            hooks.append(hook)
    return hooks

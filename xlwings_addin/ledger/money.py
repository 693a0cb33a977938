"""Money: always ``Decimal``, never float.

Every amount that enters the engine goes through :func:`to_money` (or
:func:`to_decimal` for quantities such as areas and meter readings), which
converts via ``str()`` so that ``Decimal(float)`` artefacts never appear:
``to_money(1200.1)`` is ``Decimal('1200.10')``, not
``Decimal('1200.0999999999999090505298227071762084960937500')``.

Rounding is ROUND_HALF_UP to 0.01 元 (:func:`round_money`), and only where
SPEC §4 says so.  :func:`daxie` writes an amount in Chinese capitals as
printed on receipts and letters: 1234.50 → 壹仟贰佰叁拾肆元伍角整.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0")

_FULLWIDTH = str.maketrans("０１２３４５６７８９．－＋，", "0123456789.-+,")


class MoneyError(ValueError):
    """A value that cannot be read as a number; the message is Chinese, for users."""


def normalise_number_text(text: str) -> str:
    """Full-width digits to ASCII, drop thousands separators, 元 and spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_FULLWIDTH)
    text = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    text = re.sub(r"(元|¥|￥|RMB)", "", text)
    return text


def to_decimal(value) -> Decimal:
    """A cell value (int, float, Decimal, numeric text) as an exact Decimal.

    Raises :class:`MoneyError` with a Chinese message for anything else.
    """
    if isinstance(value, bool):
        raise MoneyError(f"应为数字，实为逻辑值 {value}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise MoneyError("应为数字，实为无效数值")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = normalise_number_text(value)
        if not text:
            raise MoneyError("应为数字，实为空白")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"应为数字，实为“{value}”") from None
    else:
        raise MoneyError(f"应为数字，实为“{value}”")
    if not result.is_finite():
        raise MoneyError(f"应为数字，实为“{value}”")
    if result and result.adjusted() >= 15:  # 1e15 and above: no area, reading or amount is that big
        raise MoneyError(f"数值“{value}”超出合理范围")
    return result


def to_money(value) -> Decimal:
    """A cell value as 元; more than two decimals is an error, not a silent rounding."""
    amount = to_decimal(value)
    # the range check comes first: quantizing 1e14 or more to 分 exceeds the context and raises
    if abs(amount) >= Decimal("1e12"):
        raise MoneyError(f"金额“{value}”超出合理范围")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise MoneyError(f"金额“{value}”超过两位小数（分）")
    return amount.quantize(CENT)


def round_money(amount: Decimal) -> Decimal:
    """Round to 0.01 元, half up (SPEC §4)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ["", "拾", "佰", "仟"]
_BIG_UNITS = ["", "万", "亿", "万亿"]


def _four_digits(n: int) -> str:
    """0 < n < 10000 in capitals, with inner zeros as 零 (e.g. 1005 → 壹仟零伍)."""
    out = []
    zero_pending = False
    for pos in range(3, -1, -1):
        d = (n // 10**pos) % 10
        if d == 0:
            if out:
                zero_pending = True
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(_DIGITS[d] + _SMALL_UNITS[pos])
    return "".join(out)


def daxie(amount) -> str:
    """Amount in Chinese capitals (人民币大写), rounded to 分 half up.

    >>> daxie(Decimal("1234.50"))
    '壹仟贰佰叁拾肆元伍角整'
    >>> daxie(Decimal("1200"))
    '壹仟贰佰元整'
    >>> daxie(Decimal("100005.07"))
    '壹拾万零伍元零柒分'
    """
    value = round_money(to_decimal(amount))
    if value < 0:
        return "负" + daxie(-value)
    cents = int(value * 100)
    yuan, jiao, fen = cents // 100, (cents // 10) % 10, cents % 10
    if yuan >= 10**16:
        raise MoneyError("金额过大，无法转换为大写")
    parts = []
    if yuan:
        groups = []
        g = yuan
        while g:
            groups.append(g % 10000)
            g //= 10000
        text = ""
        need_zero = False
        for idx in range(len(groups) - 1, -1, -1):
            group = groups[idx]
            if group == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or group < 1000):
                text += "零"
            text += _four_digits(group) + _BIG_UNITS[idx]
            need_zero = False
        parts.append(text + "元")
    if jiao == 0 and fen == 0:
        return ("".join(parts) or "零元") + "整"
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    elif yuan:
        parts.append("零")
    if fen:
        parts.append(_DIGITS[fen] + "分")
    else:
        parts.append("整")
    return "".join(parts)

"""Numeric expressions in running text: dates, clock times, phone numbers and codes,
ranges, arithmetic, fractions, percentages and quantities with units.

Each reader looks at the text at one position (always a digit, a sign or a currency
symbol) and returns the reading and where the expression ends, or None. The order in
:func:`read_numeric` decides ambiguities: a date before a range (2026-12-01), a phone
number before a range (010-12345678), arithmetic before a fraction (6/3=2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.text.chars import DIGIT_NAMES
from daemon.text.numbers import LIANG_BEFORE, cardinal, digits, negative, quantity
from daemon.text.units import (
    CURRENCY_PREFIX,
    TEMPERATURE_CONTEXT,
    TEMPERATURE_UNITS,
    TEMPERATURE_WORDS,
    UNIT_RE,
    UNITS,
)

Reading = tuple[str, int]
"""What was said, and the index just after the expression."""

_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?"
_SIGN = "-+−"  # − is U+2212, the minus sign
_RANGE_CHARS = "-–—~〜"
_RANGE_SEP_RE = re.compile(r"\s*[-–—~〜]\s*")
_UNIT_BEFORE_RE = re.compile(r"[0-9](?:[\u4e00-\u9fff]{1,2}|%|‰|°[CF]?|[A-Za-z]{1,4})\s*$")
_CONNECTING_WORDS = frozenset("到至和或与及比")  # 温度-5到-10度: that - is a sign
_NUMBER_AFTER_RE = re.compile(r"\s*[-−+]?[0-9]")

_DATE_RE = re.compile(
    r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})(?![0-9])"
)
_MONTH_DAY_RE = re.compile(r"(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})(?![0-9./])")
_DOTTED_RE = re.compile(r"[0-9]+(?:\.[0-9]+){2,}(?![0-9])")
_PHONE_RE = re.compile(
    r"(?P<cc>\+86[- ]?)?"
    r"(?:1[3-9][0-9](?:[- ]?[0-9]{4}){2}"  # mobile: 138-1234-5678
    r"|0[0-9]{2,3}-[0-9]{7,8}(?:-[0-9]{1,5})?"  # landline with area code
    r"|[48]00-?[0-9]{3}-?[0-9]{4})"  # 400/800 service numbers
    r"(?![0-9])"
)
_TIME_RE = re.compile(
    r"(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?![0-9])"
    r"(?:\s?(?P<ap>[aApP]\.?[mM]\.?)(?![A-Za-z]))?"
)
_HOUR_AMPM_RE = re.compile(r"(?P<h>[0-9]{1,2})\s?(?P<ap>[aApP]\.?[mM]\.?)(?![A-Za-z])")
_RATIO_RE = re.compile(rf"(?P<a>{_NUM}):(?P<b>{_NUM})(?![0-9])")
_FRACTION_RE = re.compile(rf"(?P<a>{_NUM})/(?P<b>{_NUM})(?![0-9])")
_QUANTITY_RE = re.compile(rf"(?P<sign>[-+−])?(?P<num>{_NUM})(?P<suffix> ?%| ?‰|{UNIT_RE.pattern})?")
_OPERATORS = {
    "+": "加",
    "-": "减",
    "−": "减",
    "×": "乘",
    "*": "乘",
    "x": "乘",
    "X": "乘",
    "÷": "除以",
    "/": "除以",
}
_ARITH_RE = re.compile(
    rf"{_NUM}(?:(?:\s*[-−+×*÷/]\s*|[xX]){_NUM})+(?:\s*=\s*(?:[-−]?{_NUM})?)?"
    rf"|{_NUM}\s*=\s*[-−]?{_NUM}"
)
_ARITH_PART_RE = re.compile(rf"(?P<num>{_NUM})|(?P<op>[-−+×*÷/xX=])")

#: Words just before a number that make it a code read digit by digit (取件码是865231).
_CODE_BEFORE = (
    "码", "编号", "单号", "尾号", "卡号", "账号", "工号", "学号", "车次", "房间",
    "电话", "手机", "热线", "拨打", "致电", "呼叫", "邮编", "航班", "车牌", "订单",
    "手机号", "房间号", "门牌号", "订单号", "座机", "分机",
)  # fmt: skip
#: Words right after a number that make it a code (865231 取件码).
_CODE_AFTER = ("取件码", "验证码", "提货码", "密码", "动态码", "号码")
#: Connecting characters allowed between a code keyword and the number.
_CODE_GLUE = " :：是为"
#: Rooms are read digit by digit (1201室 幺二零幺室) from three digits on.
_ROOM_AFTER = ("室", "房")
_DATE_AFTER = (
    "周", "星期", "礼拜", "号", "日", "上午", "下午", "晚上", "早上", "中午", "凌晨",
    "傍晚", "前", "之前", "以前", "后", "之后", "以后", "起", "开始", "当天", "到", "至",
)  # fmt: skip
_CLOCK_UNITS = "年月日号点时分秒"
_DATE_BEFORE = (
    "日期",
    "截至",
    "截止",
    "于",
    "今天",
    "明天",
    "昨天",
    "后天",
    "前天",
    "今日",
    "明日",
)


@dataclass(frozen=True)
class _Quantity:
    sign: str
    number: str
    suffix: str
    end: int


def read_numeric(text: str, pos: int) -> Reading | None:
    """Read the numeric expression starting at ``pos``, if there is one."""
    char = text[pos]
    if char in CURRENCY_PREFIX:
        return _currency(text, pos)
    if char in _SIGN:
        return _signed(text, pos)
    if not _is_digit(char):
        return None
    for reader in (
        _date,
        _phone,
        _dotted,
        _time,
        _hour_ampm,
        _arithmetic,
        _month_day,
        _fraction,
        _ratio,
    ):
        found = reader(text, pos)
        if found is not None:
            return found
    return _quantity_or_range(text, pos)


def is_range_connector(text: str, pos: int) -> bool:
    """A dash or tilde between a number with its unit and another number: 8点-10点,
    3度~5度, -3度--1度 (the numeric readers take plain 3-5 themselves)."""
    if text[pos] not in _RANGE_CHARS or text[pos - 1 : pos] in _CONNECTING_WORDS:
        return False
    return (
        _UNIT_BEFORE_RE.search(text, max(0, pos - 8), pos) is not None
        and _NUMBER_AFTER_RE.match(text, pos + 1) is not None
    )


def is_sign_position(text: str, pos: int) -> bool:
    """A ``-``/``+`` here is a sign (not a hyphen, range or operator)."""
    if pos + 1 >= len(text) or not _is_digit(text[pos + 1]):
        return False
    prev = text[pos - 1] if pos else ""
    return not prev or not ((prev.isascii() and prev.isalnum()) or prev in ")%")


def _signed(text: str, pos: int) -> Reading | None:
    if not is_sign_position(text, pos):
        return None
    if text[pos] == "+":
        phone = _phone(text, pos)
        if phone is not None:
            return phone
    return _quantity_or_range(text, pos)


def _date(text: str, pos: int) -> Reading | None:
    m = _DATE_RE.match(text, pos)
    if m is None or not _valid_day(int(m["m"]), int(m["d"])):
        return None
    reading = f"{digits(m['y'])}年{cardinal(m['m'])}月{cardinal(m['d'])}日"
    return reading, m.end()


def _valid_day(month: int, day: int) -> bool:
    days = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _month_day(text: str, pos: int) -> Reading | None:
    m = _MONTH_DAY_RE.match(text, pos)
    if m is None or not _valid_day(int(m["m"]), int(m["d"])):
        return None
    after = text[m.end() :].lstrip(" ")
    before = text[max(0, pos - 6) : pos].rstrip(" :：")
    in_context = (
        after.startswith(_DATE_AFTER)
        or _TIME_RE.match(after) is not None
        or before.endswith(_DATE_BEFORE)
    )
    # Out of context, a/b is a fraction unless it would be an improper one (12/1).
    if not in_context and int(m["m"]) <= int(m["d"]):
        return None
    return f"{cardinal(m['m'])}月{cardinal(m['d'])}日", m.end()


def _phone(text: str, pos: int) -> Reading | None:
    m = _PHONE_RE.match(text, pos)
    if m is None:
        return None
    prefix = "加八六" if m["cc"] else ""
    rest = m.group()[len(m["cc"] or "") :]
    return prefix + digits(rest, phone=True), m.end()


def _dotted(text: str, pos: int) -> Reading | None:
    """Version numbers and IP addresses: 192.168.1.1, 1.2.3."""
    m = _DOTTED_RE.match(text, pos)
    if m is None:
        return None
    return "点".join(digits(part) for part in m.group().split(".")), m.end()


def _time(text: str, pos: int) -> Reading | None:
    m = _TIME_RE.match(text, pos)
    if m is None:
        return None
    first = _clock(m["h"], m["m"], m["s"], m["ap"])
    if first is None:
        return None
    end = m.end()
    sep = _RANGE_SEP_RE.match(text, end)
    if sep is not None:
        second_match = _TIME_RE.match(text, sep.end())
        if second_match is not None:
            second = _clock(second_match["h"], second_match["m"], second_match["s"],
                            second_match["ap"])  # fmt: skip
            if second is not None:
                return f"{first}到{second}", second_match.end()
    return first, end


def _hour_ampm(text: str, pos: int) -> Reading | None:
    m = _HOUR_AMPM_RE.match(text, pos)
    if m is None or not 1 <= int(m["h"]) <= 12:
        return None
    reading = _clock(m["h"], "00", None, m["ap"])
    return (reading, m.end()) if reading is not None else None


def _clock(hours: str, minutes: str, seconds: str | None, ampm: str | None) -> str | None:
    """``"14", "05"`` -> 十四点零五分; minutes 00 are not read (8:00 -> 八点)."""
    h, m, s = int(hours), int(minutes), int(seconds or 0)
    if h > 24 or m > 59 or s > 59 or (ampm and not 1 <= h <= 12):
        return None
    prefix = ""
    if ampm:
        if ampm[0] in "aA":
            prefix = "凌晨" if h == 12 else "上午"
        else:
            prefix = "中午" if h == 12 else "下午"
    reading = prefix + quantity(str(h), "点") + "点"
    if m or s:
        reading += _sixty(minutes) + "分"
    if s:
        reading += _sixty(seconds or "0") + "秒"
    return reading


def _sixty(value: str) -> str:
    """Minutes and seconds: 05 -> 零五, 30 -> 三十."""
    n = int(value)
    return ("零" + DIGIT_NAMES[n]) if n < 10 else cardinal(str(n))


def _ratio(text: str, pos: int) -> Reading | None:
    m = _RATIO_RE.match(text, pos)
    if m is None:
        return None
    return f"{cardinal(_plain(m['a']))}比{cardinal(_plain(m['b']))}", m.end()


def _fraction(text: str, pos: int) -> Reading | None:
    m = _FRACTION_RE.match(text, pos)
    if m is None:
        return None
    return f"{cardinal(_plain(m['b']))}分之{cardinal(_plain(m['a']))}", m.end()


def _arithmetic(text: str, pos: int) -> Reading | None:
    """``1+2=3`` -> 一加二等于三. Only with ``=`` or an unambiguous operator, so that
    3-5 stays a range and 3/4 a fraction."""
    m = _ARITH_RE.match(text, pos)
    if m is None:
        return None
    expression = m.group()
    if "=" not in expression and not any(op in expression for op in "+×*÷xX"):
        return None
    parts: list[str] = []
    for part in _ARITH_PART_RE.finditer(expression):
        if part["num"] is not None:
            parts.append(cardinal(_plain(part["num"])))
        elif part["op"] == "=":
            parts.append("等于")
        elif part["op"] in "-−" and (not parts or parts[-1] in _OPERATORS.values()
                                    or parts[-1] == "等于"):  # fmt: skip
            parts.append("负")
        else:
            parts.append(_OPERATORS[part["op"]])
    return "".join(parts), m.end()


def _currency(text: str, pos: int) -> Reading | None:
    name = CURRENCY_PREFIX[text[pos]]
    start = pos + 1
    if start < len(text) and text[start] == " ":
        start += 1
    first = _parse_quantity(text, start, units=False)
    if first is None:
        return None
    reading = _amount(first, name)
    end = first.end
    sep = _RANGE_SEP_RE.match(text, end)
    if sep is not None:
        after = sep.end()
        if after < len(text) and text[after] == text[pos]:
            after += 1  # ¥5-¥10
        second = _parse_quantity(text, after, units=False)
        if second is not None and not second.sign:
            reading += "到" + _amount(second, name)
            end = second.end
    return reading + name, end


def _amount(q: _Quantity, following: str) -> str:
    reading = quantity(q.number, following)
    return negative(reading, temperature=False) if q.sign == "-" else reading


def _parse_quantity(text: str, pos: int, *, units: bool = True) -> _Quantity | None:
    m = _QUANTITY_RE.match(text, pos)
    if m is None:
        return None
    suffix = m["suffix"] or ""
    end = m.end()
    if suffix and not units:
        end = m.end("num")
        suffix = ""
    sign = (m["sign"] or "").replace("−", "-")
    return _Quantity(sign, _plain(m["num"]), suffix.strip(), end)


def _quantity_or_range(text: str, pos: int) -> Reading | None:
    first = _parse_quantity(text, pos)
    if first is None:
        return None
    sep = _RANGE_SEP_RE.match(text, first.end)
    if sep is not None:
        second = _parse_range_end(text, sep.end(), sep.group())
        if second is not None:
            return _read_range(text, pos, first, second), second.end
    return _read_single(text, pos, first), first.end


def _parse_range_end(text: str, pos: int, separator: str) -> _Quantity | None:
    second = _parse_quantity(text, pos)
    if second is None:
        return None
    if second.sign == "+" or (second.sign == "-" and separator.strip() not in "-~〜"):
        return None
    after = text[second.end :]
    if after.lstrip().startswith("=") or after[:1] in (":", "/"):
        return None
    return second


def _read_range(text: str, pos: int, first: _Quantity, second: _Quantity) -> str:
    after = text[second.end :]
    shared = second.suffix if not first.suffix else ""
    year = (
        len(first.number) == 4
        and len(second.number) == 4
        and not first.suffix
        and after.lstrip(" ").startswith("年")
    )
    if year:
        return f"{digits(first.number)}到{digits(second.number)}"
    temperature = _is_temperature(text, pos, second.suffix, after)
    left = _say(first, shared, "到", temperature=temperature)
    right = _say(second, "", after, temperature=temperature)
    return f"{left}到{right}"


def _read_single(text: str, pos: int, q: _Quantity) -> str:
    # An ordinal keeps 二 (第2个 is 第二个, not 第两个).
    after = "" if text[pos - 1 : pos] == "第" else text[q.end :]
    number = q.number
    whole_number = number.isdigit()
    if not q.sign and not q.suffix and whole_number:
        if number.startswith("0") and len(number) == 2 and after[:1] in _CLOCK_UNITS:
            # 8点08分 八点零八分, 01月 一月: a padded field of a date or time.
            if after[:1] == "年":
                return digits(number)  # 06年 零六年
            return _sixty(number) if after[:1] in "分秒" else cardinal(number)
        if _code_context(text, pos, after, number):
            return digits(number, phone=True)
        if len(number) == 4 and after.lstrip(" ").startswith("年"):
            return digits(number)
    temperature = _is_temperature(text, pos, q.suffix, after)
    return _say(q, "", after, temperature=temperature)


def _say(q: _Quantity, shared_suffix: str, after: str, *, temperature: bool) -> str:
    """One quantity with its sign, percent or unit; ``shared_suffix`` is a % or unit
    written only on the other end of a range (3-5% -> 百分之三到百分之五)."""
    suffix = q.suffix or shared_suffix
    if suffix in ("%", "‰"):
        reading = ("百分之" if suffix == "%" else "千分之") + cardinal(q.number)
        unit = ""
    elif suffix:
        unit = UNITS[suffix] if q.suffix else ""
        reading = quantity(q.number, UNITS[suffix])
    else:
        unit = ""
        reading = quantity(q.number, after)
    if q.sign == "-":
        reading = negative(reading, temperature=temperature)
    elif q.sign == "+":
        reading = ("零上" if temperature else "加") + reading
    return reading + unit


def _is_temperature(text: str, pos: int, suffix: str, after: str) -> bool:
    return (
        suffix in TEMPERATURE_UNITS
        or (not suffix and after.startswith(TEMPERATURE_WORDS))
        or any(word in text[max(0, pos - 6) : pos] for word in TEMPERATURE_CONTEXT)
    )


def _code_context(text: str, pos: int, after: str, number: str) -> bool:
    """Phone numbers, pick-up codes, rooms and the like are read digit by digit."""
    if len(number) < 2:
        return False
    if number.startswith("0"):
        return True
    following = after.lstrip(" ")
    if following.startswith(_CODE_AFTER):
        return True
    after_letter = pos > 0 and text[pos - 1].isascii() and text[pos - 1].isalpha()
    if len(number) >= 3 and (following.startswith(_ROOM_AFTER) or after_letter):
        return True  # 1201室, G1234
    if following.startswith(LIANG_BEFORE) or UNIT_RE.match(after):
        return False
    before = text[max(0, pos - 8) : pos]
    stripped = before.rstrip(_CODE_GLUE)
    return len(before) - len(stripped) <= 3 and stripped.endswith(_CODE_BEFORE)


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"  # str.isdigit() also accepts ² and other scripts' digits


def _plain(number: str) -> str:
    """Drop thousands separators: 12,345.6 -> 12345.6."""
    return number.replace(",", "")

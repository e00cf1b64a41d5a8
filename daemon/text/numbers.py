"""Reading numbers aloud: a thin, tested wrapper around cn2an.

cn2an does the real work (place values, 零 in the middle, decimals). Its own
``transform`` of whole sentences guesses too much (dates, percentages, ranges) and fails
on long numbers, so we only hand it a single number at a time and fix the few places
where spoken Chinese differs from its output (两 before magnitudes and measure words).
"""

from __future__ import annotations

import re

import cn2an

from daemon.text.chars import DIGIT_NAMES, DIGIT_NAMES_PHONE

#: cn2an supports at most 16 integer digits; longer numbers are read digit by digit,
#: and so are numbers over 12 digits, which are identifiers rather than amounts.
MAX_CARDINAL_DIGITS = 12

#: After an exact "2", spoken Chinese says 两 before these measure words and units.
LIANG_BEFORE = (
    "个", "位", "条", "次", "片", "件", "台", "只", "张", "本", "辆", "种", "块", "杯",
    "瓶", "碗", "双", "对", "份", "盒", "袋", "包", "把", "支", "首", "部", "间", "家",
    "项", "名", "人", "天", "周", "小时", "分钟", "秒钟", "年", "岁", "斤", "公斤",
    "公里", "米", "升", "倍", "遍", "趟", "顿", "口", "棵", "朵", "页", "节", "点", "架",
    "颗", "粒", "群", "套", "场", "回", "句", "声", "步", "万", "千", "百", "亿", "样",
    "批", "头", "匹", "座", "排", "行", "圈", "下", "元", "美元", "欧元", "英镑", "角",
    "毛",
)  # fmt: skip


_LEADING_TWO_RE = re.compile(r"(^|[万亿])二(?=[千万亿])")


def digits(number: str, *, phone: bool = False) -> str:
    """Digit by digit: ``"2026"`` -> 二零二六; with ``phone`` 1 is read 幺 (``"110"`` -> 幺幺零)."""
    names = DIGIT_NAMES_PHONE if phone else DIGIT_NAMES
    return "".join(names[int(d)] for d in number if d.isdigit())


def cardinal(number: str) -> str:
    """An integer or decimal in ASCII digits (no sign, no separators) as an amount.

    ``"12"`` -> 十二, ``"2000"`` -> 两千, ``"3.50"`` -> 三点五零 (every written digit is
    read). Integers too long for an amount are read digit by digit.
    """
    whole, _, fraction = number.partition(".")
    whole = whole.lstrip("0") or "0"
    if len(whole) > MAX_CARDINAL_DIGITS:
        reading = digits(whole)
    else:
        reading = str(cn2an.an2cn(whole))
        # cn2an says 二千/二万; speakers say 两 when 2 leads a magnitude (两千, 一万两千).
        reading = _LEADING_TWO_RE.sub(r"\1两", reading)
    if fraction:
        reading += "点" + digits(fraction)
    return reading


def quantity(number: str, following: str) -> str:
    """Like :func:`cardinal`, but an exact 2 before a measure word is 两 (两个, 两点)."""
    if number == "2" and following.startswith(LIANG_BEFORE):
        return "两"
    return cardinal(number)


def negative(reading: str, *, temperature: bool) -> str:
    """Temperatures below zero are 零下, everything else 负."""
    return ("零下" if temperature else "负") + reading

"""Units and currency symbols read after (or instead of) a number.

Unit symbols are only expanded right after a number ("5m" is 五米, a lone "m" is the
letter), so that Latin words are never mistaken for units.
"""

from __future__ import annotations

import re

#: Written after a number. Matched case-sensitively, longest first, and only when no
#: Latin letter follows (so "3 months" is not "3 m" + "onths").
UNITS: dict[str, str] = {
    "°C": "摄氏度",
    "°F": "华氏度",
    "°": "度",
    "km/h": "公里每小时",
    "km²": "平方公里",
    "m²": "平方米",
    "cm²": "平方厘米",
    "m³": "立方米",
    "cm³": "立方厘米",
    "m/s": "米每秒",
    "μg/m³": "微克每立方米",
    "mg/m³": "毫克每立方米",
    "km": "公里",
    "cm": "厘米",
    "mm": "毫米",
    "nm": "纳米",
    "m": "米",
    "kg": "公斤",
    "mg": "毫克",
    "μg": "微克",
    "g": "克",
    "t": "吨",
    "ml": "毫升",
    "mL": "毫升",
    "L": "升",
    "kWh": "千瓦时",
    "kwh": "千瓦时",
    "KWh": "千瓦时",
    "Wh": "瓦时",
    "kW": "千瓦",
    "W": "瓦",
    "mAh": "毫安时",
    "mA": "毫安",
    "V": "伏",
    "kV": "千伏",
    "Hz": "赫兹",
    "kHz": "千赫兹",
    "MHz": "兆赫兹",
    "GHz": "吉赫兹",
    "dB": "分贝",
    "h": "小时",
    "min": "分钟",
    "s": "秒",
    "ms": "毫秒",
    "kPa": "千帕",
    "hPa": "百帕",
    "Pa": "帕",
    "kcal": "千卡",
    "lux": "勒克斯",
    "rpm": "转每分钟",
    "Mbps": "兆比特每秒",
    "Gbps": "吉比特每秒",
    "kbps": "千比特每秒",
}

_UNIT_ALTERNATION = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

#: A unit right after a number, allowing one space ("5 kg"), never followed by a letter.
UNIT_RE = re.compile(rf" ?(?P<unit>{_UNIT_ALTERNATION})(?![A-Za-z])")

#: Written before the amount, read after it: "¥12" is 十二元.
CURRENCY_PREFIX: dict[str, str] = {"¥": "元", "$": "美元", "€": "欧元", "£": "英镑", "₩": "韩元"}

#: Temperature units: a minus sign before them is 零下.
TEMPERATURE_UNITS = frozenset({"°C", "°F", "°"})

#: Words after a number that also make its minus sign 零下 ("-2度").
TEMPERATURE_WORDS = ("度", "摄氏度", "华氏度")

#: Words shortly before a number that make it a temperature ("气温-2").
TEMPERATURE_CONTEXT = ("温度", "气温", "温", "体感")

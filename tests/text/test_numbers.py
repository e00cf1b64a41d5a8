"""The cn2an wrapper: place values, 两, long numbers, decimals, digit strings."""

from __future__ import annotations

import pytest

from daemon.text.numbers import cardinal, digits, negative, quantity


@pytest.mark.parametrize(
    ("number", "reading"),
    [
        ("0", "零"),
        ("00", "零"),
        ("1", "一"),
        ("10", "十"),
        ("11", "十一"),
        ("20", "二十"),
        ("101", "一百零一"),
        ("110", "一百一十"),
        ("200", "二百"),
        ("1001", "一千零一"),
        ("2000", "两千"),
        ("10000", "一万"),
        ("12000", "一万两千"),
        ("22000", "两万两千"),
        ("100000", "十万"),
        ("200000000", "两亿"),
        ("120000000", "一亿两千万"),
        ("123456789012", "一千二百三十四亿五千六百七十八万九千零一十二"),
        ("1234567890123", "一二三四五六七八九零一二三"),  # an identifier, not an amount
        ("99999999999999999999", "九" * 20),  # beyond cn2an's 16 digits
        ("0042", "四十二"),
        ("3.14", "三点一四"),
        ("0.05", "零点零五"),
        ("12.50", "十二点五零"),
        ("2.5", "二点五"),
        ("2000.5", "两千点五"),
    ],
)
def test_cardinal(number: str, reading: str) -> None:
    assert cardinal(number) == reading


@pytest.mark.parametrize(
    ("number", "following", "reading"),
    [
        ("2", "个人", "两"),
        ("2", "点钟", "两"),
        ("2", "公斤", "两"),
        ("2", "号", "二"),
        ("2", "月", "二"),
        ("2", "", "二"),
        ("12", "个", "十二"),
        ("2.0", "个", "二点零"),
    ],
)
def test_quantity_says_liang_before_measures(number: str, following: str, reading: str) -> None:
    assert quantity(number, following) == reading


def test_digits() -> None:
    assert digits("2026") == "二零二六"
    assert digits("110") == "一一零"
    assert digits("110", phone=True) == "幺幺零"
    assert digits("010-1234", phone=True) == "零幺零幺二三四"


def test_negative() -> None:
    assert negative("三", temperature=True) == "零下三"
    assert negative("三", temperature=False) == "负三"

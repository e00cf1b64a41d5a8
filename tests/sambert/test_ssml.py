"""SSML-like emotion markup -> (emotion, text) segments."""

from __future__ import annotations

from daemon.engines.sambert import parse_ssml


def test_official_style_markup() -> None:
    text = '<speak><emotion category="happy" intensity="1.0">今天真开心</emotion></speak>'
    assert parse_ssml(text) == [("happy", "今天真开心")]


def test_mixed_segments_keep_order() -> None:
    text = (
        "<speak>你好，<emotion category='Sad'>我有点难过</emotion>"
        '<emotion category="angry">别说了</emotion>再见</speak>'
    )
    assert parse_ssml(text) == [
        (None, "你好，"),
        ("sad", "我有点难过"),
        ("angry", "别说了"),
        (None, "再见"),
    ]


def test_plain_text_and_entities() -> None:
    assert parse_ssml("你好") == [(None, "你好")]
    assert parse_ssml("a &lt; b") == [(None, "a < b")]
    assert parse_ssml("") == []


def test_nested_other_tags_and_unbalanced_close() -> None:
    text = (
        '<speak><emotion category="fear"><break time="1s"/>小心<s>点</s></emotion>'
        "</emotion>好</speak>"
    )
    assert parse_ssml(text) == [("fear", "小心点"), (None, "好")]


def test_emotion_without_category_inherits() -> None:
    text = '<emotion category="happy">一<emotion intensity="0.5">二</emotion></emotion>'
    assert parse_ssml(text) == [("happy", "一二")]


def test_prefixed_category() -> None:
    assert parse_ssml('<emotion category="emotion_sad">唉</emotion>') == [("sad", "唉")]

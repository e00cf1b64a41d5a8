"""split_sentences(): streaming units that keep punctuation and never split a word."""

from __future__ import annotations

import pytest

from daemon.text import normalize, split_sentences
from daemon.text.chars import PAUSE_PUNCT


def test_splits_after_sentence_marks_and_keeps_them() -> None:
    assert split_sentences("你好。今天好吗？很好！走吧；好") == [
        "你好。",
        "今天好吗？",
        "很好！",
        "走吧；",
        "好",
    ]


def test_ascii_marks_split_too() -> None:
    assert split_sentences("你好!真的?好;走") == ["你好!", "真的?", "好;", "走"]


def test_normalized_ascii_punctuation_splits() -> None:
    text = normalize("Hi! How are you? OK.").text
    assert split_sentences(text) == ["嗨！", "艾尺欧达布留诶阿尔伊歪欧优？", "欧开。"]


def test_runs_of_marks_stay_with_their_sentence() -> None:
    assert split_sentences("真的吗？！好。。") == ["真的吗？！", "好。。"]


def test_no_empty_pieces() -> None:
    assert split_sentences("") == []
    assert split_sentences("。。！") == []
    assert split_sentences("，你好。。。") == ["你好。。。"]
    assert split_sentences("  \n ") == []


def test_short_sentence_is_whole() -> None:
    text = "各位家庭成员请注意：由于小区管网维修，明天上午八点至下午六点将暂停供水。"
    assert split_sentences(text, max_chars=50) == [text]


def test_long_sentence_is_cut_at_commas() -> None:
    text = (
        "各位家庭成员请注意：由于小区管网维修，"
        "明天上午八点至下午六点将暂停供水，请提前储存好生活用水。"
    )
    pieces = split_sentences(text, max_chars=20)
    assert pieces == [
        "各位家庭成员请注意：由于小区管网维修，",
        "明天上午八点至下午六点将暂停供水，",
        "请提前储存好生活用水。",
    ]
    assert "".join(pieces) == text


def test_clause_without_commas_is_cut_between_words() -> None:
    text = "扫地机器人已经完成了客厅卧室厨房和阳台的全部清扫工作"
    pieces = split_sentences(text, max_chars=10)
    assert "".join(pieces) == text
    assert all(len(p) <= 10 for p in pieces)
    assert len(pieces) >= 3
    # Word boundaries: no piece starts or ends inside these words.
    for word in ("机器人", "客厅", "卧室", "厨房", "阳台", "清扫", "工作"):
        assert any(word in p for p in pieces)


def test_first_piece_can_be_shorter() -> None:
    text = "各位家庭成员请注意，由于小区管网维修，明天将暂停供水。"
    assert split_sentences(text, max_chars=50) == [text]
    assert split_sentences(text, max_chars=50, first_max_chars=12) == [
        "各位家庭成员请注意，",
        "由于小区管网维修，明天将暂停供水。",
    ]


def test_first_piece_is_the_first_clause() -> None:
    text = "好的，我现在就帮你，打开客厅的灯和窗帘。"
    assert split_sentences(text, max_chars=50, first_max_chars=10) == [
        "好的，",
        "我现在就帮你，打开客厅的灯和窗帘。",
    ]


def test_long_first_clause_is_cut_between_words() -> None:
    text = "扫地机器人已经完成了全部清扫工作，请检查。"
    pieces = split_sentences(text, max_chars=50, first_max_chars=6)
    assert pieces[0] == "扫地机器人"
    assert pieces[1:] == ["已经完成了全部清扫工作，请检查。"]


def test_first_max_chars_only_bounds_the_first_piece() -> None:
    text = "门口有人。各位家庭成员请注意，由于小区管网维修，明天将暂停供水。"
    assert split_sentences(text, max_chars=50, first_max_chars=8) == [
        "门口有人。",
        "各位家庭成员请注意，由于小区管网维修，明天将暂停供水。",
    ]


@pytest.mark.parametrize(
    "number",
    ["零下三点五", "百分之六十五", "十四点零五分", "二零二六", "一万两千", "三点一四一五九"],
)
def test_a_numbers_reading_is_never_split(number: str) -> None:
    for prefix_length in range(1, 12):
        text = "温" * prefix_length + number + "摄氏度的天气"
        for limit in range(len(number), len(number) + 8):
            pieces = split_sentences(text, max_chars=limit)
            assert "".join(pieces) == text
            assert any(number in piece for piece in pieces), (text, limit, pieces)


def test_pieces_never_exceed_the_limit_for_real_text() -> None:
    text = normalize(
        "今天是星期三，日程安排如下：上午九点开会，中午十二点和客户吃饭，下午两点到五点写报告，"
        "晚上七点去健身房。请合理安排时间，注意休息。"
    ).text
    for limit in (8, 12, 20, 30):
        pieces = split_sentences(text, max_chars=limit)
        assert "".join(pieces) == text
        assert all(0 < len(p) <= limit for p in pieces)
        assert all(p[0] not in PAUSE_PUNCT for p in pieces)


def test_a_single_overlong_word_is_cut_hard() -> None:
    digits = "幺二三四五六七八九零" * 3
    pieces = split_sentences(digits, max_chars=10)
    assert pieces == [digits[:10], digits[10:20], digits[20:]]


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_sentences("你好", max_chars=0)
    with pytest.raises(ValueError, match="at least 1"):
        split_sentences("你好", first_max_chars=0)

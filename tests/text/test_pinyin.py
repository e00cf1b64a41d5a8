"""analyze(): polyphones from context, neutral tones, sandhi, one syllable per character."""

from __future__ import annotations

import pytest

from daemon.text import Token, analyze


def syllables(text: str) -> list[str]:
    return [s for token in analyze(text) for s in token.syllables]


def word(text: str, target: str) -> list[str]:
    """The syllables of the characters of ``target`` inside ``text``'s reading."""
    flat = syllables(text)
    han = "".join(t.text for t in analyze(text) if not t.is_punct)
    start = han.index(target)
    return flat[start : start + len(target)]


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("我去银行取钱", "银行", ["yin2", "hang2"]),
        ("他在路上行走", "行走", ["xing2", "zou3"]),
        ("一行人", "行", ["xing2"]),
        ("银行卡丢了", "银行卡", ["yin2", "hang2", "ka3"]),
        ("孩子长大了", "长大", ["zhang3", "da4"]),
        ("这条路很长", "长", ["chang2"]),
        ("他长得很高", "长", ["zhang3"]),
        ("请重新连接", "重新", ["chong2", "xin1"]),
        ("这个很重", "重", ["zhong4"]),
        ("我觉得很好", "觉得", ["jue2", "de5"]),
        ("还是去吧", "还是", ["hai2", "shi4"]),
        ("音乐很好听", "音乐", ["yin1", "yue4"]),
        ("快乐", "乐", ["le4"]),
        ("会计师", "会计", ["kuai4", "ji4"]),
        ("空调已打开", "空调", ["kong1", "tiao2"]),
        ("便宜", "便宜", ["pian2", "yi5"]),
        ("我得去了", "得", ["dei3"]),
        ("我得走了", "得", ["dei2"]),  # dei3 before a third tone
        ("跑得很快", "得", ["de5"]),
        ("今天过得怎么样", "得", ["de5"]),
        ("认真地学习", "地", ["de5"]),
        ("这块地", "地", ["di4"]),
        ("女儿", "女儿", ["nv3", "er2"]),
        ("把亮度调到百分之八十", "调", ["tiao2"]),
        ("温度调低两度", "调", ["tiao2"]),
        ("调度中心", "调度", ["diao4", "du4"]),
        ("长按三秒重置", "重置", ["chong2", "zhi4"]),
        ("网络重连", "重连", ["chong2", "lian2"]),
        ("这个很重", "重", ["zhong4"]),
        ("重要通知", "重要", ["zhong4", "yao4"]),
        ("长按开关", "长", ["chang2"]),
    ],
)
def test_polyphones_follow_the_word(text: str, target: str, expected: list[str]) -> None:
    assert word(text, target) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好", ["ni2", "hao3"]),
        ("老鼠", ["lao2", "shu3"]),
        ("展览馆", ["zhan2", "lan2", "guan3"]),
        ("水果", ["shui2", "guo3"]),
        ("可以", ["ke2", "yi3"]),
        ("岂有此理", ["qi2", "you3", "ci2", "li3"]),
        ("我想", ["wo2", "xiang3"]),
        ("我很好", ["wo3", "hen2", "hao3"]),
        ("买水果", ["mai3", "shui2", "guo3"]),
        ("很长", ["hen3", "chang2"]),
    ],
)
def test_third_tone_sandhi(text: str, expected: list[str]) -> None:
    assert syllables(text) == expected


def test_third_tone_sandhi_stops_at_a_pause() -> None:
    assert syllables("我，想") == ["wo3", "xiang3"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一个", ["yi2", "ge4"]),  # before tone 4
        ("一样", ["yi2", "yang4"]),
        ("一天", ["yi4", "tian1"]),  # before tone 1
        ("一年", ["yi4", "nian2"]),  # before tone 2
        ("一起", ["yi4", "qi3"]),  # before tone 3
        ("第一", ["di4", "yi1"]),  # ordinal
        ("一月", ["yi1", "yue4"]),  # month name
        ("十一", ["shi2", "yi1"]),  # in a number
        ("二零一六年", ["er4", "ling2", "yi1", "liu4", "nian2"]),  # digit by digit
        ("统一", ["tong3", "yi1"]),  # word-final
        ("星期一上午", ["xing1", "qi1", "yi1", "shang4", "wu3"]),
        ("一点五", ["yi1", "dian2", "wu3"]),  # a decimal, not "a bit"
        ("下午一点开会", ["xia4", "wu3", "yi1", "dian3", "kai1", "hui4"]),
        ("十二月一日", ["shi2", "er4", "yue4", "yi1", "ri4"]),
        ("看一看", ["kan4", "yi5", "kan4"]),
        ("一", ["yi1"]),
        ("一周一次", ["yi4", "zhou1", "yi2", "ci4"]),
        ("一万两千", ["yi2", "wan4", "liang3", "qian1"]),
    ],
)
def test_yi_sandhi(text: str, expected: list[str]) -> None:
    assert syllables(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("不是", ["bu2", "shi4"]),
        ("不对", ["bu2", "dui4"]),
        ("不好", ["bu4", "hao3"]),
        ("不吃", ["bu4", "chi1"]),
        ("不行", ["bu4", "xing2"]),
        ("好不好", ["hao3", "bu5", "hao3"]),
        ("对不起", ["dui4", "bu5", "qi3"]),
        ("不", ["bu4"]),
    ],
)
def test_bu_sandhi(text: str, expected: list[str]) -> None:
    assert syllables(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("妈妈", ["ma1", "ma5"]),
        ("爸爸", ["ba4", "ba5"]),
        ("姐姐", ["jie3", "jie5"]),
        ("看看", ["kan4", "kan5"]),
        ("桌子", ["zhuo1", "zi5"]),
        ("我们", ["wo3", "men5"]),
        ("孩子们", ["hai2", "zi5", "men5"]),
        ("好的", ["hao3", "de5"]),
        ("走了", ["zou3", "le5"]),
        ("是吗", ["shi4", "ma5"]),
        ("你呢", ["ni3", "ne5"]),
        ("走吧", ["zou3", "ba5"]),
        ("一会儿", ["yi2", "hui4", "er5"]),
        ("电子", ["dian4", "zi3"]),
        ("衣服", ["yi1", "fu5"]),
        ("东西", ["dong1", "xi5"]),
        ("知道", ["zhi1", "dao5"]),
        ("耳朵", ["er3", "duo5"]),  # neutral before sandhi: no 3-3 change
        ("晾起来", ["liang4", "qi3", "lai5"]),
    ],
)
def test_neutral_tones(text: str, expected: list[str]) -> None:
    assert syllables(text) == expected


def test_tokens_are_words_with_punctuation_marked() -> None:
    tokens = analyze("你好，银行。")
    assert tokens == [
        Token("你好", ("ni2", "hao3"), False),
        Token("，", (), True),
        Token("银行", ("yin2", "hang2"), False),
        Token("。", (), True),
    ]


def test_unnormalized_input_is_normalized_first() -> None:
    tokens = analyze("气温-3℃!")
    assert "".join(t.text for t in tokens) == "气温零下三摄氏度！"
    assert syllables("PM2.5") == ["pi1", "ai4", "mu3", "er4", "dian2", "wu3"]


def test_every_character_has_exactly_one_wellformed_syllable() -> None:
    text = (
        "明天是二零二六年十二月一日，星期二，北京晴转多云。空气净化器已切换到睡眠模式，"
        "批艾姆二点五浓度为三十五微克每立方米！嗯，哦，欸，呣？"
    )
    for token in analyze(text):
        if token.is_punct:
            assert token.syllables == ()
            continue
        assert len(token.syllables) == len(token.text)
        for syllable in token.syllables:
            assert syllable[-1] in "12345", syllable
            assert syllable[:-1].isascii() and syllable[:-1].isalpha(), syllable

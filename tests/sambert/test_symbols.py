"""Linguistic units, symbol parsing, pinyin -> phones, and our frontend's symbol lines."""

from __future__ import annotations

import pytest

from daemon.engines.sambert import SymbolError
from daemon.engines.sambert.ling_units import LinguisticUnits, parse_symbol_line
from daemon.engines.sambert.phones import split_tone, syllable_phones
from daemon.engines.sambert.symbols import plan_prosody, sentence_symbols, symbol_line

from .conftest import Tok, fake_analyze

STOCK = {
    "linguistic_unit": {
        "cleaners": "english_cleaners",
        "lfeat_type_list": "sy,tone,syllable_flag,word_segment,emo_category,speaker_category",
        "speaker_list": "F7",
    }
}
NI = (
    "{n_c$tone3$s_begin$word_begin$emotion_neutral$F7} "
    "{i_c$tone3$s_end$word_end$emotion_neutral$F7}"
)


def test_vocabulary_sizes_as_the_official_loader_builds_them() -> None:
    units = LinguisticUnits.from_config(STOCK)
    assert units.sizes() == {
        "sy": 147,
        "tone": 10,
        "syllable_flag": 8,
        "word_segment": 8,
        "emotion": 36,
        "speaker": 4,
    }
    legacy = LinguisticUnits.from_config(STOCK, has_mask=False).sizes()
    assert legacy["sy"] == 146
    assert legacy["speaker"] == 3


def test_encode_ids() -> None:
    units = LinguisticUnits.from_config(STOCK)
    enc = units.encode(NI + " {#4$tone_none$s_none$word_none$emotion_happy$F7}")
    # Ids are positions in KAN-TTS's lists: n_c is phone 34, tone3 tone 4, #4 phone 143.
    assert enc.ling[:, 0].tolist() == [34, 17, 143]
    assert enc.ling[:, 1].tolist() == [4, 4, 1]
    assert enc.ling[:, 2].tolist() == [0, 1, 2]
    assert enc.ling[:, 3].tolist() == [0, 1, 4]
    assert enc.emotion.tolist() == [1, 1, 5]
    assert enc.speaker.tolist() == [0, 0, 0]


def test_official_symbol_file_line_with_id_prefix() -> None:
    tokens = parse_symbol_line("0_0\t" + NI)
    assert tokens[0] == ("n_c", "tone3", "s_begin", "word_begin", "emotion_neutral", "F7")


def test_unknown_symbols_are_named() -> None:
    units = LinguisticUnits.from_config(STOCK)
    bad = NI.replace("n_c", "nx_c").replace("emotion_neutral", "emotion_joyful").replace("F7", "M9")
    with pytest.raises(SymbolError) as info:
        units.encode(bad)
    msg = str(info.value)
    assert "sy: nx_c" in msg
    assert "emo_category: emotion_joyful" in msg
    assert "speaker_category: M9" in msg
    assert info.value.code == "unspeakable_text"


def test_special_symbols_are_not_accepted_as_input() -> None:
    units = LinguisticUnits.from_config(STOCK)
    with pytest.raises(SymbolError, match="sy: ~"):
        units.encode("{~$tone3$s_begin$word_begin$emotion_neutral$F7}")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "empty symbol line"),
        ("{n_c$tone3$s_begin$word_begin$emotion_neutral}", "has 5 fields"),
        ("{n_c$tone3$s_begin$word_begin$emotion_neutral$F7} oops", "after the last symbol"),
        ("x {n_c$tone3$s_begin$word_begin$emotion_neutral$F7}", "unexpected text 'x'"),
    ],
)
def test_malformed_lines(line: str, message: str) -> None:
    with pytest.raises(SymbolError, match=message):
        parse_symbol_line(line)


@pytest.mark.parametrize(
    ("pinyin", "phones"),
    [
        # A sample of KAN-TTS's py2phoneMap.txt (the rules reproduce all 660 entries).
        ("a", "ga a_c"),
        ("er", "ge er_c"),
        ("ou", "go ou_c"),
        ("ba", "b_c a_c"),
        ("zhi", "zh_c ih_c"),
        ("ri", "r_c ih_c"),
        ("si", "s_c ii_c"),
        ("xi", "xx_c i_c"),
        ("ju", "j_c v_c"),
        ("quan", "q_c van_c"),
        ("xue", "xx_c ve_c"),
        ("jun", "j_c vn_c"),
        ("lv", "l_c v_c"),
        ("nve", "n_c ve_c"),
        ("diu", "d_c iou_c"),
        ("gui", "g_c uei_c"),
        ("lun", "l_c uen_c"),
        ("yi", "y_c i_c"),
        ("ye", "y_c e_c"),
        ("you", "y_c ou_c"),
        ("yu", "y_c v_c"),
        ("yuan", "y_c van_c"),
        ("yong", "y_c ong_c"),
        ("wu", "w_c u_c"),
        ("wei", "w_c ei_c"),
        ("weng", "w_c eng_c"),
        ("jiong", "j_c iong_c"),
        ("huar", "h_c uar_c"),
        ("ger", "g_c er_c"),
        ("zhir", "zh_c ihr_c"),
        ("duir", "d_c ueir_c"),
        ("yer", "y_c er_c"),
    ],
)
def test_pinyin_to_phones(pinyin: str, phones: str) -> None:
    assert " ".join(syllable_phones(pinyin)) == phones


def test_tones() -> None:
    assert split_tone("hao3") == ("hao", "tone3")
    assert split_tone("de5") == ("de", "tone5")
    assert split_tone("de") == ("de", "tone5")
    assert split_tone("lü4") == ("lv", "tone4")
    with pytest.raises(SymbolError, match="not a TONE3 pinyin syllable"):
        split_tone("好")
    with pytest.raises(SymbolError, match="cannot map pinyin 'iii'"):
        syllable_phones("iii")


def fields(line: str) -> list[list[str]]:
    return [list(t) for t in parse_symbol_line(line)]


def test_frontend_structure() -> None:
    (line,) = sentence_symbols(fake_analyze(""), emotion="happy", speaker="F7")
    toks = fields(line)
    phones = [t[0] for t in toks]
    # 今天#1 天气#1 很好#3 我们#1 去#1 公园#1 散步吧#4 (吧 joins its word, and two
    # one-syllable words make one prosodic word).
    breaks = [p for p in phones if p.startswith("#")]
    assert breaks == ["#1", "#1", "#3", "#1", "#1", "#1", "#4"]
    assert phones[:5] == ["j_c", "in_c", "t_c", "ian_c", "#1"]
    assert all(t[4] == "emotion_happy" and t[5] == "F7" for t in toks)
    assert all(t[1:4] == ["tone_none", "s_none", "word_none"] for t in toks if t[0][0] == "#")
    # Word flags: first phone begins, last ends, the rest are middle (as KAN-TTS trains).
    assert [t[3] for t in toks[:4]] == ["word_begin", "word_middle", "word_middle", "word_end"]
    hen = phones.index("h_c")
    assert phones[hen : hen + 5] == ["h_c", "en_c", "h_c", "ao_c", "#3"]
    assert [t[3] for t in toks[hen : hen + 4]] == [
        "word_begin",
        "word_middle",
        "word_middle",
        "word_end",
    ]
    assert [t[2] for t in toks[hen : hen + 2]] == ["s_begin", "s_end"]
    qu = phones.index("v_c") - 1  # 去 qu4 -> q_c v_c
    # A lone one-syllable word: its initial begins the word, its final ends it.
    assert [t[3] for t in toks[qu : qu + 2]] == ["word_begin", "word_end"]
    san = phones.index("s_c")
    assert phones[san : san + 7] == ["s_c", "an_c", "b_c", "u_c", "b_c", "a_c", "#4"]
    assert toks[san + 5][1] == "tone5"
    assert toks[san + 5][3] == "word_end"


def test_frontend_breaks_long_phrases() -> None:
    words = ["我们", "明天", "早上", "一起", "去", "公园", "散步"]
    tokens = [Tok(w, [f"x{i}1" for i in range(len(w))]) for w in words]
    (planned,) = plan_prosody(tokens)
    # A #2 once six syllables have run since the last phrase break, if 3+ remain.
    assert [w.break_after for w in planned] == [1, 1, 2, 1, 1, 1, 4]


def test_frontend_erhua() -> None:
    tokens = [Tok("女儿", ["nv3", "er2"]), Tok("玩儿", ["wan2", "er5"])]
    (words,) = plan_prosody(tokens)
    assert [w.syllables for w in words] == [["nv3", "er2"], ["wanr2"]]
    phones = [t[0] for t in fields(symbol_line(words, emotion="neutral", speaker="F7"))]
    assert phones == ["n_c", "v_c", "ge", "er_c", "#1", "w_c", "anr_c", "#4"]


def test_frontend_splits_lines_at_sentence_ends() -> None:
    tokens = [Tok("你好", ["ni2", "hao3"]), Tok("！", [], True), Tok("再见", ["zai4", "jian4"])]
    lines = sentence_symbols(tokens, emotion="neutral", speaker="F7")
    assert len(lines) == 2
    assert all(fields(line)[-1][0] == "#4" for line in lines)


def test_frontend_enumeration_comma_and_empty_input() -> None:
    tokens = [Tok("苹果", ["ping2", "guo3"]), Tok("、", [], True), Tok("香蕉", ["xiang1", "jiao1"])]
    (words,) = plan_prosody(tokens)
    assert [w.break_after for w in words] == [2, 4]
    assert sentence_symbols([Tok("，", [], True)], emotion="neutral", speaker="F7") == []


def test_frontend_names_unmappable_syllables() -> None:
    with pytest.raises(SymbolError, match=r"'iii'.*in '怪'"):
        symbol_line(plan_prosody([Tok("怪", ["iii1"])])[0], emotion="neutral", speaker="F7")


def test_every_pypinyin_syllable_maps_to_phones() -> None:
    from pypinyin import Style
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    syllables = {
        convert(py, Style.TONE3, strict=strict)
        for readings in pinyin_dict.values()
        for py in readings.split(",")
        for strict in (True, False)
    }
    assert len(syllables) > 1000
    for syllable in syllables:
        base, _ = split_tone(syllable)
        syllable_phones(base)  # raises SymbolError if any reading can't be spoken

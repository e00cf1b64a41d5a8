"""Words and their syllables: jieba segmentation, pypinyin readings, neutral tones, sandhi.

pypinyin reads each jieba word with its phrase dictionary, which settles most
polyphones from context (银行 hang2, 行走 xing2, 长大 zhang3, 还是 hai2). We add
neutral tones pypinyin leaves out (word-final 们/子/儿, reduplicated kinship terms and
verbs, particles, everyday words such as 衣服 知道 起来), fix a few characters whose
default reading is the rarer one (长, 调, 重, 得, 地), then apply the tone sandhi of
:mod:`daemon.text.sandhi`.

Erhua is kept simple: 儿 keeps its own syllable, ``er5`` when it is a suffix
(一会儿 yi2 hui4 er5), ``er2`` when it means a child (女儿); the engine joins them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from daemon.text import sandhi
from daemon.text.chars import PAUSE_PUNCT, is_readable_han, word_set
from daemon.text.dictionary import MAX_PHRASE_LEN, is_phrase, tone3
from daemon.text.normalize import normalize
from daemon.text.segment import cut
from daemon.text.segment import warm_up as _load_segmenter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Token:
    """One jieba word (or one punctuation mark) of a sentence."""

    text: str
    """The word as it appears in the normalized sentence."""
    syllables: tuple[str, ...]
    """One TONE3 syllable per character (``"ni3"``, neutral ``"de5"``); empty for marks."""
    is_punct: bool
    """A pause mark (``，。！？；：、``), with no syllables."""


#: Particles read with the neutral tone when they stand as their own word.
_PARTICLES = {
    "的": "de5",
    "了": "le5",
    "吗": "ma5",
    "呢": "ne5",
    "吧": "ba5",
    "啊": "a5",
    "呀": "ya5",
    "嘛": "ma5",
    "啦": "la5",
    "着": "zhe5",
    "们": "men5",
    "么": "me5",
}
#: Suffixes read neutral at the end of a word pypinyin does not know as a phrase.
_NEUTRAL_SUFFIXES = {"们": "men5", "子": "zi5", "的": "de5", "了": "le5", "吧": "ba5",
                     "呢": "ne5", "吗": "ma5", "么": "me5"}  # fmt: skip
#: Words ending in 子 that keep its full tone (a person or a particle, not a suffix).
_FULL_ZI = word_set(
    "男子 女子 孔子 老子 君子 弟子 太子 王子 公子 天子 赤子 游子 "
    "瓜子 莲子 棋子 孝子 才子 电子 原子 分子 质子 中子 离子 粒子 "
    "因子 量子 光子 孢子 精子 卵子"
)
#: A reduplicated character whose second occurrence is neutral: kinship terms
#: (妈妈 ma1 ma5) and verbs tried out briefly (看看 kan4 kan5).
_REDUPLICATED_NEUTRAL = frozenset(
    "妈爸哥姐弟妹爷奶姥舅叔婶姑伯婆宝娃看听想说试走尝问找聊歇玩逛摸洗擦谈"
)
#: 儿 meaning "child" keeps er2 at the end of a word.
_CHILD_ER = word_set(
    "女儿 婴儿 孤儿 健儿 幼儿 宠儿 男儿 胎儿 患儿 少儿 育儿 孙儿 侄儿 混血儿 新生儿 托儿"
)
#: Everyday words whose second syllable is neutral in speech but not in pypinyin's
#: dictionary (东西 "thing", 衣服, 知道 ...), and directional complements (起来).
_NEUTRAL_SECOND = word_set(
    "东西 衣服 时候 朋友 事情 休息 消息 知道 告诉 地方 明白 舒服 客气 麻烦 清楚 "
    "漂亮 窗户 先生 太阳 月亮 喜欢 谢谢 关系 名字 热闹 暖和 凉快 干净 认识 耳朵 "
    "眼睛 钥匙 师傅 姑娘 打扮 打算 商量 咳嗽 亲戚 困难 照顾 聪明 糊涂 便宜 结实 "
    "起来 出来 下来 上来 过来 进来 回来 出去 进去 上去 下去 回去 "
    "早上 晚上 头发 豆腐 萝卜 葡萄 玻璃 事儿 行李 枕头 木头 石头 舌头 指头 骨头"
)
#: 长 is zhang3 (grow) before these, otherwise chang2 (long); pypinyin says zhang3.
_GROW_AFTER = frozenset("了大高出成得")
#: Before 得, a pronoun makes it dei3 (must): 我得走了.
#: Phrases pypinyin's dictionary reads wrongly for smart-home announcements.
_PHRASE_FIXES = {
    "重设": ["chong2", "she4"],
    "重装": ["chong2", "zhuang1"],
    "上调": ["shang4", "tiao2"],
    "微调": ["wei1", "tiao2"],
}
#: 重 is chong2 (again) before these verbs: 重置, 重连, 重试, 重来.
_AGAIN_BEFORE = frozenset("置连试发开做来启选建录播配输")
_PRONOUNS = word_set("我 你 他 她 它 您 咱 我们 你们 他们 她们 咱们 大家")


def warm_up() -> None:
    """Pay the one-off costs now (jieba's dictionary ~0.3 s, pypinyin's first lookups)
    rather than on the first announcement. Idempotent and thread-safe."""
    _load_segmenter()
    analyze("一行人去银行。")


def analyze(sentence: str) -> list[Token]:
    """jieba words of ``sentence`` with pinyin after polyphones, neutral tones and sandhi.

    The sentence is normalized first (a no-op on normalized text), so every token is
    either readable Chinese with one syllable per character or a pause mark.
    """
    text = normalize(sentence).text
    words = cut(text)
    syllables: list[list[str]] = []
    pos = 0
    for word in words:
        pos += len(word)
        syllables.append(_lexical(word, text[pos : pos + 1]) if word not in PAUSE_PUNCT else [])
    _readings_in_context(words, syllables)
    sandhi.apply(words, syllables)
    return [
        Token(word, tuple(word_syllables), not word_syllables)
        for word, word_syllables in zip(words, syllables, strict=True)
    ]


def _lexical(word: str, following: str) -> list[str]:
    """Dictionary syllables of a word of readable Han characters.

    A word pypinyin knows is read as a phrase; any other word is cut into its phrases
    first (银行卡 -> 银行|卡), since given a whole unknown word pypinyin falls back to
    each character's default reading.
    """
    if word in _PHRASE_FIXES:
        return list(_PHRASE_FIXES[word])
    pieces = [word] if is_phrase(word) else _phrase_cut(word)
    readings = tone3(pieces)
    if len(readings) != len(word):
        # Should not happen (pypinyin gives one reading per readable character).
        log.warning(
            "pypinyin gave %d readings for %r; reading it per character", len(readings), word
        )
        readings = [_char_reading(ch) for ch in word]
    syllables = [r.replace("ü", "v") for r in readings]
    pos = 0
    for piece in pieces:
        if len(piece) == 1 and len(word) > 1:
            _single_in_word(word, pos, following, syllables)
        pos += len(piece)
    return syllables


def _phrase_cut(word: str) -> list[str]:
    """Forward maximum matching on pypinyin's phrase dictionary, as pypinyin's own mmseg
    segmenter does (it is not loaded: :mod:`daemon.text.dictionary`)."""
    pieces = []
    start = 0
    while start < len(word):
        for length in range(min(MAX_PHRASE_LEN, len(word) - start), 0, -1):
            piece = word[start : start + length]
            if length == 1 or is_phrase(piece):
                pieces.append(piece)
                start += length
                break
    return pieces


def _char_reading(char: str) -> str:
    readings = tone3([char])
    if readings and is_readable_han(char):
        return readings[0]
    log.warning("no reading for %r after normalization", char)  # normalize drops these
    return "de5"


def _single_in_word(word: str, pos: int, following: str, syllables: list[str]) -> None:
    """A character of an unknown word that no known phrase covered; ``following`` is the
    character after the word, for context."""
    char = word[pos]
    nxt = word[pos + 1 : pos + 2] or following
    if char == "得" and pos > 0:
        syllables[pos] = "de5"  # complement marker: 跑得快, 过得 (known words: 获得 de2)
    else:
        _polyphone(char, nxt, syllables, pos)


def _polyphone(char: str, nxt: str, syllables: list[str], pos: int) -> None:
    """Characters whose pypinyin default is the rarer reading in everyday speech,
    when no known phrase covers them; ``nxt`` is the character after."""
    if char == "长":
        syllables[pos] = "zhang3" if nxt and nxt in _GROW_AFTER else "chang2"
    elif char == "调":
        syllables[pos] = "tiao2"  # adjust (调到, 调高): what announcements mean
    elif char == "重" and nxt and nxt in _AGAIN_BEFORE:
        syllables[pos] = "chong2"


def _readings_in_context(words: list[str], syllables: list[list[str]]) -> None:
    for w, word in enumerate(words):
        word_syllables = syllables[w]
        if not word_syllables:
            continue
        prev = words[w - 1] if w else ""
        nxt = words[w + 1] if w + 1 < len(words) else ""
        if len(word) == 1:
            _single(word, prev, nxt, word_syllables)
            continue
        last = word[-1]
        if last == "儿":
            word_syllables[-1] = "er2" if word in _CHILD_ER else "er5"
        elif word in _FULL_ZI:
            word_syllables[-1] = "zi3"  # pypinyin makes every unknown word's 子 neutral
        elif last in _NEUTRAL_SUFFIXES and not is_phrase(word):
            word_syllables[-1] = _NEUTRAL_SUFFIXES[last]
        reduplicated = len(word) == 2 and word[0] == word[1] and word[0] in _REDUPLICATED_NEUTRAL
        if reduplicated or word in _NEUTRAL_SECOND:
            word_syllables[1] = sandhi.with_tone(word_syllables[1], 5)


def _single(word: str, prev: str, nxt: str, word_syllables: list[str]) -> None:
    after_word = bool(prev) and prev not in PAUSE_PUNCT
    if word in _PARTICLES and (after_word or word in "的了着们么"):
        word_syllables[0] = _PARTICLES[word]
    elif word == "地":
        # Adverbial 地 (认真地学习) follows a longer word and precedes a verb.
        adverbial = after_word and len(prev) >= 2 and bool(nxt) and nxt not in PAUSE_PUNCT
        word_syllables[0] = "de5" if adverbial else "di4"
    elif word == "得":
        if prev in _PRONOUNS:
            word_syllables[0] = "dei3"
        else:
            word_syllables[0] = "de5" if after_word else "de2"
    else:
        _polyphone(word, nxt[:1], word_syllables, 0)

"""Latin letters and English words as Chinese characters a pinyin-only voice can say.

Each letter becomes characters close to its English name (B 比, C 西, ...), the way
Chinese speakers say them. A few words have a common Chinese reading (WiFi 歪飞,
iPhone 爱疯); every other run of letters, acronyms included (AI, USB, PM), is spelled
letter by letter. Upper and lower case read the same.
"""

from __future__ import annotations

import unicodedata

LETTERS: dict[str, str] = {
    "a": "诶",
    "b": "比",
    "c": "西",
    "d": "迪",
    "e": "伊",
    "f": "艾弗",
    "g": "吉",
    "h": "艾尺",
    "i": "艾",
    "j": "杰",
    "k": "开",
    "l": "艾勒",
    "m": "艾姆",
    "n": "恩",
    "o": "欧",
    "p": "批",
    "q": "丘",
    "r": "阿尔",
    "s": "艾斯",
    "t": "提",
    "u": "优",
    "v": "维",
    "w": "达布留",
    "x": "艾克斯",
    "y": "歪",
    "z": "泽德",
}

#: Words Chinese speakers say as a word rather than spell (keys lower case, no hyphens).
WORDS: dict[str, str] = {
    "wifi": "歪飞",
    "hi": "嗨",
    "hello": "哈喽",
    "bye": "拜",
    "iphone": "爱疯",
    "ipad": "爱派德",
    "android": "安卓",
    "python": "派森",
    "email": "伊妹儿",
    "bluetooth": "蓝牙",
    "wechat": "微信",
    "google": "谷歌",
    "apple": "苹果",
    "microsoft": "微软",
    "pro": "普若",
    "max": "麦克斯",
    "plus": "普拉斯",
    "mini": "迷你",
    "siri": "西瑞",
    "alexa": "阿莱克萨",
}

#: Greek letters met in everyday text (π, α-particles, Ω ...).
GREEK: dict[str, str] = {
    "α": "阿尔法",
    "β": "贝塔",
    "γ": "伽马",
    "δ": "德尔塔",
    "Δ": "德尔塔",
    "ε": "艾普西隆",
    "θ": "西塔",
    "λ": "兰姆达",
    "μ": "缪",
    "π": "派",
    "σ": "西格马",
    "Σ": "西格马",
    "φ": "斐",
    "ω": "欧米伽",
    "Ω": "欧姆",
}


#: Unit symbols unambiguous enough to read as units even without a number before them.
STANDALONE_UNITS: dict[str, str] = {
    "kWh": "千瓦时",
    "KWh": "千瓦时",
    "kwh": "千瓦时",
    "mAh": "毫安时",
    "dB": "分贝",
}


def ascii_letter(char: str) -> str | None:
    """The ASCII letter behind ``char`` (``é`` -> ``e``), or None if it is not one."""
    if "a" <= char.lower() <= "z" and char.isascii():
        return char.lower()
    base = unicodedata.normalize("NFKD", char)[:1]
    if base.isascii() and base.isalpha():
        return base.lower()
    return None


def spell(letters: str) -> str:
    """Letter by letter: ``"USB"`` -> 优艾斯比."""
    return "".join(LETTERS[ch] for ch in letters.lower() if ch in LETTERS)


def read_word(word: str) -> str:
    """A run of ASCII letters (hyphens and apostrophes inside allowed) as Chinese."""
    if word in STANDALONE_UNITS:
        return STANDALONE_UNITS[word]
    key = "".join(ch for ch in word.lower() if ch.isalpha())
    return WORDS.get(key) or spell(key)

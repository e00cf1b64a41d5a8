"""Pinyin syllable -> KAN-TTS phones, derived by rule.

Each syllable becomes an initial phone and a final phone (``_c`` suffix), matching the
inventory the voices were trained on:

- zero-initial syllables get a glottal pseudo-initial by their first letter: ``a..`` ->
  ``ga``, ``e..`` -> ``ge``, ``o..`` -> ``go`` (``er`` -> ``ge er_c``);
- ``y``/``w`` are initials of their own (``y_c``, ``w_c``) followed by the final *as
  written* (``ye`` -> ``y_c e_c``, ``wei`` -> ``w_c ei_c``, ``you`` -> ``y_c ou_c``);
- ``x`` is ``xx_c``; ``ü`` is ``v`` (after j/q/x/y a written ``u`` is ``v``);
- contracted finals are expanded: ``iu`` -> ``iou``, ``ui`` -> ``uei``, ``un`` -> ``uen``;
- the apical vowel ``i`` is ``ih`` after zh/ch/sh/r and ``ii`` after z/c/s;
- erhua (a final ending in ``r``) uses the final's ``r`` variant (``e`` + r -> ``er``).
"""

from __future__ import annotations

import re

from .errors import SymbolError
from .ling_units import PINYIN_PHONES

_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
             "j", "q", "x", "r", "z", "c", "s", "y", "w")  # fmt: skip
_INITIAL_PHONE = {"x": "xx"}
_CONTRACTED = {"iu": "iou", "ui": "uei", "un": "uen"}
#: Interjection syllables without a vowel letter, read as their common full syllable.
_SPECIAL = {"m": ("m", "u"), "n": ("ge", "en"), "ng": ("ge", "en"), "hm": ("h", "en"),
            "hng": ("h", "eng"), "ê": ("ge", "ei"), "ea": ("ge", "ei")}  # fmt: skip
_PHONES = frozenset(PINYIN_PHONES)
_SYLLABLE_RE = re.compile(r"^([a-zü:ê]+?)([0-6])?$")


def split_tone(syllable: str) -> tuple[str, str]:
    """``"hao3"`` -> ``("hao", "tone3")``; no digit or 0/5 is the neutral ``tone5``."""
    m = _SYLLABLE_RE.match(syllable.strip().lower())
    if not m:
        raise SymbolError(f"not a TONE3 pinyin syllable: {syllable!r}")
    digit = m.group(2) or "5"
    # KAN-TTS normalizes the half-third "6" to 2 and the light tone "0" to 5.
    digit = {"6": "2", "0": "5"}.get(digit, digit)
    return m.group(1).replace("ü", "v").replace("u:", "v"), "tone" + digit


def syllable_phones(pinyin: str) -> tuple[str, str]:
    """Toneless pinyin (``"zhuang"``, ``"lv"``, ``"huar"``) -> (initial phone, final phone)."""
    if pinyin in _SPECIAL:
        ini, fin = _SPECIAL[pinyin]
        return _checked(pinyin, ini if ini in ("ge", "go", "ga") else ini + "_c", fin + "_c")
    erhua = pinyin.endswith("r") and pinyin != "er" and len(pinyin) > 1
    body = pinyin[:-1] if erhua else pinyin
    initial = next((i for i in _INITIALS if body.startswith(i) and len(body) > len(i)), "")
    final = body[len(initial) :]
    if not initial:
        glottal = {"a": "ga", "e": "ge", "o": "go"}.get(final[:1])
        if glottal is None:
            raise SymbolError(f"cannot map pinyin {pinyin!r} to phones")
        ini_phone = glottal
    else:
        ini_phone = _INITIAL_PHONE.get(initial, initial) + "_c"
        if initial in ("j", "q", "x", "y") and final.startswith("u"):
            final = "v" + final[1:]
        if initial not in ("y", "w"):
            final = _CONTRACTED.get(final, final)
        if final == "i" and initial in ("zh", "ch", "sh", "r"):
            final = "ih"
        elif final == "i" and initial in ("z", "c", "s"):
            final = "ii"
    if erhua:
        final = "er" if final == "e" else final + "r"
    return _checked(pinyin, ini_phone, final + "_c")


def _checked(pinyin: str, initial: str, final: str) -> tuple[str, str]:
    for phone in (initial, final):
        if phone not in _PHONES:
            raise SymbolError(f"pinyin {pinyin!r} maps to unknown phone {phone!r}")
    return initial, final

"""The KAN-TTS linguistic-unit vocabularies and the symbol-line encoder.

A symbol line holds one token per phone or pause, ``{phone$tone$syllable_flag$
word_segment$emotion$speaker}``. Each field is looked up in its own vocabulary; the id
order must be exactly the official loader's, because the ids index the checkpoint's
embedding tables. The loader builds every vocabulary as ``symbols + ["_", "~", "@[MASK]"]``
(``ignore_mask=False``); phones are prefixed with ``@``. Unlike the reference, which
silently drops unknown phones and then fails on a length mismatch, unknown symbols are
rejected here with their names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import ModelError, SymbolError

#: Phone inventory of the ``PinYin`` language, in the order of KAN-TTS's PhoneSet.xml
#: (the ids are positions in this list). The last four are the prosodic breaks.
_PHONE_NAMES = (
    "a_c ai_c an_c ang_c ao_c b_c c_c ch_c d_c e_c ei_c en_c eng_c er_c f_c g_c h_c i_c "
    "ia_c ian_c iang_c iao_c ie_c ih_c ii_c in_c ing_c io_c iong_c iou_c j_c k_c l_c m_c "
    "n_c o_c ong_c ou_c p_c q_c r_c s_c sh_c t_c u_c ua_c uai_c uan_c uang_c uei_c uen_c "
    "ueng_c uo_c v_c van_c ve_c vn_c xx_c z_c zh_c w_c y_c ga ge go "
    # English phones that the same inventory carries for mixed text.
    "aa ae ah ao aw ay b ch d dh eh er ey f g hh ih iy jh k l m n ng ow oy p r s sh t th "
    "uh uw v w y z zh "
    # Erhua finals.
    "air_c angr_c anr_c aor_c ar_c eir_c engr_c enr_c iangr_c ianr_c iaor_c iar_c ier_c "
    "ihr_c iir_c ingr_c inr_c iongr_c iour_c ir_c ongr_c or_c our_c uair_c uangr_c uanr_c "
    "uar_c ueir_c uenr_c uor_c ur_c vanr_c ver_c vnr_c vr_c pau"
)
PINYIN_PHONES: tuple[str, ...] = (*_PHONE_NAMES.split(), "#1", "#2", "#3", "#4")

#: Tones in the order of KAN-TTS's tonelist.txt (an empty line there is ``tone_none``).
PINYIN_TONES: tuple[str, ...] = (
    "tone1",
    "tone_none",
    "tone4",
    "tone2",
    "tone3",
    "tone5",
    "tone0",
)

SYLLABLE_FLAGS: tuple[str, ...] = ("s_begin", "s_end", "s_none", "s_both", "s_middle")
WORD_SEGMENTS: tuple[str, ...] = (
    "word_begin",
    "word_end",
    "word_middle",
    "word_both",
    "word_none",
)

#: KAN-TTS's emotion categories, in id order.
_EMOTION_NAMES = (
    "none neutral angry disgust fear happy sad surprise calm gentle relax lyrical serious "
    "disgruntled satisfied disappointed excited anxiety jealousy hate pity pleasure "
    "arousal dominance placeholder1 placeholder2 placeholder3 placeholder4 placeholder5 "
    "placeholder6 placeholder7 placeholder8 placeholder9"
)
EMOTION_TYPES: tuple[str, ...] = tuple("emotion_" + name for name in _EMOTION_NAMES.split())

PAD, EOS, MASK = "_", "~", "@[MASK]"
_SPECIALS = (PAD, EOS, MASK)

#: Field names of a symbol token, in order, as in the config's ``lfeat_type_list``.
FIELDS: tuple[str, ...] = (
    "sy",
    "tone",
    "syllable_flag",
    "word_segment",
    "emo_category",
    "speaker_category",
)

_TOKEN_RE = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class EncodedLine:
    """One symbol line as id arrays of equal length (no EOS)."""

    ling: npt.NDArray[np.int64]
    """``[T, 4]``: sy, tone, syllable_flag, word_segment ids."""
    emotion: npt.NDArray[np.int64]
    """``[T]`` emotion ids."""
    speaker: npt.NDArray[np.int64]
    """``[T]`` speaker ids."""


class LinguisticUnits:
    """The six vocabularies of one voice, built from its ``am/config.yaml``."""

    def __init__(self, speakers: Sequence[str], *, has_mask: bool = True) -> None:
        self.speakers = tuple(speakers)
        specials = _SPECIALS if has_mask else _SPECIALS[:2]
        self.vocab: dict[str, tuple[str, ...]] = {
            "sy": tuple("@" + p for p in PINYIN_PHONES) + specials,
            "tone": PINYIN_TONES + specials,
            "syllable_flag": SYLLABLE_FLAGS + specials,
            "word_segment": WORD_SEGMENTS + specials,
            "emo_category": EMOTION_TYPES + specials,
            "speaker_category": self.speakers + specials,
        }
        self._ids = {k: {s: i for i, s in enumerate(v)} for k, v in self.vocab.items()}

    @classmethod
    def from_config(cls, am_config: Mapping[str, Any], *, has_mask: bool = True) -> LinguisticUnits:
        unit = am_config.get("linguistic_unit")
        if not isinstance(unit, Mapping):
            raise ModelError("am config has no 'linguistic_unit' section")
        language = unit.get("language", "PinYin")
        if language != "PinYin":
            raise ModelError(
                f"linguistic_unit.language {language!r} is not supported (PinYin only)"
            )
        lfeat = str(unit.get("lfeat_type_list", "")).strip().split(",")
        if tuple(x.strip() for x in lfeat) != FIELDS:
            raise ModelError(
                f"linguistic_unit.lfeat_type_list {','.join(lfeat)!r} is not supported "
                f"(expected {','.join(FIELDS)})"
            )
        speakers = [s.strip() for s in str(unit.get("speaker_list", "")).split(",") if s.strip()]
        if not speakers:
            raise ModelError("am config key 'linguistic_unit.speaker_list' is missing or empty")
        return cls(speakers, has_mask=has_mask)

    def sizes(self) -> dict[str, int]:
        """Embedding-table sizes, keyed as the acoustic model's config expects them."""
        return {
            "sy": len(self.vocab["sy"]),
            "tone": len(self.vocab["tone"]),
            "syllable_flag": len(self.vocab["syllable_flag"]),
            "word_segment": len(self.vocab["word_segment"]),
            "emotion": len(self.vocab["emo_category"]),
            "speaker": len(self.vocab["speaker_category"]),
        }

    @property
    def emotions(self) -> tuple[str, ...]:
        """Emotion names without the ``emotion_`` prefix, e.g. ``happy``."""
        return tuple(e.removeprefix("emotion_") for e in EMOTION_TYPES)

    def encode(self, line: str) -> EncodedLine:
        """Encode one symbol line; raises :class:`SymbolError` naming unknown symbols."""
        tokens = parse_symbol_line(line)
        unknown: dict[str, list[str]] = {}
        ids = np.zeros((len(tokens), len(FIELDS)), dtype=np.int64)
        for t, fields in enumerate(tokens):
            for f, (name, value) in enumerate(zip(FIELDS, fields, strict=True)):
                key = "@" + value if name == "sy" else value
                idx = self._ids[name].get(key)
                if idx is None or value in _SPECIALS:
                    bad = unknown.setdefault(name, [])
                    if value not in bad:
                        bad.append(value)
                else:
                    ids[t, f] = idx
        if unknown:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in unknown.items())
            raise SymbolError(f"unknown symbols ({detail})")
        return EncodedLine(ling=ids[:, :4], emotion=ids[:, 4].copy(), speaker=ids[:, 5].copy())


def parse_symbol_line(line: str) -> list[tuple[str, ...]]:
    """Split ``{a$b$c$d$e$f} {...}`` into 6-tuples; raises :class:`SymbolError` if malformed."""
    text = line.strip()
    if "\t" in text:
        # Official symbol files prefix each line with an id and a tab.
        text = text.split("\t", 1)[1].strip()
    if not text:
        raise SymbolError("empty symbol line")
    tokens: list[tuple[str, ...]] = []
    pos = 0
    for m in _TOKEN_RE.finditer(text):
        gap = text[pos : m.start()]
        if gap.strip():
            raise SymbolError(f"unexpected text {gap.strip()!r} between symbols")
        fields = tuple(m.group(1).split("$"))
        if len(fields) != len(FIELDS):
            raise SymbolError(
                f"symbol {m.group(0)!r} has {len(fields)} fields, expected {len(FIELDS)} "
                f"({'$'.join(FIELDS)})"
            )
        tokens.append(fields)
        pos = m.end()
    rest = text[pos:]
    if rest.strip():
        raise SymbolError(f"unexpected text {rest.strip()!r} after the last symbol")
    if not tokens:
        raise SymbolError("no symbols in line")
    return tokens

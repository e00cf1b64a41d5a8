"""pypinyin's phrase readings from our compact store are the ones its own phrase
dictionary gives, and the frontend's process never loads that dictionary."""

from __future__ import annotations

import json
import os
from importlib.resources import files

from daemon.text import dictionary
from tests import fresh_python


def pypinyin_phrases() -> dict[str, list[list[str]]]:
    text = files("pypinyin").joinpath("phrases_dict.json").read_text(encoding="utf-8")
    phrases: dict[str, list[list[str]]] = json.loads(text)
    return phrases


def run_python(code: str, stdin: str = "") -> str:
    """``code`` in a fresh interpreter, without our pypinyin settings in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYPINYIN_")}
    return fresh_python.run_python(code, stdin=stdin, env=env).stdout


def test_every_phrase_keeps_its_first_readings() -> None:
    phrases = pypinyin_phrases()
    wrong = [
        phrase
        for phrase, readings in phrases.items()
        if dictionary.phrase_readings(phrase) != [r[0] for r in readings]
    ]
    assert not wrong
    assert max(map(len, phrases)) == dictionary.MAX_PHRASE_LEN
    assert not dictionary.is_phrase("行银")
    assert not dictionary.is_phrase("银")
    assert not dictionary.is_phrase("")


def test_syllables_match_pypinyin_with_its_phrase_dictionary() -> None:
    words = [*sorted(pypinyin_phrases())[::50], "银行", "长大", "还是", "衣裳", "女儿", "银", "行"]
    reference = run_python(
        "import json, sys\n"
        "from pypinyin import Style, lazy_pinyin\n"
        "from pypinyin.constants import PHRASES_DICT\n"
        "assert PHRASES_DICT\n"
        "words = json.load(sys.stdin)\n"
        "print(json.dumps([lazy_pinyin([w], style=Style.TONE3, neutral_tone_with_five=True)"
        " for w in words]))",
        json.dumps(words),
    )
    assert [dictionary.tone3([w]) for w in words] == json.loads(reference)
    assert dictionary.tone3(["银行", "卡"]) == ["yin2", "hang2", "ka3"]


def test_importing_the_frontend_leaves_pypinyins_phrase_dictionary_unloaded() -> None:
    out = run_python(
        "import sys\n"
        "import daemon.text\n"
        "from pypinyin.constants import PHRASES_DICT\n"
        "print(len(PHRASES_DICT), 'pypinyin.phrases_dict' in sys.modules)"
    )
    assert out.split() == ["0", "False"]

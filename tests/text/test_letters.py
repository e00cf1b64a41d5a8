"""Letter, word, unit and symbol readings: all speakable, all A-Z covered."""

from __future__ import annotations

import string

import pytest

from daemon.text import analyze, normalize
from daemon.text.chars import is_speakable
from daemon.text.letters import GREEK, LETTERS, STANDALONE_UNITS, WORDS, read_word, spell
from daemon.text.units import CURRENCY_PREFIX, UNITS

TABLES = {
    "letters": LETTERS,
    "words": WORDS,
    "greek": GREEK,
    "units": UNITS,
    "standalone units": STANDALONE_UNITS,
    "currency": CURRENCY_PREFIX,
}


def test_every_letter_has_a_reading() -> None:
    assert set(LETTERS) == set(string.ascii_lowercase)


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
def test_readings_are_speakable_chinese(table: dict[str, str]) -> None:
    for key, reading in table.items():
        assert reading, key
        assert is_speakable(reading), (key, reading)
        syllables = [s for token in analyze(reading) for s in token.syllables]
        assert len(syllables) == len(reading)


def test_case_does_not_matter() -> None:
    assert spell("usb") == spell("USB") == "优艾斯比"
    assert read_word("WIFI") == read_word("wifi") == read_word("Wi-Fi") == "歪飞"


def test_unknown_words_are_spelled() -> None:
    assert read_word("Xyz") == "艾克斯歪泽德"


def test_letters_are_read_the_same_in_running_text() -> None:
    for letter in string.ascii_uppercase:
        assert normalize(f"按{letter}键").text == f"按{LETTERS[letter.lower()]}键"

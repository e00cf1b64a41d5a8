"""The shared Chinese text frontend, used by every engine.

Pipeline: ``normalize`` (every character becomes something speakable: Chinese characters
and pause punctuation) -> ``split_sentences`` (streaming units) -> ``analyze`` (words with
pinyin after polyphone handling and tone sandhi). Engines map ``analyze``'s output to
their own symbols.

API contract (implemented in the submodules):

- ``normalize(text: str) -> Normalized``: ``Normalized.text`` holds only CJK characters
  (ones pypinyin can read), the pause punctuation ``，。！？；：、`` and nothing else;
  ``Normalized.dropped`` lists characters that could not be read (emoji, unknown
  symbols, other scripts), each once, so callers can report them. Rules and the choices
  made for quotes, brackets and dashes: :mod:`daemon.text.normalize`.
- ``split_sentences(text: str, max_chars: int = 50, first_max_chars: int | None = None)
  -> list[str]``: split normalized text into sentences for streaming, after 。！？；;
  over-long ones at ，、： then at jieba word boundaries (never inside a word or a
  number's reading); ``first_max_chars`` bounds only the first piece, for fast first
  audio: a longer first sentence is cut after its first clause. No empty pieces;
  pieces keep their punctuation; trailing marks do not count toward the limits.
- ``analyze(sentence: str) -> list[Token]``: jieba words, each with its syllables in
  pypinyin TONE3 style (``"ni3"``, neutral tone ``"5"``, ü as ``v``) after polyphone
  handling, neutral tones and sandhi (一, 不, 3-3); one syllable per CJK character;
  punctuation tokens have ``is_punct=True`` and no syllables. The sentence is normalized
  first (a no-op on normalized text).
- ``describe(text: str) -> dict``: ``{"normalized": str, "sentences": [str],
  "pinyin": [[str]]}`` for ``voice-daemon text --json``.
- ``warm_up() -> None``: load jieba's dictionary now (~0.3 s, once, thread-safe) instead
  of on the first request.

Libraries: cn2an reads single numbers (place values, 零, decimals); jieba segments words
(for polyphones, sandhi groups and where long sentences may be cut); pypinyin gives each
word its dictionary pinyin.
"""

from daemon.text.describe import Description, describe
from daemon.text.normalize import Normalized, normalize
from daemon.text.pinyin import Token, analyze, warm_up
from daemon.text.sentences import split_sentences

__all__ = [
    "Description",
    "Normalized",
    "Token",
    "analyze",
    "describe",
    "normalize",
    "split_sentences",
    "warm_up",
]

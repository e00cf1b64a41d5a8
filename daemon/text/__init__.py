"""The shared Chinese text frontend, used by every engine.

Pipeline: ``normalize`` (every character becomes something speakable: Chinese characters
and pause punctuation) -> ``split_sentences`` (streaming units) -> ``analyze`` (words with
pinyin after polyphone handling and tone sandhi). Engines map ``analyze``'s output to
their own symbols.

API contract (implemented in the submodules):

- ``normalize(text: str) -> Normalized``: ``Normalized.text`` holds only CJK characters,
  the pause punctuation ``，。！？；：、`` and nothing else; ``Normalized.dropped`` lists
  characters that could not be read (emoji, unknown symbols) so callers can report them.
- ``split_sentences(text: str, max_chars: int = 50, first_max_chars: int | None = None)
  -> list[str]``: split normalized text into sentences for streaming; over-long ones at
  commas, then at word boundaries (never inside a word).
- ``analyze(sentence: str) -> list[Token]``: jieba words, each with its syllables in
  pypinyin TONE3 style (``"ni3"``, neutral tone ``"5"``) after sandhi; punctuation tokens
  have ``is_punct=True`` and no syllables.
- ``describe(text: str) -> dict``: ``{"normalized": str, "sentences": [str],
  "pinyin": [[str]]}`` for ``voice-daemon text --json``.
"""

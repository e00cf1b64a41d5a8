"""The SSML-like markup users of the official stack write, reduced to emotion segments.

``<speak><emotion category="happy" intensity="1.0">好的</emotion>，再见</speak>`` ->
``[("happy", "好的"), (None, "，再见")]``. ``intensity`` is accepted and ignored: the
acoustic model has an emotion-category input but no intensity input. Other tags are
dropped, keeping their text. Plain text without markup is one ``(None, text)`` segment.
"""

from __future__ import annotations

import html
import re

_TAG_RE = re.compile(r"<\s*(/?)\s*([A-Za-z_][\w:-]*)([^<>]*?)(/?)\s*>")
_ATTR_RE = re.compile(r"""([A-Za-z_][\w:-]*)\s*=\s*("([^"]*)"|'([^']*)')""")


def parse_ssml(text: str) -> list[tuple[str | None, str]]:
    """Split ``text`` into ``(emotion or None, text)`` segments, in order.

    Emotions are lower-cased category names (validate them against the voice). Nested
    ``<emotion>`` tags: the innermost applies. Unbalanced closing tags are ignored.
    """
    segments: list[tuple[str | None, str]] = []
    stack: list[str | None] = []
    pos = 0

    def emit(chunk: str) -> None:
        chunk = html.unescape(chunk)
        if not chunk.strip():
            return
        emotion = stack[-1] if stack else None
        if segments and segments[-1][0] == emotion:
            segments[-1] = (emotion, segments[-1][1] + chunk)
        else:
            segments.append((emotion, chunk))

    for m in _TAG_RE.finditer(text):
        emit(text[pos : m.start()])
        pos = m.end()
        closing, name, attrs, self_closing = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
        if name != "emotion" or self_closing:
            continue
        if closing:
            if stack:
                stack.pop()
            continue
        category = None
        for a in _ATTR_RE.finditer(attrs):
            if a.group(1).lower() == "category":
                value = a.group(3) if a.group(3) is not None else a.group(4)
                category = value.strip().lower().removeprefix("emotion_") or None
        stack.append(category if category is not None else (stack[-1] if stack else None))
    emit(text[pos:])
    return [(e, t.strip()) for e, t in segments]

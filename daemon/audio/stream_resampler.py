"""Resampling a stream that arrives in pieces, with the result of resampling it whole.

Resampling each piece on its own zero-pads both of its ends, which clicks where a piece
ends mid-word (as the first sentence does when it is played while still being vocoded).
This keeps a little context: each call resamples the new samples together with the
filter's reach on either side and keeps only the part that no longer depends on what
comes next, so the joined output equals ``resample_poly`` over the whole stream.
"""

from __future__ import annotations

from math import gcd

import numpy as np

from daemon.engines.base import Audio

#: scipy's resample_poly filter: half-length 10 * max(up, down) in the upsampled domain.
_HALF_LENGTH_FACTOR = 10


class StreamResampler:
    """``source_rate`` -> ``target_rate`` over successive pieces of one stream."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        divisor = gcd(source_rate, target_rate)
        self.up = target_rate // divisor
        self.down = source_rate // divisor
        reach = -(-_HALF_LENGTH_FACTOR * max(self.up, self.down) // self.up) + 2
        #: Input samples kept on each side; a multiple of ``down`` keeps the output grid.
        self._context = -(-reach // self.down) * self.down
        self._buffer = np.zeros(0, np.float32)
        self._offset = 0
        """Stream index of ``_buffer[0]`` (a multiple of ``down``)."""
        self._done = 0
        """Input samples whose output has been returned (a multiple of ``down``)."""

    def feed(self, audio: Audio) -> Audio:
        """Output for as much of the stream as no longer depends on later samples."""
        self._buffer = np.concatenate([self._buffer, np.asarray(audio, np.float32)])
        end = self._offset + self._buffer.size
        upto = (end - self._context) // self.down * self.down
        return self._emit(upto, end=upto + self._context)

    def flush(self) -> Audio:
        """The rest of the output, the stream having ended."""
        end = self._offset + self._buffer.size
        return self._emit(end, end=end)

    def _emit(self, upto: int, *, end: int) -> Audio:
        if upto <= self._done:
            return np.zeros(0, np.float32)
        from scipy.signal import resample_poly  # noqa: PLC0415 (scipy loads slowly)

        start = max(self._offset, self._done - self._context)
        segment = self._buffer[start - self._offset : end - self._offset]
        out = resample_poly(segment, self.up, self.down)
        first = (self._done - start) * self.up // self.down
        last = -(-(upto - start) * self.up // self.down)
        result = np.asarray(out[first:last], dtype=np.float32)
        self._done = upto
        keep_from = max(self._offset, upto - self._context)
        self._buffer = self._buffer[keep_from - self._offset :]
        self._offset = keep_from
        return result

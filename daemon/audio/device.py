"""The sound card, through sounddevice (PortAudio), with every failure made one error type.

sounddevice is imported lazily: a missing PortAudio library must not stop the daemon from
starting (it reports ``audio_device`` failures and keeps serving instead).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from daemon.audio.errors import AudioDeviceError
from daemon.engines.base import Audio

log = logging.getLogger(__name__)

_reinit_lock = threading.Lock()


def _sounddevice() -> Any:
    try:
        import sounddevice  # noqa: PLC0415 (lazy: PortAudio may be missing)
    except OSError as error:
        raise AudioDeviceError(f"PortAudio is not available: {error}") from None
    return sounddevice


def list_output_devices() -> list[dict[str, Any]]:
    """Output devices as sounddevice reports them (index, name, default rate)."""
    sd = _sounddevice()
    devices = []
    for index, info in enumerate(sd.query_devices()):
        if info["max_output_channels"] > 0:
            devices.append(
                {
                    "index": index,
                    "name": info["name"],
                    "default_samplerate": info["default_samplerate"],
                }
            )
    return devices


def refresh_device_list() -> None:
    """Re-initialise PortAudio: its device list stays stale after a sound server restart."""
    try:
        sd = _sounddevice()
    except AudioDeviceError:
        return
    with _reinit_lock:
        try:
            sd._terminate()
            sd._initialize()
        except Exception as error:
            log.warning("re-initialising PortAudio failed: %s", error)


class DeviceOutput:
    """One output stream, opened lazily, kept open (warm) between announcements."""

    def __init__(self, device: str | int | None, source_rate: int, forced_rate: int | None) -> None:
        self._device = device
        self._source_rate = source_rate
        self._forced_rate = forced_rate
        self._stream: Any = None
        self.rate = source_rate
        #: After a failure the device list may be stale (sound server restarted): rescan
        #: right before the next open, when the device may be back.
        self._rescan = False

    def _choose_rate(self, sd: Any) -> int:
        if self._forced_rate:
            return self._forced_rate
        try:
            sd.check_output_settings(
                device=self._device, samplerate=self._source_rate, channels=1, dtype="float32"
            )
            return self._source_rate
        except Exception:
            info = sd.query_devices(self._device, "output")
            return int(info["default_samplerate"])

    def _open(self) -> Any:
        sd = _sounddevice()
        if self._rescan:
            refresh_device_list()
            self._rescan = False
        try:
            self.rate = self._choose_rate(sd)
            stream = sd.OutputStream(
                device=self._device, samplerate=self.rate, channels=1, dtype="float32"
            )
        except (sd.PortAudioError, ValueError) as error:
            self._rescan = True
            raise AudioDeviceError(f"cannot open output device {self._device!r}: {error}") from None
        log.info("opened output device %r at %d Hz", self._device, self.rate)
        return stream

    def prepare(self) -> None:
        """Open the stream now (kept open, stopped, between announcements)."""
        if self._stream is None:
            self._stream = self._open()

    def begin(self) -> None:
        """Make the stream ready for writing (opening it if needed)."""
        if self._stream is None:
            self._stream = self._open()
        try:
            if not self._stream.active:
                self._stream.start()
        except Exception as error:
            self.close()
            raise AudioDeviceError(f"cannot start output stream: {error}") from None

    def write(self, block: Audio) -> None:
        try:
            self._stream.write(np.ascontiguousarray(block, dtype=np.float32).reshape(-1, 1))
        except Exception as error:
            self.close()
            raise AudioDeviceError(f"writing to the output device failed: {error}") from None

    def end(self, *, discard: bool) -> None:
        """Stop the stream: drain what is buffered, or drop it when ``discard`` (a stop)."""
        if self._stream is None:
            return
        try:
            if discard:
                self._stream.abort()
            else:
                self._stream.stop()
        except Exception as error:
            log.warning("stopping the output stream failed: %s", error)
            self.close()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close(ignore_errors=True)
            except Exception as error:
                log.debug("closing the output stream failed: %s", error)
            self._rescan = True

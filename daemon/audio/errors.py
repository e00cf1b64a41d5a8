"""The one error type for anything that goes wrong with sound output."""


class AudioDeviceError(Exception):
    """No device, a vanished device, or PortAudio missing: requests fail with audio_device."""

"""voice-daemon: MQTT announcements spoken in Chinese through the local sound card."""

__version__ = "0.1.0"

"""Typed, validated settings: the YAML config file becomes a frozen tree of dataclasses.

Every field carries a docstring; ``config/voice-daemon.yaml`` mirrors this file with the
defaults. pydantic does the validation so that a bad value is reported with its path
(``mqtt.port: ...``) instead of failing later somewhere deep in the daemon.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

_STRICT = ConfigDict(extra="forbid", use_attribute_docstrings=True)

Priority = Literal["low", "normal", "high", "critical"]
#: What the sambert vocoder computes in (``auto``: bfloat16 where the CPU has it natively).
Precision = Literal["auto", "float32", "bfloat16"]
PRECISIONS: tuple[Precision, ...] = get_args(Precision)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending option."""


@dataclass(frozen=True, config=_STRICT)
class TlsSettings:
    enabled: bool = False
    """Connect to the broker over TLS."""
    ca_file: str | None = None
    """CA bundle that signed the broker's certificate (None: the system's CAs)."""
    cert_file: str | None = None
    """Client certificate for brokers that authenticate clients by certificate."""
    key_file: str | None = None
    """Private key of the client certificate."""
    verify_hostname: bool = True
    """Check that the broker's certificate names the host we connect to."""


@dataclass(frozen=True, config=_STRICT)
class MqttSettings:
    host: str = "localhost"
    """Broker host name or address."""
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    """Broker TCP port."""
    base_topic: Annotated[str, Field(min_length=1, pattern=r"^[^#+]+$")] = "voice"
    """First level of every topic: <base>/<node>/say, <base>/all/say, ..."""
    node_id: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = None
    """This device's name in topics; None means the host name."""
    client_id: str | None = None
    """MQTT client id; must be stable for the persistent session. None: voice-daemon-<node>."""
    protocol: Literal["5", "3.1.1"] = "5"
    """MQTT protocol version. 3.1.1 brokers work; response topics need 5."""
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    """Keep-alive interval; the broker publishes our last will after 1.5x this."""
    session_expiry_s: Annotated[int, Field(ge=0)] = 3600
    """How long the broker keeps our subscriptions and queued requests while we are away."""
    username: str | None = None
    """User name for password authentication."""
    password_file: str | None = None
    """File holding the password (first line). Never put the password in this file."""
    password_env: str | None = None
    """Environment variable holding the password (alternative to password_file)."""
    reconnect_min_s: Annotated[float, Field(gt=0)] = 1.0
    """First delay before reconnecting; doubles up to reconnect_max_s."""
    reconnect_max_s: Annotated[float, Field(gt=0)] = 60.0
    """Longest delay between reconnection attempts."""
    max_payload_bytes: Annotated[int, Field(ge=64)] = 65536
    """Larger command payloads are rejected before they are parsed."""
    tls: TlsSettings = TlsSettings()
    """TLS to the broker."""


@dataclass(frozen=True, config=_STRICT)
class EngineSettings:
    name: Literal["fastspeech2", "sambert", "tone", "plugin"] = "fastspeech2"
    """Speech engine. fastspeech2: embedded voice, no download. sambert: ModelScope voices.
    tone: beeps, for testing queue logic only. plugin: the class named by engine.plugin."""
    plugin: Annotated[str | None, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] = None
    """plugin: "package.module:Class", an Engine subclass built as Class(settings, cache_dir)."""
    model: str | None = None
    """sambert: a ModelScope model id or a local model directory."""
    voice: str | None = None
    """Default voice; None means the engine's first voice."""
    emotion: str = "neutral"
    """Default emotion for requests that name none."""
    threads: Annotated[int, Field(ge=1, le=64)] = 2
    """Threads each synthesis may use; keep synthesis.max_concurrent x threads <= cores."""
    emotions: dict[str, list[str]] | None = None
    """sambert: emotions per voice, overriding the defaults."""
    precision: Precision = "auto"
    """sambert: what the vocoder computes in. bfloat16 is ~1.6x faster where the CPU has
    native bf16 (avx512_bf16, AMX, Arm bf16) at ~35 dB SNR against float32; auto picks it
    there and float32 elsewhere. float32 reproduces the reference to ~1e-6."""
    cache_dir: str | None = None
    """Where converted models are cached. None: $XDG_CACHE_HOME/voice-daemon or ~/.cache."""


@dataclass(frozen=True, config=_STRICT)
class SynthesisSettings:
    max_concurrent: Annotated[int, Field(ge=1, le=16)] = 1
    """Sentences synthesized at the same time, across all requests."""
    max_sentence_chars: Annotated[int, Field(ge=8, le=500)] = 60
    """Longer sentences are split at commas or word boundaries before synthesis."""
    first_sentence_chars: Annotated[int, Field(ge=4, le=500)] = 24
    """The first piece of a request is split earlier, so the first sound comes sooner."""
    timeout_s: Annotated[float, Field(gt=0)] = 60.0
    """A sentence that takes longer than this fails the request with code synth_timeout."""
    streaming: bool = True
    """Play the first sentence while the rest (and, for engines that can, the rest of that
    sentence) is still synthesized. false: synthesize the whole text, then play it."""


@dataclass(frozen=True, config=_STRICT)
class PrewarmPhrase:
    text: Annotated[str, Field(min_length=1)]
    """What to render into the cache at start."""
    emotion: str | None = None
    """Emotion; None: engine.emotion."""
    voice: str | None = None
    """Voice; None: engine.voice."""
    speed: Annotated[float, Field(ge=0.5, le=2.0)] = 1.0
    """Speaking rate."""


@dataclass(frozen=True, config=_STRICT)
class CacheSettings:
    enabled: bool = True
    """Keep rendered sentences on disk: a repeated announcement plays without synthesis."""
    dir: str | None = None
    """Where; None: a phrases/ directory under the model cache (engine.cache_dir)."""
    max_mb: Annotated[float, Field(gt=0)] = 64.0
    """Size cap; the least recently used sentences are deleted beyond it."""
    prewarm: list[str | PrewarmPhrase] = Field(default_factory=list)
    """Phrases rendered into the cache at start (in the background), as text or
    {text, emotion, voice, speed}."""


@dataclass(frozen=True, config=_STRICT)
class QueueSettings:
    max_length: Annotated[int, Field(ge=1, le=100000)] = 50
    """Requests waiting beyond this are rejected with queue_full."""
    max_text_chars: Annotated[int, Field(ge=1, le=1000000)] = 2000
    """Longer texts are rejected with text_too_long."""
    dedupe_ids: Annotated[int, Field(ge=0)] = 1000
    """How many recent request ids are remembered to reject redeliveries as duplicate."""
    default_priority: Priority = "normal"
    """Priority of requests that name none."""
    persist: bool = True
    """Keep accepted requests in an on-disk journal until they finish, so a crash loses none."""
    journal: str | None = None
    """Journal file; None: $STATE_DIRECTORY, else ~/.local/state/voice-daemon/journal.sqlite3."""


@dataclass(frozen=True, config=_STRICT)
class AudioSettings:
    output: Literal["device", "wav_dir"] = "device"
    """device: play through the sound card. wav_dir: write one WAV per request instead."""
    device: str | int | None = None
    """Output device name (substring, as `voice-daemon devices` lists) or index; None: default."""
    sample_rate: Annotated[int | None, Field(ge=8000, le=192000)] = None
    """Force the device rate; None: the engine's rate when the device takes it."""
    wav_dir: str = "/var/lib/voice-daemon/wav"
    """Directory for output: wav_dir."""
    volume: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    """Master volume at start (changed over MQTT with set)."""
    muted: bool = False
    """Start muted."""
    trailing_silence_ms: Annotated[int, Field(ge=0, le=2000)] = 100
    """Silence after each announcement so the sound server doesn't cut its end."""
    block_ms: Annotated[int, Field(ge=5, le=200)] = 20
    """Playback block; a stop takes effect between blocks."""


@dataclass(frozen=True, config=_STRICT)
class HttpSettings:
    enabled: bool = False
    """Serve the web page and the HTTP API: another door into the same queue as MQTT."""
    host: str = "127.0.0.1"
    """Address to listen on. Any address but a loopback one needs a token."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8765
    """TCP port."""
    token_file: str | None = None
    """File holding the bearer token (first line) that every API call must then send."""
    token_env: str | None = None
    """Environment variable holding the bearer token (alternative to token_file)."""


@dataclass(frozen=True, config=_STRICT)
class ChimeSettings:
    low: str | None = None
    """Chime before low-priority announcements: a name (default or one of files), None: none."""
    normal: str | None = None
    """Chime before normal-priority announcements."""
    high: str | None = None
    """Chime before high-priority announcements."""
    critical: str | None = None
    """Chime before critical announcements."""
    files: dict[str, str] = Field(default_factory=dict)
    """More chimes by name: WAV (or FLAC/OGG) files, any rate. 'default' is generated."""


@dataclass(frozen=True, config=_STRICT)
class HomeAssistantSettings:
    enabled: bool = True
    """Announce the daemon to Home Assistant by MQTT discovery; false removes it again."""
    discovery_prefix: Annotated[str, Field(min_length=1, pattern=r"^[^#+]+$")] = "homeassistant"
    """Home Assistant's discovery prefix (a setting of its MQTT integration)."""
    status_topic: Annotated[str, Field(min_length=1, pattern=r"^[^#+]+$")] = "homeassistant/status"
    """Home Assistant's birth topic: discovery is published again when it says online."""
    device_name: str | None = None
    """The device's name in Home Assistant; None: voice <node>."""


@dataclass(frozen=True, config=_STRICT)
class HermesSettings:
    enabled: bool = False
    """Speak Rhasspy/Hermes hermes/tts/say and play hermes/audioServer playBytes."""
    site_ids: tuple[Annotated[str, Field(pattern=r"^[^#+/]+$")], ...] = ("default",)
    """Hermes site ids this daemon serves; messages for other sites are ignored."""
    audio_server: bool = True
    """Also act as the Hermes audio server of those sites (playBytes -> playFinished)."""
    max_audio_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    """Longer playBytes clips are refused (answered with playFinished, not played)."""


@dataclass(frozen=True, config=_STRICT)
class Settings:
    mqtt: MqttSettings = MqttSettings()
    """Broker connection and topics."""
    engine: EngineSettings = EngineSettings()
    """Speech engine and its defaults."""
    synthesis: SynthesisSettings = SynthesisSettings()
    """Synthesis pool."""
    queue: QueueSettings = QueueSettings()
    """Request queue and validation limits."""
    audio: AudioSettings = AudioSettings()
    """Sound output."""
    cache: CacheSettings = CacheSettings()
    """The phrase cache of rendered sentences."""
    http: HttpSettings = HttpSettings()
    """The local web page and HTTP API (off by default)."""
    chimes: ChimeSettings = ChimeSettings()
    """Chimes played before announcements."""
    homeassistant: HomeAssistantSettings = HomeAssistantSettings()
    """Home Assistant MQTT discovery (on by default)."""
    hermes: HermesSettings = HermesSettings()
    """Rhasspy/Hermes compatibility (off by default)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Logging level."""

    @property
    def node_id(self) -> str:
        return self.mqtt.node_id or socket.gethostname().split(".")[0] or "voice"

    @property
    def cache_dir(self) -> Path:
        if self.engine.cache_dir:
            return Path(self.engine.cache_dir)
        base = os.environ.get("CACHE_DIRECTORY") or os.environ.get("XDG_CACHE_HOME")
        if base:
            return Path(base.split(":")[0]) / "voice-daemon"
        return Path.home() / ".cache" / "voice-daemon"

    @property
    def phrase_cache_dir(self) -> Path:
        return Path(self.cache.dir) if self.cache.dir else self.cache_dir / "phrases"

    @property
    def journal_path(self) -> Path:
        if self.queue.journal:
            return Path(self.queue.journal)
        state = os.environ.get("STATE_DIRECTORY")
        if state:
            return Path(state.split(":")[0]) / "journal.sqlite3"
        return Path.home() / ".local" / "state" / "voice-daemon" / "journal.sqlite3"


_ADAPTER = TypeAdapter(Settings)


def _format_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            lines.append(f"{path}: unknown option")
        else:
            lines.append(f"{path}: {item['msg']}, got {item['input']!r}")
    return "; ".join(lines)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Validate a parsed config; raises ConfigError naming each bad option."""
    try:
        settings = _ADAPTER.validate_python(data)
    except ValidationError as error:
        raise ConfigError(_format_error(error)) from None
    http = settings.http
    if http.enabled and not is_loopback(http.host) and not (http.token_file or http.token_env):
        raise ConfigError(
            f"http.host: listening on {http.host!r} (not a loopback address) needs a token: "
            "set http.token_file or http.token_env"
        )
    _check_chimes(settings.chimes)
    return settings


def _check_chimes(chimes: ChimeSettings) -> None:
    known = {"default", *chimes.files}
    for priority in ("low", "normal", "high", "critical"):
        name = getattr(chimes, priority)
        if name is not None and name not in known:
            raise ConfigError(
                f"chimes.{priority}: unknown chime {name!r}; known: {', '.join(sorted(known))}"
            )


def override(settings: Settings, section: str, **values: Any) -> Settings:
    """A copy of ``settings`` with some options of one section replaced (CLI flags)."""
    data = _ADAPTER.dump_python(settings)
    data[section].update({k: v for k, v in values.items() if v is not None})
    return settings_from_dict(data)


def load_settings(path: Path | None) -> Settings:
    """Read and validate the YAML config; None gives the defaults."""
    if path is None:
        return Settings()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return settings_from_dict(data)


def read_password(mqtt: MqttSettings) -> str | None:
    """The broker password from its file or environment variable (never from the config)."""
    if mqtt.password_file:
        try:
            return Path(mqtt.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError):
            raise ConfigError(
                f"mqtt.password_file: cannot read a password from {mqtt.password_file}"
            ) from None
    if mqtt.password_env:
        value = os.environ.get(mqtt.password_env)
        if value is None:
            raise ConfigError(f"mqtt.password_env: variable {mqtt.password_env} is not set")
        return value
    return None

"""Home Assistant discovery through the real daemon and broker: the payload passes HA's
discovery schema per platform, and what HA would publish on each entity's command topic
(rendered with HA's templates) really changes the daemon."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.homeassistant_schema import components, render
from tests.rig import NODE, AlsaCapture, Broker, PulseRig, Watcher, running_daemon, wait_until

pytestmark = [pytest.mark.e2e]

DISCOVERY = f"homeassistant/device/{NODE}/config"
WATCHED = ("voice/#", "homeassistant/#")


def tone(**sections: Any) -> dict[str, Any]:
    return {"engine": {"name": "tone"}, **sections}


def discovered(watcher: Watcher) -> dict[str, dict[str, Any]]:
    message = wait_until(
        lambda: [m for m in watcher.on(DISCOVERY) if m.payload], 30, "the discovery message"
    )[-1]
    return components(message.topic, message.payload)


def retained(port: int, topic: str, wait_s: float = 1.0) -> list[bytes]:
    """What a client subscribing now gets: the retained message (if any) of ``topic``."""
    fresh = Watcher(port, subscribe_to=(topic,)).start()
    time.sleep(wait_s)
    fresh.stop()
    return [m.payload for m in fresh.on(topic) if m.retain]


def state_value(watcher: Watcher, template: str) -> str:
    state = watcher.on(f"voice/{NODE}/state")[-1].payload.decode()
    return render(template, payload=state)


def test_entities_pass_the_schema_and_drive_the_daemon(
    tmp_path: Path, broker: Broker, pulse: PulseRig
) -> None:
    watcher = Watcher(broker.port, subscribe_to=WATCHED).start()
    with running_daemon(
        tmp_path, broker, config=tone(audio={"device": "pulse"}), env=pulse.env(), watcher=watcher
    ) as (_, watcher):
        entities = discovered(watcher)
        assert {key: e["platform"] for key, e in entities.items()} == {
            "say": "notify",
            "announce": "text",
            "stop": "button",
            "volume": "number",
            "mute": "switch",
            "emotion": "select",
            "voice": "select",
            "state": "sensor",
            "queue": "sensor",
            "last_error": "sensor",
        }
        for entity in entities.values():
            assert entity["availability_topic"] == f"voice/{NODE}/availability"
            assert entity["device"]["identifiers"] == [f"voice_daemon_{NODE}"]
            assert entity["origin"]["name"] == "voice-daemon"
        assert watcher.availability() == "online"
        assert retained(broker.port, DISCOVERY), "the discovery message must be retained"
        assert entities["emotion"]["options"] == ["neutral", "happy", "sad"]  # from the engine
        assert entities["voice"]["options"] == ["beep"]

        # number: HA publishes its command template with the slider's value.
        volume = entities["volume"]
        watcher.publish(volume["command_topic"], render(volume["command_template"], value=30))
        watcher.wait_state(lambda s: s["volume"] == 0.3, what="volume 0.3")
        assert float(state_value(watcher, volume["value_template"])) == 30

        # switch: payload_on/off as they are; the state maps back to state_on/off.
        mute = entities["mute"]
        watcher.publish(mute["command_topic"], mute["payload_on"])
        watcher.wait_state(lambda s: s["muted"] is True, what="muted")
        assert state_value(watcher, mute["value_template"]) == mute["state_on"]
        watcher.publish(mute["command_topic"], mute["payload_off"])
        watcher.wait_state(lambda s: s["muted"] is False, what="unmuted")
        assert state_value(watcher, mute["value_template"]) == mute["state_off"]

        # selects: the chosen option becomes the default, and reads back as that option.
        for key, option in (("emotion", "happy"), ("voice", "beep")):
            select = entities[key]
            assert option in select["options"]
            watcher.publish(select["command_topic"], render(select["command_template"], option))
            watcher.wait_state(lambda s, k=key, o=option: s[k] == o, what=f"{key} {option}")
            assert state_value(watcher, select["value_template"]) == option

        # sensors read the retained state.
        assert (
            state_value(watcher, entities["state"]["value_template"])
            in (entities["state"]["options"])
        )
        assert int(state_value(watcher, entities["queue"]["value_template"])) == 0
        assert state_value(watcher, entities["last_error"]["value_template"]) == "none"

        # notify and text publish the message on the say topic (through their command
        # template, as HA does): it is spoken, even when it starts like JSON.
        before = len(watcher.events())
        for key, message in (("say", "[提醒] 门口有人按门铃"), ("announce", "洗衣机洗完了")):
            entity = entities[key]
            watcher.publish(entity["command_topic"], render(entity["command_template"], message))

        def finished() -> list[dict[str, Any]] | None:
            found = [e for e in watcher.events()[before:] if e["event"] == "finished"]
            return found if len(found) >= 2 else None

        results = wait_until(finished, 60, "both announcements")
        assert [e["result"] for e in results] == ["completed", "completed"]

        # button: stop (and clear) while something is playing.
        watcher.say({"text": "很长的通知" * 15, "id": "long"})
        watcher.say({"text": "排队中", "id": "waiting"})
        watcher.wait_event("long", "started", 30)
        stop = entities["stop"]
        watcher.publish(stop["command_topic"], stop["payload_press"])
        for request_id in ("long", "waiting"):
            ended = watcher.wait_terminal(request_id, 10)
            assert (ended["result"], ended["error"]["code"]) == ("cancelled", "stopped")


def test_stable_ids_birth_message_and_removal(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    audio = {"device": alsa.device}
    unique_ids = []
    for run in range(2):
        watcher = Watcher(broker.port, subscribe_to=WATCHED).start()
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        with running_daemon(
            directory, broker, config=tone(audio=audio), env=alsa.env(), watcher=watcher
        ) as (_, watcher):
            entities = discovered(watcher)
            unique_ids.append(sorted(e["unique_id"] for e in entities.values()))
            # Home Assistant restarts: its birth message makes the daemon announce itself again.
            count = len(watcher.on(DISCOVERY))
            watcher.publish("homeassistant/status", "online")
            wait_until(lambda c=count, w=watcher: len(w.on(DISCOVERY)) > c, 10, "re-published")
            components(DISCOVERY, watcher.on(DISCOVERY)[-1].payload)
    assert unique_ids[0] == unique_ids[1]
    assert len(set(unique_ids[0])) == len(unique_ids[0]) == 10

    # Switched off: the retained discovery message is replaced by an empty one (removal).
    assert retained(broker.port, DISCOVERY)
    watcher = Watcher(broker.port, subscribe_to=WATCHED).start()
    directory = tmp_path / "off"
    directory.mkdir()
    with running_daemon(
        directory,
        broker,
        config=tone(audio=audio, homeassistant={"enabled": False}),
        env=alsa.env(),
        watcher=watcher,
    ) as (_, watcher):
        wait_until(lambda: [m for m in watcher.on(DISCOVERY) if not m.payload], 10, "removal")
        watcher.publish("homeassistant/status", "online")
        time.sleep(0.5)
        assert all(not m.payload for m in watcher.on(DISCOVERY) if not m.retain)
    assert retained(broker.port, DISCOVERY) == []

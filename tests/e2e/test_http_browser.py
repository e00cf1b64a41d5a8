"""The web page in headless Chromium (Debian's chromium, driven by Playwright; no browser is
downloaded): choose an emotion, speak on the device, see `completed` in the page's log, and
find the audio on the ALSA capture sink. A screenshot is saved under test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.e2e.http_rig import http_daemon
from tests.rig import REPO, AlsaCapture, Broker, find_signal

pytestmark = [pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    # Nothing but loopback: any host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile; fails loudly when Debian's chromium is missing."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def _open(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page, errors


def test_speak_from_the_page_plays_on_the_device(
    tmp_path: Path,
    broker: Broker,
    *,
    alsa: AlsaCapture,
    model_cache: Path,
    reference,
    browser: BrowserContext,
) -> None:
    config = {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": alsa.device},
    }
    text = "门口有人按门铃，请在3点15分前开门。"
    with http_daemon(tmp_path, broker, config=config, env=alsa.env()) as (_, watcher, client):
        page, errors = _open(browser, f"http://127.0.0.1:{client.port}/")
        page.wait_for_selector("#emotion option[value=happy]", state="attached")
        page.fill("#text", text)
        page.select_option("#emotion", "happy")
        page.click("#speak")
        completed = page.wait_for_selector("#log li.result-completed", timeout=60000)
        assert completed is not None and "completed" in completed.inner_text()
        queued_as = page.inner_text("#message").removeprefix("queued as ").strip()
        finished = watcher.wait_terminal(queued_as)
        assert finished["result"] == "completed"
        assert [e["event"] for e in watcher.events(queued_as)] == ["queued", "started", "finished"]
        assert page.inner_text("#status") == "idle"

        # Mispronunciation help: the frontend's reading of the text.
        page.wait_for_selector("#reading-body table")
        assert "三点十五分" in page.inner_text("#reading-body .normalized")
        assert "san1 dian3 shi2 wu3 fen1" in page.inner_text("#reading-body table")

        # Synthesize and play here: a WAV in the page's <audio>, offered for download.
        assert page.is_hidden("#player")
        page.click("#play-here")
        page.wait_for_selector("#player:not([hidden])")
        page.wait_for_function("document.getElementById('audio').duration > 1")
        link = page.locator("#download")
        assert (link.get_attribute("href") or "").startswith("blob:")
        assert (link.get_attribute("download") or "").endswith(".wav")

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "http-page.png"), full_page=True)
        assert errors == []
    find_signal(alsa.samples(), reference(text, emotion="happy"))


def test_the_page_asks_for_the_token_once(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, browser: BrowserContext
) -> None:
    config = {"engine": {"name": "tone"}, "audio": {"device": alsa.device}}
    env = {**alsa.env(), "VD_PAGE_TOKEN": "page-token"}
    http = {"token_env": "VD_PAGE_TOKEN"}
    with http_daemon(tmp_path, broker, config=config, env=env, http=http, token="page-token") as (
        _,
        __,
        client,
    ):
        url = f"http://127.0.0.1:{client.port}/"
        page, errors = _open(browser, url)
        page.wait_for_selector("#token-bar:not([hidden])")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "http-token-prompt.png"))
        page.fill("#token", "wrong")
        page.click("#token-form button")
        page.wait_for_selector("#token-bar:not([hidden])")  # asked again
        page.fill("#token", "page-token")
        page.click("#token-form button")
        page.wait_for_selector("#voice option[value=beep]", state="attached")
        page.reload()  # kept in this browser: not asked again
        page.wait_for_selector("#voice option[value=beep]", state="attached")
        assert page.is_hidden("#token-bar")
        page.fill("#text", "你好")
        page.click("#speak")
        page.wait_for_selector("#log li.result-completed")
        assert errors == []

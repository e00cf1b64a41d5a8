// voice-daemon's page: plain JavaScript over the HTTP API (no build step).
"use strict";

const TOKEN_KEY = "voice-daemon-token";
const LOG_LIMIT = 200;
const RETRY_MS = 2000;

const $ = (id) => document.getElementById(id);
let token = localStorage.getItem(TOKEN_KEY) || "";
let voices = null;
let streaming = false;
let audioUrl = null;
let readingTimer = null;

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || { code: "http_" + status, message: "HTTP " + status };
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.id = body ? body.id : null;
  }
}

// ---- talking to the daemon -------------------------------------------------------------

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token) headers.set("Authorization", "Bearer " + token);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    askForToken();
    throw new ApiError(401, await response.json().catch(() => null));
  }
  return response;
}

async function apiJson(path, options) {
  const response = await api(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function postJson(data) {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  };
}

// ---- token -------------------------------------------------------------------------------

function askForToken() {
  $("token-bar").hidden = false;
  $("token").focus();
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  localStorage.setItem(TOKEN_KEY, token);
  $("token-bar").hidden = true;
  start();
});

// ---- voices and emotions -----------------------------------------------------------------

function fillSelect(select, names, chosen) {
  select.replaceChildren(
    ...names.map((name) => {
      const option = document.createElement("option");
      option.value = option.textContent = name;
      option.selected = name === chosen;
      return option;
    })
  );
}

function fillEmotions() {
  const voice = voices.voices.find((v) => v.name === $("voice").value) || voices.voices[0];
  const current = $("emotion").value || voices.emotion;
  const chosen = voice.emotions.includes(current) ? current : voices.emotion;
  fillSelect($("emotion"), voice.emotions, chosen);
}

async function loadVoices() {
  try {
    voices = await apiJson("/api/voices");
  } catch (error) {
    if (error.status !== 401) setTimeout(loadVoices, RETRY_MS); // 503 while the engine loads
    return;
  }
  fillSelect($("voice"), voices.voices.map((v) => v.name), voices.voice);
  fillEmotions();
}

$("voice").addEventListener("change", fillEmotions);

// ---- state and events (server-sent events over fetch, so the token header can be sent) ---

function setStatus(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function showState(state) {
  setStatus(state.ready ? state.state : "loading the voice", state.ready ? state.state : "loading");
  const rows = [
    ["state", state.state],
    ["current", state.current || "–"],
    ["queue", state.queue],
    ["volume", Math.round(state.volume * 100) + "%" + (state.muted ? " (muted)" : "")],
    ["engine", state.engine],
    ["voice", (state.voice || "default") + " · " + state.emotion],
    ["last error", state.last_error || "–"],
    ["version", state.version],
  ];
  $("state").replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = name;
      dd.textContent = String(value);
      return [dt, dd];
    })
  );
}

function describeEvent(event) {
  switch (event.event) {
    case "queued":
      return "position " + event.position;
    case "started":
      return Math.round(event.latency_ms) + " ms after receipt";
    case "finished": {
      const audio = event.audio_ms ? ", " + (event.audio_ms / 1000).toFixed(1) + " s of audio" : "";
      const error = event.error ? " — " + event.error.code + ": " + event.error.message : "";
      return event.result + audio + error;
    }
    case "rejected":
      return event.code + ": " + event.message;
    default:
      return "";
  }
}

function logEvent(event) {
  const item = document.createElement("li");
  item.className = "event-" + event.event + (event.result ? " result-" + event.result : "");
  const time = new Date((event.time || Date.now() / 1000) * 1000).toLocaleTimeString();
  for (const [cls, text] of [
    ["time", time],
    ["id", event.id || "–"],
    ["name", event.event],
    ["detail", describeEvent(event)],
  ]) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    item.append(span);
  }
  $("log").prepend(item);
  while ($("log").children.length > LOG_LIMIT) $("log").lastElementChild.remove();
}

function handleMessage(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) kind = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trim());
  }
  if (!data.length) return; // a keep-alive comment
  const value = JSON.parse(data.join("\n"));
  if (kind === "state") showState(value);
  else if (kind === "event") logEvent(value);
}

async function openStream() {
  if (streaming) return;
  streaming = true;
  try {
    const response = await api("/api/events");
    if (!response.ok) throw new ApiError(response.status, null);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        handleMessage(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (error) {
    if (error.status === 401) {
      streaming = false;
      setStatus("needs the token", "offline");
      return;
    }
  }
  streaming = false;
  setStatus("offline", "offline");
  setTimeout(openStream, RETRY_MS);
}

// ---- actions -----------------------------------------------------------------------------

function request() {
  const body = {
    text: $("text").value,
    speed: Number($("speed").value),
    volume: Number($("volume").value),
  };
  if ($("voice").value) body.voice = $("voice").value;
  if ($("emotion").value) body.emotion = $("emotion").value;
  return body;
}

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

function failed(error) {
  say(error.code + ": " + error.message, true);
  if (error.status !== 401) {
    logEvent({ event: "rejected", id: error.id, code: error.code, message: error.message });
  }
}

async function busy(button, work) {
  button.disabled = true;
  try {
    await work();
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
  }
}

$("say-form").addEventListener("submit", (event) => {
  event.preventDefault();
  busy($("speak"), async () => {
    const answer = await apiJson("/api/say", postJson(request()));
    say("queued as " + answer.id);
  });
});

$("play-here").addEventListener("click", () =>
  busy($("play-here"), async () => {
    say("synthesizing…");
    const response = await api("/api/synth", postJson(request()));
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const blob = await response.blob();
    if (audioUrl) URL.revokeObjectURL(audioUrl);
    audioUrl = URL.createObjectURL(blob);
    $("audio").src = audioUrl;
    $("download").href = audioUrl;
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    $("download").download = match ? match[1] : "speech.wav";
    $("player").hidden = false;
    say("synthesized " + Math.round(blob.size / 1024) + " KiB");
    await $("audio").play().catch(() => {}); // autoplay may be refused; the controls remain
  })
);

$("stop").addEventListener("click", () =>
  busy($("stop"), async () => {
    await apiJson("/api/stop", { method: "POST" });
    say("stopped");
  })
);

for (const [input, output, format] of [
  ["speed", "speed-value", (v) => Number(v).toFixed(2) + "×"],
  ["volume", "volume-value", (v) => Math.round(v * 100) + "%"],
]) {
  $(input).addEventListener("input", () => ($(output).textContent = format($(input).value)));
}

// ---- reading (mispronunciation help from the text frontend) ------------------------------

async function showReading() {
  const text = $("text").value;
  const body = $("reading-body");
  if (!text.trim()) {
    body.replaceChildren();
    return;
  }
  let reading;
  try {
    reading = await apiJson("/api/text", postJson({ text }));
  } catch (error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = error.code + ": " + error.message;
    body.replaceChildren(p);
    return;
  }
  const parts = [];
  const normalized = document.createElement("p");
  normalized.className = "normalized";
  normalized.textContent = reading.normalized;
  parts.push(normalized);
  if (reading.dropped.length) {
    const dropped = document.createElement("p");
    dropped.className = "error";
    dropped.textContent = "not readable (skipped): " + reading.dropped.join(" ");
    parts.push(dropped);
  }
  const table = document.createElement("table");
  reading.sentences.forEach((sentence, index) => {
    const row = table.insertRow();
    row.insertCell().textContent = sentence;
    row.insertCell().textContent = reading.pinyin[index].join(" ");
  });
  parts.push(table);
  body.replaceChildren(...parts);
}

$("text").addEventListener("input", () => {
  clearTimeout(readingTimer);
  readingTimer = setTimeout(showReading, 400);
});

// ---- start -------------------------------------------------------------------------------

function start() {
  loadVoices();
  openStream();
  showReading();
}

start();

/* zoomlive dashboard: vanilla JS, same origin only, no external requests.
 *
 * Stable element ids (for tests and scripts):
 *   reset-btn, message (status line, data-level="ok"|"error"), feed-status
 *   admin-key-box, admin-key-form, admin-key-input, admin-key-save
 *   create-webinar-topic, create-webinar-btn, create-meeting-topic, create-meeting-btn
 *   sessions-table, sessions-body; per row: row-{kind}-{id} (aria-label "Select {kind} {id}"),
 *     status-{kind}-{id}, state-{kind}-{id}, error-{kind}-{id}, thumb-{kind}-{id} (<img>)
 *   detail, detail-title, detail-kind, detail-id, detail-status, detail-stream-state,
 *     detail-target, detail-last-error
 *   host-start-btn, host-end-btn
 *   stream-url, stream-key, page-url, configure-btn
 *   display-name, active-speaker, stream-start-btn, stream-stop-btn
 *   speaker-name, speaker-btn
 *   fault-kind, fault-latency, fault-status, fault-operation, fault-count, fault-btn
 *   snippets, snippet-curl, snippet-python, snippet-cli, copy-curl, copy-python, copy-cli
 *   credentials (<details>), credentials-toggle, cred-account, cred-client-id,
 *     cred-client-secret, cred-token
 *   webhooks, webhook-table, webhook-body
 *   ratelimits, ratelimit-list, accounts-list, detail-uptime, detail-bitrate
 *   events, events-list (last 20 feed items)
 */
"use strict";

const CREDS = {
  account: "demo-account",
  clientId: "demo-client-id",
  clientSecret: "demo-client-secret",
};
const ORIGIN = window.location.origin;
const $ = (id) => document.getElementById(id);

const ui = {
  state: null,
  selected: null, // {kind, id}
  token: null,
  tokenExpires: 0,
  thumbs: new Map(), // "kind-id" -> <img>, kept across renders
  events: [],
  adminKey: sessionStorage.getItem("zoomlive-admin-key") || "",
};

// --- messages ----------------------------------------------------------------------------

function say(text, level = "ok") {
  const el = $("message");
  el.textContent = text;
  el.dataset.level = level;
}

function describeError(status, body) {
  if (body && typeof body === "object" && body.message) {
    return `${status}: ${body.message}` + (body.code ? ` (code ${body.code})` : "");
  }
  return `${status}: ${typeof body === "string" ? body : "request failed"}`;
}

async function readBody(resp) {
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (_) {
    return text;
  }
}

// --- control API -------------------------------------------------------------------------

// Webinars and meetings, as the state lists them (each entry carries its kind).
function sessionsOf(state) {
  return [...(state.webinars || []), ...(state.meetings || [])];
}

async function control(method, path, body) {
  const headers = {};
  if (ui.adminKey) headers["X-Admin-Key"] = ui.adminKey;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch("/_emulator" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await readBody(resp);
  if (resp.status === 401) {
    $("admin-key-box").hidden = false;
    throw new Error(describeError(resp.status, data));
  }
  if (!resp.ok) throw new Error(describeError(resp.status, data));
  return data;
}

// --- Zoom API with a token of our own ----------------------------------------------------

async function getToken(force = false) {
  if (!force && ui.token && Date.now() < ui.tokenExpires) return ui.token;
  const url =
    "/oauth/token?grant_type=account_credentials&account_id=" + encodeURIComponent(CREDS.account);
  const resp = await fetch(url, {
    method: "POST",
    headers: { Authorization: "Basic " + btoa(CREDS.clientId + ":" + CREDS.clientSecret) },
  });
  const data = await readBody(resp);
  if (!resp.ok) throw new Error("token: " + describeError(resp.status, data));
  ui.token = data.access_token;
  ui.tokenExpires = Date.now() + Math.max(10, (data.expires_in || 3599) - 60) * 1000;
  $("cred-token").textContent = ui.token;
  renderSnippets();
  return ui.token;
}

async function zoom(method, path, body) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = await getToken(attempt > 0);
    const resp = await fetch("/v2" + path, {
      method,
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await readBody(resp);
    if (resp.status === 401 && attempt === 0) continue;
    if (!resp.ok) throw new Error(describeError(resp.status, data));
    return data;
  }
  return null;
}

// --- state and rendering -----------------------------------------------------------------

function streamOf(kind, id) {
  if (!ui.state) return null;
  return (ui.state.livestreams || []).find((s) => s.kind === kind && s.id === id) || null;
}

function text(tag, value, id) {
  const el = document.createElement(tag);
  el.textContent = value === null || value === undefined ? "" : String(value);
  if (id) el.id = id;
  return el;
}

function thumbFor(kind, id) {
  const key = `${kind}-${id}`;
  let img = ui.thumbs.get(key);
  if (!img) {
    img = document.createElement("img");
    img.id = "thumb-" + key;
    img.className = "thumb";
    img.alt = `Latest frame of ${kind} ${id}`;
    img.hidden = true;
    img.addEventListener("load", () => {
      img.hidden = false;
    });
    img.addEventListener("error", () => {
      img.hidden = true;
    });
    ui.thumbs.set(key, img);
  }
  return img;
}

function refreshThumb(kind, id) {
  const img = thumbFor(kind, id);
  img.src = `/_emulator/${kind}s/${id}/thumbnail.jpg?t=${Date.now()}`;
}

function renderTable() {
  const body = $("sessions-body");
  const rows = [];
  for (const w of sessionsOf(ui.state)) {
    const s = streamOf(w.kind, w.id);
    const key = `${w.kind}-${w.id}`;
    const tr = document.createElement("tr");
    tr.id = "row-" + key;
    tr.tabIndex = 0;
    tr.dataset.kind = w.kind;
    tr.dataset.id = String(w.id);
    tr.setAttribute("aria-label", `Select ${w.kind} ${w.id}`);
    if (ui.selected && ui.selected.kind === w.kind && ui.selected.id === w.id) {
      tr.classList.add("selected");
      tr.setAttribute("aria-selected", "true");
    }
    const state = s ? s.state : "—";
    tr.append(
      text("td", w.kind),
      text("td", w.id),
      text("td", w.topic),
      text("td", w.status, "status-" + key),
      text("td", state, "state-" + key),
      text("td", s && s.last_error, "error-" + key),
    );
    const cell = document.createElement("td");
    const img = thumbFor(w.kind, w.id);
    if (!s || s.state !== "live") img.hidden = true;
    cell.append(img);
    tr.append(cell);
    tr.classList.add("state-" + state);
    tr.addEventListener("click", () => select(w.kind, w.id));
    tr.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        select(w.kind, w.id);
      }
    });
    rows.push(tr);
  }
  body.replaceChildren(...rows);
}

function renderDetail() {
  const sel = ui.selected;
  const item =
    sel && ui.state && sessionsOf(ui.state).find((w) => w.kind === sel.kind && w.id === sel.id);
  $("detail-body").hidden = !item;
  $("detail-empty").hidden = !!item;
  if (!item) {
    $("detail-title").textContent = "Nothing selected";
    return;
  }
  const s = streamOf(item.kind, item.id);
  $("detail-title").textContent = `${item.kind} ${item.id}: ${item.topic || ""}`;
  $("detail-kind").textContent = item.kind;
  $("detail-id").textContent = String(item.id);
  $("detail-status").textContent = item.status;
  $("detail-stream-state").textContent = s ? s.state : "not configured";
  $("detail-target").textContent =
    s && s.configured ? `${s.stream_url} (key ${s.stream_key})` : "not configured";
  $("detail-last-error").textContent = (s && s.last_error) || "";
  const rt = ui.runtime && ui.runtime.kind === item.kind && ui.runtime.id === item.id
    ? ui.runtime : null;
  const settings = (s && s.settings) || {};
  $("detail-settings").textContent = Object.entries(settings)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
  const live = s && s.state === "live" && s.started_at;
  $("detail-uptime").textContent = live
    ? `${Math.max(0, Math.round((Date.now() - Date.parse(s.started_at)) / 1000))} s` : "";
  const media = rt && rt.media;
  // ffmpeg reports no byte count for RTMP outputs: then the encoder's target rate is shown.
  const rate = media && (media.bitrate_kbps
    ? `${media.bitrate_kbps} kbit/s` : media.target_kbps ? `${media.target_kbps} kbit/s (target)` : "");
  $("detail-bitrate").textContent = rate
    ? `${rate}, ${media.frames} frames sent${media.fps ? ", " + media.fps + " fps" : ""}` : "";
}

function renderAccounts(state) {
  const items = [];
  for (const a of (state && state.accounts) || []) {
    const users = (state.users || []).filter((u) => u.account_id === a.id).map((u) => u.email);
    const apps = (state.apps || []).filter((p) => p.account_id === a.id).map((p) => p.client_id);
    items.push(text("li", `${a.id} (${a.plan}${a.webinar_addon ? ", webinar add-on" : ""}` +
      `${a.custom_live_streaming ? ", custom live streaming" : ""}): users ${users.join(", ")}` +
      `; apps ${apps.join(", ")}`));
  }
  $("accounts-list").replaceChildren(...items);
}

function shellQuote(value) {
  return "'" + String(value).replace(/'/g, "'\\''") + "'";
}

function pyString(value) {
  return JSON.stringify(String(value));
}

function renderSnippets() {
  const sel = ui.selected;
  $("snippets-body").hidden = !sel;
  $("snippets-empty").hidden = !!sel;
  if (!sel) return;
  const name = $("display-name").value;
  const speaker = $("active-speaker").checked;
  const plural = sel.kind + "s";
  const token = ui.token || "$TOKEN";
  const settings = JSON.stringify({ active_speaker_name: speaker, display_name: name });
  $("snippet-curl").textContent = [
    "curl -i -X PATCH \\",
    `  -H ${shellQuote("Authorization: Bearer " + token)} \\`,
    '  -H "Content-Type: multipart/form-data" \\',
    "  --form 'action=start' \\",
    `  --form ${shellQuote("settings=" + settings)} \\`,
    `  ${ORIGIN}/v2/${plural}/${sel.id}/livestream/status`,
  ].join("\n");
  $("snippet-python").textContent = [
    "from zoomlive import ZoomClient",
    "",
    `with ZoomClient(account_id=${pyString(CREDS.account)}, client_id=${pyString(CREDS.clientId)},`,
    `                client_secret=${pyString(CREDS.clientSecret)},`,
    `                base_url=${pyString(ORIGIN + "/v2")}, oauth_base_url=${pyString(ORIGIN)}) as zoom:`,
    `    zoom.${plural}.livestream.start(${sel.id}, display_name=${pyString(name)},` +
      ` active_speaker_name=${speaker ? "True" : "False"})`,
  ].join("\n");
  $("snippet-cli").textContent = [
    `export ZOOM_ACCOUNT_ID=${CREDS.account} ZOOM_CLIENT_ID=${CREDS.clientId} ` +
      `ZOOM_CLIENT_SECRET=${CREDS.clientSecret}`,
    `zoomlive ${sel.kind} livestream start ${sel.id} --display-name ${shellQuote(name)} ` +
      `--base-url ${ORIGIN}/v2`,
  ].join("\n");
}

function renderWebhooks(list) {
  const rows = (list || []).slice(0, 50).map((d) => {
    const tr = document.createElement("tr");
    const attempts = (d.attempts || [])
      .map((a) => (a.status_code !== null && a.status_code !== undefined ? a.status_code : a.error || "?"))
      .join(", ");
    const last = (d.attempts || [])[(d.attempts || []).length - 1];
    const payload = document.createElement("details");
    payload.append(text("summary", "show"), text("pre", d.body || ""));
    if (last && last["x-zm-signature"]) {
      payload.append(text("pre", `x-zm-request-timestamp: ${last["x-zm-request-timestamp"]}\n` +
        `x-zm-signature: ${last["x-zm-signature"]}`));
    }
    const cell = document.createElement("td");
    cell.append(payload);
    tr.append(
      text("td", d.event),
      text("td", d.status),
      text("td", `${(d.attempts || []).length}${attempts ? " (" + attempts + ")" : ""}`),
      cell,
    );
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = text("td", "no deliveries yet");
    td.colSpan = 4;
    tr.append(td);
    rows.push(tr);
  }
  $("webhook-body").replaceChildren(...rows);
}

function renderRateLimits(data) {
  const items = [];
  if (!data || !data.enabled) {
    items.push(text("li", "rate limiting is off"));
  } else {
    for (const u of data.usage || []) {
      const daily = u.daily_limit ? `, ${u.used_today}/${u.daily_limit} today` : "";
      const per = u.window_seconds === 1 ? "s" : `${u.window_seconds} s`;
      items.push(text("li", `${u.account_id} ${u.label}: ${u.used_this_window}/${u.limit} per ` +
        `${per}${daily}`));
    }
    const entries = Object.entries(data.refused || {});
    for (const [key, count] of entries) items.push(text("li", `${key}: ${count} refused`));
    if (!entries.length) items.push(text("li", "no refusals"));
  }
  $("ratelimit-list").replaceChildren(...items);
}

let refreshing = false;
let refreshAgain = false;

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    const [state, deliveries, limits] = await Promise.all([
      control("GET", "/state"),
      control("GET", "/webhooks/deliveries").catch(() => []),
      control("GET", "/ratelimits").catch(() => null),
    ]);
    ui.state = state;
    const sel = ui.selected;
    ui.runtime = sel
      ? await control("GET", `/${sel.kind}s/${sel.id}/livestream`).catch(() => null)
      : null;
    if (
      ui.selected &&
      !sessionsOf(state).some((w) => w.kind === ui.selected.kind && w.id === ui.selected.id)
    ) {
      ui.selected = null;
    }
    renderTable();
    renderDetail();
    renderSnippets();
    renderWebhooks(deliveries);
    renderRateLimits(limits);
    renderAccounts(state);
  } catch (err) {
    say("refresh failed: " + err.message, "error");
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      setTimeout(refresh, 0);
    }
  }
}

let debounceTimer = null;
function refreshSoon() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(refresh, 150);
}

function select(kind, id) {
  ui.selected = { kind, id };
  const s = streamOf(kind, id);
  if (s && s.configured) {
    $("stream-url").value = s.stream_url || "";
    $("stream-key").value = s.stream_key || "";
  }
  renderTable();
  renderDetail();
  renderSnippets();
}

// --- actions -----------------------------------------------------------------------------

async function act(label, fn) {
  try {
    await fn();
    say(label + ": ok");
  } catch (err) {
    say(label + ": " + err.message, "error");
  }
  refreshSoon();
}

function needSelection() {
  if (!ui.selected) throw new Error("select a webinar or meeting first");
  return ui.selected;
}

function onSubmit(id, fn) {
  $(id).addEventListener("submit", (ev) => {
    ev.preventDefault();
    fn();
  });
}

function createSession(kind) {
  const topic = $(`create-${kind}-topic`).value.trim() || `New ${kind}`;
  return act(`create ${kind}`, async () => {
    const made = await control("POST", `/accounts/${CREDS.account}/${kind}s`, {
      host: "host@example.com",
      topic,
    });
    await refresh();
    select(kind, made.id);
  });
}

function wire() {
  $("reset-btn").addEventListener("click", () =>
    act("reset", async () => {
      await control("POST", "/reset", { demo: true });
      ui.token = null;
      ui.selected = null;
    }),
  );
  onSubmit("create-webinar-form", () => createSession("webinar"));
  onSubmit("create-meeting-form", () => createSession("meeting"));
  for (const action of ["start", "end"]) {
    $(`host-${action}-btn`).addEventListener("click", () =>
      act(`host ${action}`, async () => {
        const sel = needSelection();
        await control("POST", `/${sel.kind}s/${sel.id}/${action}`);
      }),
    );
  }
  onSubmit("configure-form", () =>
    act("configure stream", async () => {
      const sel = needSelection();
      await zoom("PATCH", `/${sel.kind}s/${sel.id}/livestream`, {
        stream_url: $("stream-url").value.trim(),
        stream_key: $("stream-key").value.trim(),
        page_url: $("page-url").value.trim(),
      });
    }),
  );
  onSubmit("stream-form", () =>
    act("start stream", async () => {
      const sel = needSelection();
      await zoom("PATCH", `/${sel.kind}s/${sel.id}/livestream/status`, {
        action: "start",
        settings: {
          display_name: $("display-name").value,
          active_speaker_name: $("active-speaker").checked,
        },
      });
    }),
  );
  $("stream-stop-btn").addEventListener("click", () =>
    act("stop stream", async () => {
      const sel = needSelection();
      await zoom("PATCH", `/${sel.kind}s/${sel.id}/livestream/status`, { action: "stop" });
    }),
  );
  onSubmit("speaker-form", () =>
    act("switch speaker", async () => {
      const sel = needSelection();
      await control("POST", `/${sel.kind}s/${sel.id}/speaker`, { name: $("speaker-name").value });
    }),
  );
  onSubmit("fault-form", () =>
    act("inject fault", async () => {
      const kind = $("fault-kind").value;
      const rule = { kind };
      if (kind === "latency") rule.latency_ms = Number($("fault-latency").value || 0);
      if (kind === "error") rule.status = Number($("fault-status").value);
      const op = $("fault-operation").value.trim();
      if (op) rule.operation = op;
      const count = $("fault-count").value.trim();
      if (count) rule.count = Number(count);
      const made = await control("POST", "/faults", rule);
      say(`fault ${made && made.id} injected`);
    }),
  );
  for (const id of ["display-name", "active-speaker"]) {
    $(id).addEventListener("input", renderSnippets);
  }
  for (const btn of document.querySelectorAll("button.copy")) {
    btn.addEventListener("click", async () => {
      const value = $(btn.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(value);
        say("copied");
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents($(btn.dataset.copy));
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        say("selected: press Ctrl+C to copy");
      }
    });
  }
  $("credentials").addEventListener("toggle", () => {
    if ($("credentials").open && !ui.token) getToken().catch((e) => say(e.message, "error"));
  });
  $("admin-key-input").value = ui.adminKey;
  onSubmit("admin-key-form", () => {
    ui.adminKey = $("admin-key-input").value;
    sessionStorage.setItem("zoomlive-admin-key", ui.adminKey);
    $("admin-key-box").hidden = true;
    openFeed();
    refresh();
  });
}

// --- live updates ------------------------------------------------------------------------

function pushEvent(kind, raw) {
  let summary = raw;
  try {
    const data = JSON.parse(raw);
    const bits = [];
    for (const k of ["kind", "id", "event", "from", "to", "state", "status", "status_code", "detail"]) {
      if (data[k] !== undefined && data[k] !== null && data[k] !== "") bits.push(`${k}=${data[k]}`);
    }
    summary = bits.length ? bits.join(" ") : raw;
    if (kind === "missed") {
      // the feed could not replay everything since our last event (Last-Event-ID)
      summary = `${data.missed ?? "some"} events not received`;
    }
  } catch (_) {
    /* keep the raw text */
  }
  ui.events.unshift(`${new Date().toLocaleTimeString()} ${kind}: ${summary}`);
  ui.events.length = Math.min(ui.events.length, 20);
  $("events-list").replaceChildren(...ui.events.map((e) => text("li", e)));
  refreshSoon();
}

let feed = null;
function openFeed() {
  if (feed) feed.close();
  // EventSource cannot send headers: the admin key, when there is one, goes in the query.
  const query = ui.adminKey ? `?admin_key=${encodeURIComponent(ui.adminKey)}` : "";
  feed = new EventSource(`/_emulator/events${query}`);
  feed.onopen = () => {
    $("feed-status").textContent = "feed: live";
  };
  feed.onerror = () => {
    $("feed-status").textContent = "feed: reconnecting (polling)";
  };
  feed.onmessage = (ev) => pushEvent("message", ev.data);
  // On a reconnect EventSource sends Last-Event-ID: the feed replays what we missed.
  for (const name of ["stream", "host", "webhook", "missed"]) {
    feed.addEventListener(name, (ev) => pushEvent(name, ev.data));
  }
}

function tickThumbs() {
  if (!ui.state) return;
  for (const s of ui.state.livestreams || []) {
    if (s.state === "live") refreshThumb(s.kind, s.id);
  }
}

wire();
refresh();
openFeed();
setInterval(refresh, 2000);
setInterval(tickThumbs, 1000);

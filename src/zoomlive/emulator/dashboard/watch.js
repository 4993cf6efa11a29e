/* zoomlive dashboard: watch the selected live stream (docs/watch.md).
 *
 * A stream that goes to a receiver this emulator runs (the demo receiver) plays in #watch-video
 * with mpegts.js (from npm, served at /_dashboard/player.js; scripts/player installs it), from
 * GET /_emulator/watch/{app}/{key}.flv: what the receiver gets, as live FLV, about half a
 * second behind. Beside it: bitrate, fps and the active speaker (the stream's runtime data),
 * and how far behind the sender the picture is.
 *
 * Uses app.js's globals: ui (selection, state, runtime), $, control, streamOf, ORIGIN.
 * Stable element ids: watch, watch-video, watch-status, watch-bitrate, watch-fps,
 *   watch-speaker, watch-latency (data-seconds: the latency as a number).
 */
"use strict";

const watching = {
  info: null, // GET /_emulator/watch
  player: null,
  key: null, // what plays: "kind-id flv-path"
  baseWall: null, // wall clock (s) at which the player's time 0 reached the receiver
  retryAt: 0,
  loading: false,
};

function watchStatus(line) {
  $("watch-status").textContent = line;
}

function watchStop() {
  const player = watching.player;
  watching.player = null;
  watching.key = null;
  watching.baseWall = null;
  if (player) {
    try {
      player.pause();
      player.unload();
      player.detachMediaElement();
      player.destroy();
    } catch (_) {
      /* already torn down */
    }
  }
}

function watchReceiver(s) {
  // The receiver of this emulator that gets stream s, while it is live there.
  if (!watching.info || !s || s.state !== "live" || !s.stream_url) return null;
  const url = s.stream_url.replace(/\/+$/, "");
  return (
    (watching.info.receivers || []).find(
      (r) => r.live && r.url === url && r.publisher_key === s.stream_key,
    ) || null
  );
}

function watchLoadPlayer() {
  if (watching.loading) return;
  watching.loading = true;
  const script = document.createElement("script");
  script.src = watching.info.player;
  script.onload = () => watchTick();
  script.onerror = () => watchStatus("The video player did not load: run scripts/player.");
  document.head.append(script);
}

function watchStart(receiver, key) {
  watchStop();
  if (!window.mpegts || !mpegts.getFeatureList().mseLivePlayback) {
    watchStatus("This browser cannot play live video (no Media Source Extensions).");
    return;
  }
  const query = ui.adminKey ? `?admin_key=${encodeURIComponent(ui.adminKey)}` : "";
  const player = mpegts.createPlayer(
    { type: "flv", isLive: true, url: ORIGIN + receiver.flv + query },
    {
      enableStashBuffer: false,
      liveBufferLatencyChasing: true,
      liveBufferLatencyMaxLatency: 1.2,
      liveBufferLatencyMinRemain: 0.3,
      autoCleanupSourceBuffer: true,
    },
  );
  player.on(mpegts.Events.METADATA_ARRIVED, (meta) => {
    if (meta && typeof meta.zoomlive_base_wall === "number") {
      watching.baseWall = meta.zoomlive_base_wall;
    }
  });
  const ended = (why) => {
    if (watching.player !== player) return;
    watchStop();
    watching.retryAt = Date.now() + 1500;
    watchStatus(why);
  };
  player.on(mpegts.Events.ERROR, (type, detail) => ended(`player: ${type} ${detail}`));
  player.on(mpegts.Events.LOADING_COMPLETE, () => ended("the publisher left"));
  const video = $("watch-video");
  video.muted = true;
  player.attachMediaElement(video);
  player.load();
  const playing = player.play();
  if (playing && playing.catch) playing.catch(() => {});
  watching.player = player;
  watching.key = key;
  watchStatus(`playing what ${receiver.url}/${receiver.publisher_key} receives`);
}

function watchFacts(s) {
  const rt = ui.runtime && ui.selected && ui.runtime.kind === ui.selected.kind
    && ui.runtime.id === ui.selected.id ? ui.runtime : null;
  const media = (rt && rt.media) || {};
  const kbps = media.bitrate_kbps || media.target_kbps;
  $("watch-bitrate").textContent = kbps
    ? `${kbps} kbit/s${media.bitrate_kbps ? "" : " (target)"}` : "";
  $("watch-fps").textContent = media.fps ? `${media.fps} fps` : "";
  $("watch-speaker").textContent = media.active_speaker || "";
  const video = $("watch-video");
  const latency = $("watch-latency");
  if (watching.player && watching.baseWall !== null && video.currentTime > 0) {
    const behind = Date.now() / 1000 - watching.baseWall - video.currentTime;
    latency.dataset.seconds = behind.toFixed(3);
    latency.textContent = `${behind.toFixed(1)} s behind the sender`;
  } else {
    delete latency.dataset.seconds;
    latency.textContent = "";
  }
}

function watchTick() {
  const sel = ui.selected;
  const s = sel ? streamOf(sel.kind, sel.id) : null;
  $("watch").hidden = !s;
  if (!s) {
    watchStop();
    return;
  }
  const receiver = watchReceiver(s);
  if (!receiver) {
    watchStop();
    watchStatus(
      s.state !== "live"
        ? `Nothing to watch: the stream is ${s.state}.`
        : "Nothing to watch: this stream goes to a receiver the emulator does not run.",
    );
  } else if (!watching.info.player) {
    watchStatus(watching.info.player_hint);
  } else if (!window.mpegts) {
    watchLoadPlayer();
  } else {
    const key = `${sel.kind}-${sel.id} ${receiver.flv}`;
    if (watching.key !== key && Date.now() >= watching.retryAt) watchStart(receiver, key);
  }
  watchFacts(s);
}

async function watchPoll() {
  try {
    watching.info = await control("GET", "/watch");
  } catch (_) {
    watching.info = null;
  }
  watchTick();
}

watchPoll();
setInterval(watchPoll, 1000);
setInterval(watchTick, 250);

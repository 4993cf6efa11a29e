// Run with NODE_PATH at .cache/npm/node_modules (scripts/test installs @zoom/rivet there).
// Calls every endpoint that @zoom/rivet's Meetings and Users clients expose, unchanged, against
// the emulator, and prints one JSON line per call: what Rivet sent and what it made of the answer.
//
// Input (stdin, JSON): {emulator, clientId, clientSecret, accountId, ids: {name: value},
// overrides: {group or group.endpoint: {name: value}}, requests: [{method, pattern, body, query}]}. Rivet's S2S client asks https://zoom.us for its
// token: like mock_zoom() for Python clients, an axios interceptor sends Zoom's hosts to the
// emulator; the API base URL is Rivet's own `baseUrl` option. Bodies and queries come from the
// Zoom document (a request without a valid body is not a test of the client), matched by
// method and path. Writes that remove the objects others need (DELETE, status changes) run last.
"use strict";
const axios = require("axios");
const { MeetingsS2SAuthClient } = require("@zoom/rivet/meetings");
const { UsersS2SAuthClient } = require("@zoom/rivet/users");

async function main() {

  const input = JSON.parse(await new Promise((resolve) => {
    let data = "";
    process.stdin.on("data", (chunk) => (data += chunk));
    process.stdin.on("end", () => resolve(data));
  }));
  const emulator = new URL(input.emulator);
  const requests = input.requests.map((r) => ({ ...r, regex: new RegExp(r.pattern) }));

  axios.interceptors.request.use((config) => {
    const target = new URL(config.url, config.baseURL ?? undefined);
    if (target.hostname === "zoom.us" || target.hostname.endsWith(".zoom.us")) {
      target.protocol = emulator.protocol;
      target.host = emulator.host;
      config.url = target.toString();
      config.baseURL = undefined;
      return config;
    }
    const method = (config.method ?? "get").toUpperCase();
    const path = decodeURI(config.url.split("?")[0]);
    const match = requests.find((r) => r.method === method && r.regex.test(path));
    if (match) {
      if (match.body !== null && config.data === undefined) config.data = match.body;
      if (match.query !== null && config.params === undefined) config.params = match.query;
    }
    return config;
  });

  const options = {
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    accountId: input.accountId,
    baseUrl: `${emulator.origin}/v2`,
    disableReceiver: true,
  };
  const clients = { meetings: new MeetingsS2SAuthClient(options), users: new UsersS2SAuthClient(options) };

  const handler = {
    get: (target, name) => (name in target ? target[name] : `${String(name)}-1`),
  };
  const ids = new Proxy(input.ids, handler);

  // Ids for a call that needs an object in another state (a live stream starts only in a
  // session that has started, which can then no longer be updated), by group or endpoint.
  const overrides = input.overrides ?? {};
  const pathOf = (call) => {
    const mine = { ...overrides[call.group], ...overrides[`${call.group}.${call.name}`] };
    return Object.keys(mine).length ? new Proxy({ ...input.ids, ...mine }, handler) : ids;
  };

  const calls = [];
  for (const [product, client] of Object.entries(clients)) {
    for (const [group, endpoints] of Object.entries(client.endpoints)) {
      if (typeof endpoints !== "object" || endpoints === null) continue;
      for (const [name, endpoint] of Object.entries(endpoints)) {
        if (typeof endpoint === "function") calls.push({ product, group, name, endpoint });
      }
    }
  }
  // Where each call goes, found without sending it (an interceptor stops it), to order them:
  // reads and writes first, then deletes, deepest paths first, and the meeting, webinar or user
  // itself last: a client deleting a poll after its meeting would test nothing.
  const planned = new Map();
  for (const call of calls) {
    let url = "";
    const stop = axios.interceptors.request.use((config) => {
      if (!String(config.url).includes("/oauth/token")) {
        url = String(config.url);
        throw new axios.Cancel("planned");
      }
      return config;
    });
    try {
      await call.endpoint({ path: pathOf(call) });
    } catch {
      // the planned stop
    } finally {
      axios.interceptors.request.eject(stop);
    }
    planned.set(call, url);
  }
  const rank = (call) => {
    const url = planned.get(call);
    const owner = /^\/(meetings|webinars|users)\/[^/]+$/.test(url);
    if (/^delete|^remove|^disassociate/i.test(call.name)) {
      return owner ? 100 : 10 - url.split("/").length;
    }
    return /Status$/.test(call.name) ? 1 : 0;
  };
  calls.sort((a, b) => rank(a) - rank(b));

  for (const call of calls) {
    let seen = null;
    const spy = axios.interceptors.request.use((config) => {
      if (!String(config.url).includes("/oauth/token")) {
        seen = { method: (config.method ?? "get").toUpperCase(), url: config.url };
      }
      return config;
    });
    const line = { product: call.product, group: call.group, name: call.name };
    try {
      const answer = await call.endpoint({ path: pathOf(call) });
      line.ok = true;
      line.status = answer.statusCode;
      line.parsed = answer.data === "" || typeof answer.data === "object";
    } catch (err) {
      line.ok = false;
      line.error = String(err && err.message ? err.message : err);
    } finally {
      axios.interceptors.request.eject(spy);
    }
    line.sent = seen;
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

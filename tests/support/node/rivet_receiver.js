// Zoom's official Node SDK, @zoom/rivet, as a webhook receiver: a MeetingsS2SAuthClient with
// the webhook secret token starts Rivet's own HttpReceiver (endpoint /zoom/events), which
// verifies each event as Rivet does and hands it to the listeners registered here. Rivet is
// used unchanged; only its server is kept on 127.0.0.1 (Rivet listens on every interface).
//
// Usage: NODE_PATH=<node_modules> node rivet_receiver.js SECRET_TOKEN EVENT... Prints
// {"port": N} once listening, then one JSON line per event Rivet accepted: {event, body}.
"use strict";
const net = require("node:net");
const { MeetingsS2SAuthClient } = require("@zoom/rivet/meetings");

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, ...rest) {
  if (typeof port === "number" && rest.length === 1 && typeof rest[0] === "function") {
    return listen.call(this, port, "127.0.0.1", rest[0]);
  }
  return listen.call(this, port, ...rest);
};

const [secret, ...events] = process.argv.slice(2);
const client = new MeetingsS2SAuthClient({
  clientId: "unused-client-id",
  clientSecret: "unused-client-secret",
  accountId: "unused-account-id",
  webhooksSecretToken: secret,
  port: 0,
});
for (const name of events) {
  client.webEventConsumer.event(name, (body) => {
    process.stdout.write(JSON.stringify({ event: name, body }) + "\n");
  });
}
client.start().then((server) => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});

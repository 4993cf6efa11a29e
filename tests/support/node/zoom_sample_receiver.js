// A webhook endpoint written the way Zoom's Node sample verifies events: the body is parsed
// (as express.json() does) and the signature is checked over JSON.stringify(parsed body), not
// over the bytes received. It also reports whether the raw bytes verify, and whether
// JSON.stringify gave back exactly the text received.
//
// Usage: node zoom_sample_receiver.js SECRET_TOKEN. Prints {"port": N} once listening on
// 127.0.0.1, then one JSON line per request: {event, sample_ok, raw_ok, identical}. Answers 200
// (URL validation: plainToken and encryptedToken) when the sample's check passes, else 401.
"use strict";
const crypto = require("node:crypto");
const http = require("node:http");

const secret = process.argv[2];
const hmac = (text) => crypto.createHmac("sha256", secret).update(text).digest("hex");

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    const text = raw.toString("utf8");
    const body = JSON.parse(text);
    const stamp = req.headers["x-zm-request-timestamp"];
    const signature = req.headers["x-zm-signature"];
    const restringified = JSON.stringify(body);
    const sampleOk = signature === `v0=${hmac(`v0:${stamp}:${restringified}`)}`;
    const rawHash = crypto.createHmac("sha256", secret);
    rawHash.update(`v0:${stamp}:`);
    rawHash.update(raw);
    const rawOk = signature === `v0=${rawHash.digest("hex")}`;
    process.stdout.write(
      JSON.stringify({
        event: body.event,
        sample_ok: sampleOk,
        raw_ok: rawOk,
        identical: restringified === text,
      }) + "\n",
    );
    let answer = { message: "ok" };
    if (body.event === "endpoint.url_validation") {
      const plainToken = body.payload.plainToken;
      answer = { plainToken, encryptedToken: hmac(plainToken) };
    }
    res.writeHead(sampleOk ? 200 : 401, { "content-type": "application/json" });
    res.end(JSON.stringify(sampleOk ? answer : { message: "Unauthorized request to Zoom Webhook sample." }));
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});

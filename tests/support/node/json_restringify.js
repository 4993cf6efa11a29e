// Reads lines of base64 JSON text on stdin and writes, per line, base64 of
// JSON.stringify(JSON.parse(text)): what a receiver that re-serializes a body hashes.
"use strict";
const readline = require("node:readline");

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const text = Buffer.from(line, "base64").toString("utf8");
  const again = JSON.stringify(JSON.parse(text));
  process.stdout.write(Buffer.from(again, "utf8").toString("base64") + "\n");
});

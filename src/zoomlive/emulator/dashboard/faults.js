/* zoomlive dashboard: the Zoom faults panel. Loaded after app.js and uses its helpers
 * ($, control, say). Lists the fault rules in force and adds one of Zoom's errors, by its name
 * in the error table, to one operation (or all), for the next N requests or always.
 *
 * Stable element ids: zfaults, zfault-form, zfault-operation, zfault-error, zfault-times,
 *   zfault-add, zfault-refresh, zfault-list, zfault-empty; per rule: zfault-{id} (<li>) with
 *   its remove button zfault-remove-{id}.
 */
"use strict";

(() => {
  const zf = { loaded: false };

  function option(value, text) {
    const el = document.createElement("option");
    el.value = value;
    el.textContent = text;
    return el;
  }

  async function loadChoices() {
    const data = await control("GET", "/faults/errors");
    const ops = $("zfault-operation");
    ops.replaceChildren(option("", "(every operation)"));
    for (const op of data.operations) ops.append(option(op, op));
    const errors = $("zfault-error");
    errors.replaceChildren();
    for (const e of data.errors) {
      errors.append(option(e.name, `${e.name} (${e.status}/${e.code})`));
    }
    zf.loaded = true;
  }

  function describe(rule) {
    const what =
      rule.kind === "error"
        ? rule.error || `status ${rule.status}` + (rule.code != null ? `/${rule.code}` : "")
        : rule.kind === "sequence"
          ? `sequence of ${rule.steps.length} step(s)` + (rule.then ? ", then " + JSON.stringify(rule.then) : "")
          : rule.kind + (rule.latency_ms != null ? ` ${rule.latency_ms} ms` : "");
    const where = rule.event || rule.operation || "every request";
    const left = rule.remaining == null ? "" : `, ${rule.remaining} left`;
    return `${rule.id}: ${what} on ${where} (applied ${rule.applied}${left})`;
  }

  async function refresh() {
    const data = await control("GET", "/faults");
    const list = $("zfault-list");
    list.replaceChildren();
    for (const rule of data.rules) {
      const li = document.createElement("li");
      li.id = "zfault-" + rule.id;
      const text = document.createElement("span");
      text.textContent = describe(rule);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.id = "zfault-remove-" + rule.id;
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove fault " + rule.id);
      remove.addEventListener("click", () => removeRule(rule.id));
      li.append(text, " ", remove);
      list.append(li);
    }
    $("zfault-empty").hidden = data.rules.length > 0;
  }

  async function removeRule(id) {
    try {
      await control("DELETE", "/faults/" + encodeURIComponent(id));
      say(`fault ${id} removed`);
      await refresh();
    } catch (err) {
      say("remove fault: " + err.message, "error");
    }
  }

  async function addRule(ev) {
    ev.preventDefault();
    try {
      if (!zf.loaded) await loadChoices();
      const rule = { kind: "error", error: $("zfault-error").value };
      const op = $("zfault-operation").value;
      if (op) rule.operation = op;
      const times = $("zfault-times").value.trim();
      if (times) rule.count = Number(times);
      const made = await control("POST", "/faults", rule);
      say(`fault ${made.id} added: ${made.error}`);
      await refresh();
    } catch (err) {
      say("add fault: " + err.message, "error");
    }
  }

  async function start() {
    $("zfault-form").addEventListener("submit", addRule);
    $("zfault-refresh").addEventListener("click", () => refresh().catch(() => {}));
    try {
      await loadChoices();
      await refresh();
    } catch (err) {
      say("faults: " + err.message, "error");
    }
    setInterval(() => refresh().catch(() => {}), 3000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

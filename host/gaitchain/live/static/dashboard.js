// gaitchain live dashboard: embeds the Bokeh figures, then draws what feed-worker.js received
// over the WebSocket. It asks the worker for the merged frames every DRAW_INTERVAL_MS (after the
// previous batch is drawn), so a slow page draws less often and never builds a backlog.
"use strict";
const payload = JSON.parse(document.getElementById("gc-payload").textContent);
const ROLLOVER = 720;      // samples per trace kept by each figure (6 s at 120 Hz)
const MAX_STRIDE_ROWS = 25;
const MAX_LATENCIES = 20000;
const DRAW_INTERVAL_MS = 66;  // the page draws at about 15 Hz; the worker receives at once
const stats = { frames: 0, draws: 0, decimations: 0, points: 0, strideRows: 0, latencies: [], shownLatencies: [], applyMs: [], transitMs: [],
                ready: false, errors: [] };
window.gcStats = stats;
const sources = {};
let strideColumns = null;
let recording = false;

function keep(list, values) {
  // bounded measurement lists: the newest MAX_LATENCIES values
  for (const v of values) list.push(v);
  if (list.length > MAX_LATENCIES) list.splice(0, list.length - MAX_LATENCIES);
}

function source(name) {
  if (!(name in sources)) {
    sources[name] = null;
    for (const doc of Bokeh.documents) {
      const model = doc.get_model_by_name("src:" + name);
      if (model) { sources[name] = model; break; }
    }
  }
  return sources[name];
}

function fmt(v, digits) {
  return v === null || v === undefined ? "–" : (typeof v === "number" ? v.toFixed(digits) : String(v));
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function list(items) {
  const ul = document.createElement("ul");
  for (const item of items) ul.appendChild(el("li", item));
  return ul;
}

function applyTraces(traces, wallMinusHost) {
  const now = Date.now() / 1000;
  for (const [channel, [t, v]] of Object.entries(traces)) {
    const src = source(channel);
    if (!src || t.length === 0) continue;
    src.stream({ t: t, v: v }, ROLLOVER);
    stats.points += t.length;
    if (wallMinusHost !== null) keep(stats.shownLatencies, t.map((ts) => now - (ts + wallMinusHost)));
  }
}

function applyPods(pods) {
  document.getElementById("session").textContent =
    `session ${fmt(pods.session_s, 0)} s`;
  recording = pods.recording;
  const button = document.getElementById("record");
  button.textContent = recording ? "Stop recording" : "Start recording";
  button.classList.toggle("recording", recording);
  document.getElementById("record-state").textContent =
    pods.record_error || (pods.journal ? (recording ? "recording to " : "last recording: ") + pods.journal : "");
  const body = document.querySelector("#pods tbody");
  body.replaceChildren();
  for (const p of pods.rows) {
    const tr = document.createElement("tr");
    cell(tr, p.pod);
    cell(tr, `${p.side === "center" ? "" : p.side + " "}${p.segment}`);
    cell(tr, p.connected ? "up" : "down", p.connected ? "up" : "down");
    cell(tr, p.battery_pct === null ? "–" : p.battery_pct + " %");
    cell(tr, fmt(p.rate_hz, 2));
    cell(tr, p.gaps);
    cell(tr, `${p.resend_requests} / ${p.recovered_batches}`);
    cell(tr, p.lost_samples);
    cell(tr, fmt(p.drift_ppm, 1));
    cell(tr, fmt(p.clock_uncertainty_us, 0));
    cell(tr, p.calibration);
    cell(tr, p.alignment);
    body.appendChild(tr);
  }
}

function applyStrides(rows) {
  if (rows.length === 0) return;
  const table = document.getElementById("strides");
  if (strideColumns === null) {
    strideColumns = Object.keys(rows[0]).filter((k) => k !== "side" && k !== "index" && k !== "t_s");
    const head = table.querySelector("thead tr");
    for (const name of ["side", "#", "end (s)", ...strideColumns]) {
      const th = document.createElement("th");
      th.textContent = name;
      head.appendChild(th);
    }
  }
  const body = table.querySelector("tbody");
  for (const r of rows) {
    const tr = document.createElement("tr");
    tr.className = "stride-" + r.side;
    cell(tr, r.side);
    cell(tr, r.index);
    cell(tr, fmt(r.t_s, 1));
    for (const c of strideColumns) cell(tr, fmt(r[c], 2));
    body.insertBefore(tr, body.firstChild);
    stats.strideRows += 1;
  }
  while (body.children.length > MAX_STRIDE_ROWS) body.removeChild(body.lastChild);
}

function applySummary(summary) {
  document.getElementById("stride-count").textContent = `(${summary.strides} so far)`;
  const body = document.querySelector("#asymmetry tbody");
  body.replaceChildren();
  // times and lengths: symmetry index in %; angles and shares: left minus right in their unit
  for (const [name, a] of Object.entries(summary.asymmetry)) {
    const tr = document.createElement("tr");
    cell(tr, name);
    cell(tr, fmt(summary.left[name], 2));
    cell(tr, fmt(summary.right[name], 2));
    const value = a.value === null ? "–" : (a.value > 0 ? "+" : "") + a.value.toFixed(1);
    cell(tr, `${a.kind === "SI" ? "SI" : "L−R"} ${value} ${a.unit}`.trim(), "asym-" + a.kind);
    body.appendChild(tr);
  }
  for (const [name, [t, v]] of Object.entries(summary.fatigue)) {
    const src = source(name);
    if (src) src.data = { t: t, v: v };
  }
  const panel = document.getElementById("verdict");
  const verdict = summary.verdict;
  panel.replaceChildren();
  if (!verdict.available) {
    panel.className = "na";
    panel.textContent = "Chain-driver " + verdict.message + ".";
  } else if (verdict.verdict === null) {
    panel.className = "na";
    panel.textContent = verdict.error || verdict.message || "No verdict yet.";
  } else {
    panel.className = "";
    const v = verdict.verdict;
    const name = v.label ? `${v.label} (${v.driver})` : v.driver;
    panel.append(el("div", `${v.side ? v.side + " " : ""}${name}, probability ${fmt(v.confidence, 2)}`,
                    "verdict-driver"));
    if (v.downstream) panel.append(el("div", v.downstream, "verdict-downstream"));
    panel.append(list(v.evidence));
    if (verdict.error) panel.append(el("div", verdict.error, "na"));
  }
  panel.dataset.state = verdict.available ? (verdict.verdict ? "verdict" : "empty") : "unavailable";
}

let batteryState = "ready";

function applyBattery(b) {
  batteryState = b.state;
  const select = document.getElementById("battery-step");
  if (select.options.length !== b.steps.length) {
    select.replaceChildren();
    for (const s of b.steps) select.appendChild(new Option(s.title, String(s.index)));
  }
  b.steps.forEach((s, i) => {
    const mark = s.status === "valid" ? " ✓" : s.status === "invalid" ? " ✗" : "";
    select.options[i].textContent = s.title + mark;
  });
  if (document.activeElement !== select) select.value = String(b.selected);
  select.disabled = b.state !== "ready";
  const c = b.current;
  const text = document.getElementById("battery-instructions");
  text.replaceChildren();
  const lines = [["", c.instructions], ["pods: ", c.pods.join(", ")],
                 ["checked: ", c.validity], ["measures: ", c.measures], ["normal: ", c.normal]];
  for (const [label, value] of lines) text.appendChild(el("div", label + value, label ? "small" : ""));
  document.getElementById("battery-start").disabled = b.state !== "ready";
  document.getElementById("battery-stop").disabled = b.state !== "running";
  let state = b.state === "running" ? `running ${fmt(c.elapsed_s, 0)} s` : b.state;
  if (b.message) state += ` (${b.message})`;
  document.getElementById("battery-state").textContent = state;
  const readout = document.getElementById("battery-readout");
  readout.textContent = b.state === "running"
    ? `${c.readout.label}: ${fmt(c.readout.value, 1)} ${c.readout.unit}` : "";
  const result = document.getElementById("battery-result");
  result.replaceChildren();
  result.className = c.result === null ? "" : (c.result.valid ? "valid" : "invalid");
  result.dataset.state = c.result === null ? "none" : (c.result.valid ? "valid" : "invalid");
  if (c.result !== null) {
    const items = Object.entries(c.result.values).map(([k, v]) => `${k} = ${fmt(v, 1)}`);
    result.append(el("div", c.result.valid ? "valid:" : "not valid, redo:"),
                  list(items.concat(c.result.problems)), el("div", `normal: ${c.normal}`));
    if (c.result.valid && b.saved_to) result.append(el("div", `saved to ${b.saved_to}`, "small"));
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const worker = new Worker("/static/feed-worker.js");
  let asked = 0;
  const pull = () => { asked = performance.now(); worker.postMessage({ pull: true }); };
  worker.onmessage = (event) => {
    const batch = event.data;
    if (batch.closed) {
      document.getElementById("session").textContent = "disconnected; retrying…";
      return;
    }
    const began = performance.now();
    try {
      applyTraces(batch.traces, batch.wall_minus_host_s);
      if (batch.snapshots.pods) applyPods(batch.snapshots.pods);
      applyStrides(batch.strides);
      if (batch.snapshots.summary) applySummary(batch.snapshots.summary);
      if (batch.snapshots.battery) applyBattery(batch.snapshots.battery);
    } catch (error) {
      stats.errors.push(String(error));
    }
    stats.frames += batch.frames;
    stats.draws += 1;
    stats.decimations += batch.decimations;
    keep(stats.latencies, batch.latencies);
    keep(stats.applyMs, [performance.now() - began]);
    if (batch.sent_wall_s !== null) keep(stats.transitMs, [1000 * (batch.received_wall_s - batch.sent_wall_s)]);
    setTimeout(pull, Math.max(0, DRAW_INTERVAL_MS - (performance.now() - asked)));
  };
  worker.postMessage({ connect: `${scheme}://${location.host}/ws${location.search}` });
  document.getElementById("record").onclick = () => worker.postMessage({ record: !recording });
  const battery = (message) => worker.postMessage({ battery: message });
  document.getElementById("battery-step").onchange = (event) =>
    battery({ action: "select", index: Number(event.target.value) });
  document.getElementById("battery-start").onclick = () => battery({ action: "start" });
  document.getElementById("battery-stop").onclick = () => battery({ action: "stop" });
  pull();
}

(async () => {
  for (const [div, item] of Object.entries(payload.items)) await Bokeh.embed.embed_item(item, div);
  stats.ready = true;
  connect();
})();

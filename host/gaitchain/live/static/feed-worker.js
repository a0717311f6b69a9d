// Receives the dashboard's WebSocket frames off the page's main thread, so drawing never delays
// receiving. It notes when each trace sample arrived, acknowledges every frame at once (the
// server sends at most two unacknowledged frames) and merges frames until the page asks for
// them (the page draws at its own pace, DRAW_INTERVAL_MS). What waits here is bounded: a trace
// holding more than MAX_POINTS samples drops every other one, strides keep the newest MAX_STRIDES.
"use strict";
const MAX_POINTS = 720;
const MAX_STRIDES = 100;
let ws = null;
let pending = null;

function empty() {
  return { traces: {}, strides: [], snapshots: {}, latencies: [], frames: 0, decimations: 0,
           wall_minus_host_s: null, sent_wall_s: null, received_wall_s: null };
}
pending = empty();

function merge(frame, received) {
  for (const [channel, [t, v]] of Object.entries(frame.traces || {})) {
    let [ot, ov] = pending.traces[channel] || [[], []];
    ot = ot.concat(t);
    ov = ov.concat(v);
    while (ot.length > MAX_POINTS) {
      ot = ot.filter((_, i) => i % 2 === 0);
      ov = ov.filter((_, i) => i % 2 === 0);
      pending.decimations += 1;
    }
    pending.traces[channel] = [ot, ov];
    if (frame.wall_minus_host_s !== null) {
      for (const ts of t) pending.latencies.push(received - (ts + frame.wall_minus_host_s));
    }
  }
  if (pending.latencies.length > 4 * MAX_POINTS) pending.latencies.splice(0, pending.latencies.length - 4 * MAX_POINTS);
  pending.strides = pending.strides.concat(frame.strides || []).slice(-MAX_STRIDES);
  for (const name of ["pods", "summary", "battery"]) if (frame[name]) pending.snapshots[name] = frame[name];
  pending.frames += 1;
  pending.wall_minus_host_s = frame.wall_minus_host_s;
  pending.sent_wall_s = frame.sent_wall_s;
  pending.received_wall_s = received;
}

function connect(url) {
  ws = new WebSocket(url);
  ws.onmessage = (event) => {
    const received = Date.now() / 1000;
    const frame = JSON.parse(event.data);
    merge(frame, received);
    ws.send(JSON.stringify({ ack: frame.frame }));
  };
  ws.onclose = () => {
    postMessage({ closed: true });
    setTimeout(() => connect(url), 1000);
  };
}

onmessage = (event) => {
  const message = event.data;
  if (message.connect) connect(message.connect);
  else if (message.pull) {
    postMessage(pending);
    pending = empty();
  } else if (ws !== null && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
};

// hubbridge web page: talks to the bridge's local API with the token kept in sessionStorage.
// Plain JS, no framework, no build step. Every API call sends `Authorization: Bearer <token>`; the
// event stream is read with fetch() because EventSource cannot send that header.
"use strict";

const KEY = "hubbridge-token";
const KINDS = ["on_off_light", "dimmable_light", "color_temperature_light", "extended_color_light",
  "on_off_plug_in_unit", "dimmable_plug_in_unit", "contact_sensor", "occupancy_sensor", "temperature_sensor",
  "humidity_sensor", "light_sensor", "pressure_sensor", "flow_sensor", "water_leak_detector", "thermostat",
  "door_lock", "window_covering", "fan", "generic_switch", "smoke_co_alarm", "air_quality_sensor"];

const $ = (id) => document.getElementById(id);
const devices = new Map();
let stream = null;
let windowTimer = null;
let pollTimer = null;
// The Matter node the pairing panel shows ("main" is [bridge]); every pairing call goes to its routes.
let currentNode = "main";
let nodeList = [];
const nodePath = (rest) => `/api/nodes/${encodeURIComponent(currentNode)}${rest}`;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY) };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401) { logout("The token was not accepted. Log in again."); throw new ApiError(401, "not logged in"); }
  const type = r.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await r.json() : await r.blob();
  if (!r.ok) throw new ApiError(r.status, (data && data.error) || r.statusText);
  return data;
}

function showError(id, e) { $(id).textContent = e ? String(e.message || e) : ""; }

// ------------------------------------------------------------------ login

async function login(token) {
  sessionStorage.setItem(KEY, token);
  try {
    await api("GET", "/api/health");
  } catch (e) {
    if (e.status !== 401) logout(e.message);
    return;
  }
  $("login-view").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  $("conn").textContent = "connected";
  await Promise.allSettled([refreshPairing(), refreshDevices(), refreshHealth()]);
  startStream();
  pollTimer = setInterval(() => { refreshHealth(); refreshPairing(); }, 5000);
}

function logout(message) {
  sessionStorage.removeItem(KEY);
  if (stream) stream.abort();
  stream = null;
  clearInterval(pollTimer);
  clearInterval(windowTimer);
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login-view").hidden = false;
  $("conn").textContent = "not logged in";
  $("login-error").textContent = message || "";
}

// ------------------------------------------------------------------ pairing

async function qrInto(img) {
  const blob = await api("GET", nodePath("/pairing/qr.svg"));
  const old = img.src;
  img.src = URL.createObjectURL(blob);
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

function nodeState(n) {
  if (n.commissioned) return `Paired with ${n.fabrics} controller${n.fabrics === 1 ? "" : "s"}` +
    (n.commissioning_window_open ? "; open for pairing" : "");
  return n.commissioning_window_open ? "Not paired; open for pairing" : "Not paired";
}

async function refreshNodes() {
  const { nodes } = await api("GET", "/api/nodes");
  nodeList = nodes;
  $("nodes-view").hidden = nodes.length < 2;
  if (!nodes.some((n) => n.id === currentNode)) currentNode = "main";
  $("nodes").replaceChildren(...nodes.map((n) => el("tr", { "data-node": n.id },
    el("th", { scope: "row", text: (n.name && n.name !== n.id ? `${n.name} (${n.id})` : n.id) +
      (n.bridged === false ? " — one device, not a bridge" : "") }),
    el("td", { text: n.port }),
    el("td", { text: n.devices }),
    el("td", { class: "node-state", text: nodeState(n) }))));
  const sel = $("node");
  const want = nodes.map((n) => n.id).join("\n");
  if ([...sel.options].map((o) => o.value).join("\n") !== want) {
    sel.replaceChildren(...nodes.map((n) => el("option", { value: n.id, text: n.name || n.id })));
  }
  sel.value = currentNode;
}

async function selectNode(id) {
  currentNode = id;
  // Another node: another QR code, other controllers, another window.
  $("qr").removeAttribute("src");
  $("window").hidden = true;
  clearInterval(windowTimer);
  $("fabrics").replaceChildren();
  await refreshPairing();
}

async function refreshPairing() {
  try {
    await refreshNodes();
    const p = await api("GET", nodePath("/pairing"));
    const name = nodeList.length > 1 ? `Node ${currentNode}: ` : "";
    $("pairing-state").textContent = name + (p.commissioned
      ? `Paired with ${p.fabrics} controller${p.fabrics === 1 ? "" : "s"}.` : "Not paired yet.");
    $("unpaired").hidden = p.commissioned;
    $("paired").hidden = !p.commissioned;
    if (!p.commissioned) {
      $("manual-code").textContent = p.manual_code;
      if (!$("qr").src) await qrInto($("qr"));
    } else {
      await refreshFabrics();
      await refreshWindow();
    }
    showError("pairing-error");
  } catch (e) { showError("pairing-error", e); }
}

async function refreshFabrics() {
  const { fabrics } = await api("GET", nodePath("/fabrics"));
  const rows = fabrics.map((f) => el("tr", { "data-fabric": f.fabric_index },
    el("td", { text: f.fabric_index }),
    el("td", { text: (f.vendor_name ? f.vendor_name + " " : "") + "0x" + f.vendor_id.toString(16).toUpperCase().padStart(4, "0") }),
    el("td", { text: f.label || "—" }),
    el("td", { text: "0x" + BigInt(f.node_id).toString(16).toUpperCase() }),
    el("td", {}, el("button", { type: "button", class: "danger", "aria-label": `Remove controller ${f.fabric_index}`,
      text: "Remove", onclick: () => removeFabric(f) }))));
  $("fabrics").replaceChildren(...rows);
}

async function removeFabric(f) {
  const who = f.label ? `"${f.label}"` : `number ${f.fabric_index}`;
  if (!confirm(`Remove controller ${who}? It loses access to every device of ${nodeList.length > 1 ? `node ${currentNode}` : "this bridge"}.`)) return;
  try {
    await api("DELETE", nodePath(`/fabrics/${f.fabric_index}`));
    await refreshPairing();
  } catch (e) { showError("pairing-error", e); }
}

function showWindow(w) {
  clearInterval(windowTimer);
  $("window").hidden = !w.open;
  if (!w.open) return;
  $("window-code").textContent = w.manual_code;
  let left = w.seconds_left;
  const tick = () => {
    $("window-left").textContent = left > 0 ? `${Math.floor(left / 60)} min ${left % 60} s` : "closing";
    left -= 1;
  };
  tick();
  windowTimer = setInterval(tick, 1000);
}

async function refreshWindow() {
  const w = await api("GET", nodePath("/pairing/window"));
  const wasOpen = !$("window").hidden;
  showWindow(w);
  if (w.open && !wasOpen) await qrInto($("window-qr"));
}

async function pairAnother() {
  try {
    const w = await api("POST", nodePath("/pairing/window"), {});
    showWindow(w);
    await qrInto($("window-qr"));
    showError("pairing-error");
  } catch (e) { showError("pairing-error", e); }
}

// ------------------------------------------------------------------ devices

async function refreshDevices() {
  try {
    const list = await api("GET", "/api/devices");
    devices.clear();
    for (const d of list) devices.set(d.id, d);
    renderDevices();
    showError("devices-error");
  } catch (e) { showError("devices-error", e); }
}

function renderDevices() {
  const sorted = [...devices.values()].sort((a, b) => a.endpoint - b.endpoint);
  $("device-list").replaceChildren(...sorted.map(card));
  renderSources();
}

function sourceName(s) { return typeof s === "string" ? s : JSON.stringify(s); }

async function command(d, patch) {
  try {
    await api("PATCH", `/api/devices/${encodeURIComponent(d.id)}/state`, patch);
    showError("devices-error");
  } catch (e) { showError("devices-error", e); refreshDevices(); }
}

// Matter levels run 1..=254; people think in percent, so the page shows both.
const levelText = (v) => `${v} (${Math.round((v * 100) / 254)} %)`;

function slider(d, field, label, min, max, show) {
  const id = `${d.id}-${field}`;
  const value = d.state[field];
  return el("div", {},
    el("label", { for: id, text: `${label}: ` }, el("output", { for: id, id: id + "-out", text: show(value) })),
    el("input", { id, type: "range", min, max, value, "data-field": field,
      oninput: (ev) => { $(id + "-out").textContent = show(Number(ev.target.value)); },
      onchange: (ev) => command(d, { [field]: Number(ev.target.value) }) }));
}

function setpoint(d, field, label) {
  const id = `${d.id}-${field}`;
  return el("form", { class: "setpoint", onsubmit: (ev) => { ev.preventDefault(); command(d, { [field]: Number($(id).value) }); } },
    el("label", { for: id, text: `${label} (°C)` }),
    el("input", { id, type: "number", step: "0.5", min: "5", max: "35", value: d.state[field], "data-field": field }),
    el("button", { type: "submit", text: `Set ${label.toLowerCase()}` }));
}

function controls(d) {
  const s = d.state || {};
  const out = [];
  if (s.on !== undefined) {
    out.push(el("button", { type: "button", class: "toggle", "data-field": "on", "aria-pressed": String(!!s.on),
      "aria-label": `${d.name}: ${s.on ? "on" : "off"}, press to turn ${s.on ? "off" : "on"}`,
      text: s.on ? "On" : "Off", onclick: () => command(d, { on: !s.on }) }));
  }
  if (s.brightness !== undefined) out.push(slider(d, "brightness", "Level", 1, 254, levelText));
  if (s.color_temp_mireds !== undefined) out.push(slider(d, "color_temp_mireds", "Colour temperature", 153, 500, (v) => `${v} mired`));
  if (s.position !== undefined) out.push(slider(d, "position", "Position", 0, 100, (v) => `${v} %`));
  if (s.fan_percent !== undefined) out.push(slider(d, "fan_percent", "Fan speed", 0, 100, (v) => `${v} %`));
  if (s.heating_setpoint !== undefined) out.push(setpoint(d, "heating_setpoint", "Heating setpoint"));
  if (s.cooling_setpoint !== undefined) out.push(setpoint(d, "cooling_setpoint", "Cooling setpoint"));
  if (s.lock_state !== undefined) {
    const locked = s.lock_state === "locked";
    out.push(el("button", { type: "button", "data-field": "lock_state", text: locked ? "Unlock" : "Lock",
      onclick: () => {
        if (confirm(`${locked ? "Unlock" : "Lock"} ${d.name}?`)) command(d, { lock_state: locked ? "unlocked" : "locked" });
      } }));
  }
  return out;
}

const SHOWN = ["on", "brightness", "color_temp_mireds", "position", "fan_percent", "heating_setpoint", "cooling_setpoint", "lock_state"];

function card(d) {
  const s = d.state || {};
  const readings = Object.entries(s).filter(([k]) => !SHOWN.includes(k)).map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`);
  const h = `dev-${d.id}`;
  return el("article", { class: "device", "data-id": d.id, "aria-labelledby": h },
    el("h3", { id: h, text: d.label || d.name }),
    el("dl", {},
      el("dt", { text: "State" }), el("dd", { "data-role": "state", text: stateText(s) }),
      readings.length ? el("dt", { text: "Readings" }) : null, readings.length ? el("dd", { text: readings.join(", ") }) : null,
      el("dt", { text: "Reachable" }), el("dd", {}, el("span", { class: "badge " + (d.reachable ? "ok" : "bad"), "data-role": "reachable", text: d.reachable ? "reachable" : "unreachable" })),
      el("dt", { text: "Endpoint" }), el("dd", { text: d.endpoint }),
      el("dt", { text: "Kind" }), el("dd", { text: d.kind.replace(/_/g, " ") }),
      el("dt", { text: "Source" }), el("dd", { text: sourceName(d.source) }),
      el("dt", { text: "Room" }), el("dd", { text: d.room || "—" }),
      d.unmapped && d.unmapped.length ? el("dt", { text: "Not mapped to Matter" }) : null,
      d.unmapped && d.unmapped.length ? el("dd", { "data-role": "unmapped", text: d.unmapped.join(", ") }) : null),
    ...controls(d),
    d.source === "api" && !d.parent ? el("button", { type: "button", class: "danger", text: "Remove device",
      "aria-label": `Remove device ${d.name}`, onclick: () => removeDevice(d) }) : null);
}

function stateText(s) {
  const parts = [];
  if (s.on !== undefined) parts.push(s.on ? "on" : "off");
  if (s.brightness !== undefined) parts.push(`level ${levelText(s.brightness)}`);
  if (s.color_temp_mireds !== undefined) parts.push(`${s.color_temp_mireds} mired`);
  if (s.position !== undefined) parts.push(`position ${s.position} %`);
  if (s.lock_state !== undefined) parts.push(s.lock_state.replace(/_/g, " "));
  if (s.heating_setpoint !== undefined) parts.push(`heat to ${s.heating_setpoint} °C`);
  if (s.cooling_setpoint !== undefined) parts.push(`cool to ${s.cooling_setpoint} °C`);
  return parts.join(", ") || "—";
}

async function removeDevice(d) {
  if (!confirm(`Remove ${d.name}? Controllers lose this device.`)) return;
  try { await api("DELETE", `/api/devices/${encodeURIComponent(d.id)}`); showError("devices-error"); }
  catch (e) { showError("devices-error", e); }
}

async function addDevice(ev) {
  ev.preventDefault();
  const body = { id: $("add-id").value.trim(), name: $("add-name").value.trim(), kind: $("add-kind").value };
  const room = $("add-room").value.trim();
  if (room) body.room = room;
  try {
    await api("POST", "/api/devices", body);
    ev.target.reset();
    showError("devices-error");
  } catch (e) { showError("devices-error", e); }
}

function onChange(type, c) {
  const d = devices.get(c.device);
  if (type === "added") { devices.set(c.id, c); renderDevices(); return; }
  if (type === "resync") { refreshDevices(); return; }
  if (!d) return;
  if (type === "state") { d.state = Object.assign({}, d.state, c.new); d.version = c.version; }
  else if (type === "removed") devices.delete(c.device);
  else if (type === "reachable") d.reachable = c.reachable;
  else if (type === "renamed") d.name = c.name;
  else if (type === "label") d.label = c.label;
  else return;
  const focused = document.activeElement && document.activeElement.id;
  renderDevices();
  if (focused && $(focused)) $(focused).focus();
}

// Server-Sent Events over fetch (the stream needs the Authorization header).
async function startStream() {
  const ctl = new AbortController();
  stream = ctl;
  let backoff = 1000;
  while (stream === ctl) {
    try {
      const r = await fetch("/api/events", { headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) }, signal: ctl.signal });
      if (r.status === 401) { logout("The token was not accepted. Log in again."); return; }
      if (!r.ok) throw new Error("event stream: HTTP " + r.status);
      $("conn").textContent = "connected, live";
      backoff = 1000;
      await refreshDevices();
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (data.length) {
            try { onChange(type, JSON.parse(data.join("\n"))); } catch (e) { console.warn("bad event", e); }
          }
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
      console.warn(e);
    }
    if (stream !== ctl) return;
    $("conn").textContent = "connection lost, retrying";
    await new Promise((res) => setTimeout(res, backoff));
    backoff = Math.min(backoff * 2, 30000);
  }
}

// ------------------------------------------------------------------ sources and connectors

function ageText(ms) {
  if (ms === null || ms === undefined) return "—";
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

function renderSources() {
  const by = new Map();
  for (const d of devices.values()) {
    if (d.parent) continue;
    const name = sourceName(d.source);
    const e = by.get(name) || { total: 0, reachable: 0 };
    e.total += 1;
    if (d.reachable) e.reachable += 1;
    by.set(name, e);
  }
  const rows = [...by.entries()].map(([name, e]) => el("tr", { "data-source": name },
    el("td", { text: name }), el("td", { text: e.total }), el("td", { text: e.reachable })));
  $("sources").replaceChildren(el("table", {}, el("caption", { text: "Device sources" }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Source" }), el("th", { scope: "col", text: "Devices" }), el("th", { scope: "col", text: "Reachable" }))),
    el("tbody", {}, ...rows)));
}

// One entry of /api/health's `certificates` (bridge/src/certs.rs: CertStatus).
function certItem(c) {
  const who = `${c.subject || c.path} (${(c.used_by || []).join(", ")})`;
  const days = c.days_left;
  const plural = (n) => `${n} day${n === 1 ? "" : "s"}`;
  const text = c.status === "unreadable" ? `${who}: cannot read ${c.path}: ${c.error || "unknown error"}`
    : c.status === "expired" ? `${who}: EXPIRED ${days < 0 ? plural(-days) + " ago" : "today"} (${c.not_after})`
    : `${who}: expires in ${plural(days)} (${c.not_after})`;
  return el("li", { class: c.status === "valid" ? "" : "error", "data-cert": c.path, "data-status": c.status, text });
}

async function refreshHealth() {
  try {
    const h = await api("GET", "/api/health");
    const storage = h.storage && (h.storage.disk_full || h.storage.last_error)
      ? ` Storage problem: ${h.storage.last_error || "disk full"}.` : "";
    $("health-summary").textContent = `${h.devices} devices.${storage}`;
    // A paired controller known to handle fewer bridged devices than this bridge serves.
    $("controller-warnings").replaceChildren(...(h.warnings || []).map((w) => el("p", { class: "error", text: w.message })));
    const cards = (h.connectors || []).map((c) => el("div", { class: "card", "data-connector": c.name },
      el("h3", { text: `${c.name} (${c.type})` }),
      el("p", {}, el("span", { class: "badge " + (c.connected ? "ok" : "bad"), text: c.connected ? "connected" : "not connected" })),
      c.last_error ? el("p", { class: "error", text: "Last error: " + c.last_error }) : null,
      el("dl", {},
        el("dt", { text: "Waiting to send" }), el("dd", { text: c.outbox_depth }),
        el("dt", { text: "Oldest waiting" }), el("dd", { text: ageText(c.oldest_age_ms) }),
        el("dt", { text: "Events dropped" }), el("dd", { text: c.dropped_events }),
        c.dead_letters !== undefined ? el("dt", { text: "Refused by the cloud" }) : null,
        c.dead_letters !== undefined ? el("dd", { text: c.dead_letters }) : null,
        c.outbox_error ? el("dt", { text: "Outbox" }) : null,
        c.outbox_error ? el("dd", { class: "error", text: c.outbox_error }) : null)));
    $("connectors").replaceChildren(el("h3", { text: "Cloud connectors" }),
      cards.length ? el("div", {}, ...cards) : el("p", { class: "muted", text: "No cloud connector configured." }));
    const certs = h.certificates || [];
    $("certificates").replaceChildren(...(certs.length ? [el("h3", { text: "Certificates" }), el("ul", {}, ...certs.map(certItem))] : []));
  } catch (e) { $("health-summary").textContent = "Cannot read health: " + e.message; }
}

// ------------------------------------------------------------------ start

document.addEventListener("DOMContentLoaded", () => {
  $("add-kind").replaceChildren(...KINDS.map((k) => el("option", { value: k, text: k.replace(/_/g, " ") })));
  $("login").addEventListener("submit", (ev) => { ev.preventDefault(); login($("token").value.trim()); });
  $("logout").addEventListener("click", () => logout());
  $("pair-another").addEventListener("click", pairAnother);
  $("node").addEventListener("change", (ev) => selectNode(ev.target.value));
  $("add-device").addEventListener("submit", addDevice);
  const saved = sessionStorage.getItem(KEY);
  if (saved) login(saved);
});

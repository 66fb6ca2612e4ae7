// The session browser: reads and drives the session_control API of the
// collector that serves it. Every value from the API is put in the page as
// text (never parsed as HTML).
"use strict";

const view = document.getElementById("view");
const errorBox = document.getElementById("error");
const login = document.getElementById("login");
let poll = null;

// api calls the API with the token of this tab, if any; a 401 asks for it.
async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem("token");
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await resp.json().catch(() => ({}));
  if (resp.status === 401) {
    login.hidden = false;
    throw new Error("the API needs its token");
  }
  if (!resp.ok) throw new Error((data.error || resp.status) + ": " + (data.detail || resp.statusText));
  return data;
}

login.addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("token", document.getElementById("token").value.trim());
  login.hidden = true;
  route();
});

// el makes an element: el("td", {class: "num"}, "text", child, ...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function showError(err) {
  errorBox.textContent = err ? String(err.message || err) : "";
  errorBox.hidden = !err;
}

const fmtInt = (n) => (n || 0).toLocaleString("en");
function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (n = n || 0; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return (i ? n.toFixed(1) : n) + " " + units[i];
}
const fmtTime = (t) => (t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "");
function fmtDuration(ms) {
  if (!(ms >= 0)) return "";
  const s = Math.round(ms / 1000);
  return s < 120 ? s + " s" : s < 7200 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
}
const items = (m) => (m.capturedTraces || 0) + (m.capturedMetrics || 0) + (m.capturedLogs || 0);

function labels(m) {
  return el("td", { class: "labels" }, ...Object.entries(m.labels || {}).map(([k, v]) => el("span", {}, k + "=" + v)));
}

// sessionsView lists the sessions, filtered by type and status (the API's
// filters), labels k=v and a start time (here).
async function sessionsView(params) {
  const q = new URLSearchParams();
  for (const k of ["type", "status"]) if (params.get(k)) q.set(k, params.get(k));
  const list = await api("GET", "/v1/sessions" + (q.size ? "?" + q : ""));
  const want = (params.get("label") || "").split(",").map((s) => s.trim()).filter(Boolean);
  const since = params.get("since") ? Date.parse(params.get("since")) : NaN;
  const rows = list.filter((s) => {
    const m = s.metadata;
    if (!m) return want.length === 0 && isNaN(since);
    if (!isNaN(since) && Date.parse(m.startTime) < since) return false;
    return want.every((kv) => {
      const [k, v] = kv.split("=");
      return (m.labels || {})[k] === v;
    });
  });
  const select = (name, values) =>
    el("label", {}, name + " ", el("select", { name, onchange: filter },
      ...["", ...values].map((v) => {
        const o = el("option", { value: v }, v || "any");
        if (params.get(name) === v) o.selected = true;
        return o;
      })));
  const text = (name, placeholder) => el("label", {}, name + " ", el("input", { name, placeholder, value: params.get(name) || "", onchange: filter }));
  function filter() {
    const p = new URLSearchParams();
    for (const f of view.querySelectorAll(".filters [name]")) if (f.value) p.set(f.name, f.value);
    location.hash = "#/?" + p;
  }
  view.replaceChildren(
    el("h1", {}, "Sessions"),
    el("div", { class: "filters" },
      select("type", ["capture", "seed", "training"]),
      select("status", ["active", "completed", "failed"]),
      text("label", "team=checkout,env=prod"),
      text("since", "2026-12-07T09:00:00Z")),
    el("table", { id: "sessions" },
      el("thead", {}, el("tr", {}, ...["session", "type", "status", "start", "length", "spans", "data points", "log records", "stored", "labels"]
        .map((h, i) => el("th", i >= 5 && i <= 8 ? { class: "num" } : {}, h)))),
      el("tbody", {}, ...rows.map((s) => {
        const m = s.metadata;
        if (!m) return el("tr", {}, el("td", {}, s.id), el("td", { colspan: 9 }, s.error));
        const end = m.endTime ? Date.parse(m.endTime) : Date.parse(m.updatedTime);
        return el("tr", { "data-session": s.id },
          el("td", {}, el("a", { href: "#/session/" + encodeURIComponent(s.id) }, s.id)),
          el("td", {}, m.sessionType), el("td", { class: "status-" + m.status }, m.status),
          el("td", {}, fmtTime(m.startTime)), el("td", {}, fmtDuration(end - Date.parse(m.startTime))),
          el("td", { class: "num" }, fmtInt(m.capturedTraces)), el("td", { class: "num" }, fmtInt(m.capturedMetrics)),
          el("td", { class: "num" }, fmtInt(m.capturedLogs)), el("td", { class: "num" }, fmtBytes(m.totalSizeBytes)),
          labels(m));
      }))),
    el("p", { class: "hint" }, rows.length + " of " + list.length + " sessions"));
}

// phasePlot draws a seed's phases over its event time: a band per phase,
// as wide as the phase, as high as its items per second, the redder the
// larger its share of errors (of the items read, from the overview).
function phasePlot(phases, shares) {
  const W = 900, H = 160, top = 14, bottom = 30;
  const t0 = Date.parse(phases[0].start), t1 = Date.parse(phases[phases.length - 1].end);
  const rate = (p) => p.items / Math.max(1, (Date.parse(p.end) - Date.parse(p.start)) / 1000);
  const max = Math.max(...phases.map(rate), 1);
  const x = (t) => ((t - t0) / Math.max(1, t1 - t0)) * W;
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, id: "phase-plot", role: "img" });
  g.append(svg("text", { x: 2, y: 10 }, `${max.toFixed(0)} items/s`));
  phases.forEach((p) => {
    const h = Math.max(2, (rate(p) / max) * (H - top - bottom));
    const share = shares[p.name];
    const red = share === undefined ? 0 : share;
    const fill = `rgb(${Math.round(156 + 99 * red)}, ${Math.round(195 - 120 * red)}, ${Math.round(240 - 160 * red)})`;
    const label = share === undefined ? "" : ` · ${(100 * share).toFixed(1)} % errors`;
    g.append(svg("rect", { x: x(Date.parse(p.start)), y: H - bottom - h, width: Math.max(1, x(Date.parse(p.end)) - x(Date.parse(p.start))),
      height: h, fill, "data-phase": p.name, "data-error-share": share === undefined ? "" : share.toFixed(4), class: "phase-band" },
    svg("title", {}, `${p.name}: ${fmtInt(p.items)} items, ${rate(p).toFixed(0)}/s${label}`)));
    g.append(svg("text", { x: x(Date.parse(p.start)) + 4, y: H - bottom + 14 }, p.name + label));
  });
  return g;
}

// timelinePlot draws items per second per signal over the overview's
// clock; on event time, a seed's phases shade it, the redder the larger
// their share of errors.
function timelinePlot(o, phases, shares) {
  const W = 900, H = 180, left = 4, top = 16, bottom = 22;
  const colors = { traces: "#3b7ddd", metrics: "#2f9e44", logs: "#e8590c" };
  const perSec = (n) => n / (o.bucket_ms / 1000);
  const series = Object.entries(o.timeline || {});
  const max = Math.max(1, ...series.flatMap(([, b]) => b.map(perSec)));
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, id: "timeline", role: "img" });
  if (o.clock === "event_time") {
    const t0 = Date.parse(o.from), span = Math.max(1, Date.parse(o.to) - t0);
    const x = (t) => left + ((Date.parse(t) - t0) / span) * (W - left);
    for (const p of phases) {
      const share = shares[p.name] || 0;
      g.append(svg("rect", { x: x(p.start), y: top, width: Math.max(1, x(p.end) - x(p.start)), height: H - top - bottom,
        fill: `rgba(220, 60, 60, ${(0.05 + 0.6 * share).toFixed(3)})`, class: "phase-shade", "data-phase": p.name },
      svg("title", {}, `${p.name}: ${(100 * share).toFixed(1)} % errors`)));
    }
  }
  g.append(svg("text", { x: left, y: 11 }, `${max.toFixed(0)} items/s` + (o.sampled > 1 ? ` (one object in ${o.sampled} read)` : "")));
  g.append(svg("text", { x: left, y: H - 6 }, fmtTime(o.from)));
  g.append(svg("text", { x: W - 150, y: H - 6 }, fmtTime(o.to)));
  series.forEach(([signal, buckets], k) => {
    const step = (W - left) / Math.max(1, buckets.length);
    const pts = buckets.map((n, i) => `${(left + step * (i + 0.5)).toFixed(1)},${(H - bottom - (perSec(n) / max) * (H - top - bottom)).toFixed(1)}`);
    g.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: colors[signal] || "#555", "stroke-width": 2, "data-signal": signal, class: "series" }));
    g.append(svg("text", { x: W - 80, y: 11 + 12 * k, fill: colors[signal] || "#555" }, signal));
  });
  return g;
}

function table(id, head, rows) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", i ? { class: "num" } : {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", { "data-key": r[0] }, ...r.map((c, i) => el("td", i ? { class: "num" } : {}, c))))));
}

const pct = (part, whole) => (whole ? (100 * (part || 0) / whole).toFixed(1) + " %" : "");

async function sessionView(id) {
  const path = "/v1/sessions/" + encodeURIComponent(id);
  const [m, o] = await Promise.all([api("GET", path), api("GET", path + "/overview")]);
  const parts = [el("h1", {}, "Session " + m.sessionId),
    el("div", { class: "card" },
      el("div", {}, `${m.sessionType} · `, el("span", { class: "status-" + m.status, id: "session-status" }, m.status),
        ` · started ${fmtTime(m.startTime)}` + (m.endTime ? ` · ended ${fmtTime(m.endTime)}` : "")),
      m.description ? el("div", {}, m.description) : null,
      el("table", { id: "counts" }, el("tbody", {},
        el("tr", {}, el("th", {}, "spans"), el("td", { class: "num", "data-count": "traces" }, fmtInt(m.capturedTraces))),
        el("tr", {}, el("th", {}, "data points"), el("td", { class: "num", "data-count": "metrics" }, fmtInt(m.capturedMetrics))),
        el("tr", {}, el("th", {}, "log records"), el("td", { class: "num", "data-count": "logs" }, fmtInt(m.capturedLogs))),
        el("tr", {}, el("th", {}, "stored"), el("td", { class: "num" }, fmtBytes(m.totalSizeBytes))),
        m.lostItems ? el("tr", {}, el("th", {}, "lost"), el("td", { class: "num" }, JSON.stringify(m.lostItems))) : null,
        m.droppedItems ? el("tr", {}, el("th", {}, "dropped"), el("td", { class: "num" }, JSON.stringify(m.droppedItems))) : null)),
      Object.keys(m.labels || {}).length ? el("p", {}, "labels ", labels(m)) : null)];
  // a seed's phase table, else the phases people annotated
  const annotated = (m.annotations && m.annotations.phases) || [];
  const phases = (m.seed && m.seed.phases && m.seed.phases.length) ? m.seed.phases
    : annotated.map((p) => ({ ...p, items: (o.phases.find((q) => q.name === p.name) || {}).items || 0 }));
  const shares = Object.fromEntries((o.phases || []).map((p) => [p.name, p.items ? p.errors / p.items : 0]));
  parts.push(el("h2", {}, "Items per second over " + (o.clock === "event_time" ? "event time" : "capture time")), timelinePlot(o, phases, shares));
  if (phases.length) {
    parts.push(el("h2", {}, "Phases"), phasePlot(phases, shares),
      el("table", { id: "phases" },
        el("thead", {}, el("tr", {}, ...["phase", "start", "end", "items", "flags"].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...phases.map((p) => el("tr", { "data-phase": p.name },
          el("td", {}, p.name), el("td", {}, fmtTime(p.start)), el("td", {}, fmtTime(p.end)),
          el("td", { class: "num" }, fmtInt(p.items)),
          el("td", {}, Object.entries(p.flags || {}).map(([k, v]) => `${k} ${v}`).join(", ")))))));
  }
  parts.push(el("h2", {}, "Services"), table("services", ["service", "spans", "error spans", "errors", "data points", "log records", "error logs"],
    o.services.map((s) => [s.name, fmtInt(s.spans), fmtInt(s.error_spans), pct(s.error_spans, s.spans), fmtInt(s.data_points), fmtInt(s.log_records), fmtInt(s.error_logs)])));
  parts.push(el("h2", {}, "Objects"), table("objects", ["signal", "objects"],
    Object.entries(o.objects).map(([sig, n]) => [sig, fmtInt(n)])),
  el("p", { id: "bad-objects" }, `${fmtInt(o.bad_objects)} bad objects` + (o.bad_keys ? ": " + o.bad_keys.join(", ") : "")));
  parts.push(el("h2", {}, "Writers"), table("writers", ["writer", "status", "updated", "items"],
    o.writers.map((w) => [w.id, w.status, fmtTime(w.updated), fmtInt(w.items)])));
  const notes = (m.annotations && m.annotations.notes) || [];
  if (notes.length) parts.push(el("h2", {}, "Notes"), el("ul", { id: "notes" }, ...notes.map((n) => el("li", {}, n))));
  parts.push(el("h2", {}, "Annotate"), annotateForm(id));
  parts.push(el("p", {}, el("a", { href: "#/live?session=" + encodeURIComponent(id) }, "Replay this session…")));
  view.replaceChildren(...parts);
}

// annotateForm adds a phase (a name and an event-time range: RFC 3339
// times or durations from the session's first event), a label, a flag or
// a note to the session (POST /v1/sessions/{id}/annotations).
function annotateForm(id) {
  const input = (name, placeholder, size) => el("input", { name, placeholder, size: size || 14 });
  return el("form", { id: "annotate", onsubmit: (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries([...ev.target.querySelectorAll("input")].map((i) => [i.name, i.value.trim()]));
    const body = {};
    if (f.phase) body.phases = [{ name: f.phase, from: f.from, to: f.to }];
    if (f.label) {
      const [k, ...v] = f.label.split("=");
      body.labels = { [k]: v.join("=") };
    }
    if (f.flag) body.flags = [f.flag];
    if (f.note) body.notes = [f.note];
    post("/v1/sessions/" + encodeURIComponent(id) + "/annotations", body);
  } },
  el("label", {}, "phase ", input("phase", "incident")), " ", el("label", {}, "from ", input("from", "5m or 2026-12-07T10:00:00Z", 22)),
  " ", el("label", {}, "to ", input("to", "20m", 22)), el("br", {}),
  el("label", {}, "label ", input("label", "ticket=INC-1")), " ", el("label", {}, "flag ", input("flag", "paymentFailure")),
  " ", el("label", {}, "note ", input("note", "what happened", 30)), " ", el("button", { type: "submit" }, "Annotate"));
}

// post sends an action and redraws the view; a refused action's error
// stays on show (the redraw clears only the errors of reading).
async function post(path, body) {
  let failure = null;
  try {
    await api("POST", path, body);
  } catch (err) {
    failure = err;
  }
  await route();
  if (failure) showError(failure);
}

function replayCard(r, params) {
  const running = r.state === "running" || r.state === "waiting";
  const pct = Math.min(100, r.percent || 0);
  const path = "/v1/replays/" + encodeURIComponent(r.component);
  const field = (name, value) => el("label", {}, name + " ", el("input", { name, value: value || "", size: 12 }));
  const form = el("form", { class: "replay-start", onsubmit: (ev) => {
    ev.preventDefault();
    const body = {};
    for (const f of ev.target.querySelectorAll("input")) {
      if (!f.value) continue;
      body[f.name] = ["speed", "loops", "copies"].includes(f.name) ? Number(f.value)
        : f.name === "phases" ? f.value.split(",").map((p) => p.trim()).filter(Boolean) : f.value;
    }
    post(path + "/start", body);
  } }, field("session", params.get("session")), field("speed"), field("loops"), field("timestamps"), field("phases"),
  el("button", { type: "submit", disabled: running ? "" : null }, "Start"));
  if (!running) form.querySelector("button").removeAttribute("disabled");
  return el("div", { class: "card replay", "data-component": r.component },
    el("div", {}, el("strong", {}, r.component), " · ", el("span", { class: "state" }, r.state), r.session ? " · " + r.session : ""),
    el("div", { class: "bar" }, (() => { const d = el("div", {}); d.style.width = pct + "%"; return d; })(),
      el("span", { class: "percent" }, pct.toFixed(1) + " %")),
    el("div", { class: "hint" }, `pass ${r.pass} · objects ${fmtInt(r.objects_done)}/${fmtInt(r.objects_total)} · items ${fmtInt(r.items_done)}/${fmtInt(r.items_total)} · ETA ${r.eta} · lateness p50 ${r.lateness_p50} p99 ${r.lateness_p99}`),
    running ? el("button", { onclick: () => post(path + "/stop") }, "Stop") : form);
}

// seen remembers each capture's items at the last poll, for its rate.
const seen = {};

function captureCard(c) {
  const path = "/v1/captures/" + encodeURIComponent(c.component);
  const paused = c.state === "paused";
  const now = Date.now();
  const total = c.session ? items(c.session) : 0;
  const last = seen[c.component];
  const rate = last && now > last.t && total >= last.items ? ((total - last.items) * 1000) / (now - last.t) : null;
  seen[c.component] = { t: now, items: total };
  const sum = (m) => Object.values(m || {}).reduce((a, b) => a + b, 0);
  return el("div", { class: "card capture", "data-component": c.component },
    el("div", {}, el("strong", {}, c.component), " · ", el("span", { class: "state" }, c.state), " · store " + c.store),
    el("div", {}, c.session ? el("a", { href: "#/session/" + encodeURIComponent(c.session.sessionId) }, c.session.sessionId) : "no session yet",
      c.session ? ` · ${fmtInt(c.session.capturedTraces)} spans, ${fmtInt(c.session.capturedMetrics)} data points, ${fmtInt(c.session.capturedLogs)} log records` : ""),
    el("div", { class: "hint" }, el("span", { class: "rate" }, rate === null ? "measuring…" : `${rate.toFixed(0)} items/s`),
      ` · dropped when the queue was full ${fmtInt(sum(c.dropped_on_overflow))} · dropped while paused ${fmtInt(sum(c.dropped_while_paused))}`),
    el("button", { onclick: () => post(path + (paused ? "/resume" : "/pause")) }, paused ? "Resume" : "Pause"),
    el("button", { onclick: () => post(path + "/sessions", {}) }, "New session"),
    c.recorder_window ? el("button", { onclick: () => post(path + "/snapshot", { before: c.recorder_window }) }, "Snapshot") : null);
}

async function liveView(params, redraw) {
  const [captures, replays] = await Promise.all([api("GET", "/v1/captures"), api("GET", "/v1/replays")]);
  // the view redraws itself while it is open: what the user typed stays
  const typed = {};
  if (redraw) for (const f of view.querySelectorAll(".replay input")) typed[f.closest(".replay").dataset.component + "/" + f.name] = f.value;
  const focused = document.activeElement && document.activeElement.name;
  view.replaceChildren(el("h1", {}, "Captures and replays"),
    el("h2", {}, "Captures"), ...(captures.length ? captures.map(captureCard) : [el("p", { class: "hint" }, "no capture uses this control API")]),
    el("h2", {}, "Replays"), ...(replays.length ? replays.map((r) => replayCard(r, params)) : [el("p", { class: "hint" }, "no replay uses this control API")]));
  for (const f of view.querySelectorAll(".replay input")) {
    const key = f.closest(".replay").dataset.component + "/" + f.name;
    if (key in typed) f.value = typed[key];
    if (f.name === focused) f.focus();
  }
  const busy = replays.some((r) => r.state === "running" || r.state === "waiting");
  poll = setTimeout(route, busy ? 500 : 2000);
}

let shown = null; // the hash on view, to tell a redraw from a navigation

async function route() {
  clearTimeout(poll);
  const redraw = shown === location.hash;
  shown = location.hash;
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("header a")) a.classList.toggle("active", a.getAttribute("href") === "#" + (path.startsWith("/live") ? "/live" : "/"));
  try {
    if (path.startsWith("/session/")) await sessionView(decodeURIComponent(path.slice("/session/".length)));
    else if (path.startsWith("/live")) await liveView(params, redraw);
    else await sessionsView(params);
    if (!errorBox.dataset.sticky) showError(null);
  } catch (err) {
    showError(err);
  }
}

window.addEventListener("hashchange", route);
route();

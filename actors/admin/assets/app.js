"use strict";
// The live actors page: polls /api/state every second and renders it; shows
// the causal chain of a correlation id from /api/chain; lists the
// projections from /api/projections (when the application has them), each
// with a button that POSTs an online rebuild.
const $ = (sel) => document.querySelector(sel);

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fill(tbody, rows, cols, empty) {
  tbody.replaceChildren();
  if (!rows || rows.length === 0) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell(empty);
    td.colSpan = cols;
    tr.append(td);
    tbody.append(tr);
    return;
  }
  for (const r of rows) tbody.append(r);
}

function row(...cells) {
  const tr = document.createElement("tr");
  tr.append(...cells);
  return tr;
}

const num = (n) => (n === undefined || n === null ? "" : Number(n).toLocaleString());

function render(state) {
  fill($("#actors tbody"), (state.actors || []).map((a) =>
    row(cell(a.kind), cell(a.name), cell(num(a.live), "n"), cell(num(a.mailbox), "n"),
        cell(num(a.passivations), "n"), cell(num(a.restarts), "n"), cell(num(a.messages), "n"))),
    7, "no actors yet");
  fill($("#handlers tbody"), (state.handlers || []).map((h) =>
    row(cell(h.name), cell(h.kind), cell(num(h.position), "n"), cell(num(h.head), "n"),
        cell(num(h.lag_events), "n"), cell(h.lag_seconds.toFixed(3), "n"),
        cell(h.status, h.status === "running" ? "ok" : "bad"), cell(h.placement || ""))),
    8, "no handlers");
  fill($("#slowest tbody"), (state.slowest || []).map((c) => {
    const link = document.createElement("a");
    link.textContent = c.correlation_id.slice(0, 8) + "…";
    link.onclick = () => showChain(c.correlation_id);
    const td = document.createElement("td");
    td.append(link);
    return row(cell(c.command), cell(c.aggregate), cell(c.duration_ms.toFixed(2), "n"),
               cell(new Date(c.at).toLocaleTimeString()), cell(c.error || "ok", c.error ? "bad" : "ok"), td);
  }), 6, "no commands yet");
  $("#status").textContent = "updated " + new Date(state.time).toLocaleTimeString() +
    " · " + num(state.commands) + " commands";
}

function rebuildText(b) {
  switch (b.state) {
    case "building": {
      const eta = b.eta_seconds === undefined ? "?" : Math.round(b.eta_seconds) + " s";
      return "generation " + b.generation + ": " + num(b.position) + "/" + num(b.head) +
        " (" + (b.percent || 0).toFixed(1) + " %), ETA " + eta;
    }
    case "failed": return "last one failed: " + b.error;
    default: return b.state;
  }
}

async function rebuild(name, button) {
  button.disabled = true;
  try {
    const res = await fetch("api/projections/" + encodeURIComponent(name) + "/rebuild", { method: "POST" });
    if (!res.ok) throw new Error(await res.text());
  } catch (err) {
    $("#status").textContent = "rebuild " + name + ": " + err.message;
    button.disabled = false;
  }
}

function renderProjections(projections) {
  $("#projections-section").hidden = false;
  fill($("#projections tbody"), projections.map((p) => {
    const button = document.createElement("button");
    button.textContent = "rebuild";
    button.disabled = p.rebuild.state === "requested" || p.rebuild.state === "building";
    button.onclick = () => rebuild(p.name, button);
    const td = document.createElement("td");
    td.append(button);
    return row(cell(p.name), cell(num(p.generation), "n"), cell(num(p.version), "n"), cell(num(p.position), "n"),
               cell(num(p.lag_events), "n"), cell(rebuildText(p.rebuild), p.rebuild.state === "failed" ? "bad" : ""), td);
  }), 7, "no projections");
}

async function poll() {
  try {
    const res = await fetch("api/state", { cache: "no-store" });
    if (!res.ok) throw new Error(res.status + " " + res.statusText);
    render(await res.json());
    const pres = await fetch("api/projections", { cache: "no-store" });
    if (pres.ok) renderProjections(await pres.json());
    else if (pres.status !== 404) throw new Error("projections: " + pres.status + " " + pres.statusText);
  } catch (err) {
    $("#status").textContent = "error: " + err.message;
  }
  setTimeout(poll, 1000);
}

async function showChain(id) {
  $("#correlation").value = id;
  const box = $("#chain");
  box.textContent = "loading…";
  try {
    const res = await fetch("api/chain?correlation=" + encodeURIComponent(id), { cache: "no-store" });
    if (!res.ok) throw new Error(await res.text());
    const chain = await res.json();
    const items = chain.items || [];
    if (items.length === 0) { box.textContent = "nothing recorded for this correlation id"; return; }
    const t0 = Math.min(...items.map((i) => Date.parse(i.start)));
    const t1 = Math.max(...items.map((i) => Date.parse(i.start) + (i.duration_ms || 0)));
    const span = Math.max(t1 - t0, 1);
    box.replaceChildren();
    for (const it of items) {
      const step = document.createElement("div");
      step.className = "step k-" + it.kind;
      const kind = document.createElement("div");
      kind.className = "kind";
      kind.textContent = it.kind;
      const bar = document.createElement("div");
      bar.className = "bar";
      const b = document.createElement("span");
      b.style.left = ((Date.parse(it.start) - t0) / span * 100) + "%";
      b.style.width = ((it.duration_ms || 0) / span * 100) + "%";
      bar.append(b);
      const what = document.createElement("div");
      what.className = "what";
      what.textContent = it.name + (it.detail ? " · " + it.detail : "") +
        (it.duration_ms ? " · " + it.duration_ms.toFixed(2) + " ms" : "");
      what.title = what.textContent;
      step.append(kind, bar, what);
      box.append(step);
    }
  } catch (err) {
    box.textContent = "error: " + err.message;
  }
}

$("#chain-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = $("#correlation").value.trim();
  if (id) showChain(id);
});
poll();
// #correlation=ID opens that conversation's causal chain.
const linked = new URLSearchParams(location.hash.slice(1)).get("correlation");
if (linked) showChain(linked);

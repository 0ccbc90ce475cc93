// RunDetails front end: step table, progress bar, log tail, metrics with small SVG charts. No build, no network.
// DOM contract: root .amlpipe-run-details; each step row <tr data-step="NAME" data-status="STATUS">.

const SVG = "http://www.w3.org/2000/svg";
const COLORS = {
  NotStarted: "#8c959f", Queued: "#bf8700", Running: "#0969da",
  Finished: "#1a7f37", Failed: "#cf222e", Canceled: "#57606a",
};
const STYLE = `
.amlpipe-run-details { font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px; }
.amlpipe-run-details table { border-collapse: collapse; margin: 4px 0; }
.amlpipe-run-details th, .amlpipe-run-details td { text-align: left; padding: 2px 10px 2px 0;
  border-bottom: 1px solid var(--jp-border-color2, #eaeef2); vertical-align: top; }
.amlpipe-run-details tr.amlpipe-step-row { cursor: pointer; }
.amlpipe-run-details tr.amlpipe-selected { background: var(--jp-layout-color2, #f6f8fa); }
.amlpipe-rd-bar { width: 100%; max-width: 480px; height: 12px; background: #eaeef2; border-radius: 6px; overflow: hidden;
  display: flex; }
.amlpipe-rd-bar > div { height: 100%; }
.amlpipe-run-details pre { background: var(--jp-layout-color2, #f6f8fa); max-height: 220px; overflow: auto;
  padding: 4px; margin: 2px 0; white-space: pre-wrap; }
.amlpipe-rd-status { font-weight: 600; }
`;

function html(tag, attrs, parent, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined && text !== null) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function seconds(v) {
  return typeof v === "number" ? `${v.toFixed(2)} s` : "";
}

function drawSummary(model, box) {
  const p = model.get("progress") || {};
  box.replaceChildren();
  html("div", {}, box, `Run ${model.get("run_id")}: ${model.get("status")} · ${p.done || 0}/${p.total || 0} steps done ` +
    `(${p.ran || 0} ran, ${p.reused || 0} reused, ${p.failed || 0} failed, ${p.running || 0} running)`);
  const bar = html("div", { class: "amlpipe-rd-bar", role: "progressbar", "aria-valuemin": 0,
    "aria-valuemax": p.total || 0, "aria-valuenow": p.done || 0 }, box);
  const total = p.total || 1;
  const parts = [["ran", "#1a7f37"], ["reused", "#8250df"], ["failed", "#cf222e"], ["canceled", "#57606a"],
    ["running", "#0969da"]];
  for (const [key, color] of parts) {
    if (p[key]) html("div", { class: `amlpipe-rd-${key}`, style: `width:${(100 * p[key]) / total}%;background:${color}` }, bar);
  }
  const err = model.get("error");
  if (err) html("pre", { class: "amlpipe-rd-error", style: "color:#cf222e" }, box, err);
}

function drawSteps(model, box) {
  const steps = model.get("steps") || [];
  const selected = model.get("selected");
  box.replaceChildren();
  const table = html("table", { class: "amlpipe-rd-steps" }, box);
  const head = html("tr", {}, html("thead", {}, table));
  for (const t of ["Step", "Status", "Duration", "Reused from", "Why"]) html("th", {}, head, t);
  const body = html("tbody", {}, table);
  for (const s of steps) {
    const tr = html("tr", {
      class: "amlpipe-step-row" + (s.name === selected ? " amlpipe-selected" : ""),
      "data-step": s.name, "data-status": s.status,
    }, body);
    html("td", {}, tr, s.name);
    html("td", { class: "amlpipe-rd-status", style: `color:${COLORS[s.status] || "#24292f"}` }, tr, s.status);
    html("td", {}, tr, seconds(s.duration));
    html("td", {}, tr, s.reused_from || "");
    html("td", {}, tr, s.error || (s.reasons || []).join("; "));
    tr.addEventListener("click", () => { model.set("selected", s.name); model.save_changes(); });
  }
}

function drawDetail(model, box) {
  const d = model.get("detail") || {};
  box.replaceChildren();
  if (!d.step) { html("div", {}, box, "Click a step to see its output."); return; }
  html("b", {}, box, `${d.step}: ${d.status}`);
  html("div", {}, box, "stdout (last lines)");
  html("pre", { class: "amlpipe-rd-stdout" }, box, d.stdout || "(nothing yet)");
  if (d.stderr) { html("div", {}, box, "stderr (last lines)"); html("pre", { class: "amlpipe-rd-stderr" }, box, d.stderr); }
}

function drawMetrics(model, box) {
  const rows = model.get("metrics") || [];
  box.replaceChildren();
  if (!rows.length) return;
  html("b", {}, box, "Metrics");
  const table = html("table", { class: "amlpipe-rd-metrics" }, box);
  for (const m of rows) {
    const tr = html("tr", { "data-run": m.run, "data-metric": m.name }, table);
    html("td", {}, tr, m.run);
    html("td", {}, tr, m.name);
    const cell = html("td", {}, tr);
    if (m.chart) {
      const c = m.chart;
      const s = document.createElementNS(SVG, "svg");
      s.setAttribute("width", c.width); s.setAttribute("height", c.height); s.setAttribute("class", "amlpipe-rd-chart");
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", c.points); line.setAttribute("fill", "none");
      line.setAttribute("stroke", "#0969da"); line.setAttribute("stroke-width", "1.5");
      s.appendChild(line);
      cell.appendChild(s);
      html("span", {}, cell, ` ${c.count} values, ${c.min} … ${c.max}`);
    } else {
      html("span", {}, cell, typeof m.value === "string" ? m.value : JSON.stringify(m.value));
    }
  }
}

function render({ model, el }) {
  const root = html("div", { class: "amlpipe-run-details" }, el);
  html("style", {}, root, STYLE);
  const summary = html("div", { class: "amlpipe-rd-summary" }, root);
  const steps = html("div", { class: "amlpipe-rd-table" }, root);
  const detail = html("div", { class: "amlpipe-rd-detail" }, root);
  const metrics = html("div", { class: "amlpipe-rd-metrics-box" }, root);
  const handlers = [
    [["change:progress", "change:status", "change:error", "change:run_id"], () => drawSummary(model, summary)],
    [["change:steps", "change:selected"], () => drawSteps(model, steps)],
    [["change:detail"], () => drawDetail(model, detail)],
    [["change:metrics"], () => drawMetrics(model, metrics)],
  ];
  for (const [evs, fn] of handlers) { fn(); for (const ev of evs) model.on(ev, fn); }
  return () => { for (const [evs, fn] of handlers) for (const ev of evs) model.off(ev, fn); };
}

export default { render };

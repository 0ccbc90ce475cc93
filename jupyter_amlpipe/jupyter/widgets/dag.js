// DagWidget front end: draws the model's nodes and edges as SVG. No build step, no network.
// DOM contract: root .amlpipe-dag; each node <g class="amlpipe-dag-node" data-step data-status [data-reused]>.

const SVG = "http://www.w3.org/2000/svg";
const COLORS = {
  NotStarted: { fill: "#eef0f3", stroke: "#8c959f", text: "#24292f" },
  Queued: { fill: "#fff4ce", stroke: "#bf8700", text: "#24292f" },
  Running: { fill: "#ddeeff", stroke: "#0969da", text: "#0a3069" },
  Finished: { fill: "#dafbe1", stroke: "#1a7f37", text: "#0f3d1f" },
  Failed: { fill: "#ffebe9", stroke: "#cf222e", text: "#82071e" },
  Canceled: { fill: "#f6f8fa", stroke: "#57606a", text: "#57606a" },
};
const STYLE = `
.amlpipe-dag { font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px; }
.amlpipe-dag-header { margin: 2px 0 6px 0; color: var(--jp-ui-font-color1, #24292f); }
.amlpipe-dag-canvas { overflow: auto; max-height: 520px; border: 1px solid var(--jp-border-color2, #d0d7de); }
.amlpipe-dag-node { cursor: pointer; }
.amlpipe-dag-node[data-status="Running"] rect.amlpipe-dag-box { animation: amlpipe-pulse 1.2s ease-in-out infinite; }
.amlpipe-dag-node.amlpipe-selected rect.amlpipe-dag-box { stroke-width: 3; }
@keyframes amlpipe-pulse { 0%, 100% { stroke-opacity: 1; } 50% { stroke-opacity: 0.3; } }
.amlpipe-dag-edge-label { fill: #57606a; font-size: 10px; }
.amlpipe-dag-detail pre { background: var(--jp-layout-color2, #f6f8fa); max-height: 200px; overflow: auto;
  padding: 4px; margin: 2px 0; white-space: pre-wrap; }
.amlpipe-dag-detail table { border-collapse: collapse; }
.amlpipe-dag-detail td { padding: 0 8px 0 0; }
`;

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, attrs, parent, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function shorten(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function drawGraph(model, canvas) {
  const nodes = model.get("nodes") || [];
  const edges = model.get("edges") || [];
  const geo = model.get("geometry") || {};
  const w = geo.node_width || 160;
  const h = geo.node_height || 40;
  const selected = model.get("selected");
  canvas.replaceChildren();
  const root = svg("svg", {
    width: geo.width || 200, height: geo.height || 80,
    viewBox: `0 0 ${geo.width || 200} ${geo.height || 80}`, class: "amlpipe-dag-svg",
  }, canvas);
  const defs = svg("defs", {}, root);
  const marker = svg("marker", {
    id: "amlpipe-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto",
  }, defs);
  svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }, marker);
  const at = {};
  for (const n of nodes) at[n.name] = n;
  const edgeLayer = svg("g", { class: "amlpipe-dag-edges" }, root);
  for (const e of edges) {
    const a = at[e.source], b = at[e.target];
    if (!a || !b) continue;
    const x1 = a.x + w / 2, y1 = a.y + h, x2 = b.x + w / 2, y2 = b.y;
    const my = (y1 + y2) / 2;
    const g = svg("g", { class: "amlpipe-dag-edge", "data-source": e.source, "data-target": e.target }, edgeLayer);
    svg("path", {
      d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`, fill: "none", stroke: "#8c959f",
      "stroke-width": 1.3, "stroke-dasharray": e.kind === "run_after" ? "4 3" : "none",
      "marker-end": "url(#amlpipe-arrow)",
    }, g);
    const label = e.label || (e.kind === "run_after" ? "after" : "");
    if (label) {
      const t = svg("text", {
        x: (x1 + x2) / 2 + 4, y: my - 2, class: "amlpipe-dag-edge-label", "text-anchor": "middle",
      }, g);
      t.textContent = shorten(label, 24);
    }
  }
  const nodeLayer = svg("g", { class: "amlpipe-dag-nodes" }, root);
  for (const n of nodes) {
    const c = COLORS[n.status] || COLORS.NotStarted;
    const g = svg("g", {
      class: "amlpipe-dag-node" + (n.name === selected ? " amlpipe-selected" : ""),
      "data-step": n.name, "data-status": n.status, transform: `translate(${n.x},${n.y})`,
    }, nodeLayer);
    if (n.reused) g.setAttribute("data-reused", "true");
    svg("title", {}, g).textContent = n.tooltip || n.name;
    svg("rect", {
      class: "amlpipe-dag-box", width: w, height: h, rx: 6, ry: 6, fill: c.fill, stroke: c.stroke, "stroke-width": 1.6,
    }, g);
    const name = svg("text", { x: w / 2, y: 16, "text-anchor": "middle", fill: c.text, "font-weight": "600" }, g);
    name.textContent = shorten(n.name, 22);
    const sub = svg("text", { x: w / 2, y: 31, "text-anchor": "middle", fill: c.text, "font-size": "10px" }, g);
    sub.textContent = n.status + (typeof n.duration === "number" ? ` · ${n.duration.toFixed(1)} s` : "");
    if (n.reused) {
      const badge = svg("g", { class: "amlpipe-dag-badge", transform: `translate(${w - 14},-6)` }, g);
      svg("circle", { r: 9, cx: 6, cy: 6, fill: "#8250df", stroke: "white", "stroke-width": 1.5 }, badge);
      const r = svg("text", { x: 6, y: 10, "text-anchor": "middle", fill: "white", "font-size": "10px" }, badge);
      r.textContent = "R";
    }
    g.addEventListener("click", () => {
      model.set("selected", n.name === model.get("selected") ? "" : n.name);
      model.save_changes();
    });
  }
}

function drawHeader(model, header) {
  const p = model.get("progress") || {};
  const runId = model.get("run_id");
  if (!runId) {
    header.textContent = `Pipeline: ${(model.get("nodes") || []).length} steps (not submitted)`;
    return;
  }
  const parts = [`Run ${runId}: ${model.get("status")}`];
  if (p.total !== undefined) {
    parts.push(`${p.done}/${p.total} steps done (${p.ran} ran, ${p.reused} reused, ${p.failed} failed)`);
  }
  header.textContent = parts.join(" · ");
}

function drawDetail(model, box) {
  const d = model.get("detail") || {};
  box.replaceChildren();
  if (!d.step) return;
  html("b", {}, box, `${d.step}: ${d.status || ""}`);
  if (typeof d.duration === "number") html("span", {}, box, ` (${d.duration.toFixed(2)} s)`);
  for (const r of d.reasons || []) html("div", { class: "amlpipe-dag-reason" }, box, r);
  if (d.error) html("div", { class: "amlpipe-dag-error", style: "color:#cf222e" }, box, d.error);
  const metrics = Object.entries(d.metrics || {});
  if (metrics.length) {
    const table = html("table", { class: "amlpipe-dag-metrics" }, box);
    for (const [k, v] of metrics) {
      const tr = html("tr", {}, table);
      html("td", {}, tr, k);
      html("td", {}, tr, JSON.stringify(v));
    }
  }
  if (d.stdout) { html("div", {}, box, "stdout (last lines)"); html("pre", { class: "amlpipe-dag-stdout" }, box, d.stdout); }
  if (d.stderr) { html("div", {}, box, "stderr (last lines)"); html("pre", { class: "amlpipe-dag-stderr" }, box, d.stderr); }
  if (d.definition) html("pre", { class: "amlpipe-dag-definition" }, box, JSON.stringify(d.definition, null, 1));
}

function render({ model, el }) {
  const root = html("div", { class: "amlpipe-dag" }, el);
  html("style", {}, root, STYLE);
  const header = html("div", { class: "amlpipe-dag-header" }, root);
  const canvas = html("div", { class: "amlpipe-dag-canvas" }, root);
  const detail = html("div", { class: "amlpipe-dag-detail" }, root);
  const graph = () => { drawGraph(model, canvas); drawHeader(model, header); };
  graph();
  drawDetail(model, detail);
  const events = ["change:nodes", "change:edges", "change:geometry", "change:selected", "change:status", "change:progress"];
  for (const ev of events) model.on(ev, graph);
  const onDetail = () => drawDetail(model, detail);
  model.on("change:detail", onDetail);
  return () => {
    for (const ev of events) model.off(ev, graph);
    model.off("change:detail", onDetail);
  };
}

export default { render };

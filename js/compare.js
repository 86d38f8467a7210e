// The runs table and hyperparameter views of a comparison (anywidget ES module).
//
// The kernel sends one row per run (status, times, params, metric summaries) and
// this module draws, in the browser: a table that sorts by any column and filters by
// text or `param=value`, with a colour swatch and a checkbox per run; a scatter of a
// metric summary against a chosen parameter; and parallel coordinates across the
// varying parameters and that metric, with log axes for parameters spanning decades.
// Selecting rows is saved to the kernel, which then overlays those runs' charts.

import { formatTick, logTicks, niceTicks } from "./ticks.js";

const SVG = "http://www.w3.org/2000/svg";

// -- pure helpers (exported for js/compare.test.mjs) -----------------------------

/** Rows whose name, status or params match every word of `query`.
 *  A word `name=value` matches a param (or status) exactly; others match text. */
export function filterRows(rows, query) {
  const words = (query || "").trim().split(/\s+/).filter(Boolean);
  return rows.filter((row) =>
    words.every((word) => {
      const eq = word.indexOf("=");
      if (eq > 0) {
        const name = word.slice(0, eq);
        const want = word.slice(eq + 1);
        const have = name === "status" ? row.status : row.params[name];
        return have !== undefined && String(have) === want;
      }
      const text = [row.name, row.status, ...Object.values(row.params).map(String)].join(" ");
      return text.toLowerCase().includes(word.toLowerCase());
    })
  );
}

/** The value of `column` in a row: a fixed field, "p:<param>" or "m:<metric>/<stat>". */
export function cell(row, column) {
  if (column.startsWith("p:")) return row.params[column.slice(2)];
  if (column.startsWith("m:")) {
    const [metric, stat] = splitMetric(column.slice(2));
    return (row.metrics[metric] || {})[stat];
  }
  return row[column];
}

function splitMetric(text) {
  const at = text.lastIndexOf("/");
  return [text.slice(0, at), text.slice(at + 1)];
}

/** Rows sorted by a column; missing values last, numbers numerically. */
export function sortRows(rows, column, descending) {
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = cell(a, column);
    const y = cell(b, column);
    const xMissing = x === undefined || x === null || Number.isNaN(x);
    const yMissing = y === undefined || y === null || Number.isNaN(y);
    if (xMissing || yMissing) return xMissing - yMissing;
    if (typeof x === "number" && typeof y === "number") return sign * (x - y);
    return sign * String(x).localeCompare(String(y), undefined, { numeric: true });
  });
}

/** True when positive values span more than a decade (a learning-rate sweep, say):
 *  such an axis is drawn log, or most runs would crowd at one end. */
export function spansDecades(values) {
  const numbers = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  if (numbers.length < 2 || numbers.some((v) => v <= 0)) return false;
  return Math.max(...numbers) / Math.min(...numbers) >= 10;
}

/** The share of an axis's length left empty at each end, so no point sits on the frame. */
const PADDING = 0.06;

/** An axis over `values`. Numbers go linear, or log when `log`, padded at both ends,
 *  with round ticks; other values (strings, bools) get a slot each in first-seen
 *  order, labelled. `at(v)` places a value in [0, 1] (NaN where it cannot);
 *  `between(low, high)` is the test a brush from `at` low to high stands for. */
export function scaleOf(values, log = false, count = 5) {
  const fits = (v) => typeof v === "number" && Number.isFinite(v) && (!log || v > 0);
  const numbers = values.filter(fits);
  if (!numbers.length) {
    const labels = [...new Set(values.filter((v) => v !== undefined && v !== null).map(String))];
    const at = (v) => {
      const k = v === undefined || v === null ? -1 : labels.indexOf(String(v));
      return k < 0 ? NaN : (k + 0.5) / labels.length;
    };
    const between = (low, high) => {
      const inside = new Set(labels.filter((label) => at(label) >= low && at(label) <= high));
      return (v) => v !== undefined && v !== null && inside.has(String(v));
    };
    return { at, between, categorical: true, ticks: labels.map((label) => ({ at: at(label), label })) };
  }
  const f = log ? Math.log10 : (v) => v;
  let low = f(extremum(numbers, -1));
  let high = f(extremum(numbers, 1));
  if (low === high) {
    const half = log ? 0.5 : Math.abs(low) / 10 || 1;
    [low, high] = [low - half, high + half];
  }
  const pad = (high - low) * PADDING;
  [low, high] = [low - pad, high + pad];
  const at = (v) => (fits(v) ? (f(v) - low) / (high - low) : NaN);
  const value = (share) => (log ? Math.pow(10, low + share * (high - low)) : low + share * (high - low));
  const between = (lowShare, highShare) => {
    const [lo, hi] = [value(lowShare), value(highShare)];
    return (v) => fits(v) && v >= lo && v <= hi;
  };
  const [first, last] = [value(0), value(1)];
  const round = log ? logTicks(first, last, count) : niceTicks(first, last, count);
  const ticks = round.map((v) => ({ at: at(v), label: formatTick(v, first, last) }));
  return { at, between, categorical: false, log, ticks };
}

/** The least (`sign` -1) or greatest (1) of many numbers, without spreading them
 *  into Math.min's arguments. */
function extremum(numbers, sign) {
  let best = numbers[0];
  for (const v of numbers) if (sign * (v - best) > 0) best = v;
  return best;
}

/** Points drawn closer than `apart` px to one another, spread side by side so each
 *  shows: [x, y] per point in, [x, y, count] out (`count` points share its spot). */
export function spread(points, apart = 7) {
  const spots = []; // [x, y, members] around each spot's first point
  points.forEach(([x, y], i) => {
    const spot = spots.find(([sx, sy]) => Math.hypot(x - sx, y - sy) < apart);
    if (spot) spot[2].push(i);
    else spots.push([x, y, [i]]);
  });
  const out = points.map(([x, y]) => [x, y, 1]);
  for (const [, , members] of spots) {
    members.forEach((i, k) => {
      out[i] = [points[i][0] + (k - (members.length - 1) / 2) * apart, points[i][1], members.length];
    });
  }
  return out;
}

export function formatValue(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en-US");
    const magnitude = Math.abs(value);
    if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return value.toExponential(2);
    return String(+value.toPrecision(4));
  }
  return String(value);
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}:${String(Math.floor(seconds % 60)).padStart(2, "0")}` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}`;
}

// -- DOM -------------------------------------------------------------------------

// (anywidget loads each module alone, from one file: small helpers are not shared.)
function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  node.append(...children);
  return node;
}

function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function title(text) {
  const node = svg("title");
  node.textContent = text;
  return node;
}

/** The table's columns: the run, the params that differ between runs, the chosen
 *  metric's summaries, then status and times. Params equal for all runs are left
 *  to one "same for all" line above the table (see sameNote). */
function columnsOf(model) {
  const metric = model.get("metric");
  return [
    ["name", "name"],
    ...(model.get("varying") || []).map((p) => [`p:${p}`, `${p} •`]),
    ...(metric ? ["last", "min", "max"].map((stat) => [`m:${metric}/${stat}`, `${metric} ${stat}`]) : []),
    ["status", "status"],
    ["started", "started"],
    ["duration", "duration"],
    ["points", "points"],
  ];
}

/** "same for all runs: hidden=32 · steps=3000", or "" when every param varies;
 *  values written as they were set (3000, not 3,000). */
export function sameNote(same) {
  const parts = Object.entries(same || {}).map(([name, value]) => `${name}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  return parts.length ? `same for all runs: ${parts.join(" · ")}` : "";
}

/** The runs table, kept from one redraw to the next: its rows are updated in place
 *  (a follow tick every second must not close what a person has open, or move
 *  the row under their pointer), and rebuilt only when the columns change. */
function runsTable(model, state, redraw, onTick) {
  const head = element("thead");
  const body = element("tbody");
  const node = element("table", { className: "ht-runs" }, [head, body]);
  const rows = new Map(); // run name -> { tr, box, cells }
  let heading = "";

  function headRow(columns) {
    const key = JSON.stringify([columns, state.sort, state.descending]);
    if (key === heading) return;
    heading = key;
    rows.clear(); // the cells follow the columns
    body.replaceChildren();
    head.replaceChildren(
      element("tr", {}, [
        element("th", { textContent: "" }),
        ...columns.map(([column, label]) => {
          const arrow = state.sort === column ? (state.descending ? " ▼" : " ▲") : "";
          const th = element("th", { textContent: label + arrow, title: `sort by ${label}`, "data-column": column });
          if (label.endsWith("•")) th.className = "ht-varying";
          th.addEventListener("click", () => {
            state.descending = state.sort === column ? !state.descending : false;
            state.sort = column;
            redraw();
          });
          return th;
        }),
      ])
    );
  }

  function rowOf(row, columns) {
    let entry = rows.get(row.name);
    if (entry) return entry;
    const box = element("input", { type: "checkbox", "data-testid": `select-${row.name}` });
    box.addEventListener("change", () => {
      const now = new Set(model.get("selected") || []);
      box.checked ? now.add(row.name) : now.delete(row.name);
      onTick((model.get("rows") || []).map((r) => r.name).filter((n) => now.has(n)));
    });
    const swatch = element("span", { className: "ht-swatch" });
    const cells = columns.map(() => element("td"));
    entry = { tr: element("tr", { "data-run": row.name }, [element("td", {}, [box, swatch]), ...cells]), box, swatch, cells };
    rows.set(row.name, entry);
    return entry;
  }

  /** Fill the table with these rows, touching only what changed. */
  function update(shownRows, columns, selected, now) {
    headRow(columns);
    const keep = new Set(shownRows.map((row) => row.name));
    for (const [name, entry] of rows) if (!keep.has(name)) entry.tr.remove(); // kept for later
    shownRows.forEach((row, position) => {
      const entry = rowOf(row, columns);
      if (entry.box.checked !== selected.has(row.name)) entry.box.checked = selected.has(row.name);
      if (entry.swatch.style.background !== row.color) entry.swatch.style.background = row.color;
      columns.forEach(([column], k) => {
        const td = entry.cells[k];
        const text = shownCell(row, column, now);
        if (td.textContent !== text) td.textContent = text;
        const className = column === "status" ? `ht-${row.status}` : "";
        if (td.className !== className) td.className = className;
      });
      if (body.children[position] !== entry.tr) body.insertBefore(entry.tr, body.children[position] || null);
    });
  }
  return { node, update };
}

/** A cell's text. A running run's duration counts on in the browser, from its start. */
function shownCell(row, column, now) {
  const value = cell(row, column);
  if (column === "started") return new Date(value * 1000).toLocaleString();
  if (column === "duration") return duration(row.status === "running" ? now - row.started : value);
  return formatValue(value);
}

function label(x, y, text, anchor = "middle", className = "ht-axis-label") {
  const node = svg("text", { x, y, "text-anchor": anchor, class: className });
  node.textContent = text;
  return node;
}

/** The summary of the chosen metric a row has (undefined when it has none). */
function metricOf(model, state) {
  const metric = model.get("metric");
  return (row) => (row.metrics[metric] || {})[state.stat];
}

/** The scatter of the metric summary against one param. Runs outside the brushes
 *  are drawn faint; runs at one spot are spread side by side and counted. */
function scatter(model, state, rows, inside) {
  const width = 440, height = 270, left = 62, bottom = 40, top = 14, right = 14;
  const param = state.param;
  const [metric, stat] = [model.get("metric"), state.stat];
  const xs = rows.map((r) => r.params[param]);
  const ys = rows.map(metricOf(model, state));
  const logX = spansDecades(xs);
  const sx = scaleOf(xs, logX, Math.max(2, Math.floor((width - left - right) / 80)));
  const sy = scaleOf(ys, false, 5);
  const px = (share) => left + share * (width - left - right);
  const py = (share) => height - bottom - share * (height - top - bottom);
  const placed = rows.map((row, i) => [px(sx.at(xs[i])), py(sy.at(ys[i])), i]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const spots = spread(placed.map(([x, y]) => [x, y]));
  const dots = placed.map(([, , i], k) => {
    const [x, y, count] = spots[k];
    const row = rows[i];
    const shared = count > 1 ? `\n(${count} runs at this spot)` : "";
    return svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 5, fill: row.color,
      class: inside(row) ? "ht-dot" : "ht-dot ht-out", "data-run": row.name },
      [title(`${row.name}\n${param} = ${formatValue(xs[i])}\n${metric} ${stat} = ${formatValue(ys[i])}${shared}`)]);
  });
  const xTicks = sx.ticks.flatMap((t) => [
    svg("line", { x1: px(t.at), x2: px(t.at), y1: height - bottom, y2: height - bottom + 4, class: "ht-tick-mark" }),
    label(px(t.at), height - bottom + 16, t.label, "middle", "ht-tick"),
  ]);
  const yTicks = sy.ticks.flatMap((t) => [
    svg("line", { x1: left - 4, x2: left, y1: py(t.at), y2: py(t.at), class: "ht-tick-mark" }),
    label(left - 7, py(t.at) + 4, t.label, "end", "ht-tick"),
  ]);
  const yName = label(0, 0, `${metric} ${stat}`);
  yName.setAttribute("transform", `translate(14, ${(top + height - bottom) / 2}) rotate(-90)`);
  return svg("svg", { width, height, class: "ht-scatter", "data-testid": "scatter" }, [
    svg("rect", { x: left, y: top, width: width - left - right, height: height - top - bottom, class: "ht-frame" }),
    ...xTicks,
    ...yTicks,
    ...dots,
    label((left + width - right) / 2, height - 6, `${param}${logX ? " (log)" : ""}`),
    yName,
  ]);
}

/** The axes of the parallel coordinates: each varying param, then the metric. */
function axesOf(model, state, rows) {
  const metricValue = metricOf(model, state);
  const axes = [
    ...(model.get("varying") || []).map((p) => ({ name: p, value: (row) => row.params[p] })),
    { name: `${model.get("metric")} ${state.stat}`, value: metricValue },
  ];
  return axes.map((axis) => {
    const values = rows.map(axis.value);
    const log = spansDecades(values);
    return { ...axis, log, scale: scaleOf(values, log, 5) };
  });
}

const PC = { height: 280, top: 30, bottom: 16, side: 64, apart: 130 };

/** Parallel coordinates across the varying params and the metric. Dragging along an
 *  axis brushes a range of it (a click clears it): the runs outside any brush fade
 *  here and leave the table and the overlay. */
function parallel(state, rows, axes, inside, onBrush) {
  const width = Math.max(440, 2 * PC.side + PC.apart * (axes.length - 1));
  const step = axes.length > 1 ? (width - 2 * PC.side) / (axes.length - 1) : 0;
  const span = PC.height - PC.top - PC.bottom;
  const y = (share) => PC.top + (1 - share) * span;
  const node = svg("svg", { width, height: PC.height, class: "ht-parallel", "data-testid": "parallel" });
  const lines = rows.map((row) => {
    const points = axes.map((a, k) => [PC.side + k * step, y(a.scale.at(a.value(row)))]);
    if (points.some(([, yy]) => !Number.isFinite(yy))) return null;
    return svg("polyline", { points: points.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" "),
      stroke: row.color, class: inside(row) ? "ht-pc-line" : "ht-pc-line ht-out", "data-run": row.name }, [title(row.name)]);
  }).filter(Boolean);
  // Faded lines first, so the brushed ones draw over them.
  lines.sort((p, q) => p.classList.contains("ht-out") - q.classList.contains("ht-out")).reverse();
  const parts = axes.flatMap((a, k) => {
    const x = PC.side + k * step;
    const ticks = a.scale.ticks.flatMap((t) => [
      svg("line", { x1: x - 4, x2: x, y1: y(t.at), y2: y(t.at), class: "ht-tick-mark" }),
      label(x - 7, y(t.at) + 4, t.label, "end", "ht-tick"),
    ]);
    const brush = state.drag && state.drag.name === a.name ? [state.drag.from, state.drag.to] : (state.brushes.get(a.name) || {}).shares;
    const drawn = brush ? [svg("rect", { x: x - 9, width: 18, y: y(Math.max(...brush)), height: Math.abs(brush[0] - brush[1]) * span,
      class: "ht-brush", "data-axis": a.name })] : [];
    const area = svg("rect", { x: x - 14, width: 28, y: PC.top, height: span, class: "ht-brush-area", "data-testid": `brush-${a.name}` },
      [title(`drag along ${a.name} to keep the runs in a range; click to clear`)]);
    area.addEventListener("pointerdown", (event) => onBrush(a, event));
    return [svg("line", { x1: x, x2: x, y1: PC.top, y2: PC.top + span, class: "ht-pc-axis" }),
      label(x, 14, a.name + (a.log ? " (log)" : "")), ...ticks, ...drawn, area];
  });
  node.append(...lines, ...parts);
  return node;
}

/** The share of an axis (0 at the bottom, 1 at the top) at a pointer's height. */
function shareAt(svgNode, clientY) {
  const top = svgNode.getBoundingClientRect().top;
  const share = 1 - (clientY - top - PC.top) / (PC.height - PC.top - PC.bottom);
  return Math.max(0, Math.min(1, share));
}

/** Replace a select's options only when they change: rebuilding them closes it. */
function setOptions(select, values, chosen) {
  const key = JSON.stringify(values);
  if (select.dataset.options !== key) {
    select.dataset.options = key;
    select.replaceChildren(...values.map((v) => element("option", { value: v, textContent: v })));
  }
  if (select.value !== chosen) select.value = chosen;
}

/** What a person chose in a runs table: its filter, sort, axes and brushes, kept
 *  per table (by its engine's reference) rather than per view. Every view of one
 *  table then masks the same runs on the engine they share (two views each writing
 *  its own mask would set the engine's masked back and forth without end) and
 *  redraws when another changes them; a view built anew (a second display, or the
 *  one JupyterLab builds when the kernel refreshes the output's picture) keeps them. */
const tables = new Map();

function tableState(model) {
  const key = model.get("engine");
  const fresh = () => ({ query: "", sort: "started", descending: false, param: "", stat: "last", brushes: new Map(), drag: null, views: new Set() });
  if (typeof key !== "string") return fresh();
  if (!tables.has(key)) tables.set(key, fresh());
  return tables.get(key);
}

function render({ model, el }) {
  // brushes: axis name -> { shares: [from, to] along the axis, test: value -> bool }
  const state = tableState(model);
  const changed = () => state.views.forEach((redrawView) => redrawView());
  const filter = element("input", { type: "search", placeholder: "filter: text or lr=0.01", "data-testid": "filter" });
  const paramPick = element("select", { "data-testid": "param" });
  const metricPick = element("select", { "data-testid": "metric" });
  const statPick = element("select", { "data-testid": "stat" }, ["last", "min", "max"].map((s) => element("option", { value: s, textContent: s })));
  const same = element("div", { className: "ht-same", "data-testid": "same" });
  const brushed = element("button", { className: "ht-clear-brushes", textContent: "clear brushes", "data-testid": "clear-brushes" });
  const tableBox = element("div", { className: "ht-table-box" });
  const views = element("div", { className: "ht-views" });
  // The overlay's engine: the runs unticked, filtered or brushed out are masked there,
  // in the browser, so the overlay follows at once even while the kernel is busy.
  let engine = null;
  const ref = model.get("engine");
  if (typeof ref === "string" && ref.startsWith("IPY_MODEL_")) {
    model.widget_manager.get_model(ref.slice(10)).then((found) => {
      engine = found;
      engine.on("change:names change:masked", mask);
      mask();
    }, () => {});
  }

  /** The runs the filter keeps (the views draw these) and those the brushes keep too. */
  function chosen() {
    const rows = filterRows(model.get("rows") || [], state.query);
    const axes = axesOf(model, state, rows);
    const tests = axes.filter((a) => state.brushes.has(a.name)).map((a) => (row) => state.brushes.get(a.name).test(a.value(row)));
    const inside = (row) => tests.every((test) => test(row));
    return { rows, axes, inside, kept: rows.filter(inside) };
  }

  function mask() {
    if (!engine) return;
    const selected = new Set(model.get("selected") || []);
    const wanted = new Set(chosen().kept.filter((r) => selected.has(r.name)).map((r) => r.name));
    const masked = (engine.get("names") || []).filter((name) => !wanted.has(name));
    if (JSON.stringify(masked) === JSON.stringify(engine.get("masked") || [])) return;
    engine.set("masked", masked);
    engine.save_changes();
  }

  const onTick = (selected) => {
    model.set("selected", selected);
    model.save_changes();
  };
  const runs = runsTable(model, state, changed, onTick);
  tableBox.append(runs.node);

  function fillTable(rows) {
    const selected = new Set(model.get("selected") || []);
    runs.update(sortRows(rows, state.sort, state.descending), columnsOf(model), selected, Date.now() / 1000);
  }

  /** A drag along an axis: drawn as it goes, kept (or, for a click, cleared) at its end. */
  function brush(axis, event) {
    event.preventDefault();
    const start = shareAt(event.currentTarget.ownerSVGElement, event.clientY);
    state.drag = { name: axis.name, from: start, to: start };
    const move = (e) => {
      const node = views.querySelector(".ht-parallel");
      if (!node || !state.drag) return;
      state.drag.to = shareAt(node, e.clientY);
      views.replaceChild(parallelOf(chosen()), node);
    };
    const end = (e) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", end);
      const drag = state.drag;
      state.drag = null;
      const node = views.querySelector(".ht-parallel");
      if (node) drag.to = shareAt(node, e.clientY);
      const [from, to] = [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)];
      // A click (or a drag of a few pixels) clears the axis's brush.
      if ((to - from) * (PC.height - PC.top - PC.bottom) < 4) state.brushes.delete(axis.name);
      else state.brushes.set(axis.name, { shares: [from, to], test: axis.scale.between(from, to) });
      changed();
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", end);
  }

  const parallelOf = ({ rows, axes, inside }) => parallel(state, rows, axes, inside, brush);

  function redraw() {
    const params = model.get("params") || [];
    const metrics = model.get("metrics") || [];
    if (!params.includes(state.param)) state.param = (model.get("varying") || [])[0] || params[0] || "";
    setOptions(paramPick, params, state.param);
    setOptions(metricPick, metrics, model.get("metric") || "");
    const note = sameNote(model.get("same"));
    if (same.textContent !== note) same.textContent = note;
    let picked = chosen();
    // A brush on an axis that is gone (the metric changed, a param stopped varying) goes too.
    const gone = [...state.brushes.keys()].filter((name) => !picked.axes.some((a) => a.name === name));
    if (gone.length) {
      gone.forEach((name) => state.brushes.delete(name));
      picked = chosen();
    }
    brushed.hidden = state.brushes.size === 0;
    if (filter.value !== state.query) filter.value = state.query; // another view's filter
    if (statPick.value !== state.stat) statPick.value = state.stat;
    fillTable(picked.kept);
    views.replaceChildren(...(model.get("metric") && state.param ? [scatter(model, state, picked.rows, picked.inside), parallelOf(picked)] : []));
    mask();
  }
  filter.value = state.query;
  statPick.value = state.stat;
  filter.addEventListener("input", () => ((state.query = filter.value), changed()));
  paramPick.addEventListener("change", () => ((state.param = paramPick.value), changed()));
  statPick.addEventListener("change", () => ((state.stat = statPick.value), state.brushes.clear(), changed()));
  metricPick.addEventListener("change", () => (model.set("metric", metricPick.value), model.save_changes()));
  brushed.addEventListener("click", () => (state.brushes.clear(), changed()));
  const watched = "change:rows change:selected change:metric change:params change:metrics change:varying change:same";
  model.on(watched, redraw);
  // Running runs' durations count on between the kernel's updates.
  const ticking = setInterval(() => {
    const rows = model.get("rows") || [];
    if (rows.some((row) => row.status === "running")) fillTable(chosen().kept);
  }, 1000);
  el.append(
    element("div", { className: "ht-compare-bar" }, [filter, element("label", {}, ["metric ", metricPick, statPick]), element("label", {}, ["against ", paramPick]), brushed]),
    same,
    tableBox,
    views
  );
  state.views.add(redraw);
  redraw();
  return () => {
    state.views.delete(redraw);
    clearInterval(ticking);
    model.off(watched, redraw);
    if (engine) engine.off("change:names change:masked", mask);
  };
}

export default { render };

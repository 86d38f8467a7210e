// The runs table and hyperparameter views of a comparison (anywidget ES module).
//
// The kernel sends one row per run (status, times, params, metric summaries) and
// this module draws, in the browser: a table that sorts by any column and filters by
// text or `param=value`, with a colour swatch and a checkbox per run; a scatter of a
// metric summary against a chosen parameter; and parallel coordinates across the
// varying parameters and that metric, with log axes for parameters spanning decades.
// Selecting rows is saved to the kernel, which then overlays those runs' charts.

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

/** A function mapping a value to [0, 1] along an axis (log when `log`). */
export function axisMap(values, log) {
  const numbers = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  if (!numbers.length) {
    // categorical (strings, bools): evenly spaced in first-seen order
    const labels = [...new Set(values.map(String))];
    return (v) => (labels.length < 2 ? 0.5 : labels.indexOf(String(v)) / (labels.length - 1));
  }
  const f = log ? Math.log10 : (v) => v;
  const lo = Math.min(...numbers.map(f));
  const hi = Math.max(...numbers.map(f));
  return (v) => (typeof v !== "number" || !Number.isFinite(v) ? NaN : hi === lo ? 0.5 : (f(v) - lo) / (hi - lo));
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

function columnsOf(model) {
  const varying = new Set(model.get("varying") || []);
  const metricColumns = (model.get("metrics") || []).flatMap((m) => ["last", "min", "max"].map((s) => `m:${m}/${s}`));
  return [
    ["name", "name"],
    ["status", "status"],
    ["started", "started"],
    ["duration", "duration"],
    ["points", "points"],
    ...(model.get("params") || []).map((p) => [`p:${p}`, varying.has(p) ? `${p} •` : p]),
    ...metricColumns.map((c) => [c, c.slice(2)]),
  ];
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

function scatter(model, state, rows) {
  const width = 420, height = 260, left = 58, bottom = 34, top = 14, right = 12;
  const param = state.param;
  const [metric, stat] = [model.get("metric"), state.stat];
  const xs = rows.map((r) => r.params[param]);
  const ys = rows.map((r) => (r.metrics[metric] || {})[stat]);
  const logX = spansDecades(xs);
  const fx = axisMap(xs, logX);
  const fy = axisMap(ys, false);
  const px = (v) => left + fx(v) * (width - left - right);
  const py = (v) => height - bottom - fy(v) * (height - top - bottom);
  const dots = rows.map((row, i) => {
    if (!Number.isFinite(px(xs[i])) || !Number.isFinite(py(ys[i]))) return null;
    return svg("circle", { cx: px(xs[i]).toFixed(1), cy: py(ys[i]).toFixed(1), r: 5, fill: row.color, class: "ht-dot", "data-run": row.name },
      [title(`${row.name}\n${param} = ${formatValue(xs[i])}\n${metric} ${stat} = ${formatValue(ys[i])}`)]);
  }).filter(Boolean);
  const label = (x, y, text, anchor = "middle") => {
    const node = svg("text", { x, y, "text-anchor": anchor, class: "ht-axis-label" });
    node.textContent = text;
    return node;
  };
  const numbers = (values) => values.filter((v) => typeof v === "number" && Number.isFinite(v));
  const xn = numbers(xs), yn = numbers(ys);
  return svg("svg", { width, height, class: "ht-scatter", "data-testid": "scatter" }, [
    svg("rect", { x: left, y: top, width: width - left - right, height: height - top - bottom, fill: "none", stroke: "#ccc" }),
    ...dots,
    label((left + width - right) / 2, height - 6, `${param}${logX ? " (log)" : ""}`),
    label(left - 6, top + 10, yn.length ? formatValue(Math.max(...yn)) : "", "end"),
    label(left - 6, height - bottom, yn.length ? formatValue(Math.min(...yn)) : "", "end"),
    label(left, height - bottom + 14, xn.length ? formatValue(Math.min(...xn)) : "", "start"),
    label(width - right, height - bottom + 14, xn.length ? formatValue(Math.max(...xn)) : "", "end"),
    (() => {
      const node = label(0, 0, `${metric} ${stat}`);
      node.setAttribute("transform", `translate(14, ${(top + height - bottom) / 2}) rotate(-90)`);
      return node;
    })(),
  ]);
}

function parallel(model, state, rows) {
  const [metric, stat] = [model.get("metric"), state.stat];
  const params = model.get("varying") || [];
  const axes = [...params.map((p) => ({ name: p, values: rows.map((r) => r.params[p]) })),
    { name: `${metric} ${stat}`, values: rows.map((r) => (r.metrics[metric] || {})[stat]) }];
  const width = Math.max(420, 110 * axes.length), height = 260, top = 28, bottom = 24, side = 50;
  const step = axes.length > 1 ? (width - 2 * side) / (axes.length - 1) : 0;
  const maps = axes.map((a) => ({ ...a, log: spansDecades(a.values), at: 0 }));
  maps.forEach((a) => (a.map = axisMap(a.values, a.log)));
  const y = (a, v) => top + (1 - a.map(v)) * (height - top - bottom);
  const children = maps.flatMap((a, k) => {
    const x = side + k * step;
    const name = svg("text", { x, y: 14, "text-anchor": "middle", class: "ht-axis-label" });
    name.textContent = a.name + (a.log ? " (log)" : "");
    const numbers = a.values.filter((v) => typeof v === "number" && Number.isFinite(v));
    const ends = numbers.length ? [Math.max(...numbers), Math.min(...numbers)] : [];
    const tick = (value, yy) => {
      const node = svg("text", { x: x + 4, y: yy, class: "ht-tick" });
      node.textContent = formatValue(value);
      return node;
    };
    return [svg("line", { x1: x, x2: x, y1: top, y2: height - bottom, stroke: "#999" }), name,
      ...(ends.length ? [tick(ends[0], top + 4), tick(ends[1], height - bottom)] : [])];
  });
  const lines = rows.map((row) => {
    const points = maps.map((a, k) => [side + k * step, y(a, a.values[rows.indexOf(row)])]);
    if (points.some(([, yy]) => !Number.isFinite(yy))) return null;
    return svg("polyline", { points: points.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" "),
      fill: "none", stroke: row.color, "stroke-width": 2, class: "ht-pc-line", "data-run": row.name }, [title(row.name)]);
  }).filter(Boolean);
  return svg("svg", { width, height, class: "ht-parallel", "data-testid": "parallel" }, [...lines, ...children]);
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

function render({ model, el }) {
  const state = { query: "", sort: "started", descending: false, param: "", stat: "last" };
  const filter = element("input", { type: "search", placeholder: "filter: text or lr=0.01", "data-testid": "filter" });
  const paramPick = element("select", { "data-testid": "param" });
  const metricPick = element("select", { "data-testid": "metric" });
  const statPick = element("select", { "data-testid": "stat" }, ["last", "min", "max"].map((s) => element("option", { value: s, textContent: s })));
  const tableBox = element("div", { className: "ht-table-box" });
  const views = element("div", { className: "ht-views" });
  // The overlay's engine: the runs unticked or filtered out are masked there, in the
  // browser, so the overlay follows at once even while the kernel is busy.
  let engine = null;
  const ref = model.get("engine");
  if (typeof ref === "string" && ref.startsWith("IPY_MODEL_")) {
    model.widget_manager.get_model(ref.slice(10)).then((found) => {
      engine = found;
      engine.on("change:names change:masked", mask);
      mask();
    }, () => {});
  }

  function mask() {
    if (!engine) return;
    const selected = new Set(model.get("selected") || []);
    const wanted = new Set(filterRows(model.get("rows") || [], state.query).filter((r) => selected.has(r.name)).map((r) => r.name));
    const masked = (engine.get("names") || []).filter((name) => !wanted.has(name));
    if (JSON.stringify(masked) === JSON.stringify(engine.get("masked") || [])) return;
    engine.set("masked", masked);
    engine.save_changes();
  }

  const onTick = (selected) => {
    model.set("selected", selected);
    model.save_changes();
  };
  const runs = runsTable(model, state, () => redraw(), onTick);
  tableBox.append(runs.node);

  function fillTable(rows) {
    const selected = new Set(model.get("selected") || []);
    runs.update(sortRows(rows, state.sort, state.descending), columnsOf(model), selected, Date.now() / 1000);
  }

  function redraw() {
    const params = model.get("params") || [];
    const metrics = model.get("metrics") || [];
    if (!params.includes(state.param)) state.param = (model.get("varying") || [])[0] || params[0] || "";
    setOptions(paramPick, params, state.param);
    setOptions(metricPick, metrics, model.get("metric") || "");
    const rows = filterRows(model.get("rows") || [], state.query);
    fillTable(rows);
    views.replaceChildren(...(model.get("metric") && state.param ? [scatter(model, state, rows), parallel(model, state, rows)] : []));
    mask();
  }
  filter.addEventListener("input", () => ((state.query = filter.value), redraw()));
  paramPick.addEventListener("change", () => ((state.param = paramPick.value), redraw()));
  statPick.addEventListener("change", () => ((state.stat = statPick.value), redraw()));
  metricPick.addEventListener("change", () => (model.set("metric", metricPick.value), model.save_changes()));
  model.on("change:rows change:selected change:metric change:params change:metrics change:varying", redraw);
  // Running runs' durations count on between the kernel's updates.
  const ticking = setInterval(() => {
    const rows = model.get("rows") || [];
    if (rows.some((row) => row.status === "running")) fillTable(filterRows(rows, state.query));
  }, 1000);
  el.append(
    element("div", { className: "ht-compare-bar" }, [filter, element("label", {}, ["metric ", metricPick, statPick]), element("label", {}, ["against ", paramPick])]),
    tableBox,
    views
  );
  redraw();
  return () => {
    clearInterval(ticking);
    model.off("change:rows change:selected change:metric change:params change:metrics change:varying", redraw);
    if (engine) engine.off("change:names change:masked", mask);
  };
}

export default { render };

// The trials table and parallel coordinates of a sweep (anywidget ES module).
//
// The kernel sends one row per trial with its cells already written out (numbers as
// hypertuner writes them everywhere), and the parallel coordinates already placed:
// each trial's height on each axis (0 bottom, 1 top), its colour and its state. This
// module draws them, sorts the table by a clicked column, and sends {stop: n} when
// the stop button of running trial n is clicked (the kernel then stops it).

const SVG = "http://www.w3.org/2000/svg";

// -- pure helpers ------------------------------------------------------------------

/** The value a row sorts by in `column`: "number", "state", "value", "step" or "p:<param>". */
export function sortValue(row, column) {
  return column.startsWith("p:") ? row.params[column.slice(2)] : row[column];
}

/** Rows sorted by a column; missing values last, numbers numerically. */
export function sortRows(rows, column, descending) {
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = sortValue(a, column);
    const y = sortValue(b, column);
    const xMissing = x === undefined || x === null;
    const yMissing = y === undefined || y === null;
    if (xMissing || yMissing) return xMissing - yMissing || a.number - b.number;
    if (typeof x === "number" && typeof y === "number") return sign * (x - y) || a.number - b.number;
    return sign * String(x).localeCompare(String(y), undefined, { numeric: true }) || a.number - b.number;
  });
}

/** The points of a trial's line: up to its first axis without a value (a running
 *  trial has no objective yet). */
export function linePoints(ys, xs, top, height) {
  const points = [];
  for (let k = 0; k < ys.length; k++) {
    if (ys[k] === null || ys[k] === undefined) break;
    points.push([xs[k], top + (1 - ys[k]) * height]);
  }
  return points;
}

// -- DOM ---------------------------------------------------------------------------

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

function text(tag, attrs, content) {
  const node = svg(tag, attrs);
  node.textContent = content;
  return node;
}

function table(model, state, redraw) {
  const params = model.get("columns") || [];
  const columns = [
    ["number", "trial", true],
    ["state", "state", false],
    ["value", model.get("objective") || "objective", true],
    ...params.map((p) => [`p:${p}`, p, false]),
    ["step", "step", true],
  ];
  const head = element("tr", {}, [
    element("th"),
    ...columns.map(([key, label]) => {
      const arrow = state.sort === key ? (state.descending ? " ▼" : " ▲") : "";
      const th = element("th", { textContent: label + arrow, title: `sort by ${label}`, "data-column": key });
      th.addEventListener("click", () => {
        state.descending = state.sort === key ? !state.descending : false;
        state.sort = key;
        redraw();
      });
      return th;
    }),
    element("th"),
  ]);
  const rows = sortRows(model.get("rows") || [], state.sort, state.descending);
  const body = rows.map((row) => {
    const swatch = element("span", { className: "ht-swatch", title: `trial ${row.number}'s colour on the charts` });
    swatch.style.background = row.color;
    const chip = element("span", { className: `ht-chip ht-state-${row.state}`, textContent: row.state });
    const cells = {
      number: String(row.number),
      value: row.value_text,
      step: row.step_text,
    };
    const tds = columns.map(([key, , numeric]) => {
      if (key === "state") return element("td", { "data-column": key }, [chip]);
      const content = key.startsWith("p:") ? row.params_text[key.slice(2)] : cells[key];
      return element("td", { textContent: content ?? "", className: numeric ? "ht-num" : "", "data-column": key });
    });
    // A running trial's last cell is its stop button; an ended one's says how it ended.
    const note = element("td", { className: "ht-trial-note", textContent: row.note, title: row.error || "" });
    if (row.stoppable && !state.asked.has(row.number)) {
      const button = element("button", {
        textContent: "■ stop",
        title: `stop trial ${row.number} now (it reads pruned)`,
        "data-testid": `stop-${row.number}`,
      });
      button.addEventListener("click", () => {
        state.asked.add(row.number);
        button.disabled = true;
        button.textContent = "stopping…";
        model.send({ stop: row.number });
      });
      note.replaceChildren(button);
    }
    return element(
      "tr",
      { "data-trial": String(row.number), "data-state": row.state, className: row.best ? "ht-best-row" : "" },
      [element("td", {}, [swatch]), ...tds, note]
    );
  });
  return element("table", { className: "ht-trials", "data-testid": "trials" }, [
    element("thead", {}, [head]),
    element("tbody", {}, body),
  ]);
}

/** Whether JupyterLab shows a dark theme: the best trials then take viridis's bright end. */
const dark = () => document.body?.dataset.jpThemeLight === "false";

function parallel(model, id) {
  const { axes = [], lines = [], ramp: light = [], ramp_dark: night = [] } = model.get("parallel") || {};
  const shaded = dark() && night.length > 0;
  const ramp = shaded ? night : light;
  if (!axes.length) return element("div");
  const width = Math.max(360, 110 * axes.length), height = 300, top = 34, bottom = 58, side = 56;
  const plot = height - top - bottom;
  const step = axes.length > 1 ? (width - 2 * side) / (axes.length - 1) : 0;
  const xs = axes.map((_, k) => side + k * step);
  const gradient = svg("linearGradient", { id, x1: 0, x2: 1, y1: 0, y2: 0 },
    ramp.map((colour, i) => svg("stop", { offset: ramp.length > 1 ? i / (ramp.length - 1) : 0, "stop-color": colour })));
  const children = [svg("defs", {}, [gradient])];
  for (const line of lines) {
    const points = linePoints(line.ys, xs, top, plot);
    if (points.length < 2) continue;
    const attrs = {
      points: points.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" "),
      fill: "none",
      stroke: shaded && line.color_dark ? line.color_dark : line.color,
      "stroke-width": line.best ? 3.5 : 2,
      class: "ht-pc-line",
      "data-trial": String(line.number),
      "data-state": line.state,
    };
    if (line.state === "running") attrs["stroke-dasharray"] = "5 4";
    if (line.state === "pruned") attrs["stroke-opacity"] = 0.8;
    children.push(svg("polyline", attrs, [text("title", {}, line.title)]));
  }
  axes.forEach((axis, k) => {
    const x = xs[k];
    children.push(svg("line", { x1: x, x2: x, y1: top, y2: top + plot, stroke: "#888" }));
    children.push(text("text", { x, y: 16, "text-anchor": "middle", "font-weight": 600 }, axis.name));
    for (const [at, label] of axis.ticks) {
      const y = top + (1 - at) * plot;
      children.push(svg("line", { x1: x - 3, x2: x + 3, y1: y, y2: y, stroke: "#888" }));
      children.push(text("text", { x: x + 5, y: y + 4, class: "ht-tick" }, label));
    }
  });
  // The legend: complete trials from the best (ramp's start) to the worst.
  const legendY = height - 34;
  children.push(text("text", { x: 8, y: legendY + 9 }, "complete: best"));
  children.push(svg("rect", { x: 96, y: legendY, width: 90, height: 10, fill: `url(#${gradient.getAttribute("id")})` }));
  children.push(text("text", { x: 192, y: legendY + 9 }, "worst"));
  children.push(text("text", { x: 8, y: legendY + 26 }, "grey: pruned · dashed: running"));
  return svg("svg", { width, height, class: "ht-parallel", "data-testid": "parallel" }, children);
}

let views = 0; // names each view's colour ramp: SVG ids are page-wide

function render({ model, el }) {
  const state = { sort: "number", descending: false, asked: new Set() };
  const gradient = `ht-ramp-${++views}`;
  const tableBox = element("div", { className: "ht-trials-box" });
  const parallelBox = element("div", { className: "ht-parallel-box" });
  function redraw() {
    // A trial that ended, or that the kernel knows is stopping, needs no pending mark.
    const running = new Set((model.get("rows") || []).filter((r) => r.stoppable).map((r) => r.number));
    for (const number of state.asked) if (!running.has(number)) state.asked.delete(number);
    tableBox.replaceChildren(table(model, state, redraw));
    drawParallel();
  }
  const drawParallel = () => parallelBox.replaceChildren(parallel(model, gradient));
  model.on("change:rows change:columns change:objective change:parallel", redraw);
  el.append(element("div", { className: "ht-sweep-views" }, [tableBox, parallelBox]));
  redraw();
  // A theme switched from the menu recolours the ramp.
  const theme = new MutationObserver(drawParallel);
  theme.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
  return () => theme.disconnect();
}

export default { render };

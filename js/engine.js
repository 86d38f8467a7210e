// The browser half of a hypertuner board (an anywidget ES module, no build step).
//
// The kernel sends decimated points into this widget's `data` trait; this module
// puts them on the bqplot marks it was given references to, and owns everything a
// person changes while looking: smoothing, log y, the x axis, hidden lines, zoom
// reset and the value under the cursor. It runs in the browser, so it keeps working
// while a training loop keeps the kernel busy.
//
// Rules learned the hard way:
//  - the kernel never writes to the marks, and this module never calls
//    save_changes() on them, so the two never overwrite each other;
//  - log y swaps a mark's y scale between two pre-built scales and toggles the
//    visibility of two pre-built axes (setting Axis.scale breaks the ticks);
//  - a scale left without marks falls back to a [0, 1] domain, which a log scale
//    cannot draw, so the outgoing scale is pinned to its domain before a swap.

import { durationTicks, formatDuration, formatNumber, niceTicks, tickCount, tickFormat } from "./ticks.js";

// -- pure helpers (exported for js/engine.test.mjs) -------------------------------

/** The least spacing a point counts for, in units (see ema): points logged at one
 *  step (gradient accumulation) or closer each still move the smoothed line. */
const LEAST_SPACING = 0.05;

/** A debiased exponential moving average; non-finite values pass through.
 *
 *  With `xs` and `unit` (the x span of one drawn point: half a pixel, as a line is
 *  drawn at two points per pixel), `weight` is what the average keeps per unit of x
 *  travelled, not per point: a point `dx` after the last keeps `weight ** (dx /
 *  unit)`. That is TensorBoard's smoothing of its ~1,000-point sample wherever the
 *  points are that dense, and the line looks the same however many points stand
 *  behind each pixel (the slider moves a 200 k-point line as visibly as a 1,000-point
 *  one); a short series, a few points across the whole chart, is barely smoothed, so
 *  its last smoothed point stays near its last value. Without them, `weight` is
 *  kept per point. */
export function ema(values, weight, xs = null, unit = 0) {
  const out = new Float64Array(values.length);
  let constant = true;
  for (let i = 1; i < values.length && constant; i++) constant = values[i] === values[0];
  const spaced = xs !== null && unit > 0;
  let last = 0;
  let norm = 0; // the weight of what `last` holds: dividing by it debiases the start
  let previous = -1;
  for (let i = 0; i < values.length; i++) {
    const value = +values[i];
    if (constant || weight === 0 || !Number.isFinite(value)) {
      out[i] = value;
      continue;
    }
    const gap = spaced && previous >= 0 ? Math.abs(xs[i] - xs[previous]) / unit : 1;
    const keep = spaced ? Math.pow(weight, Math.max(gap, LEAST_SPACING)) : weight;
    last = last * keep + (1 - keep) * value;
    norm = norm * keep + (1 - keep);
    out[i] = last / norm;
    previous = i;
  }
  return out;
}

/** The range the y axis shows, [low, high], of the finite `ys` whose x lies in
 *  [`low`, `high`] (null: unbounded); with `robust`, from their 1st to 99th
 *  percentile, so a few spikes do not squash the rest. Null when none is there. */
export function yRange(lines, low, high, robust) {
  const inside = [];
  for (const { xs, ys } of lines) {
    for (let i = 0; i < ys.length; i++) {
      const x = +xs[i];
      if ((low != null && x < low) || (high != null && x > high)) continue;
      if (Number.isFinite(ys[i])) inside.push(+ys[i]);
    }
  }
  if (!inside.length) return null;
  if (!robust) return extent([{ ys: inside }], "ys");
  inside.sort((a, b) => a - b);
  const at = (q) => inside[Math.min(inside.length - 1, Math.max(0, Math.round(q * (inside.length - 1))))];
  return [at(0.01), at(0.99)];
}

/** `range` widened a little on both sides, so the extremes do not sit on the frame;
 *  on a log scale by a factor, and never to a value <= 0 there. */
export function padded(range, log) {
  let [low, high] = range;
  if (log) {
    const span = Math.log10(high / low) || 1;
    return [low / Math.pow(10, 0.05 * span), high * Math.pow(10, 0.05 * span)];
  }
  const span = high - low || Math.abs(high) || 1;
  return [low - 0.05 * span, high + 0.05 * span];
}

/** `values` with those outside [low, high] put on the nearest edge (NaN stays NaN). */
export function clamped(values, low, high) {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] < low ? low : values[i] > high ? high : values[i];
  return out;
}

function typed(view, Type) {
  // Buffers arrive as DataViews; a typed array needs an aligned offset.
  if (view == null) return new Type(0);
  if (ArrayBuffer.isView(view) && !(view instanceof DataView)) return view;
  const bytes = view.byteLength - (view.byteLength % Type.BYTES_PER_ELEMENT);
  if (view.byteOffset % Type.BYTES_PER_ELEMENT === 0) {
    return new Type(view.buffer, view.byteOffset, bytes / Type.BYTES_PER_ELEMENT);
  }
  return new Type(view.buffer.slice(view.byteOffset, view.byteOffset + bytes));
}

/** The type of column `name`: float32, unless the kernel sent it as float64 because
 *  float32 would change a value. Payloads saved before `wide` existed sent only
 *  steps that way: tell them by their size. */
function columnType(packed, name, float32Column) {
  if (Array.isArray(packed.wide)) return packed.wide.includes(name) ? Float64Array : Float32Array;
  if (name === "y" || name === "my" || name === "ms" || name === "mc") return Float32Array;
  const view = packed[name];
  const values = float32Column ? float32Column.byteLength / 4 : 0;
  return view && values && view.byteLength === values * 4 ? Float32Array : Float64Array;
}

/** Put a message's lines into `points[chart][run]`. A line replaces the points held
 *  from its index `from` on (its bucket sums from `mfrom` on): the kernel sends only
 *  what changed since its last send. When the kernel's buckets merged since (its
 *  `size` grew), the held points `keep` leaves out go and the held sums merge
 *  pairwise as the kernel merged them. A full message (a new view's state, the runs
 *  shown changed, the run ended) holds every line whole: what it lacks is dropped,
 *  so a slot whose new run has no such key is drawn empty. Returns the charts to
 *  draw, or null for all of them. */
export function applyData(points, data) {
  if (data.full) points.length = 0;
  const touched = new Set();
  for (const [where, packed] of Object.entries(data.lines || {})) {
    const [chart, run] = where.split("/").map(Number);
    const line = decode(packed);
    const row = (points[chart] = points[chart] || []);
    const held = row[run];
    row[run] = held && (line.from > 0 || line.mfrom > 0) ? spliced(held, line, packed.keep) : line;
    touched.add(chart);
  }
  return data.full ? null : touched;
}

/** `line` with the columns of `held` before its `from` (and `mfrom`) put in front,
 *  after dropping the held points `keep` leaves out (a bit per point, lowest bit
 *  first) and merging the held buckets up to the line's size. */
function spliced(held, line, keep) {
  let points = held;
  if (keep != null) {
    const bits = typed(keep, Uint8Array);
    const stays = (i) => (bits[i >> 3] >> (i & 7)) & 1;
    const at = [];
    for (let i = 0; i < Math.min(held.y.length, bits.length * 8); i++) if (stays(i)) at.push(i);
    points = { x: picked(held.x, at), t: picked(held.t, at), y: picked(held.y, at) };
  }
  let means = held;
  for (let size = held.size; size < line.size; size *= 2) means = mergedPairs(means);
  for (const name of ["x", "t", "y"]) line[name] = joined(points[name], line[name], line.from);
  for (const name of ["mx", "mt", "ms", "mc"]) line[name] = joined(means[name], line[name], line.mfrom);
  line.my = meansOf(line.ms, line.mc);
  line.bad = line.bad || held.bad; // sent with every change once there are any
  return line;
}

/** Buckets merged pairwise as the kernel merges them: sums and counts added, each
 *  pair placed at its second half's end (an odd last bucket is dropped). */
function mergedPairs(means) {
  const pairs = means.ms.length >> 1;
  const out = {};
  for (const name of ["mx", "mt", "ms", "mc"]) out[name] = new means[name].constructor(pairs);
  for (let j = 0; j < pairs; j++) {
    out.ms[j] = means.ms[2 * j] + means.ms[2 * j + 1];
    out.mc[j] = means.mc[2 * j] + means.mc[2 * j + 1];
    out.mx[j] = means.mx[2 * j + 1];
    out.mt[j] = means.mt[2 * j + 1];
  }
  return out;
}

/** Each bucket's mean, as the kernel divides it (NaN for a bucket of no finite value). */
function meansOf(sums, counts) {
  const out = new Float64Array(sums.length);
  for (let i = 0; i < sums.length; i++) out[i] = counts[i] > 0 ? sums[i] / counts[i] : NaN;
  return out;
}

function joined(head, tail, at) {
  const Type = head.constructor === tail.constructor ? head.constructor : Float64Array;
  const out = new Type(at + tail.length);
  out.set(head.subarray(0, at));
  out.set(tail, at);
  return out;
}

const COLUMNS = ["x", "t", "y", "mx", "mt", "ms", "mc"];

/** A held line as the kernel would send it whole (the inverse of decode), each
 *  column in an ArrayBuffer of its own: the widget manager saves a typed array's
 *  whole buffer, so a view into a larger one would save all of that. */
export function encode(line) {
  const own = (a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());
  // Counts below 2**24 are exact in float32: half the bytes saved.
  const mc = line.mc.every((count) => count < 2 ** 24) ? Float32Array.from(line.mc) : own(line.mc);
  const packed = {
    wide: COLUMNS.filter((name) => (name === "mc" ? mc : line[name]) instanceof Float64Array),
    from: 0,
    mfrom: 0,
    size: line.size,
    total: line.total,
    window: line.window,
    timed: line.timed,
    created: line.created,
  };
  if (line.bad) packed.bad = line.bad;
  for (const name of COLUMNS) packed[name] = name === "mc" ? mc : own(line[name]);
  return packed;
}

/** One chart's payload from the kernel, with its columns as typed arrays. Bucket
 *  sums and counts are held as float64, where the kernel adds them; payloads saved
 *  before sums were sent hold the means, each standing for one point. */
export function decode(packed) {
  const line = {
    x: typed(packed.x, columnType(packed, "x", packed.y)),
    t: typed(packed.t, Float32Array),
    y: typed(packed.y, columnType(packed, "y")),
    mx: typed(packed.mx, columnType(packed, "mx", packed.ms || packed.my)),
    mt: typed(packed.mt, Float32Array),
    from: packed.from || 0,
    mfrom: packed.mfrom || 0,
    size: packed.size || 1,
    total: packed.total || 0,
    window: packed.window || 0,
    timed: !!packed.timed,
    created: packed.created || 0,
    // Where the series holds NaN or an infinity ({x, t, nan, inf}), if it does.
    bad: packed.bad || null,
  };
  if (packed.ms != null) {
    line.ms = Float64Array.from(typed(packed.ms, columnType(packed, "ms")));
    line.mc = Float64Array.from(typed(packed.mc, columnType(packed, "mc")));
  } else {
    line.ms = Float64Array.from(typed(packed.my, columnType(packed, "my")));
    line.mc = new Float64Array(line.ms.length).fill(1);
  }
  line.my = meansOf(line.ms, line.mc);
  return line;
}

/** A line of at most about `target` points for a chart that shows `target / 2`
 *  pixels: the points split into `target / 2` runs of neighbours, each run kept as
 *  its lowest and highest finite value (in the order logged), so no spike is lost,
 *  and the first and last points kept, so the line starts and ends where the data
 *  does. Returns the indices kept, or null when the line is short enough as it is. */
export function thinned(y, target) {
  const n = y.length;
  const groups = Math.floor(target / 2);
  if (groups < 2 || n <= 2 * groups) return null;
  const kept = [0];
  const keep = (i) => i > kept[kept.length - 1] && kept.push(i);
  for (let j = 0; j < groups; j++) {
    const start = Math.floor((j * n) / groups);
    const end = Math.floor(((j + 1) * n) / groups);
    let low = -1;
    let high = -1;
    for (let i = start; i < end; i++) {
      const v = y[i];
      if (!(v === v)) continue; // NaN
      if (low < 0 || v < y[low]) low = i;
      if (high < 0 || v > y[high]) high = i;
    }
    if (low < 0) keep(start); // all NaN: a gap stays a gap
    else (keep(Math.min(low, high)), keep(Math.max(low, high)));
  }
  keep(n - 1);
  return kept;
}

/** Every `stride`-th of the indices 0..n-1, and always the last one. */
export function strided(n, target) {
  if (target < 2 || n <= target) return null;
  const stride = n / target;
  const kept = [];
  for (let k = 0; k < target - 1; k++) kept.push(Math.floor(k * stride));
  kept.push(n - 1);
  return kept;
}

/** `values` at `indices` (null: all of them), keeping a date axis's marker. */
export function picked(values, indices) {
  if (indices === null) return values;
  const out = new values.constructor(indices.length);
  for (let k = 0; k < indices.length; k++) out[k] = values[indices[k]];
  if (values.type) out.type = values.type;
  return out;
}

/** The values a log scale can draw: those <= 0 (and infinities) become NaN, a gap. */
export function positive(values) {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] > 0 && values[i] < Infinity ? values[i] : NaN;
  return out;
}

/** [lowest, highest] of the finite values of column `name` over `lines`. */
export function extent(lines, name) {
  let low = Infinity;
  let high = -Infinity;
  for (const line of lines) {
    for (const v of line[name]) {
      if (v < low) low = +v;
      if (v > high) high = +v;
    }
  }
  return low <= high && Number.isFinite(low) && Number.isFinite(high) ? [low, high] : [NaN, NaN];
}

/** `values` with infinities made NaN (the same array when it has none). */
export function finite(values) {
  let i = 0;
  while (i < values.length && !(values[i] === Infinity || values[i] === -Infinity)) i++;
  if (i === values.length) return values;
  const out = Float64Array.from(values);
  for (; i < out.length; i++) if (out[i] === Infinity || out[i] === -Infinity) out[i] = NaN;
  return out;
}

/** Index of the value in `xs` nearest to `x` (xs need not be sorted). */
export function nearest(xs, x) {
  let best = 0;
  let distance = Infinity;
  for (let i = 0; i < xs.length; i++) {
    const d = Math.abs(xs[i] - x);
    if (d < distance) {
      distance = d;
      best = i;
    }
  }
  return best;
}

/** What the key filter matches: its text as a case-insensitive regular expression,
 *  or as plain text when it is not one (`literal` then says so). Empty: every key. */
export function keyMatcher(text) {
  const wanted = (text || "").trim();
  if (!wanted) return { test: () => true, literal: false, active: false };
  try {
    const pattern = new RegExp(wanted, "i");
    return { test: (key) => pattern.test(key), literal: false, active: true };
  } catch {
    const lower = wanted.toLowerCase();
    return { test: (key) => key.toLowerCase().includes(lower), literal: true, active: true };
  }
}

/** The section of a key: the part before its first "/", or "" for none. */
export function sectionOf(key) {
  const at = key.indexOf("/");
  return at > 0 ? key.slice(0, at) : "";
}

const PREFIX = "IPY_MODEL_";
// uid -> engine, shared by every view of the model. anywidget gives initialize()
// and each render() a proxy of their own, so the proxy cannot be the key.
const engines = new Map();

// The most a frame spends drawing charts, in ms (bqplot then renders them).
const FRAME_BUDGET = 12;
// How near the view a chart is drawn: a quarter of the view's height above and below.
const SIGHT_MARGIN = "25% 0px";

// A chart's bqplot models may arrive just after the engine's: look for 10 s at most.
const RESOLVE_ATTEMPTS = 200;

async function resolve(model, ref) {
  if (typeof ref !== "string" || !ref.startsWith(PREFIX)) return ref ?? null; // a plain value
  const id = ref.slice(PREFIX.length);
  let failure = null;
  for (let attempt = 0; attempt < RESOLVE_ATTEMPTS; attempt++) {
    try {
      const found = await model.widget_manager.get_model(id);
      if (found) return found;
    } catch (err) {
      failure = err;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`hypertuner: widget model ${id} never arrived${failure ? `: ${failure}` : ""}`);
}

async function resolveChart(model, refs) {
  const entries = await Promise.all(
    Object.entries(refs).map(async ([name, ref]) => {
      if (name !== "lines") return [name, await resolve(model, ref)];
      const lines = await Promise.all(
        ref.map(async (pair) => ({ raw: await resolve(model, pair.raw), smooth: await resolve(model, pair.smooth) }))
      );
      return [name, lines];
    })
  );
  return Object.fromEntries(entries);
}

/** Whether JupyterLab shows a dark theme: a raw line under its smoothed one is then
 *  drawn less faint, as a light line on black reads fainter than a dark one on white. */
const dark = () => typeof document !== "undefined" && document.body?.dataset.jpThemeLight === "false";
// The engines to redraw when the theme changes, watched by one observer for the page.
const themed = new Set();
let themeWatch = null;
function onTheme(engine) {
  themed.add(engine);
  if (themeWatch || typeof MutationObserver === "undefined" || !document.body) return;
  themeWatch = new MutationObserver(() => themed.forEach((e) => e.ready.then(() => e.drawAll())));
  themeWatch.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
}
// A raw line's opacity under its smoothed line, by theme (see dark).
const FAINT = { light: 0.25, dark: 0.5 };

class Engine {
  constructor(model) {
    this.model = model;
    this.charts = []; // resolved bqplot models per chart: scales, axes, lines[run]
    this.points = []; // points[chart][run]: decoded arrays
    this.pinned = new Set();
    this.fitted = new Set(); // y scales fitted to a zoomed view, or with outliers ignored
    this.notes = new Map(); // chart -> its note ("N pts, M drawn"), shown under its title
    this.bad = new Map(); // chart -> where its runs' NaN and infinities are (see badOf)
    this.heads = new Set(); // per view: puts a chart's title and note on its figure
    this.smoothed = []; // smoothed[chart][run]: the smoothed bucket means, for the readout
    this.watched = new WeakSet(); // x scales whose zoom this engine follows
    this.extents = new Map(); // chart -> {x, y}: the ranges its axes show, as last drawn
    this.stale = new Set(); // charts not on show when their points came: drawn once shown
    this.dirty = new Set(); // charts with points not yet drawn: drawn at the next frame
    this.frame = 0;
    this.drawnAt = new Map(); // chart -> when last drawn: the longest waiting go first
    this.sights = new Map(); // per view: the charts in or near its viewport
    this.widths = new Map(); // chart -> its width in px, where a view has measured it
    this.rev = -1;
    this.whole = {}; // every line held, as the kernel sends it whole: see keepWhole
    this.applied = null; // the data last applied
    this.generation = 0; // of the chart list being resolved
    this.wanting = 0; // the frame that asks for charts to be built
    this.found = new Map(); // a chart's references -> its models (a promise)
    this.layouts = new Set(); // per view: shows and hides its charts and sections
    this.ready = this.resolveCharts();
    model.on("change:charts", () => (this.ready = this.resolveCharts()));
    model.on("change:data", () => this.ready.then(() => this.receive()));
    // draw() also moves a chart between its linear and log y scales.
    model.on("change:smoothing change:hidden change:masked change:names change:log_y change:robust", () =>
      this.ready.then(() => this.drawAll())
    );
    model.on("change:x_mode", () => this.ready.then(() => this.changeX()));
    onTheme(this);
    model.on("change:reset", () => this.ready.then(() => this.resetZoom()));
    model.on("change:key_filter change:collapsed change:chart_keys change:charts", () => this.relayout());
  }

  /** Whether chart `index` is on show: its key matches the filter and its section is
   *  not collapsed. A chart not on show is not drawn (500 keys filtered to 5 cost 5). */
  onShow(index) {
    const key = (this.model.get("chart_keys") || [])[index];
    if (key === undefined) return true;
    if ((this.model.get("collapsed") || []).includes(sectionOf(key))) return false;
    return this.matcher().test(key);
  }

  /** The key filter's matcher, made once per filter text, not once per chart drawn. */
  matcher() {
    const text = this.model.get("key_filter") || "";
    if (this.matching?.text !== text) this.matching = { text, ...keyMatcher(text) };
    return this.matching;
  }

  /** Whether chart `index` is in or near a view's viewport (any chart, before a view
   *  has looked): a chart scrolled far away is not drawn until it comes near. */
  inSight(index) {
    if (!this.sights.size) return true;
    for (const near of this.sights.values()) if (near.has(index)) return true;
    return false;
  }

  /** A view saw chart `index` come near its viewport (or leave it), `width` px wide. */
  sighted(view, index, near, width) {
    const seen = this.sights.get(view) || new Set();
    this.sights.set(view, seen);
    if (width > 0) this.widths.set(index, width);
    if (!near) return seen.delete(index);
    seen.add(index);
    if (this.stale.has(index)) this.later(index);
    this.want();
  }

  /** Tell the kernel which charts are near a view: it builds those it has not built
   *  yet (a board of many keys builds its charts as they come near; see
   *  board.Chart) and sends their points first. */
  want() {
    if (this.wanting) return;
    this.wanting = requestAnimationFrame(() => {
      this.wanting = 0;
      const near = new Set();
      for (const seen of this.sights.values()) for (const index of seen) near.add(index);
      const wanted = [...near].sort((a, b) => a - b);
      if (JSON.stringify(wanted) === JSON.stringify(this.model.get("wanted") || [])) return;
      this.model.set("wanted", wanted);
      this.model.save_changes();
    });
  }

  forget(view) {
    this.sights.delete(view);
  }

  relayout() {
    this.layouts.forEach((layout) => layout());
    for (const index of [...this.stale]) if (this.onShow(index)) this.later(index);
  }

  /** Draw chart `index` at a coming frame. */
  later(index) {
    this.dirty.add(index);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.drawDirty());
  }

  async resolveCharts() {
    const generation = ++this.generation;
    const refs = this.model.get("charts") || [];
    const keys = refs.map((r) => JSON.stringify(r));
    const charts = await Promise.all(keys.map((key, i) => this.resolved(key, refs[i])));
    if (generation !== this.generation) return; // a newer list is being resolved
    for (const key of [...this.found.keys()]) if (!keys.includes(key)) this.found.delete(key);
    this.charts = charts;
    // A zoom (the wheel, a drag, a reset) redraws the chart: y fits what is in view.
    for (const chart of charts) {
      for (const scale of chart ? [chart.x_scale, chart.date_scale] : []) {
        if (!scale || this.watched.has(scale)) continue;
        this.watched.add(scale);
        scale.on("change:min change:max", () => {
          const index = this.charts.indexOf(chart);
          if (index >= 0) this.later(index);
        });
      }
    }
    this.receive();
    this.drawAll(); // the charts may be new: draw each, with or without new points
    this.applyScales();
  }

  /** A chart's models, looked up once: the list grows a few charts at a time, and
   *  looking up every chart's again each time made a 500-key board quadratic. A
   *  chart whose models never arrive is left undrawn (and looked up again with the
   *  next list), not the whole board. */
  resolved(key, refs) {
    let found = this.found.get(key);
    if (!found) {
      found = resolveChart(this.model, refs).catch((err) => {
        console.warn(String(err));
        this.found.delete(key);
        return null;
      });
      this.found.set(key, found);
    }
    return found;
  }

  receive() {
    const data = this.model.get("data") || {};
    if (data === this.applied) return; // the charts were looked up again: nothing new
    // A new view's state may be older than a change it already applied: skip it.
    if (!data.full && data.rev !== undefined && data.rev <= this.rev) return;
    if (data.rev !== undefined) this.rev = data.rev;
    const touched = applyData(this.points, data);
    this.keepWhole(data, touched);
    // Changes that arrive faster than the page draws are drawn together, once a frame.
    for (const index of touched === null ? this.charts.keys() : touched) this.later(index);
  }

  /** Make the model's `data`, the message just applied, hold every line whole as
   *  this engine now has it. What JupyterLab and Notebook 7 save of a widget is its
   *  model's state, so a notebook saved while the cell runs keeps the whole board,
   *  not the last change. The object is changed in place: the model holds the very
   *  object the kernel's message set, so it has no change of its own to send back. */
  keepWhole(data, touched) {
    if (touched === null) this.whole = {};
    for (const index of touched === null ? this.points.keys() : touched) {
      (this.points[index] || []).forEach((line, run) => {
        if (line) this.whole[`${index}/${run}`] = encode(line);
      });
    }
    data.full = true;
    data.lines = this.whole;
    this.applied = data;
  }

  /** Draw the charts changes touched, the longest waiting first, for at most
   *  FRAME_BUDGET ms a frame: the rest wait for the next frames, so the page keeps
   *  answering however many charts change at once. */
  drawDirty() {
    this.frame = 0;
    const waiting = (index) => this.drawnAt.get(index) ?? -Infinity;
    const dirty = [...this.dirty].sort((a, b) => waiting(a) - waiting(b));
    const start = performance.now();
    for (const index of dirty) {
      if (performance.now() - start > FRAME_BUDGET) break;
      this.dirty.delete(index);
      this.draw(index);
    }
    if (this.dirty.size) this.frame = requestAnimationFrame(() => this.drawDirty());
  }

  xMode(index) {
    // A chart whose keys were logged without steps has time as its x.
    const mode = this.model.get("x_mode");
    const timed = (this.points[index] || []).some((p) => p && p.timed);
    return mode === "step" && timed ? "relative" : mode;
  }

  xValues(index, run, which) {
    // which: "" for the drawn points, "m" for the bucket means
    const p = this.points[index][run];
    const mode = this.xMode(index);
    if (mode === "step") return p[which + "x"];
    const t = p[which + "t"];
    if (mode === "relative") return t;
    const dates = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) dates[i] = (p.created + t[i]) * 1000;
    dates.type = "date";
    return dates;
  }

  /** Whether run `run` of an overlay is left out (a comparison's unticked or
   *  filtered-out run): drawn as no line at all, and not in the legend. */
  masked(run) {
    if (this.model.get("toggle_by") !== "run") return false;
    return (this.model.get("masked") || []).includes((this.model.get("names") || [])[run]);
  }

  shown(index, run) {
    const names = this.model.get("names") || [];
    const name = this.model.get("toggle_by") === "run" ? names[run] : names[index];
    return !(this.model.get("hidden") || []).includes(name);
  }

  drawAll() {
    this.charts.forEach((_, index) => this.later(index));
  }

  /** Whether chart `index` is on its log y scale: log y is on, the chart is not a
   * true/false one, and it has a value above 0 to draw. */
  usesLog(index) {
    const chart = this.charts[index];
    if (!this.model.get("log_y") || !chart || chart.kind === "bool") return false;
    return (this.points[index] || []).some((p) => p && p.y.some((v) => v > 0));
  }

  draw(index) {
    const chart = this.charts[index];
    if (!chart || !chart.lines) return;
    if (!this.onShow(index) || !this.inSight(index)) {
      this.stale.add(index);
      return;
    }
    this.stale.delete(index);
    this.drawnAt.set(index, performance.now());
    // About two points per pixel of the chart's width: more only cost drawing time.
    const width = this.widths.get(index) || 0;
    const target = 2 * width;
    const weight = Math.min(Math.max(+this.model.get("smoothing") || 0, 0), 0.999);
    // A log scale cannot place values <= 0 (its automatic domain turns NaN), so they
    // are masked while on it: leave it before they come back, join it once masked.
    const log = this.usesLog(index);
    // An infinity has no place on a line (bqplot's domain would turn infinite): like
    // NaN it is a gap, marked at the chart's edge and counted (see markBad).
    const drawable = (values) => (log ? positive(values) : finite(values));
    if (!log) this.applyScale(index);
    const lines = []; // per run drawn: its marks and the points they get
    const bad = []; // per run shown: where its NaN and infinities are, and its colour
    const mode = this.xMode(index);
    let nans = 0;
    let infs = 0;
    let note = "";
    this.smoothed[index] = [];
    chart.lines.forEach(({ raw, smooth }, run) => {
      const p = (this.points[index] || [])[run];
      if (!p || this.masked(run)) {
        // No data at all, not just hidden: a hidden line still stretches the y range.
        raw.set({ x: new Float64Array(0), y: new Float32Array(0) });
        smooth.set({ visible: false });
        return;
      }
      const shown = this.shown(index, run);
      const kept = thinned(p.y, target);
      const line = { raw, smooth, p, shown, xs: picked(this.xValues(index, run, ""), kept), ys: drawable(picked(p.y, kept)) };
      // Smoothing a true/false series would draw values it never had.
      if (weight > 0 && p.y.length > 2 && chart.kind !== "bool") {
        // At the drawn resolution: the bucket means, smoothed per half pixel of x
        // (see ema); the plot is the chart less its margins.
        const mx = this.xValues(index, run, "m");
        const unit = mx.length > 1 ? Math.abs(mx[mx.length - 1] - mx[0]) / (2 * Math.max(width - 72, 100)) : 0;
        const values = ema(p.my, weight, mx, unit);
        this.smoothed[index][run] = { xs: mx, ys: values };
        const means = strided(p.my.length, target);
        line.sx = picked(mx, means);
        line.sy = drawable(picked(values, means));
      }
      lines.push(line);
      if (p.bad && shown) {
        const t = p.bad.t || [];
        const xs = mode === "step" ? p.bad.x : mode === "relative" ? t : t.map((s) => (p.created + s) * 1000);
        bad.push({ xs, color: (raw.get("colors") || [])[0] || "currentColor" });
        nans += p.bad.nan || 0;
        infs += p.bad.inf || 0;
      }
      const drawn = kept === null ? p.y.length : kept.length;
      if (!note && p.total > drawn) note = `${formatNumber(p.window)} pts, ${formatNumber(drawn)} drawn`;
    });
    // Zoomed in, y fits what is in view; with outliers ignored, the bulk of it, and
    // what lies beyond is drawn on the edge.
    const robust = !!this.model.get("robust") && chart.kind !== "bool";
    const [low, high] = this.zoomOf(index);
    const zoomed = low != null || high != null;
    const fit = (zoomed || robust) && chart.kind !== "bool" ? yRange(lines.filter((l) => l.shown), low, high, robust) : null;
    const range = fit && padded(fit, log);
    const faint = dark() ? FAINT.dark : FAINT.light;
    for (const { raw, smooth, p, shown, xs, ys, sx, sy } of lines) {
      const edge = (values) => (robust && range ? clamped(values, range[0], range[1]) : values);
      raw.set({
        x: xs,
        y: edge(ys),
        visible: shown,
        opacities: [sx ? faint : 1],
        marker: p.y.length === 1 ? "circle" : null, // a line through one point draws nothing
      });
      if (sx) smooth.set({ x: sx, y: edge(sy), visible: shown });
      else smooth.set({ visible: false });
    }
    if (log) this.applyScale(index);
    this.fitY(index, range);
    // The ranges the axes show, as bqplot will work them out (it may do so only
    // once it renders): the zoom, else every line's extent, hidden ones too.
    const drawnLines = lines.flatMap((l) => [{ xs: l.xs, ys: l.ys }, ...(l.sx ? [{ xs: l.sx, ys: l.sy }] : [])]);
    const x = [low ?? extent(drawnLines, "xs")[0], high ?? extent(drawnLines, "xs")[1]];
    this.extents.set(index, { x, y: range || extent(drawnLines, "ys") });
    const counted = [nans ? `${formatNumber(nans)} NaN` : "", infs ? `${formatNumber(infs)} inf` : ""];
    this.label(index, [note, ...counted].filter(Boolean).join(" · "), bad);
  }

  /** Where chart `index` marks its NaN and infinities: the x range shown, and per
   *  run shown the x of each and its colour. */
  badOf(index) {
    const chart = this.charts[index];
    return { domain: (this.extents.get(index) || {}).x || [], lines: this.bad.get(index) || [] };
  }

  /** The x range chart `index` is zoomed to, [low, high] (null: unbounded). */
  zoomOf(index) {
    const chart = this.charts[index];
    const scale = this.xMode(index) === "wall" ? chart.date_scale : chart.x_scale;
    const bound = (name) => {
      const value = scale.get(name);
      return value == null ? null : +value; // a date scale's bounds are Dates
    };
    return [bound("min"), bound("max")];
  }

  /** Put chart `index`'s y scale on `range`, or back on its automatic one (null). */
  fitY(index, range) {
    const chart = this.charts[index];
    if (chart.kind === "bool") return;
    const y = this.usesLog(index) ? chart.y_log : chart.y_linear;
    if (range) {
      this.unpin(y);
      if (y.get("min") !== range[0] || y.get("max") !== range[1]) y.set({ min: range[0], max: range[1] });
      this.fitted.add(y);
    }
    for (const scale of [chart.y_linear, chart.y_log]) {
      if ((scale !== y || !range) && this.fitted.delete(scale)) scale.set({ min: null, max: null });
    }
  }

  /** Chart `index`'s axes sized to its width, its tick labels formatted for its
   *  range, and its note ("N pts, M drawn") told to the views. */
  label(index, note, bad) {
    this.retick(index);
    // The views redraw the title when its note changes, and the marks of NaN and
    // infinities whenever there are (the zoom may have moved them).
    const had = this.bad.has(index);
    if (bad.length) this.bad.set(index, bad);
    else this.bad.delete(index);
    if (this.notes.get(index) !== note || bad.length || had) {
      this.notes.set(index, note);
      this.heads.forEach((head) => head(index));
    }
  }

  /** Chart `index`'s tick values and formats for the ranges its axes show. */
  retick(index) {
    const chart = this.charts[index];
    if (!chart || !chart.x_axis) return;
    const width = this.widths.get(index) || 0;
    const mode = this.xMode(index);
    const wall = mode === "wall";
    const shows = this.extents.get(index) || { x: [], y: [] };
    const ticked = (axis, [low, high], count, durations = false) => {
      if (!Number.isFinite(low) || !Number.isFinite(high)) return;
      const choose = durations ? durationTicks : niceTicks;
      let values = choose(low, high, count);
      // A round step may give up to half as many again: never more than 8.
      while (values.length > 8 && count > 2) values = choose(low, high, --count);
      const format = tickFormat(low, high);
      if (axis.get("tick_format") !== format) axis.set("tick_format", format);
      // Seconds since the start read as a clock does (1:02:03), in bqplot's labels by value.
      const step = values.length > 1 ? values[1] - values[0] : 1;
      const labels = durations ? Object.fromEntries(values.map((v) => [v, formatDuration(v, step)])) : {};
      if (JSON.stringify(axis.get("tick_labels") || {}) !== JSON.stringify(labels)) axis.set("tick_labels", labels);
      const now = axis.get("tick_values");
      if (!now || now.length !== values.length || values.some((v, i) => +now[i] !== v)) axis.set("tick_values", values);
    };
    if (!wall) ticked(chart.x_axis, shows.x, tickCount(width > 0 ? width - 72 : 400, 100), mode === "relative");
    else {
      const [d0, d1] = shows.x;
      const format = d1 - d0 > 86400e3 ? "%b %d %H:%M" : "%H:%M:%S";
      if (chart.date_axis.get("tick_format") !== format) chart.date_axis.set("tick_format", format);
    }
    // 250 px tall, about 176 of them the plot: five ticks at most.
    if (chart.kind !== "bool" && !this.usesLog(index)) ticked(chart.y_axis, shows.y, 5);
  }

  pin(scale) {
    const domain = scale.domain;
    if (scale.get("min") != null || scale.get("max") != null) return;
    if (!domain || domain.length !== 2 || !domain.every(Number.isFinite)) return;
    scale.set({ min: Math.min(...domain), max: Math.max(...domain) });
    this.pinned.add(scale);
  }

  unpin(scale) {
    if (this.pinned.delete(scale)) scale.set({ min: null, max: null });
  }

  applyScales() {
    this.charts.forEach((_, index) => this.applyScale(index));
  }

  /** Put chart `index`'s lines, axes and zoom on the scales the settings call for. */
  applyScale(index) {
    const chart = this.charts[index];
    if (!chart || !chart.lines) return;
    const log = this.usesLog(index);
    const wall = this.xMode(index) === "wall";
    const y = log ? chart.y_log : chart.y_linear;
    const x = wall ? chart.date_scale : chart.x_scale;
    const marks = chart.lines.flatMap(({ raw, smooth }) => [raw, smooth]);
    const moving = marks.filter((m) => m.get("scales").y !== y || m.get("scales").x !== x);
    if (moving.length) {
      this.pin(log ? chart.y_linear : chart.y_log);
      for (const m of moving) m.set("scales", { ...m.get("scales"), x, y });
    }
    this.unpin(y);
    chart.y_axis.set("visible", !log);
    chart.log_axis.set("visible", log);
    chart.x_axis.set("visible", !wall);
    chart.date_axis.set("visible", wall);
    chart.x_axis.set("label", this.xMode(index) === "step" ? "step" : "time");
    // The wheel zooms x only (y fits what is in view, see draw).
    const zoom = chart.panzoom.get("scales") || {};
    if ((zoom.x || [])[0] !== x || zoom.y) chart.panzoom.set("scales", { x: [x] });
  }

  changeX() {
    // A zoom in steps means nothing in seconds: start the new axis unzoomed.
    this.resetZoom();
    this.applyScales();
    this.drawAll();
  }

  /** Every chart's zoom back to its whole range, or chart `only`'s. */
  resetZoom(only = null) {
    this.charts.forEach((chart, index) => {
      if (!chart || !chart.x_scale || (only !== null && index !== only)) return;
      // A true/false chart's y range is the kernel's, and never zoomed.
      const y = chart.kind === "bool" ? [] : [this.usesLog(index) ? chart.y_log : chart.y_linear];
      for (const scale of [chart.x_scale, chart.date_scale, ...y]) {
        this.pinned.delete(scale);
        if (scale.get("min") == null && scale.get("max") == null) continue;
        scale.set({ min: null, max: null });
        scale.save_changes(); // scales are never streamed into: saving is safe
      }
    });
  }
}

function initialize({ model }) {
  const uid = model.get("uid");
  engines.set(uid, new Engine(model));
  // This front end keeps every line whole in the model's state (see keepWhole), so
  // the kernel need not send the whole board at a cell's end: at 500 keys that is
  // 18 MB the page would read before it saw the cell finish.
  if (!model.get("whole_kept")) {
    model.set("whole_kept", true);
    try {
      model.save_changes();
    } catch (err) {
      // No kernel to tell (a saved notebook reopened): nothing is sent anyway.
    }
  }
  return () => engines.delete(uid);
}

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

function controls(model) {
  const save = () => model.save_changes(); // this widget's own state only
  const slider = element("input", { type: "range", min: "0", max: "0.99", step: "0.01", "data-testid": "smoothing" });
  const shownValue = element("span", { className: "ht-value" });
  const log = element("input", { type: "checkbox", "data-testid": "log-y" });
  const robust = element("input", {
    type: "checkbox",
    title: "fit y to the 1st-99th percentile of what is in view; values beyond are drawn on the edge",
    "data-testid": "outliers",
  });
  const xMode = element("select", { "data-testid": "x-axis" }, [
    element("option", { value: "step", textContent: "step" }),
    element("option", { value: "relative", textContent: "relative time" }),
    element("option", { value: "wall", textContent: "wall time" }),
  ]);
  const reset = element("button", { textContent: "reset zoom", "data-testid": "reset-zoom" });
  const filter = element("input", {
    type: "search",
    placeholder: "filter keys (regex)",
    title: "show the charts whose key matches (a regular expression, case-insensitive)",
    "data-testid": "key-filter",
  });
  const count = element("span", { className: "ht-count", "data-testid": "key-count" });
  // Per run, in an overlay: the legend. One button per key would not scale to 500 keys;
  // the filter and the sections do that.
  const toggles = element("span", { className: "ht-toggles" });

  slider.addEventListener("input", () => model.set("smoothing", +slider.value));
  slider.addEventListener("change", save);
  log.addEventListener("change", () => (model.set("log_y", log.checked), save()));
  robust.addEventListener("change", () => (model.set("robust", robust.checked), save()));
  xMode.addEventListener("change", () => (model.set("x_mode", xMode.value), save()));
  reset.addEventListener("click", () => (model.set("reset", (model.get("reset") || 0) + 1), save()));
  filter.addEventListener("input", () => (model.set("key_filter", filter.value), save()));

  function sync() {
    const weight = +model.get("smoothing");
    if (+slider.value !== weight) slider.value = String(weight);
    shownValue.textContent = weight.toFixed(2);
    log.checked = !!model.get("log_y");
    robust.checked = !!model.get("robust");
    xMode.value = model.get("x_mode");
    const wanted = model.get("key_filter") || "";
    if (filter.value !== wanted) filter.value = wanted;
    const matcher = keyMatcher(wanted);
    filter.classList.toggle("ht-literal", matcher.literal);
    filter.title = matcher.literal
      ? "not a regular expression: matching this text as it is"
      : "show the charts whose key matches (a regular expression, case-insensitive)";
    const keys = model.get("chart_keys") || [];
    const matching = keys.filter(matcher.test).length;
    const noun = keys.length === 1 ? "chart" : "charts";
    count.textContent = matcher.active ? `${matching} of ${keys.length} ${noun}` : `${keys.length} ${noun}`;
    const hidden = model.get("hidden") || [];
    const colors = model.get("colors") || [];
    const byRun = model.get("toggle_by") === "run";
    const masked = new Set(model.get("masked") || []);
    const labels = model.get("labels") || [];
    toggles.replaceChildren(
      ...(byRun ? model.get("names") || [] : []).flatMap((key, i) => {
        if (masked.has(key)) return [];
        const button = element("button", {
          className: hidden.includes(key) ? "ht-off" : "",
          title: `show or hide ${key}`,
          textContent: labels[i] || key,
          "data-testid": `toggle-${i}`,
        });
        button.style.borderLeft = `10px solid ${colors[i] || "currentColor"}`;
        button.addEventListener("click", () => {
          const now = model.get("hidden") || [];
          model.set("hidden", now.includes(key) ? now.filter((k) => k !== key) : [...now, key]);
          save();
        });
        return [button];
      })
    );
  }
  model.on(
    "change:smoothing change:log_y change:robust change:x_mode change:hidden change:masked change:names change:labels change:colors " +
      "change:key_filter change:chart_keys change:toggle_by",
    sync
  );
  sync();
  return element("div", { className: "ht-controls" }, [
    element("label", {}, ["smoothing", slider, shownValue]),
    element("label", {}, [log, "log y"]),
    element("label", {}, [robust, "ignore outliers"]),
    element("label", {}, ["x axis", xMode]),
    reset,
    filter,
    count,
    toggles,
  ]);
}

// How long a view waits to join the page before it stops looking (a view that is
// never attached must not poll forever).
const ATTACH_FRAMES = 600;

/** Shows and hides this view's charts and sections as the filter and the collapsed
 *  sections say, and collapses a section when its title is clicked. */
function sections(model, el) {
  const board = () => el.closest(".ht-board");
  const engine = engines.get(model.get("uid"));
  const view = {}; // this view's key in the engine's sights
  // Which charts are in or near the part of the page the notebook scrolls: only
  // those are drawn. The margin counts only around the observer's root, so the root
  // is the board's scrolling ancestor (JupyterLab's notebook panel), not the window.
  let sight = null;
  let sightRoot;
  let watched = new WeakSet();
  const watch = (root) => {
    if (!engine || typeof IntersectionObserver !== "function") return;
    const scroller = scrollerOf(root);
    if (sight && scroller === sightRoot) return;
    if (sight) (sight.disconnect(), engine.forget(view));
    const seen = (entries) => {
      for (const entry of entries) {
        // A placeholder replaced by its chart says "not near" as it leaves the page,
        // maybe after its chart said "near": only what is on the page counts.
        if (!entry.target.isConnected) continue;
        const index = chartIndex(entry.target);
        if (index !== undefined) engine.sighted(view, index, entry.isIntersecting, entry.boundingClientRect.width);
      }
    };
    sight = new IntersectionObserver(seen, { root: scroller, rootMargin: SIGHT_MARGIN });
    sightRoot = scroller;
    watched = new WeakSet();
  };
  const head = (figure, index) => {
    decorate(figure, (model.get("chart_keys") || [])[index], engine?.notes.get(index) || "");
    if (engine && engine.charts[index]?.x_scale) markBad(figure, engine.badOf(index));
  };
  // A chart's note changed: put it on this view's figure of the chart.
  const noted = (index) => {
    const root = board();
    if (!root) return;
    for (const figure of root.querySelectorAll(`.ht-chart.ht-i-${index}`)) {
      if (figure.closest(".ht-board") === root && !figure.classList.contains("ht-placeholder")) head(figure, index);
    }
  };
  const apply = () => {
    const root = board();
    if (!root) return;
    watch(root);
    holdPlaces(root, model.get("charts") || [], model.get("chart_keys") || []);
    const keys = model.get("chart_keys") || [];
    const collapsed = model.get("collapsed") || [];
    const matcher = keyMatcher(model.get("key_filter"));
    for (const figure of root.querySelectorAll(".ht-chart")) {
      if (figure.closest(".ht-board") !== root) continue; // another board inside this one
      const index = chartIndex(figure);
      const key = index === undefined ? undefined : keys[index];
      if (key !== undefined) figure.classList.toggle("ht-gone", !matcher.test(key));
      if (key !== undefined && !figure.classList.contains("ht-placeholder")) head(figure, index);
      if (sight && !watched.has(figure)) (watched.add(figure), sight.observe(figure));
    }
    const total = new Map();
    const matching = new Map();
    for (const key of keys) {
      const section = sectionOf(key);
      total.set(section, (total.get(section) || 0) + 1);
      if (matcher.test(key)) matching.set(section, (matching.get(section) || 0) + 1);
    }
    for (const title of root.querySelectorAll(".ht-section")) {
      if (title.closest(".ht-board") !== root) continue;
      const section = title.dataset.section;
      const folded = collapsed.includes(section);
      const shown = matching.get(section) || 0;
      const empty = matcher.active && shown === 0;
      const arrow = title.querySelector(".ht-arrow");
      const counted = title.querySelector(".ht-count");
      if (arrow && arrow.textContent !== (folded ? "▸" : "▾")) arrow.textContent = folded ? "▸" : "▾";
      const text = matcher.active ? `${shown} of ${total.get(section) || 0}` : `${total.get(section) || 0}`;
      if (counted && counted.textContent !== text) counted.textContent = text;
      title.title = folded ? `show the ${section} charts` : `hide the ${section} charts`;
      (title.closest(".ht-section-title") || title).classList.toggle("ht-gone", empty);
      const grid = root.querySelector(`.${title.dataset.grid}`);
      if (grid) grid.classList.toggle("ht-gone", folded || empty);
    }
  };
  let queued = false;
  const soon = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => ((queued = false), apply()));
  };
  const onClick = (event) => {
    const root = board();
    const title = event.target instanceof Element && event.target.closest(".ht-section");
    if (!root || !title || title.closest(".ht-board") !== root) return;
    const section = title.dataset.section;
    const now = model.get("collapsed") || [];
    model.set("collapsed", now.includes(section) ? now.filter((s) => s !== section) : [...now, section]);
    model.save_changes();
  };
  const page = el.ownerDocument;
  page.addEventListener("click", onClick);
  // Charts and titles are other widgets' views: they join the board after this one,
  // and a title's text is rendered anew when the kernel counts a new chart.
  // Not for the engine's own overlays (the readout, a title, NaN marks): a readout
  // redrawn at each move of the mouse would lay out a 500-key board each frame.
  const overlay = ".ht-readout, .ht-head, .ht-bad";
  const ours = (node) => node instanceof Element && (node.matches(overlay) || !!node.closest(overlay));
  const moved = (record) => ours(record.target) || [...record.addedNodes, ...record.removedNodes].every(ours);
  const watcher = new MutationObserver((records) => records.every(moved) || soon());
  let frames = 0;
  let waiting = 0;
  const attach = () => {
    const root = board();
    if (root) return watcher.observe(root, { childList: true, subtree: true }), apply();
    if (++frames < ATTACH_FRAMES) waiting = requestAnimationFrame(attach);
  };
  attach();
  // At once, not at the next frame: the engine draws the charts shown by it next.
  if (engine) (engine.layouts.add(apply), engine.heads.add(noted));
  return () => {
    page.removeEventListener("click", onClick);
    watcher.disconnect();
    if (sight) sight.disconnect();
    cancelAnimationFrame(waiting);
    if (engine) (engine.layouts.delete(apply), engine.heads.delete(noted), engine.forget(view));
  };
}

/** The index of the chart a board element stands for (its `ht-i-<index>` class). */
function chartIndex(el) {
  const name = [...el.classList].find((c) => c.startsWith("ht-i-"));
  return name === undefined ? undefined : +name.slice(5);
}

/** In each grid of a board, a placeholder for every chart not built yet (the kernel
 *  builds a chart once it comes near the view), and the charts in key order. */
function holdPlaces(root, refs, keys) {
  const ours = (el) => el.closest(".ht-board") === root;
  const grids = new Map(); // class -> grid element
  for (const grid of root.querySelectorAll(".ht-grid")) {
    if (!ours(grid)) continue;
    const name = [...grid.classList].find((c) => c.startsWith("ht-s-"));
    if (name) grids.set(name, grid);
  }
  const places = new Map(); // chart index -> its placeholder
  for (const place of root.querySelectorAll(".ht-placeholder")) if (ours(place)) places.set(chartIndex(place), place);
  refs.forEach((ref, index) => {
    const grid = ref && grids.get(ref.grid);
    if (!grid) return;
    const place = places.get(index);
    if (ref.figure && place) place.remove();
    if (ref.figure || place) return;
    const made = document.createElement("div");
    made.className = `ht-chart ht-placeholder ht-i-${index}`;
    made.textContent = keys[index] || "";
    grid.append(made);
  });
  // A chart's figure joins its grid wherever its widget lands: put each in key order.
  for (const grid of grids.values()) {
    const charts = [...grid.children].filter((el) => el.classList.contains("ht-chart"));
    if (!charts.some((el, k) => k > 0 && chartIndex(el) < chartIndex(charts[k - 1]))) continue;
    charts.sort((a, b) => chartIndex(a) - chartIndex(b));
    charts.forEach((el, k) => {
      if (grid.children[k] !== el) grid.insertBefore(el, grid.children[k] || null);
    });
  }
}

/** The nearest ancestor of `el` that scrolls its content (JupyterLab's notebook
 *  panel), or null (the window). Boxes that could scroll but hold all their content
 *  (ipywidgets' boxes are overflow: auto) are passed over. */
function scrollerOf(el) {
  for (let node = el.parentElement; node && node !== el.ownerDocument.body; node = node.parentElement) {
    const { overflowY } = getComputedStyle(node);
    if ((overflowY === "auto" || overflowY === "scroll") && node.scrollHeight > node.clientHeight + 1) return node;
  }
  return null;
}

/** Puts chart `key`'s title and note on a figure, in place of bqplot's title: the
 *  name on one line, cut with an ellipsis where the chart is too narrow for it (the
 *  whole of it on hover), and the note in smaller type under it. */
function decorate(figure, key, note) {
  let head = figure.querySelector(":scope > .ht-head");
  if (!head) {
    head = element("div", { className: "ht-head" }, [element("div", { className: "ht-name" }), element("div", { className: "ht-drawn" })]);
    figure.style.position = "relative";
    figure.classList.add("ht-headed");
    figure.append(head);
  }
  const [name, drawn] = head.children;
  if (name.textContent !== key) (name.textContent = key), (name.title = key);
  if (drawn.textContent !== note) drawn.textContent = note;
}

/** Marks where a chart's NaN and infinities are, which a line cannot draw: a tick
 *  of the run's colour on the plot's bottom edge, one per 1/1000 of its width that
 *  has any. Placed in fractions of the plot (see .ht-bad), not in measured pixels:
 *  a figure may not be laid out yet when its chart is drawn. */
function markBad(figure, { domain, lines }) {
  let layer = figure.querySelector(":scope > .ht-bad");
  if (!lines.length || domain.length !== 2 || !(domain[1] > domain[0])) {
    if (layer) layer.remove();
    return;
  }
  if (!layer) {
    layer = element("div", { className: "ht-bad", "data-testid": "non-finite" });
    figure.append(layer);
  }
  const places = [];
  for (const { xs, color } of lines) {
    const seen = new Set();
    for (const x of xs) {
      const at = Math.round(((x - domain[0]) / (domain[1] - domain[0])) * 1000);
      if (at < 0 || at > 1000 || seen.has(at)) continue;
      seen.add(at);
      places.push([at, color]);
    }
  }
  // Only when they moved: the board's layout watches its elements change.
  const said = JSON.stringify(places);
  if (layer.dataset.places === said) return;
  layer.dataset.places = said;
  layer.replaceChildren(
    ...places.map(([at, color]) => {
      const tick = element("span", { className: "ht-mark" });
      tick.style.left = `calc(${at / 10}% - 1px)`;
      tick.style.background = color;
      return tick;
    })
  );
}

// How long the readout waits for the kernel's logged value before it says the
// drawn one is all there is (a saved notebook reopened without a kernel).
const ASK_PATIENCE = 2000;

/** The value under the cursor: the point logged nearest the cursor's x, looked up
 *  by the kernel from every stored point (the drawn ones are a bucket's extremes),
 *  and the smoothed line there; meanwhile, and where no kernel answers, the mean of
 *  the drawn bucket there. One row per run, sorted by value, in a tooltip beside
 *  the cursor and below the title. A double click resets the chart's zoom. */
function readouts(model, el) {
  const engine = () => engines.get(model.get("uid"));
  let asks = 0;
  let pending = null; // the question asked of the kernel and not answered yet
  let next = null; // the question to ask once it answers
  let place = null; // where the cursor is: {figure, index, x, axis, left, top}
  let silent = false; // no kernel answered within ASK_PATIENCE

  const ask = (question) => {
    if (pending) return void (next = question);
    pending = { ...question, ask: ++asks, at: performance.now() };
    try {
      model.send({ kind: "at", chart: question.index, x: question.kernelX, axis: question.axis, ask: pending.ask });
    } catch (err) {
      pending = null; // no kernel: the drawn values are all there is
      silent = true;
    }
    const asked = pending;
    setTimeout(() => {
      if (pending !== asked) return;
      pending = null;
      silent = true;
      if (place) show(place, null);
    }, ASK_PATIENCE);
  };

  const onAnswer = (message) => {
    if (!message || message.kind !== "at" || !pending || message.ask !== pending.ask) return;
    const answered = pending;
    pending = null;
    silent = false;
    if (place && place.index === answered.index && place.kernelX === answered.kernelX) show(place, message.rows || []);
    if (next) {
      const question = next;
      next = null;
      ask(question);
    }
  };
  model.on("msg:custom", onAnswer);

  /** The readout of `where`: the kernel's rows if it answered, else the drawn means. */
  const show = (where, rows) => {
    const e = engine();
    const chart = e && e.charts[where.index];
    if (!chart || !chart.lines) return;
    const names = model.get("names") || [];
    const labels = model.get("labels") || [];
    const byRun = model.get("toggle_by") === "run";
    const mode = e.xMode(where.index);
    const shownRows = [];
    let at = null;
    chart.lines.forEach(({ raw }, run) => {
      const p = (e.points[where.index] || [])[run];
      if (!p || !p.y.length || !e.shown(where.index, run) || e.masked(run)) return;
      const answered = rows && rows.find((r) => r.run === run);
      if (rows && !answered) return;
      let x;
      let value;
      let text;
      if (answered) {
        x = mode === "step" ? answered.step : mode === "wall" ? (p.created + answered.t) * 1000 : answered.t;
        value = answered.value;
        text = answered.value === null ? answered.text : formatNumber(answered.value);
      } else {
        // The drawn bucket's mean: what the line stands for there, not its extreme.
        const xs = e.xValues(where.index, run, "m");
        const i = nearest(xs, where.x);
        x = xs[i];
        value = p.my[i];
        text = (p.mc[i] > 1 ? "≈ " : "") + formatNumber(value);
      }
      at = at ?? x;
      const smooth = (e.smoothed[where.index] || [])[run];
      const smoothed = smooth && chart.kind !== "bool" ? smooth.ys[nearest(smooth.xs, x)] : null;
      shownRows.push({ run, value, text, smoothed, color: (raw.get("colors") || [])[0] || "currentColor" });
    });
    if (at === null) return hide(where.figure);
    if (byRun) shownRows.sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity));
    let readout = where.figure.querySelector(":scope > .ht-readout");
    if (!readout) {
      readout = element("div", { className: "ht-readout" });
      where.figure.style.position = "relative";
      where.figure.append(readout);
    }
    const label = mode === "wall" ? new Date(at).toLocaleTimeString() : mode === "step" ? `step ${formatNumber(at)}` : `t ${formatDuration(at, 0.1)}`;
    readout.replaceChildren(
      element("div", { className: "ht-at" }, [label + (!rows && !silent ? " …" : "")]),
      ...shownRows.map((row) => {
        const swatch = element("span", { className: "ht-swatch" });
        swatch.style.background = row.color;
        const parts = [swatch];
        if (byRun) parts.push(element("span", { className: "ht-who" }, [labels[row.run] || names[row.run] || ""]));
        parts.push(element("span", { className: "ht-value" }, [row.text]));
        if (row.smoothed != null) parts.push(element("span", { className: "ht-smoothed" }, [`smoothed ${formatNumber(row.smoothed)}`]));
        return element("div", { className: "ht-row" }, parts);
      })
    );
    // Beside the cursor, on the side with more room, below the title.
    const right = where.left > where.figure.clientWidth * 0.6;
    readout.style.left = right ? "" : `${where.left + 14}px`;
    readout.style.right = right ? `${where.figure.clientWidth - where.left + 14}px` : "";
    readout.style.top = "40px";
  };

  const hide = (figure) => {
    const readout = figure && figure.querySelector(":scope > .ht-readout");
    if (readout) readout.remove();
  };

  const figureAt = (event) => {
    const figure = event.target.closest && event.target.closest(".ht-chart");
    if (!figure || figure.closest(".ht-board") !== el.closest(".ht-board")) return null;
    return figure.classList.contains("ht-placeholder") ? null : figure;
  };

  const onMove = (event) => {
    const e = engine();
    const figure = figureAt(event);
    if (!figure) return;
    const index = chartIndex(figure);
    const chart = e && e.charts[index];
    const area = figure.querySelector(".plotarea_events") || figure.querySelector("svg");
    if (!chart || !chart.lines || !area) return;
    const box = area.getBoundingClientRect();
    const mode = e.xMode(index);
    const scale = mode === "wall" ? chart.date_scale : chart.x_scale;
    const domain = (scale.domain || []).map(Number);
    if (domain.length !== 2 || box.width <= 0) return;
    const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
    const x = domain[0] + fraction * (domain[1] - domain[0]);
    // The kernel's x: a step, seconds since each run began, or since the epoch.
    const axis = mode === "step" ? "step" : mode === "relative" ? "time" : "wall";
    const kernelX = mode === "wall" ? x / 1000 : x;
    const frame = figure.getBoundingClientRect();
    place = { figure, index, x, axis, kernelX, left: event.clientX - frame.left, top: event.clientY - frame.top };
    show(place, null);
    ask(place);
  };

  const onLeave = (event) => {
    const figure = figureAt(event);
    if (!figure || (event.relatedTarget instanceof Node && figure.contains(event.relatedTarget))) return;
    place = null;
    next = null;
    hide(figure);
  };

  const onDouble = (event) => {
    const figure = figureAt(event);
    const e = engine();
    if (figure && e) e.resetZoom(chartIndex(figure));
  };
  // Listen on the document, not the board: the view may join the page late, or
  // never, and then nothing waits for it. Events of other boards are left alone.
  const mine = (event) => {
    const board = el.closest(".ht-board");
    return board !== null && event.target instanceof Node && board.contains(event.target);
  };
  const moved = (event) => mine(event) && onMove(event);
  const left = (event) => mine(event) && onLeave(event);
  const doubled = (event) => mine(event) && onDouble(event);
  const page = el.ownerDocument;
  page.addEventListener("mousemove", moved);
  page.addEventListener("mouseout", left);
  page.addEventListener("dblclick", doubled);
  return () => {
    model.off("msg:custom", onAnswer);
    page.removeEventListener("mousemove", moved);
    page.removeEventListener("mouseout", left);
    page.removeEventListener("dblclick", doubled);
  };
}

/** A drag across a chart's plot zooms its x axis to the span dragged over, drawn as a
 *  shaded box as it goes (as TensorBoard's and W&B's do); with shift held a drag pans.
 *  The wheel zooms x around the cursor (bqplot's PanZoom, with its own pan off) and a
 *  double click resets. y fits what is in view either way (see draw). */
function dragZoom(model, el) {
  const engine = () => engines.get(model.get("uid"));
  let drag = null; // {figure, scale, wall, domain, left, width, from, to, pan, shade}

  const chartUnder = (event) => {
    const figure = event.target.closest && event.target.closest(".ht-chart");
    if (!figure || figure.closest(".ht-board") !== el.closest(".ht-board")) return null;
    if (figure.classList.contains("ht-placeholder")) return null;
    const area = figure.querySelector(".plotarea_events");
    const box = area && area.getBoundingClientRect();
    if (!box || box.width <= 0) return null;
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    return inside ? { figure, box } : null;
  };

  const onDown = (event) => {
    const e = engine();
    const under = event.button === 0 && chartUnder(event);
    const index = under && chartIndex(under.figure);
    const chart = under && e && e.charts[index];
    if (!chart || !chart.x_scale) return;
    const wall = e.xMode(index) === "wall";
    const scale = wall ? chart.date_scale : chart.x_scale;
    const domain = (scale.domain || []).map(Number);
    if (domain.length !== 2 || !(domain[1] > domain[0])) return;
    event.preventDefault(); // no text selection while dragging
    drag = { figure: under.figure, scale, wall, domain, left: under.box.left, width: under.box.width, from: event.clientX, to: event.clientX, pan: event.shiftKey, shade: null };
  };

  /** The x value at `clientX`, clamped to the plot. */
  const valueAt = (clientX) => {
    const share = Math.min(Math.max((clientX - drag.left) / drag.width, 0), 1);
    return drag.domain[0] + share * (drag.domain[1] - drag.domain[0]);
  };

  const setRange = (low, high) => {
    const value = (v) => (drag.wall ? new Date(v) : v);
    drag.scale.set({ min: value(low), max: value(high) });
    drag.scale.save_changes(); // scales are never streamed into: saving is safe
  };

  const onMove = (event) => {
    if (!drag) return;
    drag.to = event.clientX;
    if (drag.pan) {
      const shift = ((drag.to - drag.from) / drag.width) * (drag.domain[1] - drag.domain[0]);
      return void setRange(drag.domain[0] - shift, drag.domain[1] - shift);
    }
    if (!drag.shade) {
      drag.shade = element("div", { className: "ht-zoombox" });
      drag.figure.style.position = "relative";
      drag.figure.classList.add("ht-dragging"); // hides the readout (see engine.py's CSS)
      drag.figure.append(drag.shade);
    }
    const frame = drag.figure.getBoundingClientRect();
    const [a, b] = [drag.from, drag.to].map((x) => Math.min(Math.max(x, drag.left), drag.left + drag.width));
    drag.shade.style.left = `${Math.min(a, b) - frame.left}px`;
    drag.shade.style.width = `${Math.abs(a - b)}px`;
  };

  const end = (keep) => {
    if (!drag) return;
    const done = drag;
    if (done.shade) done.shade.remove();
    done.figure.classList.remove("ht-dragging");
    // A click, or a drag of a few pixels, is not a zoom.
    if (keep && !done.pan && Math.abs(done.to - done.from) >= 5) {
      const [low, high] = [valueAt(done.from), valueAt(done.to)].sort((p, q) => p - q);
      if (high > low) setRange(low, high);
    }
    drag = null;
  };
  const onUp = () => end(true);
  const onKey = (event) => event.key === "Escape" && end(false);

  // Listened for on the window as they go down the page (capture), before bqplot's
  // figure sees them and before d3's drag stops them there.
  const page = el.ownerDocument.defaultView;
  page.addEventListener("mousedown", onDown, true);
  page.addEventListener("mousemove", onMove, true);
  page.addEventListener("mouseup", onUp, true);
  page.addEventListener("keydown", onKey);
  return () => {
    end(false);
    page.removeEventListener("mousedown", onDown, true);
    page.removeEventListener("mousemove", onMove, true);
    page.removeEventListener("mouseup", onUp, true);
    page.removeEventListener("keydown", onKey);
  };
}

function render({ model, el }) {
  el.append(controls(model));
  const stopReadouts = readouts(model, el);
  const stopZoom = dragZoom(model, el);
  const stopSections = sections(model, el);
  return () => (stopReadouts(), stopZoom(), stopSections());
}

export default { initialize, render };

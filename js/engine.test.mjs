// Tests of the pure helpers of engine.js, run with `node --test js/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyData,
  clamped,
  decode,
  ema,
  encode,
  finite,
  keyMatcher,
  nearest,
  padded,
  picked,
  sectionOf,
  strided,
  thinned,
  yRange,
} from "./engine.js";
import { durationTicks, formatDuration, formatNumber, niceTicks, tickFormat } from "./ticks.js";

test("ema matches TensorBoard's debiased formula", () => {
  const got = ema(Float32Array.from([1, 2, 3]), 0.5);
  const want = [1, 1.25 / 0.75, 2.125 / 0.875];
  got.forEach((value, i) => assert.ok(Math.abs(value - want[i]) < 1e-12));
});

test("ema passes non-finite values through and skips them", () => {
  const got = ema([1, NaN, 3, Infinity], 0.5);
  assert.equal(got[0], 1);
  assert.ok(Number.isNaN(got[1]));
  assert.ok(Math.abs(got[2] - (0.5 * 0.5 + 0.5 * 3) / 0.75) < 1e-12);
  assert.equal(got[3], Infinity);
});

test("ema leaves a constant series and weight 0 alone", () => {
  assert.deepEqual([...ema([4, 4, 4], 0.9)], [4, 4, 4]);
  assert.deepEqual([...ema([1, 2], 0)], [1, 2]);
});

test("ema spaced in drawn points smooths a long line visibly and leaves a short one honest", () => {
  // 200 k points drawn as 1,000 bucket means, 500 units wide: 0.99 per unit is a
  // window of about 100 units, 0.6 one of about 2.
  const n = 1000;
  const xs = Float64Array.from({ length: n }, (_, i) => i * 200);
  const ys = Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1));
  const unit = (xs[n - 1] - xs[0]) / 500;
  const wiggle = (values) => values.slice(n / 2).reduce((sum, v, i, a) => sum + (i ? Math.abs(v - a[i - 1]) : 0), 0);
  const light = wiggle(ema(ys, 0.6, xs, unit));
  const heavy = wiggle(ema(ys, 0.99, xs, unit));
  assert.ok(heavy < 0.1 * light, `0.99 leaves ${heavy} of the wiggle, 0.6 ${light}`);
  // The same curve, twice as dense, smooths to about the same line.
  const dense = Float64Array.from({ length: 2 * n }, (_, i) => i * 100);
  const sine = (x) => Math.sin(x / 20000);
  const sparse = ema(xs.map(sine), 0.95, xs, unit);
  const twice = ema(dense.map(sine), 0.95, dense, unit);
  assert.ok(Math.abs(sparse[n - 1] - twice[2 * n - 1]) < 0.02, `${sparse[n - 1]} vs ${twice[2 * n - 1]}`);
  // Ten points across 500 units: at 0.6 the last smoothed point is the last value, nearly.
  const squares = [0, 1, 4, 9, 16, 25, 36, 49, 64, 81];
  const steps = squares.map((_, i) => i);
  const short = ema(squares, 0.6, steps, 9 / 500);
  assert.ok(Math.abs(short[9] - 81) < 0.01, `the line ends at ${short[9]}`);
  // Points of one step (gradient accumulation) still move it.
  const repeated = ema([1, 5, 5, 5], 0.9, [0, 1, 1, 1], 1 / 500);
  assert.ok(repeated[3] > repeated[1] - 1e-9 && repeated[3] > 4.9);
});

test("yRange fits what is in view, or its bulk with outliers ignored", () => {
  const xs = Float64Array.from({ length: 1000 }, (_, i) => i);
  const ys = Float64Array.from({ length: 1000 }, (_, i) => (i === 500 ? 40 : i === 501 ? NaN : 0.3 + (i % 10) / 100));
  assert.deepEqual(yRange([{ xs, ys }], 600, 700, false), [0.3, 0.39]);
  assert.deepEqual(yRange([{ xs, ys }], null, null, false), [0.3, 40]);
  const [low, high] = yRange([{ xs, ys }], null, null, true);
  assert.ok(low === 0.3 && high < 0.4, `${low}..${high}`);
  assert.equal(yRange([{ xs, ys }], 2000, 3000, false), null);
  assert.deepEqual([...clamped([0, 0.5, 40, NaN], 0.3, 0.39)], [0.3, 0.39, 0.39, NaN]);
  const [a, b] = padded([0.3, 0.4], false);
  assert.ok(a < 0.3 && b > 0.4 && b - a < 0.12);
  const [c, d] = padded([1, 1000], true);
  assert.ok(c > 0 && c < 1 && d > 1000);
});

test("niceTicks are a few round values; tickFormat writes thousands as 5.8k", () => {
  assert.deepEqual(niceTicks(-19.49, 20018, 4), [0, 5000, 10000, 15000, 20000]);
  assert.deepEqual(niceTicks(0.0, 1.0, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-0.05, 0.95, 5), [0, 0.2, 0.4, 0.6, 0.8]);
  for (const [low, high, count] of [[0, 1e9, 6], [0.001, 0.0013, 5], [-3, 7, 8], [12, 13, 2]]) {
    const ticks = niceTicks(low, high, count);
    assert.ok(ticks.length >= 1 && ticks.length <= 1.5 * count + 1, `${low}..${high}: ${ticks}`);
    assert.ok(ticks.every((t) => t >= low && t <= high));
  }
  assert.deepEqual(niceTicks(3, 3, 5), [3]);
  assert.equal(tickFormat(5000, 6600), ".3~s");
  assert.equal(tickFormat(0, 0.9), ".3~g");
  assert.equal(tickFormat(-2000, 10), ".3~s");
});

test("relative time ticks are round durations, labelled as clocks", () => {
  const clocks = (low, high, count) => {
    const ticks = durationTicks(low, high, count);
    return ticks.map((t) => formatDuration(t, ticks[1] - ticks[0]));
  };
  assert.deepEqual(clocks(0, 95, 5), ["0:00", "0:15", "0:30", "0:45", "1:00", "1:15", "1:30"]);
  assert.deepEqual(clocks(0, 4000, 5), ["0:00", "10:00", "20:00", "30:00", "40:00", "50:00", "1:00:00"]);
  assert.deepEqual(clocks(3600, 3700, 4), ["1:00:00", "1:00:30", "1:01:00", "1:01:30"]);
  assert.deepEqual(clocks(0, 2.5, 5), ["0:00.0", "0:00.5", "0:01.0", "0:01.5", "0:02.0", "0:02.5"]);
  assert.deepEqual(clocks(0, 3 * 86400, 3), ["0:00", "1d 0:00:00", "2d 0:00:00", "3d 0:00:00"]);
  for (const [low, high] of [[0, 1], [0, 59], [7, 7200], [0, 1e6], [-30, 30]]) {
    const ticks = durationTicks(low, high, 6);
    assert.ok(ticks.length >= 2 && ticks.length <= 10, `${low}..${high}: ${ticks}`);
    assert.ok(ticks.every((t) => t >= low && t <= high), `${low}..${high}: ${ticks}`);
  }
  assert.equal(formatDuration(-65), "-1:05");
  assert.equal(formatDuration(59.6), "1:00"); // rounded before it is split, never "0:60"
  assert.equal(formatDuration(NaN), "NaN");
});

test("finite makes infinities gaps and leaves finite lines as they are", () => {
  const plain = Float32Array.from([1, NaN, 3]);
  assert.equal(finite(plain), plain);
  assert.deepEqual([...finite([1, Infinity, -Infinity, 2])], [1, NaN, NaN, 2]);
});

test("decode turns DataViews into typed arrays, even at odd offsets", () => {
  const x = new Float64Array([1, 2, 3]);
  const shifted = new Uint8Array(25);
  shifted.set(new Uint8Array(x.buffer), 1);
  const p = decode({ x: new DataView(shifted.buffer, 1, 24), y: new DataView(new Float32Array([5, 6, 7]).buffer), size: 4, timed: true });
  assert.deepEqual([...p.x], [1, 2, 3]);
  assert.deepEqual([...p.y], [5, 6, 7]);
  assert.equal(p.size, 4);
  assert.equal(p.timed, true);
  assert.equal(p.t.length, 0);
});

test("nearest finds the closest x, sorted or not", () => {
  assert.equal(nearest([0, 10, 20, 30], 14), 1);
  assert.equal(nearest([30, 0, 20, 10], 26), 0);
});

test("formatNumber reads like a person writes", () => {
  assert.equal(formatNumber(12345), "12,345");
  assert.equal(formatNumber(0.03125), "0.03125");
  assert.equal(formatNumber(1.23456789e-7), "1.235e-7");
  assert.equal(formatNumber(NaN), "NaN");
});

test("decode reads each column as float64 where the kernel says it sent that", () => {
  const f32 = (values) => new DataView(new Float32Array(values).buffer);
  const f64 = (values) => new DataView(new Float64Array(values).buffer);
  const exact = decode({ x: f32([1, 2]), y: f64([123456789, 3.5e38]), mx: f32([2]), my: f32([0.5]), wide: ["y"] });
  assert.deepEqual([...exact.x], [1, 2]);
  assert.deepEqual([...exact.y], [123456789, 3.5e38]);
  assert.ok(exact.y instanceof Float64Array && exact.x instanceof Float32Array);
  const steps = decode({ x: f64([1e12, 2e12]), y: f32([5, 6]), mx: f64([2e12]), my: f32([5.5]), wide: ["x", "mx"] });
  assert.deepEqual([...steps.x], [1e12, 2e12]);
  assert.deepEqual([...steps.mx], [2e12]);
  assert.ok(steps.y instanceof Float32Array);
});

test("payloads saved before columns were flagged: steps told by their size", () => {
  const y = new DataView(new Float32Array([5, 6]).buffer);
  const narrow = decode({ x: new DataView(new Float32Array([1, 2]).buffer), y });
  const wide = decode({ x: new DataView(new Float64Array([1e12, 2e12]).buffer), y });
  assert.deepEqual([...narrow.x], [1, 2]);
  assert.deepEqual([...wide.x], [1e12, 2e12]);
});

test("a delta replaces the lines it holds; a full message drops the lines it lacks", () => {
  const line = (y) => ({ x: new DataView(new Float32Array([0]).buffer), y: new DataView(new Float32Array([y]).buffer), wide: [] });
  const points = [];
  assert.equal(applyData(points, { full: true, lines: { "0/0": line(1), "0/1": line(2), "1/1": line(3) } }), null);
  assert.deepEqual([points[0][0].y[0], points[0][1].y[0], points[1][1].y[0]], [1, 2, 3]);
  const touched = applyData(points, { lines: { "1/1": line(4) } });
  assert.deepEqual([...touched], [1]);
  assert.equal(points[1][1].y[0], 4);
  assert.equal(points[0][1].y[0], 2); // untouched lines stay
  // Another run in slot 1 that has no chart 1: its slot must be drawn empty.
  assert.equal(applyData(points, { full: true, lines: { "0/0": line(5), "0/1": line(6) } }), null);
  assert.equal(points[1], undefined);
  assert.deepEqual([points[0][0].y[0], points[0][1].y[0]], [5, 6]);
});

test("a held line encodes as a whole line that decodes to the same points, each column in a buffer of its own", () => {
  // What a saved notebook keeps: the line as spliced from a first send and a delta.
  const f32 = (v) => new DataView(new Float32Array(v).buffer);
  const f64 = (v) => new DataView(new Float64Array(v).buffer);
  const points = [];
  applyData(points, { lines: { "0/0": { x: f32([0, 1, 2]), t: f32([0, 1, 2]), y: f64([1, 123456789, 3]), mx: f32([1]), mt: f32([1]), ms: f32([4]), mc: f32([2]), wide: ["y"], size: 2, total: 3, window: 3, created: 50 } } });
  applyData(points, { lines: { "0/0": { x: f32([2, 3]), t: f32([2, 3]), y: f64([3, 4]), mx: f32([3]), mt: f32([3]), ms: f32([7]), mc: f32([2]), wide: ["y"], from: 2, mfrom: 1, size: 2, total: 4, window: 4, created: 50 } } });
  const whole = encode(points[0][0]);
  assert.deepEqual(whole.wide, ["y", "ms"]); // sums are added in float64; counts fit float32
  assert.deepEqual([whole.from, whole.mfrom, whole.size, whole.total, whole.created], [0, 0, 2, 4, 50]);
  for (const name of ["x", "t", "y", "mx", "mt", "ms", "mc"]) {
    assert.equal(whole[name].byteLength, whole[name].buffer.byteLength, name);
  }
  // A reopened notebook hands the saved buffers back as DataViews.
  const saved = { ...whole };
  for (const name of ["x", "t", "y", "mx", "mt", "ms", "mc"]) saved[name] = new DataView(whole[name].buffer);
  const back = decode(saved);
  assert.deepEqual([...back.x], [0, 1, 2, 3]);
  assert.deepEqual([...back.y], [1, 123456789, 3, 4]);
  assert.deepEqual([...back.mx], [1, 3]);
  assert.deepEqual([...back.my], [2, 3.5]);
  // A notebook saved before sums were sent holds means: each counts as one point.
  const old = decode({ x: f32([0, 1]), y: f32([1, 3]), mx: f32([1]), my: f32([2]), wide: [] });
  assert.deepEqual([...old.my], [2]);
  // A column viewing part of a larger buffer is copied out, not saved with all of it.
  const big = new Float32Array([9, 9, 7, 8]);
  const part = encode({ ...points[0][0], x: big.subarray(2) });
  assert.equal(part.x.buffer.byteLength, 8);
  assert.deepEqual([...part.x], [7, 8]);
});

test("the key filter is a case-insensitive regular expression, or plain text when not one", () => {
  const keys = ["train/loss", "val/loss", "val/acc", "grad_norm/layer.0", "lr", "ema(loss"];
  assert.deepEqual(keys.filter(keyMatcher("").test), keys);
  assert.equal(keyMatcher("  ").active, false);
  assert.deepEqual(keys.filter(keyMatcher("LOSS").test), ["train/loss", "val/loss", "ema(loss"]);
  assert.deepEqual(keys.filter(keyMatcher("^val/").test), ["val/loss", "val/acc"]);
  assert.deepEqual(keys.filter(keyMatcher("acc|^lr$").test), ["val/acc", "lr"]);
  const broken = keyMatcher("layer.0(");
  assert.equal(broken.literal, true);
  assert.deepEqual(keys.filter(broken.test), []);
  assert.deepEqual(keys.filter(keyMatcher("layer.0[").test), []);
  assert.deepEqual(keys.filter(keyMatcher("EMA(").test), ["ema(loss"]);
  assert.deepEqual(keys.filter(keyMatcher("norm/layer.0").test), ["grad_norm/layer.0"]);
});

test("a key's section is the part before its first slash", () => {
  assert.equal(sectionOf("train/loss"), "train");
  assert.equal(sectionOf("train/loss/ema"), "train");
  assert.equal(sectionOf("lr"), "");
  assert.equal(sectionOf("/odd"), "");
});

test("applyData keeps what a line held before its `from` and replaces the rest", () => {
  const points = [];
  const f32 = (...values) => new DataView(Float32Array.from(values).buffer);
  applyData(points, { rev: 1, full: true, lines: { "0/0": { x: f32(0, 1, 2), y: f32(5, 6, 7), mx: f32(1), my: f32(6), wide: [] } } });
  const touched = applyData(points, {
    rev: 2,
    lines: { "0/0": { x: f32(2, 3, 4), y: f32(8, 9, 10), from: 2, mx: f32(3), my: f32(9), mfrom: 1, wide: [] } },
  });
  assert.deepEqual([...touched], [0]);
  assert.deepEqual([...points[0][0].x], [0, 1, 2, 3, 4]);
  assert.deepEqual([...points[0][0].y], [5, 6, 8, 9, 10]);
  assert.deepEqual([...points[0][0].mx], [1, 3]);
  assert.deepEqual([...points[0][0].my], [6, 9]);
  // A line sent whole (after its buckets merged) replaces everything.
  applyData(points, { rev: 3, lines: { "0/0": { x: f32(0, 4), y: f32(5, 10), mx: f32(4), my: f32(7), wide: [] } } });
  assert.deepEqual([...points[0][0].x], [0, 4]);
});

test("thinned keeps each run's lowest and highest value, in order, and both ends", () => {
  const y = Float32Array.from({ length: 1000 }, (_, i) => (i === 637 ? 50 : Math.sin(i / 40)));
  const kept = thinned(y, 100);
  assert.ok(kept.length <= 102 && kept.length >= 50, `${kept.length} points`);
  assert.ok(kept.includes(637)); // the spike
  assert.equal(kept[0], 0); // the line starts and ends where the data does
  assert.equal(kept[kept.length - 1], 999);
  for (let k = 1; k < kept.length; k++) assert.ok(kept[k] > kept[k - 1]); // in the order logged
  const line = picked(y, kept);
  assert.equal(Math.max(...line), 50);
  assert.ok(Math.abs(Math.min(...line) - Math.min(...y)) < 1e-6);
});

test("thinned leaves a short line alone, skips NaN and keeps an all-NaN run as a gap", () => {
  assert.equal(thinned(Float32Array.from([1, 2, 3]), 100), null);
  assert.equal(thinned(Float32Array.from({ length: 500 }, (_, i) => i), 0), null); // width unknown
  const y = Float32Array.from({ length: 40 }, (_, i) => (i < 10 ? NaN : i === 25 ? NaN : i));
  const kept = thinned(y, 8); // 4 runs of 10
  assert.deepEqual(kept, [0, 10, 19, 20, 29, 30, 39]);
  assert.ok(Number.isNaN(y[kept[0]]));
});

test("strided keeps the last point, and picked keeps a date axis's marker", () => {
  const kept = strided(10, 4);
  assert.deepEqual(kept, [0, 2, 5, 9]);
  assert.equal(strided(3, 4), null);
  const dates = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  dates.type = "date";
  const out = picked(dates, kept);
  assert.deepEqual([...out], [1, 3, 6, 10]);
  assert.equal(out.type, "date");
  assert.equal(picked(dates, null), dates);
});

test("after the kernel's buckets merged, a line keeps the held points still extremes and merges the held sums", () => {
  const f32 = (...v) => new DataView(Float32Array.from(v).buffer);
  const points = [];
  // Buckets of 1 point: five points, four whole buckets and the last point's.
  applyData(points, { rev: 1, full: true, lines: { "0/0": { x: f32(0, 1, 2, 3, 4), y: f32(5, 1, 7, 2, 9), mx: f32(0, 1, 2, 3, 4), ms: f32(5, 1, 7, 2, 9), mc: f32(1, 1, 1, 1, 1), size: 1, wide: [] } } });
  // Now buckets of 4: points 0 (first), 1 and 2 (the extremes of 0-3) stay, 3 goes.
  const keep = new DataView(Uint8Array.from([0b0111]).buffer);
  applyData(points, {
    rev: 2,
    lines: { "0/0": { x: f32(4, 8), y: f32(9, 0), mx: f32(8), ms: f32(11), mc: f32(2), from: 3, mfrom: 1, size: 4, keep, wide: [] } },
  });
  const line = points[0][0];
  assert.deepEqual([...line.x], [0, 1, 2, 4, 8]);
  assert.deepEqual([...line.y], [5, 1, 7, 9, 0]);
  // 5+1 and 7+2 merged, then those two: one bucket of four (15 over 4), then the new one.
  assert.deepEqual([...line.ms], [15, 11]);
  assert.deepEqual([...line.mc], [4, 2]);
  assert.deepEqual([...line.mx], [3, 8]);
  assert.deepEqual([...line.my], [3.75, 5.5]);
  assert.equal(line.size, 4);
});

// Tests of the pure helpers of compare.js, run with `node --test js/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cell, filterRows, formatValue, sameNote, scaleOf, sortRows, spansDecades, spread } from "./compare.js";

const rows = [
  { name: "a", status: "finished", points: 10, params: { lr: 0.1, opt: "sgd" }, metrics: { loss: { last: 0.5, min: 0.4, max: 1 } } },
  { name: "b", status: "running", points: 30, params: { lr: 0.01, opt: "adam" }, metrics: { loss: { last: 0.2, min: 0.2, max: 1 } } },
  { name: "c", status: "crashed", points: 20, params: { lr: 0.001 }, metrics: {} },
];

test("filter matches text anywhere and name=value exactly", () => {
  assert.deepEqual(filterRows(rows, "adam").map((r) => r.name), ["b"]);
  assert.deepEqual(filterRows(rows, "lr=0.1").map((r) => r.name), ["a"]);
  assert.deepEqual(filterRows(rows, "status=crashed").map((r) => r.name), ["c"]);
  assert.deepEqual(filterRows(rows, "opt=sgd lr=0.01").map((r) => r.name), []);
  assert.deepEqual(filterRows(rows, "  ").map((r) => r.name), ["a", "b", "c"]);
});

test("cells read fields, params and metric summaries", () => {
  assert.equal(cell(rows[0], "points"), 10);
  assert.equal(cell(rows[0], "p:lr"), 0.1);
  assert.equal(cell(rows[1], "m:loss/min"), 0.2);
  assert.equal(cell(rows[2], "m:loss/min"), undefined);
});

test("sorting is numeric, reversible, and puts missing values last", () => {
  assert.deepEqual(sortRows(rows, "points", false).map((r) => r.name), ["a", "c", "b"]);
  assert.deepEqual(sortRows(rows, "points", true).map((r) => r.name), ["b", "c", "a"]);
  assert.deepEqual(sortRows(rows, "m:loss/last", false).map((r) => r.name), ["b", "a", "c"]);
  assert.deepEqual(sortRows(rows, "m:loss/last", true).map((r) => r.name), ["a", "b", "c"]);
});

test("a parameter spanning more than a decade gets a log axis", () => {
  assert.equal(spansDecades([0.1, 0.01, 0.001]), true);
  assert.equal(spansDecades([1, 0.3, 0.03]), true);
  assert.equal(spansDecades([1, 2, 5]), false);
  assert.equal(spansDecades([0, 10, 1000]), false);
  const scale = scaleOf([0.001, 0.1], true);
  assert.ok(Math.abs(scale.at(0.01) - 0.5) < 1e-12);
  assert.deepEqual(scale.ticks.map((t) => t.label), ["0.001", "0.01", "0.1"]);
});

test("axes are padded so no point sits on the frame, with round ticks inside", () => {
  const scale = scaleOf([0.31, 0.92, 0.5], false, 5);
  assert.ok(scale.at(0.31) > 0.03 && scale.at(0.92) < 0.97, "the extremes are inside the frame");
  const values = scale.ticks.map((t) => +t.label);
  assert.ok(values.length >= 3 && values.length <= 8, `${values}`);
  assert.ok(scale.ticks.every((t) => t.at >= 0 && t.at <= 1));
  assert.deepEqual(scaleOf([5000, 20000], false, 4).ticks.map((t) => t.label).slice(0, 2), ["5k", "10k"]);
  // one value: centred, with a tick at it
  const single = scaleOf([0.5, 0.5]);
  assert.ok(Math.abs(single.at(0.5) - 0.5) < 1e-12);
  assert.ok(single.ticks.some((t) => t.label === "0.5"));
  assert.ok(Number.isNaN(single.at(undefined)));
});

test("categorical axes label each value in its own slot, and a brush keeps the slots it covers", () => {
  const scale = scaleOf(["sgd", "adam", "sgd", true]);
  assert.equal(scale.categorical, true);
  assert.deepEqual(scale.ticks.map((t) => t.label), ["sgd", "adam", "true"]);
  assert.deepEqual(scale.ticks.map((t) => +t.at.toFixed(3)), [0.167, 0.5, 0.833]);
  const lower = scale.between(0, 0.6);
  assert.deepEqual(["sgd", "adam", true, undefined].map(lower), [true, true, false, false]);
});

test("a brush on a numeric axis keeps the values it spans, on log axes too", () => {
  const scale = scaleOf([0.001, 0.01, 0.1, 1], true);
  const middle = scale.between(scale.at(0.005), scale.at(0.2));
  assert.deepEqual([0.001, 0.01, 0.1, 1, undefined].map(middle), [false, true, true, false, false]);
});

test("points at one spot are spread side by side and counted", () => {
  const out = spread([[100, 50], [102, 51], [100, 50], [300, 50]], 7);
  assert.deepEqual(out.map((p) => p[2]), [3, 3, 3, 1]);
  const xs = out.slice(0, 3).map((p) => p[0]);
  assert.equal(new Set(xs).size, 3, "each of the three shows");
  assert.deepEqual(out[3], [300, 50, 1]);
});

test("the params every run shares are one line", () => {
  assert.equal(sameNote({ steps: 3000, opt: "adam", wd: 0.0001 }), "same for all runs: steps=3000 · opt=adam · wd=0.0001");
  assert.equal(sameNote({}), "");
});

test("values are formatted for a table", () => {
  assert.equal(formatValue(12000), "12,000");
  assert.equal(formatValue(0.000123), "1.23e-4");
  assert.equal(formatValue(0.25), "0.25");
  assert.equal(formatValue(undefined), "");
});

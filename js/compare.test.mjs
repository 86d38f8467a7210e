// Tests of the pure helpers of compare.js, run with `node --test js/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { axisMap, cell, filterRows, formatValue, sortRows, spansDecades } from "./compare.js";

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
  const map = axisMap([0.001, 0.1], true);
  assert.ok(Math.abs(map(0.01) - 0.5) < 1e-12);
  assert.equal(axisMap(["sgd", "adam"], false)("adam"), 1);
});

test("values are formatted for a table", () => {
  assert.equal(formatValue(12000), "12,000");
  assert.equal(formatValue(0.000123), "1.23e-4");
  assert.equal(formatValue(0.25), "0.25");
  assert.equal(formatValue(undefined), "");
});

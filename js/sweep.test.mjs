// Tests of the pure helpers of sweep.js, run with `node --test js/`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { linePoints, sortRows, sortValue } from "./sweep.js";

const rows = [
  { number: 0, state: "complete", value: 0.5, step: 29, params: { lr: 0.1, opt: "sgd" } },
  { number: 1, state: "pruned", value: 3.2, step: 9, params: { lr: 0.01, opt: "adam" } },
  { number: 2, state: "running", value: null, step: 4, params: { lr: 0.001 } },
  { number: 3, state: "complete", value: 0.5, step: 29, params: { lr: 0.3, opt: "sgd" } },
];

test("rows sort by a field or a param", () => {
  assert.equal(sortValue(rows[0], "p:lr"), 0.1);
  assert.equal(sortValue(rows[1], "state"), "pruned");
  assert.deepEqual(sortRows(rows, "p:lr", false).map((r) => r.number), [2, 1, 0, 3]);
  assert.deepEqual(sortRows(rows, "p:lr", true).map((r) => r.number), [3, 0, 1, 2]);
});

test("missing values sort last either way, ties by trial number", () => {
  assert.deepEqual(sortRows(rows, "value", false).map((r) => r.number), [0, 3, 1, 2]);
  assert.deepEqual(sortRows(rows, "value", true).map((r) => r.number), [1, 0, 3, 2]);
  assert.deepEqual(sortRows(rows, "p:opt", false).map((r) => r.number), [1, 0, 3, 2]);
});

test("a line runs to its first axis without a value", () => {
  const xs = [10, 20, 30];
  assert.deepEqual(linePoints([1, 0, 0.5], xs, 5, 100), [[10, 5], [20, 105], [30, 55]]);
  assert.deepEqual(linePoints([0.25, null, 1], xs, 0, 100), [[10, 75]]);
  assert.deepEqual(linePoints([], xs, 0, 100), []);
});

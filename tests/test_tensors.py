"""Torch tensors: read at the call on the CPU, kept and converted per drain elsewhere.

A tensor on an accelerator is never read with .item() at the call (that would wait
for the GPU each step): the drain converts the tensors it holds together, one
transfer per device, and checks them then. That code does not depend on the device,
so the tests of it run on the CPU with no device counted as eager (the ``deferred``
fixture), as a GPU's tensors would be handled.
"""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch

import hypertuner
from hypertuner import _values


@pytest.fixture
def deferred(monkeypatch):
    """Handle CPU tensors as a GPU's are: kept at the call, converted at the drain."""
    monkeypatch.setattr(_values, "EAGER_DEVICES", frozenset())


@pytest.mark.parametrize("mode", ["eager", "deferred"])
def test_tensors_store_their_values_with_kinds_from_their_dtypes(mode, request):
    """float, int and bool tensors, 0-d or of one element, with or without a gradient,
    store their value, read at the call or at the drain; a bool tensor makes a bool key."""
    if mode == "deferred":
        request.getfixturevalue("deferred")
    weight = torch.tensor(2.0, requires_grad=True)
    logger = hypertuner.Logger()
    for step in range(4):
        logger.log(
            {
                "loss": weight * step,  # part of an autograd graph
                "f32": torch.tensor([0.5], dtype=torch.float32),
                "i64": torch.tensor([[step]], dtype=torch.int64),
                "flag": torch.tensor(step % 2 == 0),
                "plain": 1.0,
            },
            step,
        )
    logger.close()
    run = hypertuner.load(logger.path)
    assert run.kinds == {
        "loss": "number", "f32": "number", "i64": "number", "flag": "bool", "plain": "number",
    }  # fmt: skip
    assert run["loss"].values.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert run["f32"].values.tolist() == [0.5] * 4
    assert run["i64"].values.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert run["flag"].values.tolist() == [True, False, True, False]


def test_no_item_call_and_one_transfer_per_device_per_drain(monkeypatch, deferred):
    """Logging tensors never calls Tensor.item(); a drain of 1,000 calls stacks their
    tensors once for the one device they are on."""

    def no_item(self):
        raise AssertionError("Tensor.item() was called: that synchronises a GPU")

    stacks = []
    real_stack = torch.stack

    def counting_stack(tensors, *args, **kwargs):
        stacks.append(len(tensors))
        return real_stack(tensors, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "item", no_item)
    monkeypatch.setattr(torch, "stack", counting_stack)
    logger = hypertuner.Logger(flush_every=1000)
    losses = torch.arange(1000, dtype=torch.float32)
    for step in range(1000):
        logger.log({"loss": losses[step], "lr": torch.tensor(0.1)}, step)
    values = logger["loss"].values  # reading drains the queue
    assert stacks == [2000]
    np.testing.assert_array_equal(values, np.arange(1000, dtype=np.float64))
    logger.close()


def test_a_tensor_changed_in_place_after_the_call_keeps_the_logged_value(deferred):
    """The logger keeps a copy: an accumulator updated in place later does not change it."""
    running = torch.tensor(0.0)
    logger = hypertuner.Logger()
    for step in range(3):
        running += 1.0
        logger.log({"running": running}, step)
    running.zero_()
    logger.close()
    assert hypertuner.load(logger.path)["running"].values.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            torch.zeros(2, 3),
            "log(): the value of 'x' is a tensor of 6 elements (shape (2, 3)); log one number "
            "per key, e.g. tensor.mean().",
        ),
        (
            torch.tensor(1 + 2j),
            "log(): the value of 'x' is a complex tensor (torch.complex64); log its .real or "
            ".abs().",
        ),
    ],
)
def test_tensors_that_are_not_one_real_number_are_refused(value, message, deferred):
    """A tensor of several elements or a complex one is refused at the call, naming the key."""
    logger = hypertuner.Logger()
    with pytest.raises(hypertuner.InvalidValueError) as caught:
        logger.log({"x": value}, 0)
    assert str(caught.value) == message
    logger.close()


def test_a_nan_tensor_warns_once_at_the_drain_and_is_stored(deferred):
    """A NaN (or infinite) tensor, which the call cannot see without a sync, warns once
    per key when the queue drains, naming the key and step; the value is kept as logged."""
    logger = hypertuner.Logger(flush_every=1000)
    logger.log({"loss": torch.tensor(0.5), "norm": torch.tensor(1.0)}, 0)
    logger.log({"loss": torch.tensor(float("nan")), "norm": torch.tensor(float("inf"))}, 1)
    logger.log({"loss": torch.tensor(float("nan")), "norm": torch.tensor(2.0)}, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = logger["loss"].values
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        f"hypertuner: the tensor logged as 'loss' in run {logger.name!r}: it was nan at step 1 "
        "(tensors are checked when the queue is drained, not at the call).",
        f"hypertuner: the tensor logged as 'norm' in run {logger.name!r}: it was inf at step 1 "
        "(tensors are checked when the queue is drained, not at the call).",
    ]
    assert values[0] == 0.5 and np.isnan(values[1:]).all()
    logger.close()
    assert hypertuner.load(logger.path)["norm"].values.tolist() == [1.0, float("inf"), 2.0]


def test_cpu_tensors_are_read_at_the_call():
    """On the CPU a tensor is read at once (no copy kept): a later in-place change is not
    seen, and the value is checked at the call like a float."""
    running = torch.tensor(1.0)
    logger = hypertuner.Logger()
    logger.log({"running": running}, 0)
    running += 1.0
    logger.close()
    assert hypertuner.load(logger.path)["running"].values.tolist() == [1.0]


@pytest.mark.parametrize("mode", ["eager", "deferred"])
def test_a_logged_loss_does_not_keep_its_autograd_graph_alive(mode, request):
    """Neither a CPU tensor read at the call nor a tensor kept for the drain holds on to the
    graph that made it: once the loop drops the loss, a tensor the graph saved is freed."""
    if mode == "deferred":
        request.getfixturevalue("deferred")
    weights = torch.randn(8, requires_grad=True)
    logger = hypertuner.Logger(flush_every=1000)
    refs = []
    for step in range(3):  # the first call takes the full check, the next ones the fast path
        hidden = weights * (step + 1)  # saved by the graph for the backward pass
        loss = (hidden * hidden).sum()
        refs.append(weakref.ref(hidden))
        del hidden
        logger.log({"loss": loss, "lr": 0.1}, step)
        del loss
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
    expected = [float((weights.detach() * (s + 1)).square().sum()) for s in range(3)]
    np.testing.assert_allclose(logger["loss"].values, expected, rtol=1e-6)
    logger.close()


@pytest.fixture
def reads(monkeypatch):
    """The device of every tensor read with Tensor.item() during the test, in order."""
    seen = []
    real_item = torch.Tensor.item

    def counting_item(self):
        seen.append(self.device.type)
        return real_item(self)

    monkeypatch.setattr(torch.Tensor, "item", counting_item)
    return seen


def test_cpu_tensors_on_the_fast_path_are_read_once_each_at_the_call(monkeypatch, reads):
    """Calls of a cached shape of CPU tensors read each tensor with one .item() at the call
    (no copy, no stack at the drain): a tensor changed in place later keeps the logged value,
    a bool tensor stays a bool and an int one a number."""
    stacks = []
    real_stack = torch.stack
    monkeypatch.setattr(torch, "stack", lambda *a, **k: stacks.append(1) or real_stack(*a, **k))
    running = torch.tensor(0.0)
    logger = hypertuner.Logger(flush_every=1000)
    for step in range(1000):
        running += 1.0
        flag = torch.tensor(step % 2 == 0)
        logger.log({"running": running, "flag": flag, "count": torch.tensor(step), "lr": 0.5}, step)
    running.zero_()
    assert logger["running"].values.tolist() == [float(s + 1) for s in range(1000)]
    assert logger["flag"].values.tolist() == [s % 2 == 0 for s in range(1000)]
    assert logger["count"].values.tolist() == [float(s) for s in range(1000)]
    assert logger.kinds == {"running": "number", "flag": "bool", "count": "number", "lr": "number"}
    # The second call reads each tensor twice (to check it, then to cache its shape: a
    # shape is cached once it is seen again); every other call reads each once.
    assert len(reads) == 3 * 1000 + 3 and set(reads) == {"cpu"}
    assert stacks == []
    logger.close()


def test_a_tensor_off_the_cpu_in_a_cached_cpu_shape_is_kept_not_read(reads):
    """A call of a shape cached for CPU tensors that passes a tensor on another device (here
    the meta device, which holds no data) never reads it at the call: it is kept for the
    drain, which reports that it could not be read and stores NaN."""
    logger = hypertuner.Logger(flush_every=1000)
    for step in range(3):
        logger.log({"loss": torch.tensor(0.5)}, step)
    logger.log({"loss": torch.tensor(0.25, device="meta")}, 3)
    assert "meta" not in reads
    with pytest.warns(hypertuner.HypertunerWarning, match="a tensor on meta could not be read"):
        values = logger["loss"].values
    assert values[:3].tolist() == [0.5] * 3 and np.isnan(values[3])
    logger.close()

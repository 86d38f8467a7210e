"""JAX arrays: kept at the call (they never change), read together at the drain.

Reading a JAX array waits for the computation that makes it, on the CPU too (JAX
dispatches asynchronously everywhere), so ``log()`` only checks its dtype and shape
and keeps it; the drain reads the arrays it holds in one pass. These tests run
JAX's CPU backend, whose arrays take exactly the path a GPU's do.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hypertuner
from hypertuner import logger as logger_module


def test_arrays_store_their_values_with_kinds_from_their_dtypes():
    """float32, bfloat16, int32 and bool arrays, 0-d or of one element, store their value;
    a bool array makes a bool key; the first call and the cached ones agree."""
    logger = hypertuner.Logger()
    for step in range(4):
        logger.log(
            {
                "loss": jnp.float32(0.5) * step,
                "half": jnp.asarray(step / 4, dtype=jnp.bfloat16),
                "count": jnp.int32(step),
                "flag": jnp.asarray(step % 2 == 0),
                "one": jnp.full((1,), 2.5),
                "plain": 1.0,
            },
            step,
        )
    logger.close()
    run = hypertuner.load(logger.path)
    assert run.kinds == {
        "loss": "number", "half": "number", "count": "number", "flag": "bool", "one": "number",
        "plain": "number",
    }  # fmt: skip
    assert run["loss"].values.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert run["half"].values.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert run["count"].values.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert run["flag"].values.tolist() == [True, False, True, False]
    assert run["one"].values.tolist() == [2.5] * 4


def test_a_drain_reads_its_arrays_in_one_pass(monkeypatch):
    """1,000 calls of two arrays each are read by the drain in one pass of 2,000 values,
    not one read per call; the values are those logged."""
    reads = []
    real_read = logger_module.read_kept

    def counting_read(values):
        reads.append(len(values))
        return real_read(values)

    monkeypatch.setattr(logger_module, "read_kept", counting_read)
    losses = jnp.arange(1000, dtype=jnp.float32) / 8
    logger = hypertuner.Logger(flush_every=1000)
    for step in range(1000):
        logger.log({"loss": losses[step], "lr": jnp.float32(0.125)}, step)
    assert reads == []  # nothing read at the calls
    values = logger["loss"].values  # reading drains the queue
    assert reads == [2000]
    np.testing.assert_array_equal(values, np.arange(1000) / 8)
    assert logger["lr"].values.tolist() == [0.125] * 1000
    logger.close()


def test_logging_inside_a_jitted_function_is_refused_clearly():
    """A tracer is no value yet: log() inside jax.jit raises at the call, naming the key,
    and keeps nothing of the call."""
    logger = hypertuner.Logger()

    @jax.jit
    def step(x):
        logger.log({"inside": x, "plain": 1.0}, 0)
        return x * 2

    with pytest.raises(hypertuner.InvalidValueError) as caught:
        step(jnp.float32(1.0))
    assert str(caught.value).startswith(
        "log(): the value of 'inside' is a JAX tracer: log() was called inside a transformed "
        "function (jax.jit, grad, vmap...)"
    )
    assert logger.kinds == {}
    logger.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            jnp.zeros((2, 3)),
            "log(): the value of 'x' is a JAX array of 6 elements (shape (2, 3)); log one "
            "number per key, e.g. array.mean().",
        ),
        (
            jnp.complex64(1 + 2j),
            "log(): the value of 'x' is a complex JAX array (complex64); log its .real or abs().",
        ),
    ],
)
def test_arrays_that_are_not_one_real_number_are_refused(value, message):
    logger = hypertuner.Logger()
    with pytest.raises(hypertuner.InvalidValueError) as caught:
        logger.log({"x": value}, 0)
    assert str(caught.value) == message
    logger.close()


def test_a_cached_shape_given_another_dtype_or_shape_takes_the_full_check():
    """The fast path checks each array's dtype and 0-d shape: a bool where a float was
    cached is refused as the full check refuses it, a vector is refused naming its size."""
    logger = hypertuner.Logger()
    for step in range(3):
        logger.log({"loss": jnp.float32(step)}, step)
    with pytest.raises(hypertuner.InvalidValueError, match="'loss' was first logged as a number"):
        logger.log({"loss": jnp.asarray(True)}, 3)
    with pytest.raises(hypertuner.InvalidValueError, match="JAX array of 4 elements"):
        logger.log({"loss": jnp.zeros(4)}, 3)
    logger.log({"loss": jnp.float16(3.5)}, 3)  # another float dtype: still a number
    assert logger["loss"].values.tolist() == [0.0, 1.0, 2.0, 3.5]
    logger.close()


def test_nan_and_a_deleted_array_warn_at_the_drain_and_keep_the_points():
    """A NaN array, which the call cannot see without waiting, warns at the drain naming
    the key and step; an array deleted after the call (donated to a jitted function) is
    stored as NaN with a warning; every other point is kept."""
    logger = hypertuner.Logger(flush_every=1000)
    logger.log({"loss": jnp.float32(0.5)}, 0)
    logger.log({"loss": jnp.float32(float("nan"))}, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = logger["loss"].values
    assert [str(w.message) for w in caught] == [
        f"hypertuner: the tensor logged as 'loss' in run {logger.name!r}: it was nan at step 1 "
        "(tensors are checked when the queue is drained, not at the call).",
    ]
    assert values[0] == 0.5 and np.isnan(values[1])

    donated = jnp.float32(2.0) + 0  # an array of its own, to give away
    logger.log({"norm": donated, "lr": 0.1}, 2)
    donated.delete()
    with pytest.warns(hypertuner.HypertunerWarning, match="'norm'.*a JAX array could not"):
        norms = logger["norm"].values
    assert np.isnan(norms).tolist() == [True]
    assert logger["lr"].values.tolist() == [0.1]
    logger.close()
    run = hypertuner.load(logger.path)
    assert run["loss"].values[0] == 0.5 and np.isnan(run["loss"].values[1])

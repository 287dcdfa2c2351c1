"""Evaluation and initialization run as one compiled program each.

Called op by op, every jnp operation compiles a program of its own the first time it
meets a shape: a report row evaluating a new data set or grid paid ~40 such compiles
(~0.8 s on one core). These tests count XLA compilations: a call with shapes not seen
before compiles exactly one program, and a second call none.
"""
import contextlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from dlcourse import arrays, initializers
from dlcourse.errors import ShapeError
from dlcourse.models import dense
from experiments.runner import models as runner_models

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def counted_compiles():
  """Yields a list that collects one entry per XLA compilation inside the block."""
  seen = []

  def listener(event, seconds, **kwargs):
    del seconds, kwargs
    if event == _COMPILE_EVENT:
      seen.append(event)

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    yield seen
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)


def _net(layer_dims, m, seed=0):
  rng = np.random.RandomState(seed)
  params = {}
  for l in range(1, len(layer_dims)):
    params[f"W{l}"] = jnp.asarray(rng.randn(layer_dims[l], layer_dims[l - 1]), jnp.float32)
    params[f"b{l}"] = jnp.zeros((layer_dims[l], 1), jnp.float32)
  X = jnp.asarray(rng.randn(layer_dims[0], m), jnp.float32)
  Y = jnp.asarray(rng.rand(1, m) > 0.5, jnp.float32)
  return params, X, Y


def test_accuracy_and_predict_compile_one_program_each():
  layer_dims, m = (3, 7, 5, 1), 37   # shapes no other test uses
  arch = dense.Architecture.make(layer_dims)
  params, X, Y = _net(layer_dims, m)
  with counted_compiles() as first:
    acc = dense.accuracy(params, X, Y, arch)
  with counted_compiles() as again:
    dense.accuracy(params, X, Y, arch)
  with counted_compiles() as labels:
    dense.predict(params, X, arch)
  assert (len(first), len(again), len(labels)) == (1, 0, 1)
  A = np.asarray(X)
  for l in range(1, len(layer_dims)):
    Z = np.asarray(params[f"W{l}"]) @ A + np.asarray(params[f"b{l}"])
    A = np.maximum(Z, 0) if l < len(layer_dims) - 1 else 1 / (1 + np.exp(-Z))
  assert abs(float(acc) - np.mean((A > 0.5) == np.asarray(Y))) < 1e-6


def test_jax_keyed_initialization_compiles_one_program():
  layer_dims = (6, 11, 4, 1)
  key, other = jax.random.key(3), jax.random.key(4)
  with counted_compiles() as first:
    params = initializers.initialize(key, layer_dims, "he")
  with counted_compiles() as again:
    initializers.initialize(other, layer_dims, "he")
  assert (len(first), len(again)) == (1, 0)
  assert sorted(params) == ["W1", "W2", "W3", "b1", "b2", "b3"]
  assert params["W2"].shape == (4, 11) and params["W2"].dtype == jnp.float32


def test_accuracies_on_several_sets_are_one_program_with_the_same_values():
  layer_dims = (3, 6, 4, 1)   # shapes no other test uses
  arch = dense.Architecture.make(layer_dims)
  params, X, Y = _net(layer_dims, 41, seed=1)
  _, X_test, Y_test = _net(layer_dims, 13, seed=2)
  with counted_compiles() as both:
    train, test = dense.accuracies(params, ((X, Y), (X_test, Y_test)), arch)
  assert len(both) == 1
  assert float(train) == float(dense.accuracy(params, X, Y, arch))
  assert float(test) == float(dense.accuracy(params, X_test, Y_test, arch))
  with pytest.raises(ShapeError):
    dense.accuracies(params, ((X, Y), (X_test[:2], Y_test)), arch)


def test_train_test_accuracies_compile_one_program():
  layer_dims = (3, 5, 3, 1)   # shapes no other test uses
  arch = dense.Architecture.make(layer_dims)
  params, X, Y = _net(layer_dims, 29, seed=3)
  _, X_test, Y_test = _net(layer_dims, 11, seed=4)
  host = [np.asarray(a, np.float64) for a in (X, Y, X_test, Y_test)]   # as the apps pass them
  config = ml_collections.ConfigDict({"course_compat": False})
  with counted_compiles() as seen:
    accs = runner_models.train_test_accuracies(config, params, arch, *host)
  assert len(seen) == 1
  assert accs == {"train_accuracy": float(dense.accuracy(params, X, Y, arch)),
                  "test_accuracy": float(dense.accuracy(params, X_test, Y_test, arch))}


def test_device_array_casts_host_values_without_compiling_and_as_jax_rounds():
  rng = np.random.RandomState(5)
  x = rng.randn(3, 17) * 1e3   # float64 values that float32 must round
  with counted_compiles() as seen:
    as32 = arrays.device_array(x, jnp.float32)
    labels = arrays.device_array(rng.rand(2, 19) < 0.5, bool)
    step = arrays.device_array(7, jnp.int32)
    zeros = arrays.device_zeros((4, 1), jnp.float32)
    own = arrays.device_array(x)                 # dtype None: as jnp.asarray(x) has it
    listed = arrays.device_array([[1, 2]])
    listed_zeros = arrays.zeros_like([[0.5, 1.5, 2.5]])
  assert seen == []
  assert own.dtype == jnp.asarray(x).dtype == jnp.float32   # x64 off: float64 -> float32
  assert np.array_equal(np.asarray(own), np.asarray(as32))
  assert listed.dtype == jnp.asarray([[1, 2]]).dtype and listed.tolist() == [[1, 2]]
  assert listed_zeros.shape == (1, 3) and listed_zeros.dtype == jnp.float32
  assert not np.any(np.asarray(listed_zeros))
  assert as32.dtype == jnp.float32 and labels.dtype == jnp.bool_ and step.dtype == jnp.int32
  assert np.array_equal(np.asarray(as32), np.asarray(jnp.asarray(x, jnp.float32)))
  assert np.array_equal(np.asarray(zeros), np.zeros((4, 1), np.float32))
  assert arrays.device_array(x, jnp.float64).dtype == jnp.float32   # x64 off: as JAX does
  on_device = jnp.asarray(x, jnp.float32)
  assert arrays.device_array(on_device, jnp.float32) is on_device   # stays on the device
  traced = jax.jit(lambda a: arrays.device_array(a, jnp.float32) * 2)(on_device)
  assert np.array_equal(np.asarray(traced), 2 * np.asarray(on_device))


def test_an_optimizers_fresh_state_compiles_nothing_and_traces_under_jit():
  from dlcourse import optim   # pylint: disable=import-outside-toplevel
  # Made on the host: jnp.ones would compile the very broadcasts jnp.zeros_like runs.
  params = {"W1": arrays.device_array(np.ones((11, 13)), jnp.float32),
            "b1": arrays.device_array(np.ones((11, 1)), jnp.bfloat16),
            "W2": arrays.device_array(np.ones((1, 11)), jnp.float32)}
  like = arrays.zeros_like(params["W1"])   # its device_put, set up before counting
  with counted_compiles() as seen:
    state = optim.adam(0.01).init(params)   # (AdamState, the learning rate's empty state)
    host = arrays.zeros_like(np.ones((2, 4), np.float32))
  assert seen == []
  assert like.sharding == params["W1"].sharding
  assert host.shape == (2, 4) and host.dtype == jnp.float32 and not np.any(host)
  adam = state[0]
  for name, p in params.items():
    for average in (adam.velocity, adam.square_average):
      assert average[name].shape == p.shape and average[name].dtype == p.dtype
      assert not np.any(np.asarray(average[name], np.float32))
  assert adam.count.dtype == jnp.int32 and int(adam.count) == 0
  traced = jax.jit(lambda p: optim.adam(0.01).init(p))(params)
  assert jax.tree.map(lambda a: (a.shape, a.dtype), traced) == \
      jax.tree.map(lambda a: (a.shape, a.dtype), state)

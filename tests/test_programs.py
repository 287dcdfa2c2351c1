"""Evaluation and initialization run as one compiled program each.

Called op by op, every jnp operation compiles a program of its own the first time it
meets a shape: a report row evaluating a new data set or grid paid ~40 such compiles
(~0.8 s on one core). These tests count XLA compilations: a call with shapes not seen
before compiles exactly one program, and a second call none.
"""
import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import initializers
from dlcourse.models import dense

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

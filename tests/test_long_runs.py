"""A long run's lowering: Threefry unrolled draws the same bits as JAX's own lowering."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.random import threefry2x32_p

from dlcourse import minibatch
from experiments.runner import cli, long_runs


def _uint32(rng, size):
  return rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)


def test_unrolled_hash_is_jaxs_threefry_to_the_bit():
  rng = np.random.default_rng(7)
  jaxs = jax.jit(lambda *a: threefry2x32_p.bind(*a))   # JAX's CPU lowering: a loop
  ours = jax.jit(long_runs.threefry2x32_unrolled)
  for key_shape in ((), (1001,)):    # one key for every counter, or a key per counter
    k0, k1 = _uint32(rng, key_shape), _uint32(rng, key_shape)
    x0, x1 = _uint32(rng, 1001), _uint32(rng, 1001)
    for want, got in zip(jaxs(k0, k1, x0, x1), ours(k0, k1, x0, x1)):
      assert got.shape == (1001,) and got.dtype == jnp.uint32
      np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_unrolled_hash_meets_random123s_known_answer():
  # Random123's kat_vectors, threefry2x32_20: key (0, 0), counter (0, 0).
  zero = np.zeros(1, np.uint32)
  y0, y1 = long_runs.threefry2x32_unrolled(np.uint32(0), np.uint32(0), zero, zero)
  assert (int(y0[0]), int(y1[0])) == (0x6B200159, 0x99BA4EFE)


def _draws(key, X):
  """What a training program draws: normals, dropout masks, a shuffle, split and
  fold_in keys."""
  W = jax.random.normal(key, (7, 301), X.dtype)
  mask = jax.random.bernoulli(jax.random.fold_in(key, 5), 0.8, X.shape)
  order = jax.random.permutation(jax.random.split(key)[1], X.shape[1])
  return W, mask, X[:, order] * mask


def test_a_long_run_draws_the_same_values_with_no_loop_for_the_hash():
  draws = jax.jit(_draws)
  key, X = jax.random.key(11), jnp.arange(3 * 211, dtype=jnp.float32).reshape(3, 211)
  compiled = long_runs.compile_long_run(draws, key, X, flops=cli.LONG_RUN_MIN_FLOPS,
                                        environ={})
  for want, got in zip(draws(key, X), compiled(key, X)):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
  # The permutation's sort has no loop either: every while loop was a hash's.
  assert "while" in draws.lower(key, X).compile().as_text()
  assert "while" not in compiled.as_text()


@pytest.mark.parametrize("backend, environ, flops, unrolled", [
    ("cpu", {}, None, True),
    ("cpu", {}, cli.LONG_RUN_MIN_FLOPS, True),
    ("cpu", {}, cli.LONG_RUN_MIN_FLOPS / 2, False),     # a short run compiles quicker
    ("cpu", {cli.XLA_DEFAULTS_ENV: "0"}, None, False),  # JAX's and XLA's defaults only
    ("gpu", {}, None, False),
])
def test_the_override_is_for_long_runs_on_the_cpu(backend, environ, flops, unrolled):
  params = long_runs.lowering_parameters(backend, environ, flops)
  rules = params.override_lowering_rules or ()
  assert [p for p, _ in rules] == ([threefry2x32_p] if unrolled else [])


def test_a_short_run_keeps_jaxs_lowering():
  draws = jax.jit(functools.partial(jax.random.bits, shape=(64,)))
  compiled = long_runs.compile_long_run(draws, jax.random.key(0), environ={},
                                        flops=cli.LONG_RUN_MIN_FLOPS / 2)
  assert "while" in compiled.as_text()


def test_the_keyed_shuffles_table_compiles_with_the_hash_unrolled_to_the_same_table():
  """``compile_hashing``: the table of ``minibatch.keyed_permutations`` (what the runner
  draws up front) with no while loop for the hash, row for row the same permutations."""
  key = jax.random.key(5)
  with jax.enable_x64(True):
    compiled = long_runs.compile_hashing(minibatch.keyed_permutations_jit, key,
                                         num_epochs=6, m=50, environ={})
    rolled = minibatch.keyed_permutations_jit.lower(key, num_epochs=6, m=50).compile()
  np.testing.assert_array_equal(np.asarray(compiled(key)),
                                np.asarray(minibatch.keyed_permutations(key, 6, 50)))
  assert "while" in rolled.as_text() and "while" not in compiled.as_text()
  # JAX's defaults only (DLCOURSE_XLA_DEFAULTS=0): JAX's own lowering, its loops.
  with jax.enable_x64(True):
    plain = long_runs.compile_hashing(minibatch.keyed_permutations_jit, key, num_epochs=6,
                                      m=50, environ={cli.XLA_DEFAULTS_ENV: "0"})
  assert "while" in plain.as_text()

"""draws.stacked: several keys' draws in one hash, the same bits as one draw per key."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import draws

SHAPES = [(5, 3), (4, 1), (2, 6), (7, 4)]


def _uniform(k, shape, low, high):
  return jax.random.uniform(k, shape, jnp.float32, low, high)


def _scaled_normal(k, shape, factor):
  return jax.random.normal(k, shape) * factor


def _one_by_one(draw, keys, shapes, *consts):
  return [draw(keys[i], shape, *(c[i] for c in consts)) for i, shape in enumerate(shapes)]


def _assert_same_bits(got, want):
  assert len(got) == len(want)
  for g, w in zip(got, want):
    assert g.shape == w.shape and g.dtype == w.dtype
    np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


@pytest.mark.parametrize("small", [draws.SMALL, 20])   # 20: (7, 4) is drawn alone
@pytest.mark.parametrize("draw,consts", [
    (_uniform, ([-1.0, -0.5, -2.0, 0.0], [1.0, 0.5, 3.0, 0.25])),
    (_scaled_normal, ([0.1, 2.0, np.sqrt(2 / 3), 1e-3],)),
    (lambda k, shape: jax.random.uniform(k, shape) < 0.8, ()),
])
def test_stacked_draws_equal_one_draw_per_key(monkeypatch, small, draw, consts):
  monkeypatch.setattr(draws, "SMALL", small)
  keys = jax.random.split(jax.random.key(4), len(SHAPES))
  got = jax.jit(lambda k: draws.stacked(draw, k, SHAPES, *consts))(keys)
  want = jax.jit(lambda k: _one_by_one(draw, k, SHAPES, *consts))(keys)
  _assert_same_bits(got, want)


def test_stacked_draws_equal_one_draw_per_key_under_vmap():
  # As MNIST-1D's models draw them: a batch of keys, a traced factor per model.
  shapes = [(6, 4), (6, 1), (3, 6), (3, 1)]
  def stacked(key, p):
    keys = jax.random.split(key, len(shapes))
    return draws.stacked(lambda k, s: jax.random.uniform(k, s) < p, keys, shapes)
  def reference(key, p):
    keys = jax.random.split(key, len(shapes))
    return [jax.random.uniform(keys[i], s) < p for i, s in enumerate(shapes)]
  keys, p = jax.random.split(jax.random.key(9), 3), jnp.array([0.3, 0.6, 0.9])
  _assert_same_bits(jax.jit(jax.vmap(stacked))(keys, p), jax.jit(jax.vmap(reference))(keys, p))


def _hashes(fn, *args):
  """How many draws of random bits (one Threefry hash each) a traced function makes,
  nested programs included."""
  return str(jax.make_jaxpr(fn)(*args)).count("random_bits[")


def test_the_small_arrays_share_one_hash(monkeypatch):
  keys = jax.random.split(jax.random.key(0), len(SHAPES))
  draw = jax.random.uniform
  assert _hashes(lambda k: _one_by_one(draw, k, SHAPES), keys) == 4
  assert _hashes(lambda k: draws.stacked(draw, k, SHAPES), keys) == 1
  monkeypatch.setattr(draws, "SMALL", 20)   # (7, 4) alone, the other three together
  assert _hashes(lambda k: draws.stacked(draw, k, SHAPES), keys) == 2


def test_one_key_and_constant_per_shape():
  keys = jax.random.split(jax.random.key(0), 3)
  with pytest.raises(ValueError, match="3 keys, \\[2\\] constants, 3 shapes"):
    draws.stacked(_scaled_normal, keys, [(2,), (3,), (4,)], [1.0, 2.0])
  with pytest.raises(ValueError, match="3 keys, \\[\\] constants, 2 shapes"):
    draws.stacked(jax.random.uniform, keys, [(2,), (3,)])
  assert draws.stacked(jax.random.uniform, keys[:0], []) == []


@pytest.mark.parametrize("impl,partitionable", [("rbg", True), ("threefry2x32", False)])
def test_keys_without_flat_index_counters_are_drawn_one_by_one(impl, partitionable):
  # Only Threefry with the partitionable counters makes a draw the prefix of a longer
  # one; other keys draw each array alone, the same bits as before.
  with jax.threefry_partitionable(partitionable):
    keys = jax.random.split(jax.random.key(4, impl=impl), len(SHAPES))
    assert _hashes(lambda k: draws.stacked(jax.random.uniform, k, SHAPES), keys) == 4
    got = jax.jit(lambda k: draws.stacked(jax.random.uniform, k, SHAPES))(keys)
    want = jax.jit(lambda k: _one_by_one(jax.random.uniform, k, SHAPES))(keys)
  _assert_same_bits(got, want)

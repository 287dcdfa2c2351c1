"""Loops and vectorized code compute the same numbers; the timing helpers measure what
they are given."""
import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import vectorization as vec
from dlcourse.errors import ConfigError, ShapeError


def test_loop_dot_equals_vectorized_dots(x64):
  a, b = vec.random_vectors(0, 5000)
  expected = float(np.dot(a, b))
  # Different summation orders: equal to rounding, 1e-12 relative in float64.
  assert vec.loop_dot(a, b) == pytest.approx(expected, rel=1e-12, abs=1e-12)
  assert float(vec.jax_dot(jnp.asarray(a), jnp.asarray(b))) == pytest.approx(expected, rel=1e-12)
  assert float(vec.jitted_dot(jnp.asarray(a), jnp.asarray(b))) == pytest.approx(expected,
                                                                                 rel=1e-12)
  assert vec.loop_dot(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 11.0


def test_logistic_gradient_loop_equals_vectorized_to_1e_12(x64):
  w, b, X, Y = vec.random_logistic(1, n_x=7, m=60)
  dw_loop, db_loop = vec.logistic_grads_loop(w, b, X, Y)
  dw_np, db_np = vec.logistic_grads_numpy(w, b, X, Y)
  dw_jax, db_jax = vec.logistic_grads_jax(jnp.asarray(w), b, jnp.asarray(X), jnp.asarray(Y))
  assert dw_loop.shape == dw_np.shape == (7, 1)
  np.testing.assert_allclose(dw_loop, dw_np, rtol=0, atol=1e-12)
  np.testing.assert_allclose(dw_loop, np.asarray(dw_jax), rtol=0, atol=1e-12)
  assert abs(db_loop - db_np) < 1e-12 and abs(db_loop - float(db_jax)) < 1e-12
  # And both are the gradient: the course's formula written out for one example.
  x, y = X[:, :1], Y[:, :1]
  a = 1 / (1 + np.exp(-(w.T @ x + b)))
  np.testing.assert_allclose(vec.logistic_grads_loop(w, b, x, y)[0], x * (a - y), atol=1e-15)


def test_time_call_uses_the_given_clock():
  ticks = itertools.count()
  clock = lambda: float(next(ticks) ** 2)  # 0, 1, 4, 9, 16, 25, 36: gaps 1, 5, 9 ... per call
  calls = []
  timing = vec.time_call(lambda: calls.append(1), repeats=3, warmup=2, clock=clock)
  assert len(calls) == 5
  # Each timed call reads the clock twice: (0, 1), (4, 9), (16, 25) -> 1, 5, 9.
  assert timing == vec.Timing(best_s=1.0, median_s=5.0, repeats=3)
  with pytest.raises(ConfigError):
    vec.time_call(lambda: None, repeats=0)


def test_extrapolation_and_ratio():
  assert vec.extrapolate(0.05, 100_000, 1_000_000) == pytest.approx(0.5)
  assert vec.ratio(0.5, 0.0015) == pytest.approx(333.33, rel=1e-4)
  assert vec.ratio(0.5, 0.0) is None  # no inf in result.json
  with pytest.raises(ConfigError):
    vec.extrapolate(1.0, 0, 10)


def test_shape_errors():
  with pytest.raises(ShapeError):
    vec.loop_dot(np.zeros(3), np.zeros(4))
  w, b, X, Y = vec.random_logistic(0, 3, 5)
  with pytest.raises(ShapeError, match="expected X"):
    vec.logistic_grads_loop(w, b, X, Y.T)
  with pytest.raises(ShapeError):
    vec.logistic_grads_numpy(w[:2], b, X, Y)

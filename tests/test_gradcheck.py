"""Gradient checking: agrees on correct gradients, flags and names planted bugs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import gradcheck, initializers
from dlcourse.errors import ConfigError, GradientCheckError
from dlcourse.models import dense

pytestmark = pytest.mark.usefixtures("x64")


def small_problem():
  arch = dense.Architecture((4, 5, 3, 1), ("relu", "tanh", "sigmoid"))
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "normal", scale=1.0,
                                   dtype=jnp.float64)
  rng = np.random.RandomState(1)
  X = jnp.asarray(rng.randn(4, 3))
  Y = jnp.asarray([[1.0, 1.0, 0.0]])
  return arch, params, X, Y


def manual_grads(params, X, Y, arch):
  return dense.cost_and_grads(params, X, Y, arch)[1]


def test_relative_difference_formula():
  g = {"a": jnp.array([3.0, 4.0])}
  h = {"a": jnp.array([3.0, 0.0])}
  # ||(0, 4)|| / (5 + 3)
  np.testing.assert_allclose(gradcheck.relative_difference(g, h), 0.5)
  assert float(gradcheck.relative_difference(g, g)) == 0.0
  zero = {"a": jnp.zeros(2)}
  assert float(gradcheck.relative_difference(zero, zero)) == 0.0


def test_one_dimensional_course_case():
  # J(theta) = theta * x, dJ/dtheta = x; the course checks x = 2, theta = 4.
  x = 2.0
  approx = gradcheck.finite_difference_gradient(lambda p: p["theta"] * x,
                                                {"theta": jnp.array(4.0)})
  difference = gradcheck.relative_difference(approx, {"theta": jnp.array(x)})
  assert float(difference) < 1e-7


def test_correct_gradients_pass_three_ways():
  arch, params, X, Y = small_problem()
  report = gradcheck.check_gradients(
      lambda p: dense.cost(p, X, Y, arch), lambda p: manual_grads(p, X, Y, arch), params)
  assert report.passed, report.table()
  assert report.manual_vs_autodiff.overall < 1e-12
  assert report.manual_vs_numeric.overall < 1e-7
  assert report.autodiff_vs_numeric.overall < 1e-7
  assert set(report.manual_vs_numeric.per_param) == set(params)


def test_planted_bug_is_flagged_and_named():
  arch, params, X, Y = small_problem()

  def buggy(p):
    g = dict(manual_grads(p, X, Y, arch))
    g["W2"] = g["W2"] * 2
    g["b1"] = g["b1"] * 4
    return g

  report = gradcheck.check_gradients(lambda p: dense.cost(p, X, Y, arch), buggy, params)
  assert not report.passed
  assert report.disagreeing == ["W2", "b1"]
  assert report.manual_vs_numeric.overall > 1e-3
  # The independent sources still agree with each other.
  assert report.autodiff_vs_numeric.overall < 1e-7
  with pytest.raises(GradientCheckError, match=r"\['W2', 'b1'\]"):
    gradcheck.check_gradients(lambda p: dense.cost(p, X, Y, arch), buggy, params,
                              raise_on_failure=True)


def test_sampled_coordinates_still_catch_a_bug():
  arch, params, X, Y = small_problem()
  buggy = lambda p: {**manual_grads(p, X, Y, arch), "W1": manual_grads(p, X, Y, arch)["W1"] * 1.01}
  report = gradcheck.check_gradients(lambda p: dense.cost(p, X, Y, arch), buggy, params,
                                     max_coordinates=5, key=jax.random.key(3))
  assert "W1" in report.disagreeing


def test_sampling_covers_every_parameter():
  params = {"W1": jnp.zeros((50, 40)), "b1": jnp.zeros((50, 1)), "W2": jnp.zeros((1, 50))}
  coords = gradcheck.sample_coordinates(jax.random.key(0), params, 10)
  # ravel order is W1 (2000), W2 (50), b1 (50): ten of each.
  assert len(coords) == 30 and len(set(coords.tolist())) == 30
  assert np.sum(coords < 2000) == 10 and np.sum((coords >= 2000) & (coords < 2050)) == 10
  small = gradcheck.sample_coordinates(jax.random.key(0), {"b": jnp.zeros((3, 1))}, 10)
  np.testing.assert_array_equal(small, [0, 1, 2])


def test_float32_is_refused():
  arch, params, X, Y = small_problem()
  params32 = jax.tree.map(lambda p: p.astype(jnp.float32), params)
  with pytest.raises(ConfigError, match="float64"):
    gradcheck.check_gradients(lambda p: dense.cost(p, X, Y, arch),
                              lambda p: manual_grads(p, X, Y, arch), params32)

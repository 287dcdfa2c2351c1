"""The first lessons' maths: the circle's theta, the learning-rate picture, the ReLU neuron."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import intro
from dlcourse.errors import ConfigError, DataError


def _circle(kind="none"):
  r, area = intro.circle_table()
  x = intro.area_feature(r)
  scaling = intro.fit_scaling(x, kind)
  z, mask = intro.apply_scaling(x, scaling), intro.intercept_mask(scaling)
  return scaling, jnp.asarray(z), jnp.asarray(area), jnp.asarray(mask)


@pytest.mark.parametrize("kind", intro.SCALINGS)
def test_line_gradient_matches_jax_grad(x64, kind):
  _, z, y, mask = _circle(kind)
  for p in ([0.0, 0.0], [3.0, 0.0], [-7.5, 2.0], [1e3, -40.0]):
    p = jnp.array(p)
    manual = intro.line_grads(p, z, y, mask)
    auto = jax.grad(intro.line_cost)(p, z, y) * mask
    np.testing.assert_allclose(manual, auto, rtol=1e-13, atol=1e-10)
  # The unmasked derivative is the lesson's 1/m sum (theta x - y) x, by hand:
  if kind == "none":
    theta = 2.0
    expected = np.mean((theta * np.asarray(z) - np.asarray(y)) * np.asarray(z))
    assert float(intro.line_grads(jnp.array([theta, 0.0]), z, y, mask)[0]) == \
        pytest.approx(expected, rel=1e-14)


def test_theta_is_3_14_from_the_lessons_table(x64):
  scaling, z, y, mask = _circle("none")
  assert intro.line_curvature(z, mask) == pytest.approx(
      np.mean(np.array([1.0, 1.4, 2.0, 10.0, 20.0]) ** 4), rel=1e-14)  # 34004.16832
  d = intro.descend(intro.line_cost, intro.line_grads, jnp.zeros(2), 2.5e-5, 100,
                    (z, y, mask))
  theta, intercept = intro.to_theta(d.params[-1], scaling)
  assert not d.diverged and intercept == 0.0
  assert abs(theta - 3.14) < 1e-4
  assert theta == pytest.approx(intro.line_optimum(z, y, mask)[0], rel=1e-12)


@pytest.mark.parametrize("kind", ["rms", "standardize"])
def test_scaled_feature_has_curvature_one_and_converges_at_rate_one(x64, kind):
  scaling, z, y, mask = _circle(kind)
  assert intro.line_curvature(z, mask) == pytest.approx(1.0, rel=1e-12)
  d = intro.descend(intro.line_cost, intro.line_grads, jnp.zeros(2), 1.0, 3, (z, y, mask))
  theta, intercept = intro.to_theta(d.params[1], scaling)  # after ONE step
  assert abs(theta - 3.14) < 1e-4 and abs(intercept) < 0.01
  # ... while the same rate on the raw feature diverges.
  _, z0, y0, mask0 = _circle("none")
  assert intro.descend(intro.line_cost, intro.line_grads, jnp.zeros(2), 1.0, 3,
                       (z0, y0, mask0)).diverged


def test_generated_noisy_circles_give_theta_near_pi(x64):
  r, area = intro.circle_samples(seed=0, m=400, noise=0.02)
  x = intro.area_feature(r)
  scaling = intro.fit_scaling(x, "standardize")
  z, mask = intro.apply_scaling(x, scaling), intro.intercept_mask(scaling)
  d = intro.descend(intro.line_cost, intro.line_grads, jnp.zeros(2), 0.5, 200,
                    (jnp.asarray(z), jnp.asarray(area), jnp.asarray(mask)))
  theta, intercept = intro.to_theta(d.params[-1], scaling)
  assert abs(theta - np.pi) < 0.02
  assert abs(intercept) < 5.0  # areas up to 1256: a small intercept
  np.testing.assert_array_equal(intro.circle_samples(0, 5)[1], intro.circle_samples(0, 5)[1])


@pytest.mark.parametrize("alpha, shrinks", [(0.05, True), (0.3, True), (1.1, False)])
def test_bowl_step_lengths_follow_one_minus_alpha_c(x64, alpha, shrinks):
  c, w_star, j_min = 2.0, 2.0, 1.0
  d = intro.descend(intro.bowl_cost, intro.bowl_grads, jnp.array([-2.0]), alpha, 12,
                    (c, w_star, j_min))
  ratios = d.step_lengths[1:] / d.step_lengths[:-1]
  np.testing.assert_allclose(ratios, intro.step_ratio(alpha, c), rtol=1e-10)
  assert d.step_lengths[0] == pytest.approx(alpha * c * 4.0)  # alpha |J'(-2)|
  assert bool(np.all(np.diff(d.step_lengths) < 0)) == shrinks
  assert d.diverged == (not shrinks)
  np.testing.assert_allclose(d.costs, [float(intro.bowl_cost(p, c, w_star, j_min))
                                       for p in d.params], rtol=1e-14)


def test_divergence_is_detected_and_reported_without_nan(x64):
  _, z, y, mask = _circle("none")
  # alpha c = 2.2: the step ratio is 1.21 and the cost grows every step.
  d = intro.descend(intro.line_cost, intro.line_grads, jnp.zeros(2), 6.5e-5, 12, (z, y, mask))
  assert d.diverged and d.blew_up_at is None
  summary = intro.descent_summary(d)
  assert summary["step_length_ratio"] == pytest.approx(abs(1 - 6.5e-5 * 34004.16832), rel=1e-9)
  # A rate 10^4 times too large overflows float64 within 200 steps: the path is cut at
  # the blow-up and every recorded number stays finite.
  d = intro.descend(intro.line_cost, intro.line_grads, jnp.zeros(2), 0.5, 200, (z, y, mask))
  assert d.diverged and d.blew_up_at is not None and d.blew_up_at < 200
  assert len(d.costs) == d.blew_up_at + 1
  assert np.all(np.isfinite(d.costs)) and np.all(np.isfinite(d.params))
  json.dumps(intro.descent_summary(d), allow_nan=False)  # strict JSON
  # float32 reaches inf: the non-finite entry itself is dropped.
  d32 = intro.descend(intro.line_cost, intro.line_grads, jnp.zeros(2, jnp.float32), 0.5, 200,
                      (z.astype(jnp.float32), y.astype(jnp.float32), mask.astype(jnp.float32)),
                      blowup=np.inf)
  assert d32.diverged and np.all(np.isfinite(d32.costs))
  json.dumps(intro.descent_summary(d32), allow_nan=False)


def test_blowup_step():
  assert intro.blowup_step([1.0, 0.5, 0.2], np.zeros((3, 1)), 10) is None
  assert intro.blowup_step([1.0, 5.0, 50.0], np.zeros((3, 1)), 10) == 2
  assert intro.blowup_step([1.0, np.nan, 0.1], np.zeros((3, 1)), 10) == 1
  assert intro.blowup_step([1.0, 0.5], np.array([[0.0], [np.inf]]), 10) == 1


def test_bad_inputs_are_refused():
  with pytest.raises(ConfigError, match="learning_rate"):
    intro.descend(intro.bowl_cost, intro.bowl_grads, jnp.array([0.0]), 0.0, 3, (1.0, 0.0, 0.0))
  with pytest.raises(ConfigError, match="num_steps"):
    intro.descend(intro.bowl_cost, intro.bowl_grads, jnp.array([0.0]), 0.1, 0, (1.0, 0.0, 0.0))
  with pytest.raises(ConfigError, match="scaling"):
    intro.fit_scaling(np.ones((1, 3)), "minmax")
  with pytest.raises(DataError, match="constant"):
    intro.fit_scaling(np.ones((1, 3)), "standardize")


# --- the ReLU neuron -----------------------------------------------------------------

def test_neuron_gradient_matches_jax_grad_including_the_kink(x64):
  features, price = intro.houses(3, 50)
  size = features["size"]
  x = jnp.asarray((size - size.mean()) / size.std())
  y = jnp.asarray(price)
  kink = jnp.array([1.3, -1.3 * float(x[0, 0])])  # example 0 exactly at z = 0
  assert float(kink[0] * x[0, 0] + kink[1]) == 0.0
  for p in (jnp.array([1.0, 1.0]), jnp.array([-0.5, 0.2]), jnp.array([3.0, -2.0]), kink):
    np.testing.assert_allclose(intro.neuron_grads(p, x, y),
                               jax.grad(intro.neuron_cost)(p, x, y), rtol=1e-13, atol=1e-9)


def test_relu_convention_at_zero_is_zero(x64):
  # One example with z = 0 and an error h - y = -5: with g'(0) = 0 it contributes nothing.
  x, y = jnp.array([[2.0]]), jnp.array([[5.0]])
  p = jnp.array([1.0, -2.0])
  np.testing.assert_array_equal(intro.neuron_grads(p, x, y), [0.0, 0.0])
  # (jnp.maximum would have let jax.grad split the tie: 1/2, which is why the cost uses
  # jax.nn.relu.)
  half = jax.grad(lambda p: jnp.sum((jnp.maximum(p[0] * x + p[1], 0.0) - y) ** 2) / 2)(p)
  assert float(half[1]) == -2.5


def test_neuron_recovers_a_known_relu(x64):
  x = jnp.linspace(-2.0, 2.0, 41)[None, :]
  y = jnp.maximum(2.0 * x - 1.0, 0.0)
  d = intro.descend(intro.neuron_cost, intro.neuron_grads, jnp.array([1.0, 1.0]), 0.5, 2000,
                    (x, y))
  np.testing.assert_allclose(d.params[-1], [2.0, -1.0], atol=1e-6)
  a, b = intro.neuron_in_units(jnp.array([2.0, -1.0]), 10.0, 4.0)  # z = (s - 10) / 4
  assert (a, b) == (0.5, -6.0)


def test_houses_are_deterministic_and_priced_by_the_formula():
  f1, p1 = intro.houses(0, 20)
  f2, p2 = intro.houses(0, 20)
  np.testing.assert_array_equal(p1, p2)
  assert set(f1) == {"size", "bedrooms", "zip", "wealth"}
  assert all(v.shape == (1, 20) for v in f1.values()) and p1.shape == (1, 20)
  assert np.all(p1 >= 0) and np.all((f1["zip"] >= 0) & (f1["zip"] <= 4))
  assert not np.array_equal(p1, intro.houses(1, 20)[1])

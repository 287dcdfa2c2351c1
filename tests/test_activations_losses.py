"""Each hand-derived backward against jax.vjp of its forward; losses' dZ against jax.grad."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import activations, losses

pytestmark = pytest.mark.usefixtures("x64")


def _random(shape, seed):
  return jax.random.normal(jax.random.key(seed), shape, jnp.float64) * 3


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_activation_backward_equals_vjp(name):
  act = activations.ACTIVATIONS[name]
  Z = _random((4, 6), 0)
  dA = _random((4, 6), 1)
  A, vjp = jax.vjp(act.forward, Z)
  (expected,) = vjp(dA)
  np.testing.assert_allclose(act.backward(dA, Z, A), expected, rtol=1e-12, atol=1e-14)


def test_activation_values():
  Z = jnp.array([[-2.0, 0.0, 3.0]])
  np.testing.assert_allclose(activations.sigmoid(Z), 1 / (1 + np.exp(-np.array([[-2.0, 0, 3]]))))
  np.testing.assert_allclose(activations.relu(Z), [[0, 0, 3]])
  np.testing.assert_allclose(activations.leaky_relu(Z), [[-0.02, 0, 3]])
  S = activations.softmax(jnp.array([[1.0, 1000.0], [2.0, 1000.0]]))
  np.testing.assert_allclose(S[:, 0], np.exp([1, 2]) / np.exp([1, 2]).sum())
  np.testing.assert_allclose(S[:, 1], [0.5, 0.5])  # max-shift keeps exp(1000) finite


def test_relu_backward_takes_zero_at_zero():
  dZ = activations.relu_backward(jnp.ones((1, 3)), jnp.array([[-1.0, 0.0, 1.0]]), None)
  np.testing.assert_array_equal(dZ, [[0, 0, 1]])


def _labels(name, shape, seed):
  if name == "softmax_cross_entropy":
    k = jax.random.randint(jax.random.key(seed), (shape[1],), 0, shape[0])
    return jax.nn.one_hot(k, shape[0], dtype=jnp.float64).T
  if name == "binary_cross_entropy":
    return (jax.random.uniform(jax.random.key(seed), shape) > 0.5).astype(jnp.float64)
  return _random(shape, seed)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_output_dZ_is_m_times_grad_of_cost(name):
  loss = losses.LOSSES[name]
  shape = (3, 5) if name == "softmax_cross_entropy" else (1, 5)
  ZL, Y = _random(shape, 2), _labels(name, shape, 3)
  AL = activations.ACTIVATIONS[loss.output_activation].forward(ZL)
  m = shape[1]
  np.testing.assert_allclose(losses.output_dZ(AL, Y) / m, jax.grad(loss.cost)(ZL, Y),
                             rtol=1e-10, atol=1e-14)


def test_bce_equals_course_formula():
  Z, Y = _random((1, 7), 4), _labels("binary_cross_entropy", (1, 7), 5)
  A = 1 / (1 + np.exp(-np.asarray(Z)))
  course = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
  np.testing.assert_allclose(losses.binary_cross_entropy(Z, Y), course, rtol=1e-12)


def test_softmax_ce_equals_course_formula():
  Z, Y = _random((4, 6), 6), _labels("softmax_cross_entropy", (4, 6), 7)
  A = np.exp(Z) / np.exp(Z).sum(0)
  np.testing.assert_allclose(losses.softmax_cross_entropy(Z, Y), -np.sum(Y * np.log(A)) / 6,
                             rtol=1e-12)


def test_bce_finite_at_large_logits_in_float32():
  with jax.enable_x64(False):
    Z = jnp.array([[100.0, -100.0, 100.0, -100.0]], jnp.float32)
    Y = jnp.array([[0.0, 1.0, 1.0, 0.0]], jnp.float32)
    J, dZ = jax.value_and_grad(losses.binary_cross_entropy)(Z, Y)
    assert J.dtype == jnp.float32
    assert np.isfinite(J) and np.all(np.isfinite(dZ))
    # Two examples are wrong by a margin of 100 each, two are right: J = 200 / 4.
    np.testing.assert_allclose(J, 50.0, rtol=1e-6)
    np.testing.assert_allclose(dZ, [[0.25, -0.25, 0.0, 0.0]], atol=1e-6)
    # The naive form is what this guards against:
    A = jax.nn.sigmoid(Z)
    naive = -jnp.mean(Y * jnp.log(A) + (1 - Y) * jnp.log(1 - A))
    assert not np.isfinite(naive)

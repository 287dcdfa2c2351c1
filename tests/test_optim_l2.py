"""L2 regularization as an optax transformation equals the hand-written L2 backward.

Course (C2W1): dW^[l] += (lambda / m) W^[l] (weights only). ``optax.add_decayed_weights(
lambda / m, mask=weights)`` adds the same term to the incoming gradient, so chained
before gradient descent it must follow the trajectory of ``dense.cost_and_grads(...,
lambd=lambda)`` + ``W := W - alpha dW`` step for step (float64, 1e-12).
"""
import jax
import jax.numpy as jnp
import optax
import pytest

from dlcourse import data, initializers, optim
from dlcourse.models import dense

ARCH = dense.Architecture.make((2, 5, 2, 1))
LAMBD = 0.7
LR = 0.3
NUM_STEPS = 25
TOLERANCE = 1e-12


def weights_only(params):
  """The L2 mask: True for W^[l], False for b^[l]."""
  return {name: name.startswith("W") for name in params}


def hand_written_trajectory(params, X, Y):
  """W := W - alpha (dW + (lambda/m) W) with the L2 term from the hand-derived backward."""
  def step(params, _):
    _, grads = dense.cost_and_grads(params, X, Y, ARCH, lambd=LAMBD)
    return jax.tree.map(lambda p, g: p - LR * g, params, grads), None
  return jax.lax.scan(step, params, None, length=NUM_STEPS)[0]


def optax_trajectory(params, X, Y, mask):
  """Unregularized gradients through add_decayed_weights(lambda/m) then gd."""
  m = X.shape[1]
  optimizer = optax.chain(optax.add_decayed_weights(LAMBD / m, mask=mask), optim.gd(LR))

  def step(carry, _):
    params, state = carry
    _, grads = dense.cost_and_grads(params, X, Y, ARCH)
    updates, state = optimizer.update(grads, state, params)
    return (optax.apply_updates(params, updates), state), None
  return jax.lax.scan(step, (params, optimizer.init(params)), None, length=NUM_STEPS)[0][0]


@pytest.fixture
def problem(x64):
  X, Y = data.moons()
  return initializers.course_initialize(3, ARCH.layer_dims, "he"), jnp.asarray(X), jnp.asarray(
      Y, jnp.float64)


def max_abs_diff(a, b):
  return max(float(jnp.max(jnp.abs(a[k] - b[k]))) for k in a)


def test_add_decayed_weights_equals_the_hand_written_l2_backward(problem):
  params, X, Y = problem
  ours = jax.jit(hand_written_trajectory)(params, X, Y)
  via_optax = jax.jit(optax_trajectory, static_argnums=3)(params, X, Y, weights_only)
  assert all(v.dtype == jnp.float64 for v in via_optax.values())
  assert max_abs_diff(ours, via_optax) <= TOLERANCE
  assert max_abs_diff(ours, params) > 1e-2  # the run really moved


def test_decaying_the_biases_too_would_differ(problem):
  # The comparison above can see a wrong mask: decaying b as well leaves the trajectory.
  params, X, Y = problem
  ours = jax.jit(hand_written_trajectory)(params, X, Y)
  unmasked = jax.jit(optax_trajectory, static_argnums=3)(params, X, Y, None)
  assert max_abs_diff(ours, unmasked) > 1e-6

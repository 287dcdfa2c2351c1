"""Course 2, week 2 optimizers, written by hand as ``optax.GradientTransformation``s.

The split follows optax: a ``scale_by_*`` building block turns the gradient ``dW``
into a *direction* (no learning rate, same sign as the gradient), and the alias
(``momentum``, ``rmsprop``, ``adam``) chains it with
``optax.scale_by_learning_rate(learning_rate)``, which multiplies by
``-learning_rate`` (a float or a schedule ``step -> lr``). With
``params = optax.apply_updates(params, updates)`` that is the course's
``W := W - learning_rate * direction``.

Every state leaf has the shape and dtype of the parameter it belongs to (so a
float64 model keeps float64 moments); step counters are int32 scalars.

Hyperparameters are checked when the transformation is built, before anything is
compiled, and a bad one raises ``dlcourse.errors.ConfigError``. Values that are
only known while tracing (``optax.inject_hyperparams`` under ``jax.jit``) cannot be
checked and are taken as given.
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from dlcourse import arrays, validation
from dlcourse.errors import ConfigError, ShapeError

__all__ = [
    "EwaState",
    "MomentumState",
    "RMSPropState",
    "AdamState",
    "exponentially_weighted_average",
    "smooth",
    "scale_by_momentum",
    "scale_by_rmsprop",
    "scale_by_adam",
    "gd",
    "momentum",
    "rmsprop",
    "adam",
]


# ----------------------------------------------------------------------------
# Hyperparameter checks
# ----------------------------------------------------------------------------


def _is_traced(value: Any) -> bool:
  """A tracer's value is unknowable when the optimizer is built (a vmapped sweep)."""
  return isinstance(value, jax.core.Tracer)


def _scalar_value(name: str, value: Any) -> float | None:
  """``value`` as a Python float, or None when it is a tracer (unknowable now)."""
  return None if _is_traced(value) else validation.real_scalar(name, value)


def _check_learning_rate(learning_rate: Any) -> None:
  """A float learning rate must be finite and > 0; a schedule is only known step by step."""
  if not callable(learning_rate) and not _is_traced(learning_rate):
    validation.learning_rate(learning_rate)


def _check_beta(name: str, beta: Any) -> None:
  """An averaging coefficient must lie in [0, 1): beta = 1 would never move."""
  value = _scalar_value(name, beta)
  if value is not None and not 0.0 <= value < 1.0:
    raise ConfigError(f"{name} must lie in [0, 1), got {beta!r}")


def _check_epsilon(epsilon: Any) -> None:
  """epsilon guards a division, so it must be finite and > 0."""
  if not _is_traced(epsilon):
    validation.positive_real("epsilon", epsilon)


# ----------------------------------------------------------------------------
# Pure pieces shared by the transformations
# ----------------------------------------------------------------------------


def _zeros_like_tree(params: optax.Params) -> optax.Updates:
  """v = 0 for every leaf, with the leaf's shape and dtype."""
  return jax.tree.map(arrays.zeros_like, params)


def _average_step(average: optax.Updates, values: optax.Updates, beta: Any) -> optax.Updates:
  """One step of the exponentially weighted average, leaf by leaf.

  ``v = beta * v + (1 - beta) * theta``, in the dtype of ``v``: an injected
  float64 ``beta`` cannot promote float32 state (scan carries need fixed dtypes),
  and ``1 - beta`` is the same rounded number that ``_debias`` divides by, so a
  corrected constant series is that constant from t = 1 on (to rounding).
  """
  def step(v, theta):
    b = jnp.asarray(beta, v.dtype)
    return (b * v + (1 - b) * theta).astype(v.dtype)
  return jax.tree.map(step, average, values)


def _square(values: optax.Updates) -> optax.Updates:
  """Element-wise ``dW ** 2``."""
  return jax.tree.map(lambda g: g * g, values)


def _debias(average: optax.Updates, beta: Any, count: jax.Array) -> optax.Updates:
  """Bias correction ``v / (1 - beta ** t)`` with ``t`` counting from 1.

  The factor is computed in each leaf's dtype, with the same rounded ``beta``
  as ``_average_step``.
  """
  def correct(v):
    t = count.astype(v.dtype)
    return v / (1 - jnp.asarray(beta, v.dtype) ** t)
  return jax.tree.map(correct, average)


def _cast_like(values: optax.Updates, like: optax.Updates) -> optax.Updates:
  """Cast each leaf to the dtype of the matching incoming gradient.

  A building block does not change the dtype of what flows through a chain.
  """
  return jax.tree.map(lambda value, g: value.astype(g.dtype), values, like)


# ----------------------------------------------------------------------------
# Exponentially weighted averages
# ----------------------------------------------------------------------------


class EwaState(NamedTuple):
  """State of ``exponentially_weighted_average``.

  count: int32 scalar, number of values averaged so far (t).
  average: the uncorrected average v_t, one leaf per parameter, same shape/dtype.
  """
  count: jax.Array
  average: optax.Updates


def exponentially_weighted_average(
    beta: float, bias_correction: bool = False) -> optax.GradientTransformation:
  """Exponentially weighted average of whatever flows through (gradients by default).

  Course formula (C2W2 "Exponentially weighted averages"), with v_0 = 0::

      v_t = beta * v_{t-1} + (1 - beta) * theta_t
      output_t = v_t                        (bias_correction=False)
      output_t = v_t / (1 - beta ** t)      (bias_correction=True, t = 1, 2, ...)

  v averages roughly the last 1 / (1 - beta) values. Without correction the first
  outputs are too small (v_1 = (1 - beta) * theta_1); the correction fixes the
  start-up and fades away as beta ** t -> 0.

  Same as ``optax.ema(beta, debias=bias_correction)``; it is spelled out here
  because momentum, RMSprop and Adam are all built from this one idea.

  Args:
    beta: averaging coefficient in [0, 1).
    bias_correction: divide by (1 - beta ** t).

  Returns:
    A transformation whose state is ``EwaState``; every output leaf has the shape
    and dtype of the incoming leaf.
  """
  _check_beta("beta", beta)
  validation.flag("bias_correction", bias_correction)

  def init_fn(params):
    return EwaState(count=arrays.device_zeros((), jnp.int32), average=_zeros_like_tree(params))

  def update_fn(updates, state, params=None):
    del params
    count = optax.safe_increment(state.count)
    average = _average_step(state.average, updates, beta)
    output = _debias(average, beta, count) if bias_correction else average
    return _cast_like(output, updates), EwaState(count=count, average=average)

  return optax.GradientTransformation(init_fn, update_fn)


def smooth(series: Any, beta: float, bias_correction: bool = False) -> jax.Array:
  """The lecture's temperature example: the weighted average of a 1-D series.

  ``v_0 = 0``, ``v_t = beta * v_{t-1} + (1 - beta) * theta_t`` and, with
  ``bias_correction``, ``v_t / (1 - beta ** t)``. It runs
  ``exponentially_weighted_average`` over the series with ``lax.scan``.

  Args:
    series: shape (T,), e.g. daily temperatures theta_1..theta_T; integers are
      promoted to the default float dtype.
    beta: averaging coefficient in [0, 1) (0.9 ~ 10 days, 0.98 ~ 50 days).
    bias_correction: divide by (1 - beta ** t).

  Returns:
    shape (T,): the averaged series v_1..v_T (corrected when asked).
  """
  transform = exponentially_weighted_average(beta, bias_correction)
  values = jnp.asarray(series)
  if values.ndim != 1:
    raise ShapeError(f"smooth expects a 1-D series of shape (T,), got shape {values.shape}")
  values = values.astype(jnp.result_type(values.dtype, 1.0))

  def step(state, theta):
    output, state = transform.update(theta, state)
    return state, output

  initial = transform.init(jnp.zeros((), values.dtype))  # v_0 = 0, a scalar per day
  _, smoothed = jax.lax.scan(step, initial, values)
  return smoothed


# ----------------------------------------------------------------------------
# Building blocks (directions, no learning rate)
# ----------------------------------------------------------------------------


class MomentumState(NamedTuple):
  """State of ``scale_by_momentum``: the velocity v, one leaf per parameter."""
  velocity: optax.Updates


def scale_by_momentum(beta: float = 0.9) -> optax.GradientTransformation:
  """Momentum direction, course form: the weighted average of the gradients.

  Course (C2W2 "Gradient descent with momentum"), v_0 = 0::

      v_dW = beta * v_dW + (1 - beta) * dW      -> output v_dW

  No bias correction: the course notes it is rarely needed after a few steps.

  Differs from optax: ``optax.trace`` / ``optax.sgd(momentum=beta)`` accumulate
  ``v = beta * v + dW`` (no ``(1 - beta)``), so their steps are 1 / (1 - beta)
  times larger at the same learning rate. This block equals
  ``optax.ema(beta, debias=False)``.

  Args:
    beta: averaging coefficient in [0, 1).

  Returns:
    A transformation whose output has the shapes/dtypes of the gradients.
  """
  _check_beta("beta", beta)

  def init_fn(params):
    return MomentumState(velocity=_zeros_like_tree(params))

  def update_fn(updates, state, params=None):
    del params
    velocity = _average_step(state.velocity, updates, beta)
    return _cast_like(velocity, updates), MomentumState(velocity=velocity)

  return optax.GradientTransformation(init_fn, update_fn)


class RMSPropState(NamedTuple):
  """State of ``scale_by_rmsprop``: s, the average of squared gradients."""
  square_average: optax.Updates


def scale_by_rmsprop(beta2: float = 0.999, epsilon: float = 1e-8) -> optax.GradientTransformation:
  """RMSprop direction, course form.

  Course (C2W2 "RMSprop"), s_0 = 0, element-wise::

      s_dW = beta2 * s_dW + (1 - beta2) * dW ** 2
      output = dW / (sqrt(s_dW) + epsilon)

  Differs from optax: ``optax.rmsprop`` / ``optax.scale_by_rms`` default to
  ``eps_in_sqrt=True`` (``dW / sqrt(s + eps)``) and ``decay=0.9``; the course adds
  epsilon outside the root. This block equals
  ``optax.scale_by_rms(decay=beta2, eps=epsilon, eps_in_sqrt=False)``.

  Args:
    beta2: averaging coefficient of the squared gradients, in [0, 1).
    epsilon: > 0, keeps the division finite where s_dW is ~0.

  Returns:
    A transformation whose output has the shapes/dtypes of the gradients.
  """
  _check_beta("beta2", beta2)
  _check_epsilon(epsilon)

  def init_fn(params):
    return RMSPropState(square_average=_zeros_like_tree(params))

  def update_fn(updates, state, params=None):
    del params
    square_average = _average_step(state.square_average, _square(updates), beta2)
    direction = jax.tree.map(
        lambda g, s: g / (jnp.sqrt(s) + epsilon), updates, square_average)
    return _cast_like(direction, updates), RMSPropState(square_average=square_average)

  return optax.GradientTransformation(init_fn, update_fn)


class AdamState(NamedTuple):
  """State of ``scale_by_adam``.

  count: int32 scalar t, the number of steps taken (the first update uses t = 1).
  velocity: v, the uncorrected average of gradients.
  square_average: s, the uncorrected average of squared gradients.
  """
  count: jax.Array
  velocity: optax.Updates
  square_average: optax.Updates


def scale_by_adam(
    beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8) -> optax.GradientTransformation:
  """Adam direction, course form: momentum and RMSprop, both bias corrected.

  Course (C2W2 "Adam optimization algorithm"), v_0 = s_0 = 0, t = 1, 2, ...::

      v_dW = beta1 * v_dW + (1 - beta1) * dW
      s_dW = beta2 * s_dW + (1 - beta2) * dW ** 2
      v_corrected = v_dW / (1 - beta1 ** t)
      s_corrected = s_dW / (1 - beta2 ** t)
      output = v_corrected / (sqrt(s_corrected) + epsilon)

  Matches ``optax.scale_by_adam(b1, b2, eps, eps_root=0)``: optax also keeps
  epsilon outside the root; only the argument names differ.

  Args:
    beta1: averaging coefficient of the gradients, in [0, 1).
    beta2: averaging coefficient of the squared gradients, in [0, 1).
    epsilon: > 0, keeps the division finite where s_corrected is ~0.

  Returns:
    A transformation whose output has the shapes/dtypes of the gradients.
  """
  _check_beta("beta1", beta1)
  _check_beta("beta2", beta2)
  _check_epsilon(epsilon)

  def init_fn(params):
    return AdamState(
        count=arrays.device_zeros((), jnp.int32),
        velocity=_zeros_like_tree(params),
        square_average=_zeros_like_tree(params))

  def update_fn(updates, state, params=None):
    del params
    count = optax.safe_increment(state.count)
    velocity = _average_step(state.velocity, updates, beta1)
    square_average = _average_step(state.square_average, _square(updates), beta2)
    v_corrected = _debias(velocity, beta1, count)
    s_corrected = _debias(square_average, beta2, count)
    direction = jax.tree.map(
        lambda v, s: v / (jnp.sqrt(s) + epsilon), v_corrected, s_corrected)
    new_state = AdamState(count=count, velocity=velocity, square_average=square_average)
    return _cast_like(direction, updates), new_state

  return optax.GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------
# Optimizers (building block + learning rate)
# ----------------------------------------------------------------------------


def gd(learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformation:
  """(Mini-batch) gradient descent.

  Course: ``W := W - learning_rate * dW`` (every leaf, any shape). Same as
  ``optax.sgd(learning_rate)`` with no momentum.

  Args:
    learning_rate: float > 0, or a schedule ``step -> lr``.
  """
  _check_learning_rate(learning_rate)
  return optax.scale_by_learning_rate(learning_rate)


def momentum(learning_rate: optax.ScalarOrSchedule, beta: float = 0.9) -> optax.GradientTransformation:
  """Gradient descent with momentum, course form.

  Course::

      v_dW = beta * v_dW + (1 - beta) * dW
      W := W - learning_rate * v_dW

  Differs from ``optax.sgd(learning_rate, momentum=beta)``, which uses
  ``v = beta * v + dW`` (no ``(1 - beta)``). Equals
  ``optax.chain(optax.ema(beta, debias=False), optax.scale_by_learning_rate(lr))``.

  Args:
    learning_rate: float > 0, or a schedule ``step -> lr``.
    beta: in [0, 1); 0 gives plain gradient descent.
  """
  _check_learning_rate(learning_rate)
  return optax.chain(scale_by_momentum(beta), optax.scale_by_learning_rate(learning_rate))


def rmsprop(
    learning_rate: optax.ScalarOrSchedule, beta2: float = 0.999,
    epsilon: float = 1e-8) -> optax.GradientTransformation:
  """RMSprop, course form.

  Course::

      s_dW = beta2 * s_dW + (1 - beta2) * dW ** 2
      W := W - learning_rate * dW / (sqrt(s_dW) + epsilon)

  Differs from optax's defaults: ``optax.rmsprop`` uses ``decay=0.9`` and
  ``eps_in_sqrt=True`` (epsilon inside the root). Equals
  ``optax.rmsprop(lr, decay=beta2, eps=epsilon, eps_in_sqrt=False)``.

  Args:
    learning_rate: float > 0, or a schedule ``step -> lr``.
    beta2: in [0, 1).
    epsilon: > 0.
  """
  _check_learning_rate(learning_rate)
  return optax.chain(
      scale_by_rmsprop(beta2, epsilon), optax.scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: optax.ScalarOrSchedule, beta1: float = 0.9, beta2: float = 0.999,
    epsilon: float = 1e-8) -> optax.GradientTransformation:
  """Adam, course form (bias-corrected momentum + RMSprop).

  Course, t = 1, 2, ...::

      v_dW = beta1 * v_dW + (1 - beta1) * dW;   v_corrected = v_dW / (1 - beta1 ** t)
      s_dW = beta2 * s_dW + (1 - beta2) * dW**2; s_corrected = s_dW / (1 - beta2 ** t)
      W := W - learning_rate * v_corrected / (sqrt(s_corrected) + epsilon)

  Equals ``optax.adam(lr, b1=beta1, b2=beta2, eps=epsilon)`` (optax also adds
  epsilon outside the root; ``eps_root`` stays 0).

  Args:
    learning_rate: float > 0, or a schedule ``step -> lr``.
    beta1: in [0, 1) (course default 0.9).
    beta2: in [0, 1) (course default 0.999).
    epsilon: > 0 (course default 1e-8).
  """
  _check_learning_rate(learning_rate)
  return optax.chain(
      scale_by_adam(beta1, beta2, epsilon), optax.scale_by_learning_rate(learning_rate))

"""Learning-rate decay (Course 2, week 2) as optax schedules ``step -> lr``.

optax counts *updates* (mini-batch steps); the course counts *epochs*. Each
schedule maps the step count to an epoch with::

    epoch = step // steps_per_epoch       (steps_per_epoch = mini-batches per epoch)

and then applies the course formula to that epoch. The result can be passed as
the ``learning_rate`` of any optimizer in ``dlcourse.optim`` (or optax).

``course_timing=True`` reproduces the course notebook, which trains epoch ``e``
with the rate computed at the *end* of epoch ``e - 1``: epoch 0 uses
``learning_rate0`` and epoch ``e >= 1`` uses ``f(e - 1)``. Because every formula
here has ``f(0) = learning_rate0``, that is ``f(max(epoch - 1, 0))``.

All schedules are pure jnp functions of ``step`` (a Python int or a traced int
array) and return a float scalar. Hyperparameters are checked when the schedule
is built and a bad one raises ``dlcourse.errors.ConfigError``.
"""
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp

from dlcourse import validation
from dlcourse.errors import ConfigError

__all__ = ["inverse_time_decay", "fixed_interval_decay", "exponential_decay", "course_decay",
           "exponential_decay_of_log"]

Schedule = Callable[[Any], jax.Array]


def _check_common(learning_rate0: Any, steps_per_epoch: Any,
                  course_timing: Any) -> tuple[float, int]:
  """Checks shared by every schedule; returns (learning_rate0, steps_per_epoch)."""
  steps_per_epoch = validation.positive_int("steps_per_epoch", steps_per_epoch)
  validation.flag("course_timing", course_timing)
  return validation.learning_rate(learning_rate0, name="learning_rate0"), steps_per_epoch


def _epoch(step: Any, steps_per_epoch: int, course_timing: bool) -> jax.Array:
  """Integer epoch whose formula value the step uses.

  ``step // steps_per_epoch``; with the notebook's timing, one epoch later
  (``max(epoch - 1, 0)``), since the notebook updates the rate after each epoch.
  """
  epoch = jnp.asarray(step) // steps_per_epoch
  if course_timing:
    epoch = jnp.maximum(epoch - 1, 0)
  return epoch


def inverse_time_decay(
    learning_rate0: float, decay_rate: float, steps_per_epoch: int = 1,
    course_timing: bool = False) -> Schedule:
  """``lr = learning_rate0 / (1 + decay_rate * epoch)`` (course: ``alpha0 / (1 + decay_rate * epoch_num)``).

  Args:
    learning_rate0: > 0, the rate of epoch 0.
    decay_rate: >= 0 (0 keeps the rate constant).
    steps_per_epoch: mini-batches per epoch, a positive integer.
    course_timing: apply the notebook's one-epoch delay (see the module docstring).

  Returns:
    ``schedule(step) -> lr``, a float scalar.
  """
  # Python floats keep the result in the default float dtype even for int inputs.
  learning_rate0, steps_per_epoch = _check_common(learning_rate0, steps_per_epoch,
                                                  course_timing)
  decay_rate = validation.non_negative_real("decay_rate", decay_rate)
  # An interval of one epoch: epoch // 1 is epoch, so the same values to the bit.
  return course_decay(learning_rate0, decay_rate, 1, steps_per_epoch, course_timing)


def fixed_interval_decay(
    learning_rate0: float, decay_rate: float, time_interval: float, steps_per_epoch: int = 1,
    course_timing: bool = False) -> Schedule:
  """``lr = learning_rate0 / (1 + decay_rate * floor(epoch / time_interval))``.

  The notebook's ``schedule_lr_decay``: the rate drops in steps, once every
  ``time_interval`` epochs, instead of after every epoch.

  Args:
    learning_rate0: > 0, the rate of epoch 0.
    decay_rate: >= 0.
    time_interval: > 0, epochs between drops (the notebook uses 1000).
    steps_per_epoch: mini-batches per epoch, a positive integer.
    course_timing: apply the notebook's one-epoch delay (see the module docstring).

  Returns:
    ``schedule(step) -> lr``, a float scalar.
  """
  # Python floats keep the result in the default float dtype even for int inputs.
  learning_rate0, steps_per_epoch = _check_common(learning_rate0, steps_per_epoch,
                                                  course_timing)
  decay_rate = validation.non_negative_real("decay_rate", decay_rate)
  validation.positive_real("time_interval", time_interval)
  return course_decay(learning_rate0, decay_rate, time_interval, steps_per_epoch,
                      course_timing)


def course_decay(learning_rate0: Any, decay_rate: Any, time_interval: Any,
                 steps_per_epoch: int = 1, course_timing: bool = False) -> Schedule:
  """``lr = learning_rate0 / (1 + decay_rate * floor(epoch / time_interval))``: the
  course's decays as one formula whose three numbers may be traced arrays.

  ``time_interval = 1`` is the inverse-time decay, ``decay_rate = 0`` no decay at all
  (``lr = learning_rate0 / 1``, exactly ``learning_rate0``). With the three numbers in
  an optimizer's state (``optax.inject_hyperparams``) one compiled program serves every
  value of them. Nothing here checks them (a traced value cannot be checked): the
  caller checks the config's values first, as ``fixed_interval_decay`` does.

  Args:
    learning_rate0, decay_rate, time_interval: scalars or traced arrays; an integer
      ``time_interval`` keeps the floor division in integers.
    steps_per_epoch: mini-batches per epoch, a positive integer (static).
    course_timing: apply the notebook's one-epoch delay (see the module docstring).
  """
  steps_per_epoch = validation.positive_int("steps_per_epoch", steps_per_epoch)
  validation.flag("course_timing", course_timing)

  def schedule(step):
    epoch = _epoch(step, steps_per_epoch, course_timing)
    # Floor division stays exact in integers for an integer interval, where a
    # float32 quotient could round (k*T - 1) / T up to k.
    return learning_rate0 / (1 + decay_rate * (epoch // time_interval))
  return schedule


def exponential_decay(
    learning_rate0: float, base: float = 0.95, steps_per_epoch: int = 1,
    course_timing: bool = False) -> Schedule:
  """``lr = base ** epoch * learning_rate0`` (lecture: ``0.95 ** epoch_num * alpha0``).

  Args:
    learning_rate0: > 0, the rate of epoch 0.
    base: in (0, 1]; 1 keeps the rate constant, > 1 would grow it.
    steps_per_epoch: mini-batches per epoch, a positive integer.
    course_timing: apply the notebook's one-epoch delay (see the module docstring).

  Returns:
    ``schedule(step) -> lr``, a float scalar.
  """
  learning_rate0, steps_per_epoch = _check_common(learning_rate0, steps_per_epoch,
                                                  course_timing)
  base = validation.real_scalar("base", base)
  if not 0 < base <= 1:
    raise ConfigError(f"base must lie in (0, 1], got {base!r}")

  # exp(epoch * log(base)) with log(base) taken in double precision: a float32
  # `base ** epoch` would raise the rounding error of `base` to the power epoch.
  return exponential_decay_of_log(learning_rate0, math.log(base), steps_per_epoch,
                                  course_timing)


def exponential_decay_of_log(learning_rate0: Any, log_base: Any, steps_per_epoch: int = 1,
                             course_timing: bool = False) -> Schedule:
  """``lr = learning_rate0 * exp(epoch * log_base)``, ``exponential_decay`` with both
  numbers possibly traced arrays (``log_base = 0``: no decay, exactly ``learning_rate0``),
  so that one compiled program serves every value. Unchecked, as ``course_decay``."""
  steps_per_epoch = validation.positive_int("steps_per_epoch", steps_per_epoch)
  validation.flag("course_timing", course_timing)

  def schedule(step):
    epoch = _epoch(step, steps_per_epoch, course_timing)
    return learning_rate0 * jnp.exp(epoch * log_base)

  return schedule

"""Tests of dlcourse.schedules: course formulas per epoch, timing, step mapping, tracing."""
import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim, schedules
from dlcourse.errors import ConfigError

RTOL = 1e-6  # float32 results


def _at(schedule, steps):
  """Schedule values at ``steps``, evaluated one Python int at a time (as optax would)."""
  return np.array([float(schedule(step)) for step in steps])


# Course functions, written as in the notebook: the rate for epoch number `epoch_num`.


def _course_update_lr(learning_rate0, epoch_num, decay_rate):
  return learning_rate0 / (1 + decay_rate * epoch_num)


def _course_schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval):
  return learning_rate0 / (1 + decay_rate * math.floor(epoch_num / time_interval))


def _course_exponential(learning_rate0, epoch_num, base):
  return base ** epoch_num * learning_rate0


# ----------------------------------------------------------------------------
# Exact values
# ----------------------------------------------------------------------------


def test_signatures():
  assert list(inspect.signature(schedules.inverse_time_decay).parameters) == [
      "learning_rate0", "decay_rate", "steps_per_epoch", "course_timing"]
  assert list(inspect.signature(schedules.fixed_interval_decay).parameters) == [
      "learning_rate0", "decay_rate", "time_interval", "steps_per_epoch", "course_timing"]
  exponential = inspect.signature(schedules.exponential_decay).parameters
  assert list(exponential) == ["learning_rate0", "base", "steps_per_epoch", "course_timing"]
  assert exponential["base"].default == 0.95
  for fn in (schedules.inverse_time_decay, schedules.fixed_interval_decay,
             schedules.exponential_decay):
    params = inspect.signature(fn).parameters
    assert params["steps_per_epoch"].default == 1
    assert params["course_timing"].default is False


def test_inverse_time_decay_values():
  # 0.3 / (1 + 1 * epoch)
  np.testing.assert_allclose(
      _at(schedules.inverse_time_decay(0.3, 1.0), [0, 1, 2, 5]), [0.3, 0.15, 0.1, 0.05], rtol=RTOL)
  # 0.3 / (1 + 0.5 * epoch)
  np.testing.assert_allclose(
      _at(schedules.inverse_time_decay(0.3, 0.5), [0, 2, 4]), [0.3, 0.15, 0.1], rtol=RTOL)


def test_fixed_interval_decay_values():
  # 0.3 / (1 + floor(epoch / 3))
  np.testing.assert_allclose(
      _at(schedules.fixed_interval_decay(0.3, 1.0, 3), [0, 2, 3, 5, 6, 9]),
      [0.3, 0.3, 0.15, 0.15, 0.1, 0.075], rtol=RTOL)
  # The notebook's setting: drops every 1000 epochs.
  np.testing.assert_allclose(
      _at(schedules.fixed_interval_decay(0.1, 1.0, 1000), [999, 1000, 1999, 2000, 2500]),
      [0.1, 0.05, 0.05, 0.1 / 3, 0.1 / 3], rtol=RTOL)


def test_fixed_interval_decay_drops_exactly_at_interval_boundaries():
  schedule = schedules.fixed_interval_decay(1.0, 1.0, 1000)
  boundaries = [k * 1000 for k in (1, 5, 1234, 999_999)]
  before = _at(schedule, [b - 1 for b in boundaries])
  after = _at(schedule, boundaries)
  k = np.array([1, 5, 1234, 999_999])
  np.testing.assert_allclose(before, 1.0 / k, rtol=RTOL)
  np.testing.assert_allclose(after, 1.0 / (1 + k), rtol=RTOL)


def test_fixed_interval_decay_accepts_fractional_interval():
  # floor(epoch / 2.5): epochs 0-2 -> 0, 3-4 -> 1, 5 -> 2
  np.testing.assert_allclose(
      _at(schedules.fixed_interval_decay(1.0, 1.0, 2.5), [0, 2, 3, 4, 5]),
      [1.0, 1.0, 0.5, 0.5, 1 / 3], rtol=RTOL)


def test_exponential_decay_values():
  np.testing.assert_allclose(
      _at(schedules.exponential_decay(1.0, 0.5), [0, 1, 2, 3]), [1.0, 0.5, 0.25, 0.125], rtol=RTOL)
  # Lecture default base 0.95.
  np.testing.assert_allclose(
      _at(schedules.exponential_decay(0.2), [0, 1, 2, 100]),
      [0.2, 0.19, 0.1805, 0.2 * 0.95 ** 100], rtol=RTOL)


def test_int_hyperparameters_give_float_rates():
  assert float(schedules.inverse_time_decay(1, 1)(3)) == 0.25
  assert float(schedules.fixed_interval_decay(1, 1, 2)(4)) == pytest.approx(1 / 3, rel=RTOL)
  assert float(schedules.exponential_decay(2, 1)(7)) == 2.0


def test_zero_decay_rate_is_constant():
  steps = [0, 1, 10, 1000]
  np.testing.assert_array_equal(_at(schedules.inverse_time_decay(0.3, 0.0), steps),
                                np.float32(0.3))
  np.testing.assert_array_equal(_at(schedules.fixed_interval_decay(0.3, 0.0, 2), steps),
                                np.float32(0.3))


def test_float64_values(x64):
  np.testing.assert_allclose(_at(schedules.exponential_decay(0.2), [3, 50]),
                             [0.2 * 0.95 ** 3, 0.2 * 0.95 ** 50], rtol=1e-14)
  np.testing.assert_allclose(_at(schedules.inverse_time_decay(0.3, 0.7), [3]),
                             [0.3 / (1 + 0.7 * 3)], rtol=1e-15)


# ----------------------------------------------------------------------------
# Epochs from steps, and the notebook's timing
# ----------------------------------------------------------------------------


def test_steps_per_epoch_maps_steps_to_epochs():
  schedule = schedules.inverse_time_decay(0.3, 1.0, steps_per_epoch=4)
  np.testing.assert_allclose(
      _at(schedule, range(10)),
      [0.3] * 4 + [0.15] * 4 + [0.1] * 2, rtol=RTOL)
  exponential = schedules.exponential_decay(1.0, 0.5, steps_per_epoch=3)
  np.testing.assert_allclose(_at(exponential, [0, 2, 3, 5, 6]), [1, 1, 0.5, 0.5, 0.25], rtol=RTOL)


def test_course_timing_shifts_by_one_epoch():
  np.testing.assert_allclose(
      _at(schedules.inverse_time_decay(0.3, 1.0, course_timing=True), [0, 1, 2, 3]),
      [0.3, 0.3, 0.15, 0.1], rtol=RTOL)
  # lr0 / (1 + floor((e - 1) / 2)) for e >= 1
  np.testing.assert_allclose(
      _at(schedules.fixed_interval_decay(0.3, 1.0, 2, course_timing=True), range(6)),
      [0.3, 0.3, 0.3, 0.15, 0.15, 0.1], rtol=RTOL)
  np.testing.assert_allclose(
      _at(schedules.exponential_decay(1.0, 0.5, course_timing=True), [0, 1, 2, 3]),
      [1.0, 1.0, 0.5, 0.25], rtol=RTOL)


@pytest.mark.parametrize("course_timing", [False, True])
@pytest.mark.parametrize("kind", ["inverse_time", "fixed_interval", "exponential"])
def test_matches_notebook_training_loop(kind, course_timing):
  """Replays the notebook's loop: the rate each mini-batch step trained with."""
  lr0, decay_rate, time_interval, base, steps_per_epoch, num_epochs = 0.2, 0.7, 3, 0.9, 5, 12
  course = {
      "inverse_time": lambda e: _course_update_lr(lr0, e, decay_rate),
      "fixed_interval": lambda e: _course_schedule_lr_decay(lr0, e, decay_rate, time_interval),
      "exponential": lambda e: _course_exponential(lr0, e, base),
  }[kind]
  schedule = {
      "inverse_time": lambda: schedules.inverse_time_decay(
          lr0, decay_rate, steps_per_epoch, course_timing),
      "fixed_interval": lambda: schedules.fixed_interval_decay(
          lr0, decay_rate, time_interval, steps_per_epoch, course_timing),
      "exponential": lambda: schedules.exponential_decay(
          lr0, base, steps_per_epoch, course_timing),
  }[kind]()

  used, learning_rate = [], lr0
  for epoch in range(num_epochs):
    if not course_timing:
      learning_rate = course(epoch)  # rate of this epoch, set before it starts
    used += [learning_rate] * steps_per_epoch
    if course_timing:
      learning_rate = course(epoch)  # the notebook updates after the epoch ends
  np.testing.assert_allclose(_at(schedule, range(len(used))), used, rtol=RTOL)
  assert len(set(used)) > 3  # the rate really changed


# ----------------------------------------------------------------------------
# Tracing
# ----------------------------------------------------------------------------


SCHEDULES = {
    "inverse_time": schedules.inverse_time_decay(0.3, 0.5, 2),
    "fixed_interval": schedules.fixed_interval_decay(0.3, 0.5, 3, 2, True),
    "exponential": schedules.exponential_decay(0.3, 0.8, 2, True),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_traced_step_gives_same_values(name):
  schedule = SCHEDULES[name]
  steps = np.arange(0, 40, 3)
  traced = jax.jit(jax.vmap(schedule))(jnp.asarray(steps, jnp.int32))
  np.testing.assert_allclose(traced, _at(schedule, steps), rtol=RTOL)
  assert traced.dtype == jnp.float32


def test_schedule_drives_an_optimizer_under_jit():
  """optax passes its int32 step count, traced inside the scan, to the schedule."""
  schedule = schedules.inverse_time_decay(0.5, 1.0, steps_per_epoch=2)
  tx = optim.gd(schedule)

  def step(carry, _):
    params, state = carry
    updates, state = tx.update({"w": jnp.ones(())}, state, params)
    return (optax.apply_updates(params, updates), state), updates["w"]

  params = {"w": jnp.zeros(())}
  _, updates = jax.jit(lambda p: jax.lax.scan(step, (p, tx.init(p)), None, length=6))(params)
  np.testing.assert_allclose(updates, [-0.5, -0.5, -0.25, -0.25, -0.5 / 3, -0.5 / 3], rtol=RTOL)


# ----------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("build, name", [
    (lambda: schedules.inverse_time_decay(0.0, 1.0), "learning_rate0"),
    (lambda: schedules.inverse_time_decay(-0.1, 1.0), "learning_rate0"),
    (lambda: schedules.inverse_time_decay(float("nan"), 1.0), "learning_rate0"),
    (lambda: schedules.inverse_time_decay(True, 1.0), "learning_rate0"),
    (lambda: schedules.inverse_time_decay("0.1", 1.0), "learning_rate0"),
    (lambda: schedules.inverse_time_decay(0.1, -0.5), "decay_rate"),
    (lambda: schedules.inverse_time_decay(0.1, 1.0, 0), "steps_per_epoch"),
    (lambda: schedules.inverse_time_decay(0.1, 1.0, -3), "steps_per_epoch"),
    (lambda: schedules.inverse_time_decay(0.1, 1.0, 2.5), "steps_per_epoch"),
    (lambda: schedules.inverse_time_decay(0.1, 1.0, True), "steps_per_epoch"),
    (lambda: schedules.inverse_time_decay(0.1, 1.0, course_timing=1), "course_timing"),
    (lambda: schedules.fixed_interval_decay(0.0, 1.0, 10), "learning_rate0"),
    (lambda: schedules.fixed_interval_decay(0.1, -1.0, 10), "decay_rate"),
    (lambda: schedules.fixed_interval_decay(0.1, 1.0, 0), "time_interval"),
    (lambda: schedules.fixed_interval_decay(0.1, 1.0, -10), "time_interval"),
    (lambda: schedules.fixed_interval_decay(0.1, 1.0, 10, 0), "steps_per_epoch"),
    (lambda: schedules.exponential_decay(-1.0), "learning_rate0"),
    (lambda: schedules.exponential_decay(0.1, 0.0), "base"),
    (lambda: schedules.exponential_decay(0.1, -0.5), "base"),
    (lambda: schedules.exponential_decay(0.1, 1.5), "base"),
    (lambda: schedules.exponential_decay(0.1, 0.95, 0), "steps_per_epoch"),
    (lambda: schedules.exponential_decay(float("inf")), "learning_rate0 must be a finite"),
    (lambda: schedules.inverse_time_decay(0.1, float("inf")), "decay_rate must be a finite"),
])
def test_bad_hyperparameters_raise_config_error(build, name):
  with pytest.raises(ConfigError, match=name):
    build()


def test_good_edge_hyperparameters_are_accepted():
  schedules.inverse_time_decay(0.1, 0)
  schedules.fixed_interval_decay(0.1, 0.0, 0.5, np.int64(3))
  schedules.exponential_decay(np.float32(0.1), 1.0)


def test_integral_float_steps_per_epoch_counts_whole_epochs():
  """steps_per_epoch = 2.0 (a config's 2e0) is the integer 2: epochs stay integers."""
  as_float = schedules.fixed_interval_decay(1.0, 1.0, 1, steps_per_epoch=2.0)
  as_int = schedules.fixed_interval_decay(1.0, 1.0, 1, steps_per_epoch=2)
  for step in range(6):
    assert float(as_float(step)) == float(as_int(step))
  assert float(as_int(5)) == pytest.approx(1.0 / 3)  # step 5 is in epoch 2



@pytest.mark.parametrize("x64", [False, True])
def test_course_decay_with_traced_numbers_is_each_decay_to_the_bit(x64):
  """course_decay, its numbers traced (as optax.inject_hyperparams passes them): time
  interval 1 is inverse_time_decay, decay rate 0 the constant rate, and any interval
  fixed_interval_decay, bit for bit at every step (float32 and float64)."""
  steps = np.arange(0, 5 * 30, 7)

  @jax.jit
  def traced(lr0, rate, interval, step):
    return schedules.course_decay(lr0, rate, interval, steps_per_epoch=5,
                                  course_timing=True)(step)

  with jax.enable_x64(x64):
    dtype = jnp.float64 if x64 else jnp.float32
    as_traced = lambda lr0, rate, interval: np.array(
        [traced(jnp.asarray(lr0, dtype), jnp.asarray(rate, dtype), jnp.asarray(interval),
                jnp.asarray(s, jnp.int32)) for s in steps])
    expected = {
        (0.1, 1.0, 1): schedules.inverse_time_decay(0.1, 1.0, 5, course_timing=True),
        (0.1, 0.3, 4): schedules.fixed_interval_decay(0.1, 0.3, 4, 5, course_timing=True),
        (0.0007, 0.0, 1): lambda step: jnp.asarray(0.0007, dtype)}
    for numbers, schedule in expected.items():
      ours = as_traced(*numbers)
      theirs = np.array([jax.jit(schedule)(jnp.asarray(s, jnp.int32)) for s in steps])
      assert ours.dtype == theirs.dtype == np.dtype(dtype)
      np.testing.assert_array_equal(ours, theirs)


def test_exponential_decay_of_log_is_the_decay_and_exactly_lr0_without_it():
  """With both numbers traced (MNIST-1D's per-model hyperparameters), the schedule is
  exponential_decay's values bit for bit, and log base 0 gives lr0 itself at every step."""
  steps = np.arange(0, 400, 13)
  lr0, base = np.float32(0.01), 0.98
  traced = jax.jit(lambda lr, log_base, step: schedules.exponential_decay_of_log(
      lr, log_base, 40)(step))
  ours = [traced(lr0, jnp.float32(math.log(base)), s) for s in steps]
  theirs = [lr0 * schedules.exponential_decay(1.0, base, 40)(s) for s in steps]
  np.testing.assert_array_equal(ours, theirs)
  assert all(float(traced(lr0, jnp.float32(0.0), s)) == float(lr0) for s in steps)

"""Tests for dlcourse.validation: every check raises the right error with a useful message."""
import re

import jax
import numpy as np
import pytest

from dlcourse import validation
from dlcourse.errors import ConfigError, DataError, ShapeError
from dlcourse.validation import check_features, check_layer_dims, check_same_features, \
    check_xy


def _xy(n_x=3, m=5):
  X = np.arange(n_x * m, dtype=np.float64).reshape(n_x, m)
  Y = (np.arange(m) % 2).reshape(1, m)
  return X, Y


# --- check_xy: the good cases ---------------------------------------------------------

def test_check_xy_returns_arrays():
  X, Y = _xy()
  Xc, Yc = check_xy(X.tolist(), Y.tolist())
  assert isinstance(Xc, np.ndarray) and isinstance(Yc, np.ndarray)
  np.testing.assert_array_equal(Xc, X)
  np.testing.assert_array_equal(Yc, Y)


def test_check_xy_accepts_uint8_pixels_and_float_labels():
  X = np.zeros((4, 2), np.uint8)
  check_xy(X, np.array([[0.0, 1.0]]))


def test_check_xy_multiclass_label_row_and_one_hot():
  X = np.ones((2, 4))
  check_xy(X, np.array([[0, 3, 9, 2]]), num_classes=10)
  one_hot = np.eye(3)[:, [0, 2, 1, 1]]
  check_xy(X, one_hot, num_classes=3)


# --- check_xy: X errors ---------------------------------------------------------------

def test_check_xy_nan_and_inf_are_counted():
  X, Y = _xy()
  X[0, 1] = np.nan
  X[2, 3] = np.inf
  X[1, 1] = -np.inf
  with pytest.raises(DataError, match=r"3 non-finite entries \(1 NaN, 2 inf\)"):
    check_xy(X, Y, name="train")


def test_check_xy_message_names_the_set():
  X, Y = _xy()
  X[0, 0] = np.nan
  with pytest.raises(DataError, match=r"^dev: X has 1 non-finite"):
    check_xy(X, Y, name="dev")


@pytest.mark.parametrize("shape", [(0, 5), (3, 0)])
def test_check_xy_empty(shape):
  with pytest.raises(DataError, match=re.escape(f"X of shape {shape} is empty")):
    check_xy(np.zeros(shape), np.zeros((1, shape[1])))


@pytest.mark.parametrize("X", [np.zeros(5), np.zeros((2, 2, 2))])
def test_check_xy_x_not_2d(X):
  with pytest.raises(ShapeError, match=r"expected X of shape \(n_x, m\)"):
    check_xy(X, np.zeros((1, 2)))


def test_check_xy_non_numeric_x():
  with pytest.raises(DataError, match="X must hold real numbers, got dtype <U1"):
    check_xy(np.array([["a", "b"]]), np.zeros((1, 2)))


def test_check_features_alone():
  assert check_features([[1.0, 2.0]]).shape == (1, 2)


# --- check_xy: Y shape errors ---------------------------------------------------------

def test_check_xy_transposed_y_is_a_shape_error_not_a_broadcast():
  X, Y = _xy(m=5)
  with pytest.raises(ShapeError, match=r"expected Y of shape \(1, m\) = \(1, 5\) labels, "
                     r"got shape \(5, 1\) \(it looks transposed"):
    check_xy(X, Y.T)


def test_check_xy_y_with_other_m():
  X, _ = _xy(m=5)
  with pytest.raises(ShapeError, match=r"\(1, 5\).*got shape \(1, 4\) \(Y has 4 examples "
                     r"but X has 5\)"):
    check_xy(X, np.zeros((1, 4)))


def test_check_xy_one_dimensional_y():
  X, _ = _xy(m=5)
  with pytest.raises(ShapeError, match=r"expected Y of shape \(1, m\) = \(1, 5\).*got "
                     r"shape \(5,\)"):
    check_xy(X, np.zeros(5))


def test_check_xy_one_hot_only_when_multiclass():
  X, _ = _xy(m=4)
  one_hot = np.eye(2)[:, [0, 1, 1, 0]]
  with pytest.raises(ShapeError, match=r"expected Y of shape \(1, m\) = \(1, 4\) labels, "
                     r"got shape \(2, 4\)"):
    check_xy(X, one_hot)


def test_check_xy_multiclass_message_offers_one_hot_shape():
  X, _ = _xy(m=4)
  with pytest.raises(ShapeError, match=r"or \(K, m\) = \(10, 4\) one-hot, got shape "
                     r"\(4, 10\) \(it looks transposed"):
    check_xy(X, np.zeros((4, 10)), num_classes=10)


def test_check_xy_bad_num_classes():
  X, Y = _xy()
  with pytest.raises(ShapeError, match="num_classes must be an integer >= 2, got 1"):
    check_xy(X, Y, num_classes=1)


# --- check_xy: label value errors -----------------------------------------------------

def test_check_xy_labels_outside_0_1_are_listed():
  X, _ = _xy(m=5)
  with pytest.raises(DataError, match=r"labels must be \{0, 1\}; offending values: "
                     r"\[-1, 2\]"):
    check_xy(X, np.array([[0, 2, 1, -1, 2]]))


def test_check_xy_fractional_and_nan_labels():
  X, _ = _xy(m=3)
  with pytest.raises(DataError, match=r"offending values: \[0.5, nan\]"):
    check_xy(X, np.array([[0.5, 1.0, np.nan]]))


def test_check_xy_multiclass_labels_out_of_range():
  X, _ = _xy(m=3)
  with pytest.raises(DataError, match=r"integers in \[0, 3\); offending values: \[3\]"):
    check_xy(X, np.array([[0, 3, 2]]), num_classes=3)


def test_check_xy_one_hot_bad_values():
  X, _ = _xy(m=2)
  with pytest.raises(DataError, match=r"only 0 and 1; offending values: \[0.5\]"):
    check_xy(X, np.array([[0.5, 1], [0.5, 0], [0, 0]]), num_classes=3)


def test_check_xy_one_hot_columns_must_sum_to_one():
  X, _ = _xy(m=3)
  Y = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 1]])
  with pytest.raises(DataError, match=r"exactly one 1 per column; 2 columns do not, e.g. "
                     r"columns \[1, 2\]"):
    check_xy(X, Y, num_classes=3)


# --- check_layer_dims ------------------------------------------------------------------

def test_check_layer_dims_ok():
  assert check_layer_dims([12288, np.int64(20), 7, 5, 1], 12288, 1) == (12288, 20, 7, 5, 1)


def test_check_layer_dims_first_must_be_n_x():
  with pytest.raises(ShapeError, match=r"layer_dims\[0\] = 12287 but X has n_x = 12288"):
    check_layer_dims([12287, 7, 1], 12288, 1)


def test_check_layer_dims_last_must_be_n_y():
  with pytest.raises(ShapeError, match=r"layer_dims\[-1\] = 2 but Y has n_y = 1 rows"):
    check_layer_dims([2, 4, 2], 2, 1)


@pytest.mark.parametrize("dims", [[2, 0, 1], [2, -3, 1], [2, 4.0, 1], [2, True, 1],
                                  [2, "4", 1]])
def test_check_layer_dims_positive_ints(dims):
  with pytest.raises(ShapeError, match=r"layer_dims\[1\] must be a positive integer"):
    check_layer_dims(dims, 2, 1)


def test_check_layer_dims_too_short():
  with pytest.raises(ShapeError, match=r"at least \[n_x, n_y\] \(2 entries\), got \[2\]"):
    check_layer_dims([2], 2, 2)


# --- check_same_features --------------------------------------------------------------

def test_check_same_features():
  check_same_features(np.zeros((3, 10)), np.zeros((3, 2)))
  with pytest.raises(ShapeError, match=r"train X has 3 features \(rows\) but test X has 4"):
    check_same_features(np.zeros((3, 10)), np.zeros((4, 2)), names=("train", "test"))


def test_check_same_features_needs_2d():
  with pytest.raises(ShapeError, match=r"dev: expected X of shape \(n_x, m\), got shape "
                     r"\(3,\)"):
    check_same_features(np.zeros((3, 10)), np.zeros(3))


# --- hyperparameters: positive_int, learning_rate, seed, counts ------------------------



@pytest.mark.parametrize("value, expected", [
    (3, 3), (np.int64(7), 7), (np.array(5), 5), (1e4, 10000), (np.float32(2.0), 2)])
def test_positive_int_accepts_integers_and_integral_floats(value, expected):
  result = validation.positive_int("num_epochs", value)
  assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [0, -3, True, False, 2.5, float("nan"), float("inf"),
                                   "10", None, np.array([3]), 1 + 0j])
def test_positive_int_refuses_the_rest_in_one_line(value):
  with pytest.raises(ConfigError, match=r"^num_epochs must be a positive integer, got ") as e:
    validation.positive_int("num_epochs", value)
  assert "\n" not in str(e.value)


def test_count_bounds_a_positive_int():
  assert validation.count("batch_size", 64, 64) == 64
  with pytest.raises(ConfigError, match=r"batch_size = 65 is too large: at most 64"):
    validation.count("batch_size", 65, 64)


@pytest.mark.parametrize("value", [0.0075, 1, np.float32(0.5), np.array(1e-3)])
def test_learning_rate_accepts_finite_positive_reals(value):
  assert validation.learning_rate(value) == pytest.approx(float(value))


@pytest.mark.parametrize("value", [0, -0.1, float("nan"), float("inf"), True, "0.1",
                                   np.array([0.1, 0.2])])
def test_learning_rate_refuses_the_rest(value):
  with pytest.raises(ConfigError, match="^learning_rate must be a"):
    validation.learning_rate(value)


def test_learning_rate_message_can_name_the_field():
  with pytest.raises(ConfigError, match="^learning_rate0 must be a finite number > 0"):
    validation.learning_rate(-1.0, name="learning_rate0")


def test_real_bounds_and_flag():
  assert validation.non_negative_real("decay_rate", 0) == 0.0
  with pytest.raises(ConfigError, match="decay_rate must be a finite number >= 0"):
    validation.non_negative_real("decay_rate", float("inf"))
  with pytest.raises(ConfigError, match="epsilon must be a finite number > 0"):
    validation.positive_real("epsilon", 0.0)
  assert validation.flag("course_timing", np.bool_(True)) is True
  with pytest.raises(ConfigError, match="course_timing must be a bool, got 1"):
    validation.flag("course_timing", 1)


def test_layer_sizes():
  assert validation.layer_sizes([2, np.int64(4), 1]) == (2, 4, 1)
  for bad, where in (([2, 2.7, 1], r"layer_dims\[1\] = 2.7"), ([2, True], r"\[1\] = True"),
                     ([3, 0, 1], r"\[1\] = 0"), ([5], r"got \[5\]")):
    with pytest.raises(ConfigError, match=where):
      validation.layer_sizes(bad)


@pytest.mark.parametrize("course_compat", [False, True])
def test_seed_range(course_compat):
  for good in (0, 42, np.uint32(7), 2**32 - 1):
    assert validation.seed(good, course_compat=course_compat) == int(good)
  why = "RandomState" if course_compat else "repeat seed 0's numbers"
  with pytest.raises(ConfigError, match=rf"seed must be in \[0, 4294967295\].*{why}"):
    validation.seed(2**32, course_compat=course_compat)
  with pytest.raises(ConfigError, match="negative -1"):
    validation.seed(-1, course_compat=course_compat)


@pytest.mark.parametrize("value", [1e20, 3.0, True, "7", None])
def test_seed_refuses_non_integers(value):
  with pytest.raises(ConfigError, match=r"^seed must be an integer in \[0, 4294967295\]"):
    validation.seed(value)


def test_seed_limit_is_where_jax_keys_start_to_repeat():
  """The reason for MAX_SEED: without x64, key(2**32 + s) is key(s)."""
  if jax.config.jax_enable_x64:
    pytest.skip("with x64 on, JAX keeps all 64 bits")
  same = jax.random.key_data(jax.random.key(2**32 + 5)) == jax.random.key_data(jax.random.key(5))
  assert bool(same.all())


def test_num_steps_and_record_length():
  assert validation.num_steps("num_iterations", 2500) == 2500
  assert validation.record_length(2500, 100) == 25
  assert validation.record_length(2501, 100) == 26  # 0, 100, ..., 2500
  with pytest.raises(ConfigError, match=r"num_epochs = 2147483648 exceeds 2,147,483,647"):
    validation.num_steps("num_epochs", 2**31)
  # 1e12 iterations: refused in one line before a 1e10-entry record is allocated.
  with pytest.raises(ConfigError, match=r"^num_iterations = 1000000000000.0 exceeds"):
    validation.record_length(1e12, 100)
  with pytest.raises(ConfigError, match=r"would record 1,000,000,000 costs \(more than "
                     r"10,000,000\); raise record_every"):
    validation.record_length(10**9, 1)
  with pytest.raises(ConfigError, match="record_every must be a positive integer"):
    validation.record_length(100, 0)


def test_label_and_one_hot_value_checks():
  validation.check_label_values(np.array([[0, 2, 1]]), 3)
  with pytest.raises(DataError, match=r"train: labels must be \{0, 1\}; offending values: \[2\]"):
    validation.check_label_values(np.array([[0, 2, 1]]), name="train")
  validation.check_one_hot_values(np.eye(3))
  with pytest.raises(DataError, match="exactly one 1 per column"):
    validation.check_one_hot_values(np.ones((2, 2)))


def test_a_learning_rate_the_training_dtype_cannot_hold_is_refused():
  assert validation.learning_rate(1e200, dtype=np.float64) == 1e200
  with pytest.raises(ConfigError, match=r"learning_rate=1e\+200 overflows float32"):
    validation.learning_rate(1e200, dtype=np.float32)

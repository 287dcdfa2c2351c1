"""Tests for dlcourse.validation: every check raises the right error with a useful message."""
import re

import numpy as np
import pytest

from dlcourse.errors import DataError, ShapeError
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

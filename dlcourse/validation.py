"""Input checks that run in plain NumPy before anything is traced or compiled.

A shape bug caught here costs a readable message; the same bug inside a jitted
function costs a compile and, worse, often no error at all: a (1, m) label row
minus an (m, 1) column silently broadcasts to (m, m) and the cost just comes out
wrong. So every check below is strict and names what it expected.

Course notation: X is (n_x, m), one example per column; Y is (1, m) labels, or
(K, m) one-hot columns for a K-class softmax.
"""
import numbers

import numpy as np

from dlcourse.errors import ConfigError, DataError, ShapeError

_MAX_LISTED = 10  # values listed in a message before it says "..."


def _prefix(name):
  """Message prefix naming the data set being checked ("train: "), or nothing."""
  return f"{name}: " if name else ""


def _list_values(values):
  """Short printable list of (at most _MAX_LISTED) offending values."""
  values = [v.item() if hasattr(v, "item") else v for v in values]
  shown = ", ".join(repr(v) for v in values[:_MAX_LISTED])
  more = f", ... ({len(values)} distinct)" if len(values) > _MAX_LISTED else ""
  return f"[{shown}{more}]"


def check_features(X, *, name=""):
  """Return X as an array after checking it is a finite, non-empty (n_x, m) matrix.

  Raises ShapeError if X is not 2-D, DataError if it is empty, not numeric, or
  holds NaN/inf (with the count of bad entries).
  """
  p = _prefix(name)
  X = np.asarray(X)
  if X.ndim != 2:
    raise ShapeError(f"{p}expected X of shape (n_x, m) (one example per column), "
                     f"got shape {X.shape}")
  n_x, m = X.shape
  if m < 1 or n_x < 1:
    raise DataError(f"{p}X of shape {X.shape} is empty: need n_x >= 1 features "
                    "and m >= 1 examples")
  # Booleans and integers (e.g. raw uint8 pixels) are fine: they convert to
  # floats exactly. Strings, objects and complex numbers are not features.
  if X.dtype.kind not in "biuf":
    raise DataError(f"{p}X must hold real numbers, got dtype {X.dtype}")
  if X.dtype.kind == "f":
    bad = ~np.isfinite(X)
    n_bad = int(bad.sum())
    if n_bad:
      n_nan = int(np.isnan(X).sum())
      first = tuple(int(i) for i in np.argwhere(bad)[0])
      raise DataError(f"{p}X has {n_bad} non-finite entries ({n_nan} NaN, "
                      f"{n_bad - n_nan} inf); first at (feature, example) = {first}")
  return X


def _check_label_row(Y, num_classes, p):
  """Labels (1, m) must be integer-valued and in [0, num_classes)."""
  if Y.dtype.kind not in "biuf":
    raise DataError(f"{p}labels must be numbers in [0, {num_classes}), got dtype {Y.dtype}")
  values = np.unique(Y)
  # NaN fails the first test and +-inf the range test, so no separate finiteness check.
  ok = (values == np.floor(values)) & (values >= 0) & (values < num_classes)
  if not ok.all():
    allowed = "{0, 1}" if num_classes == 2 else f"integers in [0, {num_classes})"
    raise DataError(f"{p}labels must be {allowed}; offending values: "
                    f"{_list_values(values[~ok])}")


def _check_one_hot(Y, p):
  """One-hot (K, m): entries in {0, 1}, exactly one 1 per column."""
  if Y.dtype.kind not in "biuf":
    raise DataError(f"{p}one-hot Y must be numeric, got dtype {Y.dtype}")
  values = np.unique(Y)
  bad_values = values[(values != 0) & (values != 1)]
  if bad_values.size:
    raise DataError(f"{p}one-hot Y must hold only 0 and 1; offending values: "
                    f"{_list_values(bad_values)}")
  bad_columns = np.flatnonzero(Y.sum(axis=0) != 1)
  if bad_columns.size:
    raise DataError(f"{p}one-hot Y needs exactly one 1 per column; {bad_columns.size} "
                    f"columns do not, e.g. columns {_list_values(bad_columns)}")


def _expected_y_shapes(num_classes, m):
  """The Y shapes accepted for m examples, as words for an error message."""
  shapes = f"(1, m) = (1, {m}) labels"
  if num_classes > 2:
    shapes += f" or (K, m) = ({num_classes}, {m}) one-hot"
  return shapes


def check_xy(X, Y, *, num_classes=2, name=""):
  """Check a data set (X (n_x, m), Y (1, m) or (K, m)) and return both as arrays.

  Y is accepted as a label row (1, m) with integer values in [0, num_classes)
  ({0, 1} by default), or, only when num_classes > 2, as one-hot columns
  (num_classes, m). Anything else, notably a transposed (m, 1) Y or a Y with a
  different m, raises ShapeError naming the expected shape: broadcasting (1, m)
  against (m, 1) would otherwise silently give an (m, m) "cost".

  Raises ShapeError (shapes), DataError (empty X, non-finite X, bad labels).
  """
  p = _prefix(name)
  if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
      or num_classes < 2:
    raise ShapeError(f"{p}num_classes must be an integer >= 2, got {num_classes!r}")
  X = check_features(X, name=name)
  m = X.shape[1]
  Y = np.asarray(Y)
  expected = _expected_y_shapes(num_classes, m)
  if Y.ndim != 2:
    raise ShapeError(f"{p}expected Y of shape {expected}, got shape {Y.shape}")
  if Y.shape == (1, m):
    _check_label_row(Y, num_classes, p)
  elif num_classes > 2 and Y.shape == (num_classes, m):
    _check_one_hot(Y, p)
  else:
    hint = ""
    if Y.shape == (m, 1) or Y.shape == (m, num_classes):
      hint = " (it looks transposed: use Y.T)"
    elif Y.shape[0] in (1, num_classes):
      hint = f" (Y has {Y.shape[1]} examples but X has {m})"
    raise ShapeError(f"{p}expected Y of shape {expected}, got shape {Y.shape}{hint}")
  return X, Y


def check_layer_dims(layer_dims, n_x, n_y):
  """Check an architecture [n_x, n_h1, ..., n_y] against the data; return it as a tuple.

  Needs at least two positive integer sizes, the first equal to n_x (rows of X)
  and the last to n_y (rows of Y). Raises ShapeError naming both numbers.
  """
  dims = list(layer_dims)
  if len(dims) < 2:
    raise ShapeError(f"layer_dims needs at least [n_x, n_y] (2 entries), got {dims}")
  for i, d in enumerate(dims):
    # bool is an Integral too, but True as a layer size is surely a mistake.
    if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
      raise ShapeError(f"layer_dims[{i}] must be a positive integer, got {d!r} "
                       f"in {dims}")
  if dims[0] != n_x:
    raise ShapeError(f"layer_dims[0] = {dims[0]} but X has n_x = {n_x} features "
                     "(rows); they must match")
  if dims[-1] != n_y:
    raise ShapeError(f"layer_dims[-1] = {dims[-1]} but Y has n_y = {n_y} rows; "
                     "they must match")
  return tuple(int(d) for d in dims)


def check_same_features(X_train, X_dev, names=("train", "dev")):
  """Raise ShapeError unless both (n_x, m) matrices have the same n_x (rows)."""
  a, b = np.shape(X_train), np.shape(X_dev)
  for shape, n in ((a, names[0]), (b, names[1])):
    if len(shape) != 2:
      raise ShapeError(f"{n}: expected X of shape (n_x, m), got shape {shape}")
  if a[0] != b[0]:
    raise ShapeError(f"{names[0]} X has {a[0]} features (rows) but {names[1]} X has "
                     f"{b[0]}; shapes {a} and {b}")


def real_scalar(name, value):
  """``value`` as a Python float; ConfigError unless it is a real (non-bool) scalar."""
  if isinstance(value, bool):
    raise ConfigError(f"{name} must be a real number, got the bool {value!r}")
  try:
    array = np.asarray(value)
  except Exception as error:  # anything numpy cannot read is not a number
    raise ConfigError(f"{name} must be a real number, got {value!r}") from error
  is_real = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
  if array.shape != () or not is_real:
    raise ConfigError(f"{name} must be a real scalar, got {value!r}")
  return float(array)

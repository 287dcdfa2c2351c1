"""Input checks that run in plain NumPy before anything is traced or compiled.

A shape bug caught here costs a readable message; the same bug inside a jitted
function costs a compile and, worse, often no error at all: a (1, m) label row
minus an (m, 1) column silently broadcasts to (m, m) and the cost just comes out
wrong. So every check below is strict and names what it expected.

Course notation: X is (n_x, m), one example per column; Y is (1, m) labels, or
(K, m) one-hot columns for a K-class softmax.
"""
import math
import numbers
import operator

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


def check_label_values(Y, num_classes=2, *, name=""):
  """DataError unless the (1, m) label row Y holds integers in [0, num_classes)
  ({0, 1} by default). Values only: the caller has checked the shape."""
  _check_label_row(np.asarray(Y), num_classes, _prefix(name))


def check_one_hot_values(Y, *, name=""):
  """DataError unless the (K, m) matrix Y holds only 0 and 1, exactly one 1 per column.
  Values only: the caller has checked the shape."""
  _check_one_hot(np.asarray(Y), _prefix(name))


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


# --- hyperparameters: the one home of these checks ----------------------------------
# Every module that takes a count, a learning rate or a seed calls these, so a bad
# value gets the same one-line ConfigError wherever it enters.

# Step counters inside the compiled loops are int32 unless jax_enable_x64 is on
# (``lax.fori_loop``/``scan`` indices, ``start_step + num_iterations``): one more step
# would wrap around to a negative iteration number.
MAX_STEPS = 2**31 - 1

# A cost record longer than this is refused. 10**7 entries are 80 MB as float64 on the
# device and about 0.3 GB as the JSON [[x, cost], ...] list of result.json, already far
# past anything a plot can show; 1e12 iterations recorded every 100 would be 1e10
# entries (80 GB) and die in a MemoryError halfway through a run.
MAX_RECORD_LENGTH = 10**7

# Seeds: NumPy's RandomState (the course_compat streams) takes [0, 2**32 - 1], and
# jax.random.key keeps only the low 32 bits of a seed unless jax_enable_x64 is on
# (key(2**32) == key(0)), so the same range is the one where seeds never alias.
MAX_SEED = 2**32 - 1


def as_integer(value):
  """``value`` as a Python int if it is an integer scalar (not a bool), else None.

  Accepts ints, NumPy integers and 0-d integer arrays; floats are not integers here
  (callers that accept an integral float such as 1e4 convert it themselves).
  """
  if isinstance(value, (bool, np.bool_)):
    return None
  try:
    return operator.index(value)
  except TypeError:
    return None


def _integral_float(value):
  """A finite, integral real float (100.0, 1e4) as an int, else None."""
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, (float, np.floating)):
    return None
  if not math.isfinite(value) or not float(value).is_integer():
    return None
  return int(value)


def positive_int(name, value) -> int:
  """``value`` as an int; ConfigError unless it is an integer >= 1.

  Ints, NumPy integers and integral floats (``1e4`` as written in a config) pass;
  bools, fractional or non-finite floats, strings and arrays are refused.
  """
  number = as_integer(value)
  if number is None:
    number = _integral_float(value)
  if number is None or number < 1:
    raise ConfigError(f"{name} must be a positive integer, got {value!r}")
  return number


def count(name, value, max_value) -> int:
  """``positive_int(name, value)``, and ConfigError if it exceeds ``max_value``."""
  number = positive_int(name, value)
  if number > max_value:
    raise ConfigError(f"{name} = {value!r} is too large: at most {max_value:,} "
                      "is supported")
  return number


def num_steps(name, value) -> int:
  """A number of training steps (iterations or epochs): an integer in [1, MAX_STEPS]."""
  number = positive_int(name, value)
  if number > MAX_STEPS:
    raise ConfigError(f"{name} = {value!r} exceeds {MAX_STEPS:,} (2**31 - 1), the "
                      "largest step count the compiled loop's int32 counter holds")
  return number


def record_length(num_iterations, record_every, *, name="num_iterations") -> int:
  """Entries of the cost record ``0, N, 2N, ... < num_iterations`` (N = record_every).

  Checks both counts (``num_steps``, ``positive_int``) and refuses a record longer
  than MAX_RECORD_LENGTH before it is allocated. Returns ceil(num_iterations / N).
  """
  num_iterations = num_steps(name, num_iterations)
  record_every = positive_int("record_every", record_every)
  length = -(-num_iterations // record_every)
  if length > MAX_RECORD_LENGTH:
    raise ConfigError(f"{name} = {num_iterations:,} with record_every = {record_every:,} "
                      f"would record {length:,} costs (more than {MAX_RECORD_LENGTH:,}); "
                      "raise record_every or lower " + name)
  return length


def positive_real(name, value) -> float:
  """``value`` as a float; ConfigError unless it is a finite real scalar > 0."""
  number = real_scalar(name, value)
  if not (math.isfinite(number) and number > 0):  # NaN fails `> 0` too
    raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
  return number


def non_negative_real(name, value) -> float:
  """``value`` as a float; ConfigError unless it is a finite real scalar >= 0."""
  number = real_scalar(name, value)
  if not (math.isfinite(number) and number >= 0):
    raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
  return number


def learning_rate(value, *, name="learning_rate", dtype=None) -> float:
  """The learning rate alpha as a float; ConfigError unless it is a finite real > 0
  (and, given the training ``dtype``, one that dtype can hold: 1e200 is inf in float32).

  ``name`` is the one the message uses (e.g. ``learning_rate0`` of a schedule).
  """
  alpha = positive_real(name, value)
  if dtype is not None and alpha > float(np.finfo(dtype).max):
    raise ConfigError(f"{name}={alpha:g} overflows {np.dtype(dtype).name} (largest "
                      f"{float(np.finfo(dtype).max):.3g}); use a smaller rate or float64")
  return alpha


def flag(name, value) -> bool:
  """``value`` itself; ConfigError unless it is a bool (1 or "yes" are refused)."""
  if not isinstance(value, (bool, np.bool_)):
    raise ConfigError(f"{name} must be a bool, got {value!r}")
  return bool(value)


def layer_sizes(layer_dims, *, name="layer_dims") -> tuple:
  """An architecture [n_x, n_1, ..., n_L] as a tuple of ints; ConfigError unless it
  holds >= 2 sizes, each a positive integer (2.7 or True are refused, not truncated)."""
  try:
    dims = list(layer_dims)
  except TypeError:
    raise ConfigError(f"{name} must be a sequence of layer sizes, got {layer_dims!r}") \
        from None
  if len(dims) < 2:
    raise ConfigError(f"{name} must hold >= 2 positive sizes [n_x, ..., n_y], got {dims}")
  for i, d in enumerate(dims):
    if as_integer(d) is None or d < 1:
      raise ConfigError(f"{name} must hold >= 2 positive sizes: {name}[{i}] = {d!r} "
                        f"in {dims} is not a positive integer")
  return tuple(int(d) for d in dims)


def seed(value, *, course_compat=False) -> int:
  """A PRNG seed as an int; ConfigError unless it is an integer in [0, 2**32 - 1].

  With ``course_compat`` the seed goes to NumPy's ``RandomState`` (which refuses
  anything outside that range with a traceback); otherwise to ``jax.random.key``,
  which silently keeps only the low 32 bits without x64 (2**32 would repeat seed 0's
  numbers). Floats are refused even when integral: 1e20 is not an exact integer.
  """
  number = as_integer(value)
  if number is None:
    kind = f" (a {type(value).__name__})" if isinstance(value, (float, np.floating)) else ""
    raise ConfigError(f"seed must be an integer in [0, {MAX_SEED}], got {value!r}{kind}")
  if number < 0:
    raise ConfigError(f"seed must be in [0, {MAX_SEED}], got the negative {value!r}")
  if number > MAX_SEED:
    why = ("NumPy's RandomState (course_compat) accepts no larger seed" if course_compat
           else "jax.random.key keeps only 32 bits without x64, so it would repeat "
           f"seed {number % 2**32}'s numbers")
    raise ConfigError(f"seed must be in [0, {MAX_SEED}] (2**32 - 1), got {value!r}: {why}")
  return number

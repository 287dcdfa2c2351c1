"""MNIST-1D (Greydanus & Kobak, ICML 2024) in course shapes: generation, checksum, checks.

The ``mnist1d`` package builds the data set procedurally: ten 1-D digit templates of
12 samples, each example padded, translated, sheared, scaled and noised, resampled to
40 samples; 5000 examples (500 per class), shuffled, standardized (whole-array mean 0,
std 1), the first 4000 for training and the last 1000 for testing. Its offline
generator is ``mnist1d.data.make_dataset(get_dataset_args())`` (seed 42); its download
path is never used (no network at run time).

Course shapes: X is (40, m) float32, one example per column; Y is one-hot (10, m).

This module is pure computation (no files). The generator seeds NumPy's and Python's
*global* random states (``np.random.seed``, ``random.seed``); ``generate`` saves and
restores both so that calling it leaves no trace on the caller's global state.
"""
import hashlib
import random

import numpy as np

from dlcourse import validation
from dlcourse.errors import DataError, ShapeError

NUM_FEATURES = 40
NUM_CLASSES = 10
NUM_TRAIN = 4000
NUM_TEST = 1000
DEFAULT_SEED = 42
ARRAY_NAMES = ("train_x", "train_y", "test_x", "test_y")


def generate_raw(seed=DEFAULT_SEED):
  """The package's own output for ``get_dataset_args()`` with ``seed``: a dict with
  'x' (4000, 40), 'y' (4000,), 'x_test' (1000, 40), 'y_test' (1000,) (and 't', the
  templates). Leaves NumPy's and Python's global random states as they were."""
  from mnist1d.data import get_dataset_args, make_dataset  # optional dependency
  args = get_dataset_args()
  args.seed = int(seed)
  numpy_state, python_state = np.random.get_state(), random.getstate()
  try:
    return make_dataset(args)
  finally:
    np.random.set_state(numpy_state)
    random.setstate(python_state)


def one_hot(labels, num_classes=NUM_CLASSES, dtype=np.float32):
  """(K, m) one-hot columns from m integer labels in [0, K)."""
  labels = np.asarray(labels).reshape(-1)
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes
                      or not np.all(labels == np.floor(labels))):
    raise DataError(f"labels must be integers in [0, {num_classes}), got values in "
                    f"[{labels.min()}, {labels.max()}]")
  Y = np.zeros((num_classes, labels.size), dtype)
  Y[labels.astype(np.int64), np.arange(labels.size)] = 1
  return Y


def to_course_shapes(raw):
  """{"train_x" (40, 4000) float32, "train_y" (10, 4000) one-hot float32, "test_x",
  "test_y"} from the generator's row-per-example arrays."""
  for key in ("x", "y", "x_test", "y_test"):
    if key not in raw:
      raise DataError(f"mnist1d output lacks {key!r}; it has {sorted(raw)}")
  return {"train_x": np.ascontiguousarray(np.asarray(raw["x"], np.float32).T),
          "train_y": one_hot(raw["y"]),
          "test_x": np.ascontiguousarray(np.asarray(raw["x_test"], np.float32).T),
          "test_y": one_hot(raw["y_test"])}


def generate(seed=DEFAULT_SEED):
  """``to_course_shapes(generate_raw(seed))``, validated."""
  arrays = to_course_shapes(generate_raw(seed))
  validate(arrays)
  return arrays


def checksum(arrays):
  """SHA-256 (hex) over the four arrays in ``ARRAY_NAMES`` order: each one's name,
  dtype, shape and C-ordered bytes. Any change of value, dtype or shape changes it."""
  digest = hashlib.sha256()
  for name in ARRAY_NAMES:
    if name not in arrays:
      raise DataError(f"checksum needs {ARRAY_NAMES}; {name!r} is missing")
    array = np.ascontiguousarray(arrays[name])
    digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
    digest.update(array.tobytes())
  return digest.hexdigest()


def validate(arrays, *, num_train=NUM_TRAIN, num_test=NUM_TEST):
  """DataError / ShapeError unless the arrays are MNIST-1D in course shapes: finite
  (40, m) features, one-hot (10, m) labels, m = 4000 and 1000, every class present."""
  for split, m in (("train", num_train), ("test", num_test)):
    X, Y = arrays[f"{split}_x"], arrays[f"{split}_y"]
    X, Y = validation.check_xy(X, Y, num_classes=NUM_CLASSES, name=split)
    if X.shape != (NUM_FEATURES, m) or Y.shape != (NUM_CLASSES, m):
      raise ShapeError(f"{split}: expected X ({NUM_FEATURES}, {m}) and one-hot Y "
                       f"({NUM_CLASSES}, {m}), got {X.shape} and {Y.shape}")
    missing = np.flatnonzero(Y.sum(axis=1) == 0)
    if missing.size:
      raise DataError(f"{split}: classes {missing.tolist()} have no example")
  validation.check_same_features(arrays["train_x"], arrays["test_x"], ("train", "test"))


def dev_split(X, Y, num_dev):
  """(X_train, Y_train, X_dev, Y_dev): the last ``num_dev`` training columns become the
  dev set. The generator already shuffled the examples, so the last columns are a random
  sample; the remaining columns keep their order (the benchmark's in-order batches)."""
  m = np.shape(X)[1]
  if not 0 < int(num_dev) < m:
    raise ShapeError(f"num_dev must lie in (0, {m}), got {num_dev}")
  cut = m - int(num_dev)
  return X[:, :cut], Y[:, :cut], X[:, cut:], Y[:, cut:]

"""The course's data sets, loaded and generated in course notation.

Every loader returns X as (n_x, m) float64 (one example per column) and labels
as a (1, m) int64 row. Files (the cat images, the football positions) are never
part of the project: they are read from a directory named by the ``--data_dir``
flag or the ``DLCOURSE_DATA_DIR`` environment variable (see ``data/README.md``).
The synthetic sets (planar flower, circles, moons) reproduce the course's
global-seed recipes exactly, but draw from their own ``np.random.RandomState`` so
that loading data never disturbs (or depends on) NumPy's global random state.

Bad inputs raise ``DataError`` / ``ShapeError`` / ``ConfigError`` naming the
file, key or shape that was expected.
"""
import hashlib
import os
import pathlib
from typing import NamedTuple

import numpy as np

from dlcourse import validation
from dlcourse.errors import ConfigError, DataError, ShapeError

DATA_DIR_ENV = "DLCOURSE_DATA_DIR"

CAT_TRAIN_FILE = "train_catvnoncat.h5"
CAT_TEST_FILE = "test_catvnoncat.h5"
FOOTBALL_FILE = "football.mat"

SHA256 = {
    CAT_TRAIN_FILE: "fbe56ab67c3ae28d564e3a644189117976d6b31af0a3ce9bb17dbf22908af242",
    CAT_TEST_FILE: "6a9d39ce52fa85953c5834695b8534a30ed8cfd54971fb2f080b5a24d002b951",
    FOOTBALL_FILE: "1218828095bf91d215622d00b2a5b8784c359e29d9d9c5734949b8e60c5bc231",
}

IMAGE_SHAPE = (64, 64, 3)  # height, width, RGB of one cat picture
# Labels are int64 everywhere: the files store int64 (cats) and uint8 (football),
# and with uint8 an innocent `-Y` or `Y - 1` wraps around to 255.
LABEL_DTYPE = np.int64

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# Where the files are


def resolve_data_dir(flag_value=None):
  """The data directory: the flag's value, else $DLCOURSE_DATA_DIR, else None.

  Empty strings count as unset (an empty env var should not mean "current dir").
  """
  for value in (flag_value, os.environ.get(DATA_DIR_ENV)):
    if value is not None and str(value) != "":
      return pathlib.Path(value).expanduser()
  return None


def _data_file(data_dir, filename):
  """Path of `filename` inside data_dir (resolved as in resolve_data_dir if None)."""
  directory = resolve_data_dir(data_dir)
  if directory is None:
    raise DataError(f"no data directory given for {filename}: pass --data_dir or set "
                    f"{DATA_DIR_ENV} to the directory holding it (see data/README.md)")
  path = directory / filename
  if not path.is_file():
    raise DataError(f"data file not found: {path} (expected {filename} in {directory}; "
                    f"pass --data_dir or set {DATA_DIR_ENV}, see data/README.md)")
  return path


def _unreadable(path, error):
  """DataError for a data file the OS refuses to read (permissions, I/O error, ...)."""
  return DataError(f"cannot read data file {path}: {error.strerror or error}")


def file_sha256(path):
  """Hex SHA-256 digest of a file's bytes, read in 1 MiB chunks.

  Raises DataError naming the file if it cannot be read.
  """
  digest = hashlib.sha256()
  try:
    with open(path, "rb") as f:
      for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
  except OSError as e:
    raise _unreadable(path, e) from e
  return digest.hexdigest()


def verify_sha256(path, expected=None):
  """Check a data file against its known checksum; return the digest.

  `expected` defaults to SHA256[basename]. Raises DataError naming the file, the
  expected and the actual digest on a mismatch, or if no checksum is known.
  """
  path = pathlib.Path(path)
  if expected is None:
    if path.name not in SHA256:
      raise DataError(f"no known sha256 for {path} (known files: {sorted(SHA256)})")
    expected = SHA256[path.name]
  if not path.is_file():
    raise DataError(f"data file not found: {path} (expected sha256 {expected})")
  actual = file_sha256(path)
  if actual != expected:
    raise DataError(f"checksum mismatch for {path}: expected sha256 {expected}, "
                    f"got {actual} (corrupt, truncated or a different version)")
  return actual


# --------------------------------------------------------------------------------------
# Cat / non-cat images (course 1, weeks 2 and 4)


class CatDataset(NamedTuple):
  """The raw cat images as stored: x (m, 64, 64, 3) uint8, y (1, m) int64."""
  train_x_orig: np.ndarray
  train_y: np.ndarray
  test_x_orig: np.ndarray
  test_y: np.ndarray
  classes: np.ndarray  # [b'non-cat', b'cat']: bytes, index = label


def _open_h5(path):
  """Open an HDF5 file read-only, turning h5py's OSError into a DataError."""
  import h5py  # deferred: only the cat loader needs it
  try:
    with open(path, "rb") as f:
      head = f.read(len(_HDF5_SIGNATURE))
  except OSError as e:  # permissions, a failing disk: the CLI maps DataError to exit 2
    raise _unreadable(path, e) from e
  if head != _HDF5_SIGNATURE:
    raise DataError(f"{path} is not an HDF5 file (its first bytes are {head!r}, "
                    f"expected the HDF5 signature {_HDF5_SIGNATURE!r})")
  try:
    return h5py.File(path, "r")
  except OSError as e:
    known = SHA256.get(path.name)
    expected = f"; expected sha256 {known}" if known else ""
    raise DataError(f"cannot open {path} as HDF5, it is probably truncated or corrupt "
                    f"({e}{expected})") from e


def _read_h5_arrays(path, keys):
  """Read the datasets `keys` from an HDF5 file into memory as NumPy arrays."""
  import h5py
  with _open_h5(path) as f:
    missing = [k for k in keys if k not in f]
    if missing:
      raise DataError(f"{path} lacks keys {missing}; expected keys {list(keys)}, "
                      f"found {sorted(f.keys())}")
    out = {}
    for k in keys:
      if not isinstance(f[k], h5py.Dataset):
        raise DataError(f"{path}: key {k!r} is a group, expected an array")
      try:
        out[k] = np.asarray(f[k][()])
      except OSError as e:  # a damaged chunk surfaces only when it is read
        raise DataError(f"{path}: cannot read key {k!r} (corrupt file?): {e}") from e
  return out


def _check_cat_arrays(path, split, x, y, classes):
  """Validate one split's raw arrays; return (x, y as (1, m) int64)."""
  xk, yk = f"{split}_set_x", f"{split}_set_y"
  if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
    raise DataError(f"{path}: {xk} has shape {x.shape}, expected (m, "
                    f"{', '.join(map(str, IMAGE_SHAPE))})")
  if x.dtype != np.uint8:
    raise DataError(f"{path}: {xk} has dtype {x.dtype}, expected uint8 pixels")
  m = x.shape[0]
  if m == 0:  # would only fail later, as a bare reshape ValueError in flatten_images
    raise DataError(f"{path}: {xk} is empty (shape {x.shape}), expected m >= 1 images")
  if y.shape != (m,):
    raise DataError(f"{path}: {yk} has shape {y.shape}, expected ({m},) to match "
                    f"{xk} {x.shape}")
  if y.dtype.kind not in "biu":
    raise DataError(f"{path}: {yk} has dtype {y.dtype}, expected integer labels")
  bad = np.setdiff1d(np.unique(y), [0, 1])
  if bad.size:
    raise DataError(f"{path}: {yk} must hold labels in {{0, 1}}; offending values: "
                    f"{bad.tolist()}")
  if classes.shape != (2,):
    raise DataError(f"{path}: list_classes has shape {classes.shape}, expected (2,) "
                    "(non-cat, cat)")
  return x, y.astype(LABEL_DTYPE).reshape(1, m)


def _load_cat_split(data_dir, split, filename, verify_checksums):
  """Read and validate train or test: (x_orig, y (1, m), classes)."""
  path = _data_file(data_dir, filename)
  if verify_checksums:
    verify_sha256(path)
  keys = (f"{split}_set_x", f"{split}_set_y", "list_classes")
  arrays = _read_h5_arrays(path, keys)
  x, y = _check_cat_arrays(path, split, *(arrays[k] for k in keys))
  return x, y, arrays["list_classes"]


def load_cat_dataset(data_dir=None, verify_checksums=False):
  """Load train_catvnoncat.h5 and test_catvnoncat.h5 as the course does.

  Returns CatDataset with train_x_orig (209, 64, 64, 3) uint8, train_y (1, 209),
  test_x_orig (50, 64, 64, 3) uint8, test_y (1, 50), classes [b'non-cat', b'cat'].
  data_dir None means $DLCOURSE_DATA_DIR. Raises DataError naming the file and
  the expected key or shape for a missing, truncated, non-HDF5 or malformed file.
  """
  train_x, train_y, classes = _load_cat_split(data_dir, "train", CAT_TRAIN_FILE,
                                              verify_checksums)
  test_x, test_y, test_classes = _load_cat_split(data_dir, "test", CAT_TEST_FILE,
                                                 verify_checksums)
  if not np.array_equal(classes, test_classes):
    raise DataError(f"list_classes differ between {CAT_TRAIN_FILE} ({classes.tolist()}) "
                    f"and {CAT_TEST_FILE} ({test_classes.tolist()})")
  return CatDataset(train_x, train_y, test_x, test_y, classes)


def flatten_images(x_orig):
  """(m, h, w, c) uint8 images -> (h*w*c, m) float64 in [0, 1]: x.reshape(m, -1).T / 255.

  The row-major (C-order) flatten is the course's: each column is one image with
  pixel (i, j, channel) at row (i * w + j) * c + channel.
  """
  x = np.asarray(x_orig)
  if x.ndim < 2:
    raise ShapeError(f"expected images of shape (m, ...), got shape {x.shape}")
  return x.reshape(x.shape[0], -1).T.astype(np.float64) / 255.


def load_cats(data_dir=None, dtype=np.float64, verify_checksums=False):
  """Cat data ready to train on: (train_x (12288, 209), train_y (1, 209),
  test_x (12288, 50), test_y (1, 50)); x flattened and scaled to [0, 1] as `dtype`."""
  ds = load_cat_dataset(data_dir, verify_checksums=verify_checksums)
  return (flatten_images(ds.train_x_orig).astype(dtype), ds.train_y,
          flatten_images(ds.test_x_orig).astype(dtype), ds.test_y)


# --------------------------------------------------------------------------------------
# Football: 2-D regularization data (course 2, week 1)


def load_football(data_dir=None, verify_checksums=False):
  """football.mat (the course's datasets/data.mat) in course notation.

  Returns (train_X (2, 211), train_Y (1, 211), test_X (2, 200), test_Y (1, 200)):
  train = data['X'].T, data['y'].T; test = data['Xval'].T, data['yval'].T.
  Labels are cast from the file's uint8 to int64 (see LABEL_DTYPE).
  """
  from scipy.io import loadmat
  from scipy.io.matlab import MatReadError
  path = _data_file(data_dir, FOOTBALL_FILE)
  if verify_checksums:
    verify_sha256(path)
  try:
    data = loadmat(path)
  except (MatReadError, OSError, ValueError, TypeError) as e:
    raise DataError(f"cannot read {path} as a MATLAB .mat file (truncated or not a "
                    f"MATLAB file?): {e}") from e
  keys = ("X", "y", "Xval", "yval")
  missing = [k for k in keys if k not in data]
  if missing:
    found = sorted(k for k in data if not k.startswith("__"))
    raise DataError(f"{path} lacks keys {missing}; expected keys {list(keys)}, "
                    f"found {found}")
  out = []
  for xk, yk in (("X", "y"), ("Xval", "yval")):
    out += _check_football_split(path, xk, yk, np.asarray(data[xk]), np.asarray(data[yk]))
  return tuple(out)


def _check_football_split(path, xk, yk, x, y):
  """Validate one split of football.mat: x (m, 2) finite reals with m >= 1 and y (m, 1)
  labels in {0, 1}. Returns [x.T float64 (2, m), y.T int64 (1, m)]."""
  if x.ndim != 2 or x.shape[1] != 2:
    raise DataError(f"{path}: {xk} has shape {x.shape}, expected (m, 2)")
  if x.dtype.kind not in "biuf":  # strings, MATLAB cells (object), complex numbers
    raise DataError(f"{path}: {xk} has dtype {x.dtype}, expected real numbers")
  # The one finiteness/emptiness check, on the course-notation (2, m) view.
  validation.check_features(x.T, name=f"{path}: {xk}")
  if y.shape != (x.shape[0], 1):
    raise DataError(f"{path}: {yk} has shape {y.shape}, expected ({x.shape[0]}, 1) "
                    f"to match {xk} {x.shape}")
  if y.dtype.kind not in "biuf":
    raise DataError(f"{path}: {yk} has dtype {y.dtype}, expected labels in {{0, 1}}")
  bad = np.setdiff1d(np.unique(y), [0, 1])  # NaN is not in {0, 1} either
  if bad.size:
    raise DataError(f"{path}: {yk} must hold labels in {{0, 1}}; offending values: "
                    f"{bad.tolist()}")
  return [x.T.astype(np.float64), y.T.astype(LABEL_DTYPE)]


# --------------------------------------------------------------------------------------
# Synthetic 2-D sets


def planar_flower(m=400, a=4, seed=1):
  """The course's planar "flower": X (2, m) float64, Y (1, m) int64, m/2 per class.

  For class j in (0, 1), N = m // 2 points:
    t = linspace(3.12 j, 3.12 (j + 1), N) + 0.2 randn(N)   (angle)
    r = a sin(4 t) + 0.2 randn(N)                            (radius: the petals)
    x = (r sin t, r cos t)
  Drawn from RandomState(seed), which yields exactly the numbers of the course's
  np.random.seed(seed) followed by the same np.random.randn calls.
  """
  if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 2 or m % 2:
    # An odd m would leave a row of zeros labelled 0, as the course's code does.
    raise ConfigError(f"planar_flower needs an even m >= 2 (m // 2 points per class), "
                      f"got m={m!r}")
  rng = np.random.RandomState(validation.seed(seed, course_compat=True))
  n = m // 2
  X = np.zeros((m, 2))
  Y = np.zeros((m, 1), dtype=LABEL_DTYPE)
  for j in range(2):
    rows = slice(n * j, n * (j + 1))
    t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + rng.randn(n) * 0.2  # draw 1
    r = a * np.sin(4 * t) + rng.randn(n) * 0.2  # draw 2: order matters for the stream
    X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
    Y[rows] = j
  return X.T, Y.T


def _sklearn_xy(x, y):
  """sklearn's (m, 2) X and (m,) y -> course (2, m) float64 and (1, m) int64."""
  return x.T.astype(np.float64), y.reshape(1, -1).astype(LABEL_DTYPE)


def circles():
  """The initialization notebook's circles: (train_X (2, 300), train_Y (1, 300),
  test_X (2, 100), test_Y (1, 100)).

  make_circles(300, noise=.05) after np.random.seed(1), then make_circles(100,
  noise=.05) after np.random.seed(2); here with RandomState(1) and RandomState(2),
  which is the same stream as sklearn's random_state=None after a global seed.
  """
  from sklearn.datasets import make_circles
  train = make_circles(n_samples=300, noise=.05, random_state=np.random.RandomState(1))
  test = make_circles(n_samples=100, noise=.05, random_state=np.random.RandomState(2))
  return (*_sklearn_xy(*train), *_sklearn_xy(*test))


def moons(seed=3):
  """The optimization notebook's moons: make_moons(300, noise=.2) after
  np.random.seed(3) -> X (2, 300) float64, Y (1, 300) int64."""
  from sklearn.datasets import make_moons
  rng = np.random.RandomState(validation.seed(seed, course_compat=True))
  return _sklearn_xy(*make_moons(n_samples=300, noise=.2, random_state=rng))


def digits():
  """sklearn's bundled 8x8 digits (no download): X (64, 1797) in [0, 1], Y (1, 1797).

  Pixels are integers 0..16, so X = pixels / 16; labels are int64 in [0, 10).
  """
  from sklearn.datasets import load_digits
  d = load_digits()
  return d.data.T.astype(np.float64) / 16., d.target.reshape(1, -1).astype(LABEL_DTYPE)


# --------------------------------------------------------------------------------------
# Transforms


def one_hot(labels, num_classes):
  """Labels (1, m) with integer values in [0, K) -> one-hot columns (K, m) float64.

  Column i is e_{labels[0, i]}. Raises ShapeError for any other label shape
  (notably (m,) or (m, 1)) and DataError for labels outside [0, K).
  """
  labels = np.asarray(labels)
  if labels.ndim != 2 or labels.shape[0] != 1:
    raise ShapeError(f"one_hot expects labels of shape (1, m), got shape {labels.shape}")
  num_classes = validation.positive_int("num_classes", num_classes)
  values = np.unique(labels)
  bad = values[(values != np.floor(values)) | (values < 0) | (values >= num_classes)]
  if bad.size:
    raise DataError(f"labels must be integers in [0, {num_classes}); offending values: "
                    f"{bad.tolist()}")
  return np.eye(num_classes)[:, labels[0].astype(np.int64)]


def _check_columns(X, Y):
  """X (n_x, m) and Y (k, m) as arrays with the same number of columns m."""
  X, Y = np.asarray(X), np.asarray(Y)
  if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
    raise ShapeError(f"expected X (n_x, m) and Y (1, m) or (K, m) with the same m, "
                     f"got shapes {X.shape} and {Y.shape}")
  return X, Y


def train_test_split_columns(X, Y, test_fraction=0.2, seed=0):
  """Shuffle the m columns with RandomState(seed) and split off round(test_fraction m).

  Returns (X_train, Y_train, X_test, Y_test); the same seed gives the same split.
  """
  X, Y = _check_columns(X, Y)
  m = X.shape[1]
  if not 0 < test_fraction < 1:
    raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
  n_test = int(round(test_fraction * m))
  if not 0 < n_test < m:
    raise ConfigError(f"test_fraction={test_fraction} of m={m} examples leaves an "
                      f"empty split ({n_test} test examples)")
  perm = np.random.RandomState(validation.seed(seed, course_compat=True)).permutation(m)
  test, train = perm[:n_test], perm[n_test:]
  return X[:, train], Y[:, train], X[:, test], Y[:, test]


def split_train_dev_test(X, Y, fractions=(0.6, 0.2, 0.2), seed=0):
  """Shuffle the columns with RandomState(seed) and cut them into train/dev/test.

  Returns ((X_train, Y_train), (X_dev, Y_dev), (X_test, Y_test)). The cut points
  are round(f0 m) and round((f0 + f1) m), so the sizes add up to m exactly.
  Raises ConfigError if the three fractions are negative, do not sum to 1, or
  a positive fraction gets no examples.
  """
  X, Y = _check_columns(X, Y)
  fractions = tuple(float(f) for f in fractions)
  if len(fractions) != 3:
    raise ConfigError(f"fractions must be (train, dev, test), got {fractions}")
  if any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0, rtol=0,
                                                      atol=1e-9):
    raise ConfigError(f"fractions must be non-negative and sum to 1, got {fractions} "
                      f"(sum {sum(fractions)})")
  m = X.shape[1]
  # Cumulative rounding: rounding each size separately could over- or under-shoot m.
  cuts = [0, int(round(fractions[0] * m)), int(round((fractions[0] + fractions[1]) * m)), m]
  sizes = np.diff(cuts)
  for name, f, n in zip(("train", "dev", "test"), fractions, sizes):
    if f > 0 and n == 0:
      raise ConfigError(f"{name} fraction {f} of m={m} examples gives an empty {name} set")
  perm = np.random.RandomState(validation.seed(seed, course_compat=True)).permutation(m)
  return tuple((X[:, perm[a:b]], Y[:, perm[a:b]]) for a, b in zip(cuts[:-1], cuts[1:]))


def standardize_fit(X):
  """Per-feature statistics of a training set X (n_x, m): mu, sigma, each (n_x, 1).

  mu = mean over examples, sigma = population std (ddof 0). Compute them on the
  training set only and apply them unchanged to dev/test, so that no information
  from held-out data leaks into the model's inputs.
  """
  X = np.asarray(X, dtype=np.float64)
  if X.ndim != 2 or X.shape[1] < 1:
    raise ShapeError(f"expected X of shape (n_x, m) with m >= 1, got shape {X.shape}")
  mu = X.mean(axis=1, keepdims=True)
  sigma = X.std(axis=1, keepdims=True)
  # A feature that is constant on the training set has sigma 0 (or ~1e-17 from
  # rounding in the mean): dividing would give NaN/inf or amplified noise. Its
  # centred value is already 0 and carries no information, so divide by 1 to keep it 0.
  # Testing max == min detects "constant" exactly, unlike a tolerance on sigma.
  constant = (X.max(axis=1, keepdims=True) == X.min(axis=1, keepdims=True))
  sigma = np.where(constant, 1.0, sigma)
  return mu, sigma


def standardize_apply(X, mu, sigma):
  """(X - mu) / sigma for X (n_x, m) and training-set mu, sigma (n_x, 1)."""
  X = np.asarray(X, dtype=np.float64)
  mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
  if X.ndim != 2:
    raise ShapeError(f"expected X of shape (n_x, m), got shape {X.shape}")
  expected = (X.shape[0], 1)
  if mu.shape != expected or sigma.shape != expected:
    raise ShapeError(f"mu and sigma must have shape (n_x, 1) = {expected} for X "
                     f"{X.shape}, got {mu.shape} and {sigma.shape}")
  return (X - mu) / sigma

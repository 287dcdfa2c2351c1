"""Tests for dlcourse.data: loaders, course-exact synthetic sets, splits and scaling.

File-format failures are exercised on small files built in tmp_path, so they run
without the course data; tests on the real files use the `data_dir` fixture.
"""
import contextlib
import pathlib
import re

import h5py
import numpy as np
import pytest
import scipy.io
from sklearn.datasets import make_circles, make_moons

from dlcourse import data
from dlcourse.errors import ConfigError, DataError, ShapeError


@contextlib.contextmanager
def _global_seed(seed):
  """np.random.seed(seed) for the course's reference code, restoring the state after."""
  saved = np.random.get_state()
  np.random.seed(seed)
  try:
    yield
  finally:
    np.random.set_state(saved)


def _write_cat_file(path, split, m=3, x=None, y=None, classes=None, skip=()):
  """A small HDF5 file laid out like the course's cat files (overridable pieces)."""
  x = np.zeros((m, 64, 64, 3), np.uint8) if x is None else x
  y = (np.arange(m) % 2).astype(np.int64) if y is None else y
  classes = np.array([b"non-cat", b"cat"]) if classes is None else classes
  with h5py.File(path, "w") as f:
    for key, value in ((f"{split}_set_x", x), (f"{split}_set_y", y),
                       ("list_classes", classes)):
      if key not in skip:
        f[key] = value
  return path


def _write_cat_dir(directory, **train_overrides):
  """Both cat files in `directory`; overrides apply to the train file."""
  _write_cat_file(directory / data.CAT_TRAIN_FILE, "train", **train_overrides)
  _write_cat_file(directory / data.CAT_TEST_FILE, "test", m=2)
  return directory


# --- where the files are --------------------------------------------------------------

def test_resolve_data_dir_flag_then_env_then_none(monkeypatch, tmp_path):
  monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "env"))
  assert data.resolve_data_dir(str(tmp_path / "flag")) == tmp_path / "flag"
  assert data.resolve_data_dir() == tmp_path / "env"
  assert data.resolve_data_dir("") == tmp_path / "env"
  monkeypatch.setenv(data.DATA_DIR_ENV, "")
  assert data.resolve_data_dir() is None
  monkeypatch.delenv(data.DATA_DIR_ENV)
  assert data.resolve_data_dir(None) is None
  assert isinstance(data.resolve_data_dir(tmp_path), pathlib.Path)


def test_loader_without_any_data_dir(monkeypatch):
  monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
  with pytest.raises(DataError, match=f"no data directory given for train_catvnoncat.h5: "
                     f"pass --data_dir or set {data.DATA_DIR_ENV}"):
    data.load_cat_dataset()


def test_loader_reads_env_var(monkeypatch, tmp_path):
  _write_cat_dir(tmp_path)
  monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
  assert data.load_cat_dataset().train_x_orig.shape == (3, 64, 64, 3)


def test_missing_cat_file_names_path(tmp_path):
  with pytest.raises(DataError, match=re.escape(f"data file not found: "
                                                f"{tmp_path / data.CAT_TRAIN_FILE}")):
    data.load_cat_dataset(tmp_path)


def test_missing_test_file_names_path(tmp_path):
  _write_cat_file(tmp_path / data.CAT_TRAIN_FILE, "train")
  with pytest.raises(DataError, match=re.escape(str(tmp_path / data.CAT_TEST_FILE))):
    data.load_cat_dataset(tmp_path)


# --- checksums -------------------------------------------------------------------------

def test_sha256_table_matches_shared_sums_file():
  sums = pathlib.Path(__file__).resolve().parents[1] / "data" / "SHA256SUMS"
  listed = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line)
  assert listed == data.SHA256


def test_checksums_of_real_files_pass(data_dir):
  for name, digest in data.SHA256.items():
    assert data.verify_sha256(data_dir / name) == digest


def test_checksum_mismatch_names_file_expected_and_actual(tmp_path):
  path = tmp_path / data.CAT_TRAIN_FILE
  path.write_bytes(b"not the cats")
  actual = data.file_sha256(path)
  with pytest.raises(DataError, match=re.escape(
      f"checksum mismatch for {path}: expected sha256 {data.SHA256[data.CAT_TRAIN_FILE]}, "
      f"got {actual}")):
    data.verify_sha256(path)


def test_checksum_checked_by_loader_on_request(tmp_path):
  _write_cat_dir(tmp_path)
  data.load_cat_dataset(tmp_path)  # fine without verification
  with pytest.raises(DataError, match="checksum mismatch for .*train_catvnoncat.h5"):
    data.load_cat_dataset(tmp_path, verify_checksums=True)


def test_checksum_unknown_file(tmp_path):
  path = tmp_path / "other.h5"
  path.write_bytes(b"x")
  with pytest.raises(DataError, match=r"no known sha256 for .*other.h5"):
    data.verify_sha256(path)
  data.verify_sha256(path, expected=data.file_sha256(path))


# --- cat files: format errors ---------------------------------------------------------

def test_text_file_named_h5_is_not_hdf5(tmp_path):
  (tmp_path / data.CAT_TRAIN_FILE).write_text("just some text\n")
  with pytest.raises(DataError, match=re.escape(f"{tmp_path / data.CAT_TRAIN_FILE} is "
                                                "not an HDF5 file")):
    data.load_cat_dataset(tmp_path)


def test_truncated_synthetic_h5(tmp_path):
  full = _write_cat_file(tmp_path / "full.h5", "train")
  (tmp_path / data.CAT_TRAIN_FILE).write_bytes(full.read_bytes()[:1000])
  with pytest.raises(DataError, match=re.escape(f"cannot open {tmp_path / data.CAT_TRAIN_FILE}"
                                                " as HDF5, it is probably truncated")):
    data.load_cat_dataset(tmp_path)


def test_truncated_real_h5(tmp_path, data_dir):
  with open(data_dir / data.CAT_TRAIN_FILE, "rb") as f:
    (tmp_path / data.CAT_TRAIN_FILE).write_bytes(f.read(1000))
  with pytest.raises(DataError, match=r"train_catvnoncat.h5 as HDF5, it is probably "
                     r"truncated.*expected sha256 fbe56ab6"):
    data.load_cat_dataset(tmp_path)


def test_missing_key_is_named(tmp_path):
  _write_cat_dir(tmp_path, skip=("list_classes",))
  with pytest.raises(DataError, match=re.escape(
      "lacks keys ['list_classes']; expected keys ['train_set_x', 'train_set_y', "
      "'list_classes']")):
    data.load_cat_dataset(tmp_path)


def test_group_instead_of_array(tmp_path):
  path = _write_cat_file(tmp_path / data.CAT_TRAIN_FILE, "train", skip=("train_set_y",))
  with h5py.File(path, "a") as f:
    f.create_group("train_set_y")
  with pytest.raises(DataError, match="key 'train_set_y' is a group, expected an array"):
    data.load_cat_dataset(tmp_path)


@pytest.mark.parametrize("x, message", [
    (np.zeros((3, 32, 32, 3), np.uint8),
     r"train_set_x has shape \(3, 32, 32, 3\), expected \(m, 64, 64, 3\)"),
    (np.zeros((3, 12288), np.uint8), r"train_set_x has shape \(3, 12288\), expected \(m, 64"),
    (np.zeros((3, 64, 64, 3), np.float32),
     r"train_set_x has dtype float32, expected uint8 pixels"),
])
def test_wrong_image_array(tmp_path, x, message):
  _write_cat_dir(tmp_path, x=x)
  with pytest.raises(DataError, match=message):
    data.load_cat_dataset(tmp_path)


@pytest.mark.parametrize("y, message", [
    (np.zeros(4, np.int64), r"train_set_y has shape \(4,\), expected \(3,\) to match"),
    (np.zeros((1, 3), np.int64), r"train_set_y has shape \(1, 3\), expected \(3,\)"),
    (np.zeros(3, np.float64), r"train_set_y has dtype float64, expected integer labels"),
    (np.array([0, 2, 7]), r"labels in \{0, 1\}; offending values: \[2, 7\]"),
])
def test_wrong_label_array(tmp_path, y, message):
  _write_cat_dir(tmp_path, y=y)
  with pytest.raises(DataError, match=message):
    data.load_cat_dataset(tmp_path)


def test_wrong_classes(tmp_path):
  _write_cat_dir(tmp_path, classes=np.array([b"a", b"b", b"c"]))
  with pytest.raises(DataError, match=r"list_classes has shape \(3,\), expected \(2,\)"):
    data.load_cat_dataset(tmp_path)


def test_classes_must_agree(tmp_path):
  _write_cat_dir(tmp_path, classes=np.array([b"dog", b"cat"]))
  with pytest.raises(DataError, match="list_classes differ between train_catvnoncat.h5"):
    data.load_cat_dataset(tmp_path)


def test_synthetic_cat_files_load(tmp_path):
  _write_cat_dir(tmp_path)
  ds = data.load_cat_dataset(tmp_path)
  assert ds.train_y.shape == (1, 3) and ds.train_y.dtype == np.int64
  assert ds.test_y.shape == (1, 2)
  assert ds.classes.tolist() == [b"non-cat", b"cat"]


# --- cat files: the real data ---------------------------------------------------------

def test_real_cat_dataset(data_dir):
  ds = data.load_cat_dataset(data_dir, verify_checksums=True)
  assert ds.train_x_orig.shape == (209, 64, 64, 3) and ds.train_x_orig.dtype == np.uint8
  assert ds.test_x_orig.shape == (50, 64, 64, 3)
  assert ds.train_y.shape == (1, 209) and ds.test_y.shape == (1, 50)
  assert int(ds.train_y.sum()) == 72 and int(ds.test_y.sum()) == 33
  assert ds.classes.tolist() == [b"non-cat", b"cat"]


def test_real_load_cats_flattened(data_dir):
  ds = data.load_cat_dataset(data_dir)
  train_x, train_y, test_x, test_y = data.load_cats(data_dir)
  assert train_x.shape == (12288, 209) and test_x.shape == (12288, 50)
  assert train_x.dtype == np.float64
  np.testing.assert_array_equal(train_x, ds.train_x_orig.reshape(209, -1).T / 255.)
  np.testing.assert_array_equal(test_x, ds.test_x_orig.reshape(50, -1).T / 255.)
  np.testing.assert_array_equal(train_y, ds.train_y)
  assert 0.0 <= train_x.min() and train_x.max() <= 1.0
  assert data.load_cats(data_dir, dtype=np.float32)[0].dtype == np.float32


def test_flatten_images_is_row_major():
  rng = np.random.RandomState(0)
  x = rng.randint(0, 256, size=(4, 5, 6, 3)).astype(np.uint8)
  flat = data.flatten_images(x)
  assert flat.shape == (90, 4) and flat.dtype == np.float64
  # pixel (row i, column j, channel c) of image k sits at row (i*6 + j)*3 + c of column k
  assert flat[(2 * 6 + 5) * 3 + 1, 3] == x[3, 2, 5, 1] / 255.
  np.testing.assert_array_equal(flat, x.reshape(4, -1).T / 255.)
  with pytest.raises(ShapeError, match=r"expected images of shape \(m, \.\.\.\)"):
    data.flatten_images(np.zeros(3))


# --- football -------------------------------------------------------------------------

def test_real_football(data_dir):
  train_X, train_Y, test_X, test_Y = data.load_football(data_dir, verify_checksums=True)
  raw = scipy.io.loadmat(data_dir / data.FOOTBALL_FILE)
  assert train_X.shape == (2, 211) and train_Y.shape == (1, 211)
  assert test_X.shape == (2, 200) and test_Y.shape == (1, 200)
  np.testing.assert_array_equal(train_X, raw["X"].T)
  np.testing.assert_array_equal(test_Y, raw["yval"].T)
  # the file stores uint8 labels; we hand out int64 so that -Y cannot wrap to 255
  assert raw["y"].dtype == np.uint8 and train_Y.dtype == np.int64
  assert int(train_Y.sum()) == 106 and int(test_Y.sum()) == 87


def test_football_missing_keys(tmp_path):
  path = tmp_path / data.FOOTBALL_FILE
  scipy.io.savemat(path, {"X": np.zeros((3, 2)), "y": np.zeros((3, 1))})
  with pytest.raises(DataError, match=re.escape(f"{path} lacks keys ['Xval', 'yval']; "
                                                "expected keys ['X', 'y', 'Xval', 'yval']")):
    data.load_football(tmp_path)


def test_football_text_file(tmp_path):
  (tmp_path / data.FOOTBALL_FILE).write_text("hello\n")
  with pytest.raises(DataError, match=re.escape(f"cannot read {tmp_path / data.FOOTBALL_FILE}"
                                                " as a MATLAB .mat file")):
    data.load_football(tmp_path)


def test_football_truncated_real_file(tmp_path, data_dir):
  with open(data_dir / data.FOOTBALL_FILE, "rb") as f:
    (tmp_path / data.FOOTBALL_FILE).write_bytes(f.read(1000))
  with pytest.raises(DataError, match=r"cannot read .*football.mat as a MATLAB"):
    data.load_football(tmp_path)


def test_football_missing_file(tmp_path):
  with pytest.raises(DataError, match=re.escape(f"data file not found: "
                                                f"{tmp_path / data.FOOTBALL_FILE}")):
    data.load_football(tmp_path)


@pytest.mark.parametrize("arrays, message", [
    ({"y": np.zeros((4, 1))}, r"y has shape \(4, 1\), expected \(3, 1\) to match X"),
    ({"Xval": np.zeros((2, 3))}, r"Xval has shape \(2, 3\), expected \(m, 2\)"),
    ({"yval": np.full((2, 1), 3.0)}, r"yval must hold labels in \{0, 1\}; offending "
     r"values: \[3.0\]"),
    ({"X": np.array([[np.nan, 0.0], [0.0, 0.0], [0.0, 0.0]])},
     r"football.mat: X: X has 1 non-finite entries \(1 NaN, 0 inf\)"),
    ({"Xval": np.array([[0.0, np.inf], [0.0, 0.0]])}, r"Xval: X has 1 non-finite entries"),
    ({"X": np.zeros((0, 2)), "y": np.zeros((0, 1))}, r"X: X of shape \(2, 0\) is empty"),
    ({"X": np.array([["a", "b"], ["c", "d"], ["e", "f"]])},
     r"football.mat: X has dtype <U1, expected real numbers"),
    ({"Xval": np.zeros((2, 2)) + 1j}, r"Xval has dtype complex128, expected real numbers"),
    ({"y": np.array([["a"], ["b"], ["c"]])}, r"y has dtype <U1, expected labels in \{0, 1\}"),
    ({"y": np.array([[np.nan], [0.0], [1.0]])}, r"y must hold labels in \{0, 1\}; offending "
     r"values: \[nan\]"),
])
def test_football_bad_arrays(tmp_path, arrays, message):
  good = {"X": np.zeros((3, 2)), "y": np.zeros((3, 1)), "Xval": np.zeros((2, 2)),
          "yval": np.zeros((2, 1))}
  scipy.io.savemat(tmp_path / data.FOOTBALL_FILE, {**good, **arrays})
  with pytest.raises(DataError, match=message):
    data.load_football(tmp_path)


def test_empty_cat_arrays_are_a_data_error(tmp_path):
  # Before: a bare "ValueError: cannot reshape array of size 0" from flatten_images.
  _write_cat_dir(tmp_path, x=np.zeros((0, 64, 64, 3), np.uint8), y=np.zeros(0, np.int64))
  with pytest.raises(DataError, match=r"train_catvnoncat.h5: train_set_x is empty "
                     r"\(shape \(0, 64, 64, 3\)\)"):
    data.load_cats(tmp_path)


def _refuse_to_open(monkeypatch, filename):
  """Make `open` inside dlcourse.data fail on `filename` as an unreadable file does
  (chmod cannot show it when the tests run as root)."""
  real_open = open

  def fake_open(path, *args, **kwargs):
    if pathlib.Path(path).name == filename:
      raise PermissionError(13, "Permission denied", str(path))
    return real_open(path, *args, **kwargs)
  monkeypatch.setattr(data, "open", fake_open, raising=False)


def test_unreadable_cat_file_is_a_data_error(tmp_path, monkeypatch):
  # Before: a bare PermissionError, which the CLI reports with exit 1, not 2.
  _write_cat_dir(tmp_path)
  _refuse_to_open(monkeypatch, data.CAT_TRAIN_FILE)
  message = re.escape(f"cannot read data file {tmp_path / data.CAT_TRAIN_FILE}: "
                      "Permission denied")
  with pytest.raises(DataError, match=message):
    data.load_cats(tmp_path)
  with pytest.raises(DataError, match=message):
    data.file_sha256(tmp_path / data.CAT_TRAIN_FILE)


def test_seeds_out_of_range_are_config_errors():
  with pytest.raises(ConfigError, match=r"seed must be in \[0, 4294967295\].*RandomState"):
    data.planar_flower(seed=2**32)
  with pytest.raises(ConfigError, match=r"seed must be an integer .* got 1e\+20 \(a float\)"):
    data.moons(seed=1e20)
  X, Y = _indexed()
  with pytest.raises(ConfigError, match="negative -1"):
    data.split_train_dev_test(X, Y, seed=-1)


# --- synthetic sets: identical to the course's global-seed recipes --------------------

def _course_planar_reference():
  """The course's load_planar_dataset, written against the global np.random."""
  with _global_seed(1):
    m, N, a = 400, 200, 4
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1), dtype="uint8")
    for j in range(2):
      ix = range(N * j, N * (j + 1))
      t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
      r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
      X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
      Y[ix] = j
  return X.T, Y.T


def test_planar_flower_matches_course():
  X, Y = data.planar_flower()
  X_ref, Y_ref = _course_planar_reference()
  assert X.shape == (2, 400) and Y.shape == (1, 400) and X.dtype == np.float64
  assert np.bincount(Y[0]).tolist() == [200, 200]
  np.testing.assert_array_equal(X, X_ref)
  np.testing.assert_array_equal(Y, Y_ref)


def test_planar_flower_leaves_global_state_alone():
  before = np.random.get_state()[1].copy()
  data.planar_flower(seed=5)
  np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_planar_flower_other_sizes_and_seeds():
  X, Y = data.planar_flower(m=10, seed=2)
  assert X.shape == (2, 10) and np.bincount(Y[0]).tolist() == [5, 5]
  assert not np.array_equal(X, data.planar_flower(m=10, seed=3)[0])
  with pytest.raises(ConfigError, match="even m >= 2"):
    data.planar_flower(m=401)


def test_circles_match_global_seed_way():
  train_X, train_Y, test_X, test_Y = data.circles()
  with _global_seed(1):
    ref_train = make_circles(n_samples=300, noise=.05)
  with _global_seed(2):
    ref_test = make_circles(n_samples=100, noise=.05)
  assert train_X.shape == (2, 300) and train_Y.shape == (1, 300)
  assert test_X.shape == (2, 100) and test_Y.shape == (1, 100)
  np.testing.assert_array_equal(train_X, ref_train[0].T)
  np.testing.assert_array_equal(train_Y, ref_train[1].reshape(1, -1))
  np.testing.assert_array_equal(test_X, ref_test[0].T)
  np.testing.assert_array_equal(test_Y, ref_test[1].reshape(1, -1))


def test_moons_match_global_seed_way():
  X, Y = data.moons()
  with _global_seed(3):
    ref_X, ref_Y = make_moons(n_samples=300, noise=.2)
  assert X.shape == (2, 300) and Y.shape == (1, 300)
  np.testing.assert_array_equal(X, ref_X.T)
  np.testing.assert_array_equal(Y, ref_Y.reshape(1, -1))


def test_digits():
  X, Y = data.digits()
  assert X.shape == (64, 1797) and Y.shape == (1, 1797)
  assert X.min() == 0.0 and X.max() == 1.0
  assert set(np.unique(Y).tolist()) == set(range(10))


# --- one_hot --------------------------------------------------------------------------

def test_one_hot():
  Y = data.one_hot(np.array([[2, 0, 1, 2]]), 3)
  np.testing.assert_array_equal(Y, [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])
  assert Y.shape == (3, 4)


def test_one_hot_errors():
  with pytest.raises(ShapeError, match=r"labels of shape \(1, m\), got shape \(4, 1\)"):
    data.one_hot(np.zeros((4, 1), int), 3)
  with pytest.raises(DataError, match=r"integers in \[0, 3\); offending values: \[-1, 3\]"):
    data.one_hot(np.array([[0, 3, -1]]), 3)
  with pytest.raises(ConfigError, match="num_classes must be a positive integer"):
    data.one_hot(np.array([[0]]), 0)


# --- splits ---------------------------------------------------------------------------

def _indexed(m=20):
  """X whose columns carry their own index, so pairing and coverage are checkable."""
  X = np.vstack([np.arange(m), -np.arange(m)]).astype(float)
  return X, np.arange(m).reshape(1, m)


def test_split_train_dev_test_sizes_pairing_and_coverage():
  X, Y = _indexed(20)
  (Xtr, Ytr), (Xd, Yd), (Xte, Yte) = data.split_train_dev_test(X, Y, seed=0)
  assert [Xtr.shape[1], Xd.shape[1], Xte.shape[1]] == [12, 4, 4]
  for Xs, Ys in ((Xtr, Ytr), (Xd, Yd), (Xte, Yte)):
    np.testing.assert_array_equal(Xs[0], Ys[0])  # columns stay paired
  assert sorted(np.concatenate([Ytr[0], Yd[0], Yte[0]]).tolist()) == list(range(20))
  assert Ytr[0].tolist() != list(range(12))  # shuffled


def test_split_train_dev_test_is_deterministic():
  X, Y = _indexed(30)
  a = data.split_train_dev_test(X, Y, (0.5, 0.25, 0.25), seed=7)
  b = data.split_train_dev_test(X, Y, (0.5, 0.25, 0.25), seed=7)
  c = data.split_train_dev_test(X, Y, (0.5, 0.25, 0.25), seed=8)
  for (x1, y1), (x2, y2) in zip(a, b):
    np.testing.assert_array_equal(y1, y2)
  assert a[0][1].tolist() != c[0][1].tolist()


def test_split_zero_fraction_gives_empty_split():
  X, Y = _indexed(5)
  (Xtr, _), (Xd, _), (Xte, _) = data.split_train_dev_test(X, Y, (0.5, 0.5, 0.0), seed=0)
  assert [Xtr.shape[1], Xd.shape[1], Xte.shape[1]] == [2, 3, 0]


@pytest.mark.parametrize("fractions, message", [
    ((0.6, 0.2, 0.1), r"sum to 1, got \(0.6, 0.2, 0.1\)"),
    ((1.2, -0.1, -0.1), "non-negative"),
    ((0.5, 0.5), r"fractions must be \(train, dev, test\)"),
])
def test_split_bad_fractions(fractions, message):
  X, Y = _indexed(10)
  with pytest.raises(ConfigError, match=message):
    data.split_train_dev_test(X, Y, fractions, seed=0)


def test_split_positive_fraction_too_small_for_m():
  X, Y = _indexed(4)
  # cuts at round(0.9 * 4) = 4 and round(0.95 * 4) = 4 leave dev (and test) empty
  with pytest.raises(ConfigError, match=r"dev fraction 0.05 of m=4 examples gives an empty "
                     "dev set"):
    data.split_train_dev_test(X, Y, (0.9, 0.05, 0.05), seed=0)


def test_split_shape_mismatch():
  X, Y = _indexed(10)
  with pytest.raises(ShapeError, match=r"same m, got shapes \(2, 10\) and \(10, 1\)"):
    data.split_train_dev_test(X, Y.T, seed=0)


def test_train_test_split_columns():
  X, Y = _indexed(10)
  Xtr, Ytr, Xte, Yte = data.train_test_split_columns(X, Y, test_fraction=0.3, seed=1)
  assert Xtr.shape == (2, 7) and Xte.shape == (2, 3)
  np.testing.assert_array_equal(Xte[0], Yte[0])
  assert sorted(Ytr[0].tolist() + Yte[0].tolist()) == list(range(10))
  again = data.train_test_split_columns(X, Y, test_fraction=0.3, seed=1)
  np.testing.assert_array_equal(again[3], Yte)
  with pytest.raises(ConfigError, match=r"test_fraction must be in \(0, 1\), got 1.5"):
    data.train_test_split_columns(X, Y, test_fraction=1.5, seed=1)
  with pytest.raises(ConfigError, match="leaves an empty split"):
    data.train_test_split_columns(X, Y, test_fraction=0.01, seed=1)


# --- standardization ------------------------------------------------------------------

def test_standardize_uses_train_stats_only():
  X_train = np.array([[0., 2., 4.], [10., 10., 10.]])  # feature 2 constant
  X_dev = np.array([[4., 6.], [10., 12.]])
  mu, sigma = data.standardize_fit(X_train)
  assert mu.shape == (2, 1) and sigma.shape == (2, 1)
  np.testing.assert_allclose(mu, [[2.], [10.]])
  np.testing.assert_allclose(sigma, [[np.sqrt(8 / 3)], [1.]])  # constant -> sigma 1
  train_std = data.standardize_apply(X_train, mu, sigma)
  np.testing.assert_allclose(train_std.mean(axis=1), 0, atol=1e-12)
  np.testing.assert_allclose(train_std[0].std(), 1)
  np.testing.assert_array_equal(train_std[1], 0)  # no NaN from 0/0
  dev_std = data.standardize_apply(X_dev, mu, sigma)
  # the dev set keeps its own offset: it is not re-centred with its own mean
  np.testing.assert_allclose(dev_std[0], [2 / np.sqrt(8 / 3), 4 / np.sqrt(8 / 3)])
  assert abs(dev_std.mean()) > 0.5


def test_standardize_constant_with_rounding_noise():
  X = np.full((1, 7), 0.1)  # mean is not exactly 0.1 in floating point
  mu, sigma = data.standardize_fit(X)
  assert sigma[0, 0] == 1.0
  assert np.all(np.isfinite(data.standardize_apply(X, mu, sigma)))


def test_standardize_shape_errors():
  mu, sigma = data.standardize_fit(np.ones((3, 4)))
  with pytest.raises(ShapeError, match=r"must have shape \(n_x, 1\) = \(2, 1\) for X "
                     r"\(2, 5\), got \(3, 1\)"):
    data.standardize_apply(np.ones((2, 5)), mu, sigma)
  with pytest.raises(ShapeError, match=r"expected X of shape \(n_x, m\) with m >= 1"):
    data.standardize_fit(np.ones(3))

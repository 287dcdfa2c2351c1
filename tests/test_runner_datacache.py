"""Generated data sets cached as checksummed files (experiments.runner.datacache)."""
import subprocess
import sys

import numpy as np

from dlcourse import data
from experiments.runner import datacache


def assert_same(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.dtype == y.dtype and x.shape == y.shape
    np.testing.assert_array_equal(x, y)


def test_sklearn_sets_through_the_cache_are_the_sets_themselves(tmp_path):
  direct = data.moons()
  assert_same(datacache.sklearn_set(None, data.moons), direct)   # no cache: made
  assert not list(tmp_path.iterdir())
  assert_same(datacache.sklearn_set(tmp_path, data.moons), direct)   # made and stored
  (path,) = tmp_path.glob("moons_*.npz")
  assert_same(datacache.sklearn_set(tmp_path, data.moons), direct)   # read back
  assert_same(datacache.sklearn_set(tmp_path, data.circles), data.circles())
  assert_same(datacache.sklearn_set(tmp_path, data.digits), data.digits())
  # Another seed is another file, with its own arrays.
  other = datacache.sklearn_set(tmp_path, data.moons, seed=4)
  assert_same(other, data.moons(seed=4))
  assert len(list(tmp_path.glob("moons_*.npz"))) == 2
  assert not np.array_equal(other[0], direct[0])


def test_a_cached_set_is_read_without_importing_scikit_learn(tmp_path):
  datacache.sklearn_set(tmp_path, data.moons)
  code = ("import pathlib, sys; from dlcourse import data; "
          "from experiments.runner import datacache; "
          f"X, Y = datacache.sklearn_set(pathlib.Path({str(tmp_path)!r}), data.moons); "
          "print(X.shape, 'sklearn' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True).stdout
  assert out.strip() == "(2, 300) False"


def test_a_damaged_or_stale_file_is_made_again(tmp_path, monkeypatch):
  direct = data.moons()
  datacache.sklearn_set(tmp_path, data.moons)
  (path,) = tmp_path.glob("moons_*.npz")
  with np.load(path) as f:
    arrays = {k: f[k] for k in f.files}
  arrays["a0"][0, 0] += 1.0   # contents that no longer match their checksum
  np.savez(path, **arrays)
  made = []
  real = data.moons

  def counted(seed=3):
    made.append(seed)
    return real(seed=seed)

  counted.__name__ = counted.__qualname__ = "moons"
  counted.__module__ = real.__module__
  assert_same(datacache.sklearn_set(tmp_path, counted), direct)
  assert made == [3]   # the tampered file was not believed
  path.write_bytes(b"not a zip file")
  assert_same(datacache.sklearn_set(tmp_path, counted), direct)
  assert made == [3, 3]
  assert_same(datacache.sklearn_set(tmp_path, counted), direct)
  assert made == [3, 3]  # rewritten sound, then read
  # Another scikit-learn: another file (its generator may draw differently).
  monkeypatch.setattr(datacache, "package_version", lambda name: "0.0-another")
  datacache.sklearn_set(tmp_path, counted)
  assert made == [3, 3, 3]
  assert len(list(tmp_path.glob("moons_*.npz"))) == 2
  assert not list(tmp_path.glob("*.tmp*"))   # no temporary file left behind


def test_a_cache_that_cannot_be_written_costs_a_warning_not_the_run(tmp_path):
  blocked = tmp_path / "a_file"
  blocked.write_text("a file where the cache directory would be")
  messages = []
  got = datacache.sklearn_set(blocked / "data", data.moons, messages.append)
  assert_same(got, data.moons())
  assert len(messages) == 1 and messages[0].startswith("moons: not cached (cannot write ")
  assert blocked.read_text() == "a file where the cache directory would be"

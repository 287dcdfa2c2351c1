"""experiments.runner.export: HDF5 export of trained parameters, read back by plain h5py +
NumPy, written atomically, and a full disk that is one line (exit 1), not a segfault."""
import os
import pathlib
import subprocess
import sys

import h5py
import jax
import numpy as np
import pytest

from dlcourse import initializers
from dlcourse.errors import DataError, ShapeError
from dlcourse.models import dense
from experiments.runner import export, rundir

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
ARCH = dense.Architecture.make((4, 5, 3, 1))


@pytest.fixture
def params():
  return initializers.initialize(jax.random.key(0), ARCH.layer_dims, "he")


def numpy_forward(path, X):
  """The forward pass written against the file format alone (no dlcourse)."""
  with h5py.File(path, "r") as f:
    activations = [a.decode() if isinstance(a, bytes) else a for a in f.attrs["activations"]]
    A = X
    for l, activation in enumerate(activations, start=1):
      Z = f[f"W{l}"][()] @ A + f[f"b{l}"][()]
      A = np.maximum(Z, 0) if activation == "relu" else 1 / (1 + np.exp(-Z))
  return A


def test_a_plain_numpy_reader_reproduces_the_predictions(tmp_path, params):
  path = export.save_params(tmp_path / "params.h5", params, ARCH,
                            attrs={"experiment": "demo", "train_accuracy": 0.75})
  assert path == tmp_path / "params.h5"
  X = np.random.RandomState(0).randn(4, 7).astype(np.float32)
  ours = np.asarray(dense.predict(params, X, ARCH))
  theirs = (numpy_forward(path, X) > 0.5).astype(np.int32)
  assert np.array_equal(ours, theirs)
  with h5py.File(path, "r") as f:
    assert sorted(f) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert f.attrs["layer_dims"].tolist() == [4, 5, 3, 1]
    assert f.attrs["format"] == export.FORMAT and f.attrs["format_version"] == 1
    assert {"library_version", "jax_version", "dtype", "num_layers"} <= set(f.attrs)
    assert f.attrs["experiment"] == "demo" and f.attrs["train_accuracy"] == 0.75
    assert f["W2"].attrs["layer"] == 2 and f["W2"].attrs["kind"] == "weights"
  assert [p.name for p in tmp_path.iterdir()] == ["params.h5"]  # no temporaries


def test_round_trip_is_exact(tmp_path, params):
  export.save_params(tmp_path / "p.h5", params, ARCH)
  loaded, arch = export.load_architecture(tmp_path / "p.h5")
  assert arch == ARCH
  for name in params:
    assert loaded[name].dtype == np.float32
    assert np.array_equal(loaded[name], np.asarray(params[name]))
  loaded, meta = export.load_params(tmp_path / "p.h5")
  assert meta["layer_dims"] == [4, 5, 3, 1] and meta["activations"] == ["relu", "relu",
                                                                          "sigmoid"]


def test_float64_params_stay_float64(tmp_path, x64):
  params64 = initializers.initialize(jax.random.key(1), ARCH.layer_dims, "he",
                                     dtype=np.float64)
  export.save_params(tmp_path / "p.h5", params64, ARCH)
  loaded, meta = export.load_params(tmp_path / "p.h5")
  assert meta["dtype"] == "float64"
  for name in params64:
    assert loaded[name].dtype == np.float64
    assert np.array_equal(loaded[name], np.asarray(params64[name]))


def test_a_second_save_replaces_the_file(tmp_path, params):
  path = tmp_path / "p.h5"
  export.save_params(path, params, ARCH, attrs={"fit": 0})
  doubled = {k: 2 * np.asarray(v) for k, v in params.items()}
  export.save_params(path, doubled, ARCH, attrs={"fit": 1})
  loaded, meta = export.load_params(path)
  assert meta["fit"] == 1 and np.array_equal(loaded["W1"], doubled["W1"])


def test_params_that_do_not_fit_the_architecture_are_refused(tmp_path, params):
  with pytest.raises(ShapeError, match="W2 has shape"):
    export.save_params(tmp_path / "p.h5", {**params, "W2": np.zeros((2, 2))}, ARCH)
  assert not list(tmp_path.iterdir())


def test_bad_files_name_the_problem(tmp_path, params):
  with pytest.raises(DataError, match="parameter file not found"):
    export.load_params(tmp_path / "missing.h5")
  (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
  with pytest.raises(DataError, match="cannot open .*junk.h5 as HDF5"):
    export.load_params(tmp_path / "junk.h5")
  path = export.save_params(tmp_path / "p.h5", params, ARCH)
  with h5py.File(path, "a") as f:
    del f["b2"]
  with pytest.raises(DataError, match=r"lacks dataset b2 \(layer_dims \[4, 5, 3, 1\]\)"):
    export.load_params(path)
  truncated = tmp_path / "t.h5"
  truncated.write_bytes(path.read_bytes()[:1000])
  with pytest.raises(DataError, match="cannot open .*t.h5 as HDF5"):
    export.load_params(truncated)


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch, params):
  path = export.save_params(tmp_path / "p.h5", params, ARCH, attrs={"fit": 0})
  before = path.read_bytes()

  def full(_fd):
    raise OSError(28, os.strerror(28))
  monkeypatch.setattr(rundir.os, "fsync", full)
  with pytest.raises(rundir.WriteError, match=rf"^cannot write {path}: No space left"):
    export.save_params(path, params, ARCH, attrs={"fit": 1})
  monkeypatch.undo()
  assert path.read_bytes() == before
  assert [p.name for p in tmp_path.iterdir()] == ["p.h5"]


# --------------------------------------------------------------------------------------
# A really full disk: HDF5 writing onto it used to crash the interpreter (exit 139 / 134)

SAVE_ON_FULL_DISK = """
import pathlib, sys
sys.path.insert(0, {root!r})
import importlib, jax
from dlcourse import initializers
from dlcourse.models import dense
export = importlib.import_module({module!r})
path = pathlib.Path({path!r})
failed = False
# W1 (1, n) float32 of 224-234 KB on a 230 KB disk holding a previous params.h5: around
# the size where the data goes in but HDF5's close-time flush does not, the crash case.
for n in range(56000, 58751, 250):
  path.write_bytes(b"previous")
  params = initializers.initialize(jax.random.key(0), (n, 1), "he")
  try:
    export.save_params(path, params, dense.Architecture.make((n, 1)),
                       attrs={{"config_json": "x" * 2000}})
    print("saved")
  except OSError as e:
    failed = True
    print(f"error: {{e}}")
    assert path.read_bytes() == b"previous"
sys.exit(1 if failed else 0)
"""


def save_on_a_full_disk(disk, module):
  """Runs SAVE_ON_FULL_DISK with ``module``'s save_params; the CompletedProcess."""
  return subprocess.run(
      [sys.executable, "-c", SAVE_ON_FULL_DISK.format(root=str(REPO_ROOT), module=module,
                                                      path=str(disk / "params.h5"))],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
      env=dict(os.environ, JAX_PLATFORMS="cpu"))


def test_a_full_disk_is_one_line_and_exit_1_not_a_segfault(tmp_path, tiny_tmpfs):
  disk = tiny_tmpfs(tmp_path / "disk")
  try:
    child = save_on_a_full_disk(disk, "experiments.runner.export")
    assert child.returncode == 1, (child.returncode, child.stdout, child.stderr[-2000:])
    lines = child.stdout.splitlines()
    error = f"error: cannot write {disk / 'params.h5'}: No space left on device"
    assert len(lines) == 12 and error in lines and set(lines) <= {"saved", error}
    assert "Traceback" not in child.stderr
    assert [p.name for p in disk.iterdir()] == ["params.h5"]  # no temporaries
  finally:
    subprocess.run(["umount", str(disk)], check=False)

"""HDF5 export of trained parameters, read back by plain h5py + NumPy."""
import h5py
import jax
import numpy as np
import pytest

from dlcourse import export, initializers
from dlcourse.errors import DataError, ShapeError
from dlcourse.models import dense

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
  assert not list(tmp_path.glob("*.tmp"))


def test_round_trip_is_exact(tmp_path, params):
  export.save_params(tmp_path / "p.h5", params, ARCH)
  loaded, arch = export.load_architecture(tmp_path / "p.h5")
  assert arch == ARCH
  for name in params:
    assert loaded[name].dtype == np.float32
    assert np.array_equal(loaded[name], np.asarray(params[name]))


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

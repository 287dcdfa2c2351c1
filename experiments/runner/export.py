"""Trained dense-net parameters to and from HDF5, readable without this library.

File layout (everything at the root, course names)::

    W1, b1, ..., WL, bL     datasets: W^[l] (n_l, n_{l-1}), b^[l] (n_l, 1)
      attrs: layer (l), kind ("weights" / "biases")
    attrs:
      format           "dlcourse.dense-params"
      format_version   1
      layer_dims       int64 [n_x, n_1, ..., n_L]
      activations      strings, one per layer 1..L ("relu", ..., "sigmoid")
      num_layers       L
      library, library_version, jax_version, dtype
      + any extra attrs the caller passes (experiment, config_json, accuracies)

Plain h5py + NumPy reproduce the forward pass: ``Z = f["W1"][()] @ X + f["b1"][()]``.

The file is built in memory (HDF5 on a ``BytesIO``) and written with
``rundir.write_bytes``: HDF5 never touches the disk itself. Writing through HDF5 onto a
full disk used to crash the interpreter (a failed flush when the file is closed ends in
a segfault or an abort); now a full disk is one ``WriteError`` line naming the file, and
the previous file under that name stays intact.
"""
import io
import pathlib

import numpy as np

from dlcourse.errors import DataError
from experiments.runner import rundir

FORMAT = "dlcourse.dense-params"
FORMAT_VERSION = 1


def library_version():
  """dlcourse's installed version ("unknown" when run from a bare checkout)."""
  from importlib import metadata  # pylint: disable=import-outside-toplevel
  try:
    return metadata.version("dlcourse")
  except metadata.PackageNotFoundError:
    return "unknown"


def _architecture_attrs(params, arch):
  import jax  # pylint: disable=import-outside-toplevel
  first = np.asarray(params["W1"])
  return {
      "format": FORMAT, "format_version": FORMAT_VERSION,
      "layer_dims": np.asarray(arch.layer_dims, dtype=np.int64),
      "activations": np.asarray(arch.activations, dtype=object),
      "num_layers": arch.num_layers,
      "library": "dlcourse", "library_version": library_version(),
      "jax_version": jax.__version__, "dtype": first.dtype.name,
  }


def params_to_bytes(params, arch, *, attrs=None):
  """The HDF5 file of ``params`` ({"W1": W^[1] (n_1, n_0), "b1": (n_1, 1), ...}) as bytes.

  Raises ShapeError (before building anything) when params do not fit ``arch``.
  """
  import h5py  # pylint: disable=import-outside-toplevel
  from dlcourse.models import dense  # pylint: disable=import-outside-toplevel
  dense.check_params(params, arch)
  buffer = io.BytesIO()
  with h5py.File(buffer, "w") as f:
    for l in range(1, arch.num_layers + 1):
      for kind, name in (("weights", f"W{l}"), ("biases", f"b{l}")):
        dataset = f.create_dataset(name, data=np.asarray(params[name]))
        dataset.attrs["layer"] = l
        dataset.attrs["kind"] = kind
    for key, value in {**_architecture_attrs(params, arch), **(attrs or {})}.items():
      f.attrs[key] = value
  return buffer.getvalue()


def save_params(path, params, arch, *, attrs=None):
  """Writes ``params`` of ``arch`` to the HDF5 file ``path`` atomically; returns the path.

  Raises ShapeError when params do not fit ``arch`` (nothing written) and
  ``rundir.WriteError`` (an OSError: ``cannot write <path>: <reason>``) when the file
  cannot be written; a previous file at ``path`` is then left as it was.
  """
  return rundir.write_bytes(pathlib.Path(path), params_to_bytes(params, arch, attrs=attrs))


def _as_str(value):
  return value.decode() if isinstance(value, bytes) else str(value)


def load_params(path):
  """(params {"W1": ndarray, ...}, metadata dict) from a file written by ``save_params``.

  Raises DataError naming the file and what is wrong with it.
  """
  import h5py  # pylint: disable=import-outside-toplevel
  path = pathlib.Path(path)
  if not path.is_file():
    raise DataError(f"parameter file not found: {path}")
  try:
    f = h5py.File(path, "r")
  except OSError as e:
    raise DataError(f"cannot open {path} as HDF5 (truncated or not HDF5?): {e}") from e
  with f:
    meta = {k: f.attrs[k] for k in f.attrs}
    if _as_str(meta.get("format", "")) != FORMAT:
      raise DataError(f"{path} is not a {FORMAT} file (attrs: {sorted(meta)})")
    dims = [int(n) for n in meta["layer_dims"]]
    params = {}
    for l in range(1, len(dims)):
      for name, shape in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
        if name not in f:
          raise DataError(f"{path} lacks dataset {name} (layer_dims {dims})")
        params[name] = np.asarray(f[name][()])
        if params[name].shape != shape:
          raise DataError(f"{path}: {name} has shape {params[name].shape}, expected "
                          f"{shape} for layer_dims {dims}")
  meta["layer_dims"] = dims
  meta["activations"] = [_as_str(a) for a in meta["activations"]]
  meta = {k: (_as_str(v) if isinstance(v, bytes) else v) for k, v in meta.items()}
  return params, meta


def load_architecture(path):
  """(params, dense.Architecture) from an exported file."""
  from dlcourse.models import dense  # pylint: disable=import-outside-toplevel
  params, meta = load_params(path)
  return params, dense.Architecture(tuple(meta["layer_dims"]), tuple(meta["activations"]))

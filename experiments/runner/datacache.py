"""Generated data sets, cached as checksummed ``.npz`` files in the run's cache directory.

A data set that a package makes offline is made once per (name, spec) and read back
afterwards (``cached``): the 26 letters from matplotlib's fonts (~1 s), and scikit-learn's
moons, circles and digits (``sklearn_set``: making them takes a millisecond, but importing
scikit-learn takes 0.7 s, the largest import of a C2W2 command-line run).

The file is ``<cache_dir>/<name>_<digest of the spec>.npz``, written to a temporary file
and renamed into place, with the SHA-256 of its arrays. A file that is unreadable or does
not match its checksum is made again and rewritten. The spec holds whatever decides the
arrays (seeds, sizes, the generating package's version), so a change to any of them is
another file, never a stale one. A cache that cannot be written (a read-only home) costs
the run its speed-up, not the run: one ``warn`` line, and the arrays as made.
``cache_dir`` None: made every time, nothing written. MNIST-1D (``experiments/mnist1d.py``)
keeps its own policy (the package's recorded checksum, a loud warning when it changes) on
this module's ``read_checked`` and ``store``.
"""
import hashlib
import importlib.metadata
import json
import os
import pathlib
import tempfile
import time

import numpy as np

SKLEARN_SET_VERSION = 1   # bump when sklearn_set stores a set's arrays differently


def arrays_sha256(arrays):
  """SHA-256 over the arrays' names, dtypes, shapes and bytes, in name order."""
  digest = hashlib.sha256()
  for name in sorted(arrays):
    a = np.ascontiguousarray(arrays[name])
    digest.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
    digest.update(a.tobytes())
  return digest.hexdigest()


def read_checked(path, field="sha256", checksum=arrays_sha256, names=None):
  """(arrays, None) when ``path`` is readable and the checksum stored under ``field``
  is ``checksum(arrays)``; else (None, why). ``names``: the arrays to read (all but the
  checksum when None)."""
  try:
    with np.load(path, allow_pickle=False) as f:
      names = [k for k in f.files if k != field] if names is None else list(names)
      arrays = {k: np.asarray(f[k]) for k in names}
      stored = str(f[field])
  except (OSError, KeyError, ValueError) as error:
    return None, f"unreadable ({type(error).__name__}: {error})"
  if checksum(arrays) != stored:
    return None, "its contents do not match the checksum stored with them"
  return arrays, None


def read(path):
  """The arrays in ``path`` when it is readable and its checksum holds, else None."""
  return read_checked(path)[0]


def write(path, arrays, field="sha256", checksum=arrays_sha256):
  """np.savez of the arrays and ``checksum(arrays)`` (stored under ``field``) to a
  temporary file in the cache directory, then an atomic rename (a reader never sees
  half a file)."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp.npz")
  try:
    with os.fdopen(fd, "wb") as f:
      np.savez(f, **{field: np.array(checksum(arrays))}, **arrays)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def store(path, arrays, name, warn=None, field="sha256", checksum=arrays_sha256):
  """``write``, where a cache that cannot be written costs the run its speed-up, not the
  run: one ``warn`` line ("<name>: not cached (cannot write <path>: <reason>)")."""
  try:
    write(path, arrays, field, checksum)
  except OSError as error:
    if warn is not None:
      warn(f"{name}: not cached (cannot write {error.filename or path}: "
           f"{error.strerror or error})")


def path_of(cache_dir, name, spec):
  key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]
  return cache_dir / f"{name}_{key}.npz"


def cached(cache_dir, name, spec, make, warn=None):
  """(arrays, source, seconds): ``make()``'s {name: array} from ``cache_dir`` when a sound
  copy for ``spec`` (JSON-able) is there ("cache"), else made ("generated") and, with a
  cache_dir, stored for the next run (``warn``: told in one line when it cannot be)."""
  start = time.perf_counter()
  path = None if cache_dir is None else path_of(cache_dir, name, spec)
  if path is not None and path.exists():
    arrays = read(path)
    if arrays is not None:
      return arrays, "cache", time.perf_counter() - start
  arrays = make()
  seconds = time.perf_counter() - start
  if path is not None:
    store(path, arrays, name, warn)
  return arrays, "generated", seconds


def package_version(distribution):
  """The installed version of ``distribution`` (read from its metadata: no import)."""
  return importlib.metadata.version(distribution)


def sklearn_set(cache_dir, make, warn=None, **kwargs):
  """``make(**kwargs)``, a ``dlcourse.data`` function that returns a tuple of arrays made
  by scikit-learn (``moons``, ``circles``, ``digits``), through the cache: the same
  tuple, with scikit-learn imported only when the arrays are made."""
  spec = {"version": SKLEARN_SET_VERSION,
          "function": f"{make.__module__}.{make.__qualname__}", "kwargs": kwargs,
          "scikit-learn": package_version("scikit-learn"), "numpy": np.__version__}
  arrays, _, _ = cached(cache_dir, make.__name__, spec,
                        lambda: {f"a{i}": a for i, a in enumerate(make(**kwargs))}, warn)
  return tuple(arrays[f"a{i}"] for i in range(len(arrays)))

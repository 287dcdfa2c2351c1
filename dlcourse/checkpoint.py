"""Periodic checkpoints of any pytree training state, with orbax-checkpoint underneath.

Orbax's API has changed often between releases, so it is touched only by the two small
functions ``_orbax_save`` / ``_orbax_restore``; everything else here is ours:

* Generic state: any pytree (a dict of params, a ``TrainState(params, opt_state, step,
  key)`` NamedTuple, optax states...). Leaves are flattened in ``jax.tree_util`` order
  and stored as plain arrays; typed PRNG keys are stored as their key data plus the
  name of their implementation, and rebuilt on restore. ``restore`` takes a template
  (``like``) with the same structure and gives back the same types.
* Atomic: a checkpoint is written into a hidden ``.tmp-...`` directory and renamed to
  ``step_<n>`` only once complete, so a kill or a full disk in the middle of a save
  never leaves a half-written checkpoint under a step name.
* Verified: ``manifest.json`` (written last, inside the checkpoint) holds the SHA-256
  of every leaf's bytes, its shape and dtype. A checkpoint without a readable manifest,
  or whose restored bytes do not match it, is reported and skipped in favour of the
  previous one.
* Keep the last N: after each successful save only the newest ``keep`` complete
  checkpoints remain (plus nothing else: stale temporaries are removed).

Layout::

    <directory>/step_000000300/state/...      orbax's files
    <directory>/step_000000300/manifest.json  ours: leaf checksums, shapes, dtypes, meta
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.errors import DLCourseError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_STATE = "state"
_STEP_DIR = re.compile(r"^step_(\d{9,})$")
_TMP_PREFIX = ".tmp-"


class CheckpointError(DLCourseError):
  """A checkpoint cannot be written, or does not fit the state it should restore."""


class CheckpointMismatchError(CheckpointError):
  """A sound checkpoint that does not fit this run's state (another model or config)."""


class Restored(NamedTuple):
  step: int
  state: Any
  meta: dict
  path: pathlib.Path


# --------------------------------------------------------------------------------------
# The only two functions that know orbax.


def _orbax_save(path, arrays):
  """Writes a flat {name: np.ndarray} dict to ``path`` (which must not exist) synchronously."""
  import orbax.checkpoint as ocp  # deferred: importing orbax costs ~0.3 s
  checkpointer = ocp.Checkpointer(ocp.StandardCheckpointHandler())
  checkpointer.save(os.fspath(path), args=ocp.args.StandardSave(arrays))
  checkpointer.close()


def _orbax_restore(path, target):
  """Reads the flat dict saved by ``_orbax_save``; ``target`` gives names, shapes, dtypes."""
  import orbax.checkpoint as ocp
  checkpointer = ocp.Checkpointer(ocp.StandardCheckpointHandler())
  try:
    restored = checkpointer.restore(os.fspath(path), args=ocp.args.StandardRestore(target))
  finally:
    checkpointer.close()
  return {name: np.asarray(value) for name, value in restored.items()}


# --------------------------------------------------------------------------------------
# Pytree state <-> flat named arrays


def _is_key(leaf):
  dtype = getattr(leaf, "dtype", None)
  return dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)


def _leaf_name(i):
  return f"leaf_{i:05d}"


def _flatten(state):
  """(paths, {name: host array}, key impls {name: impl}) for a pytree state."""
  path_leaves, _ = jax.tree_util.tree_flatten_with_path(state)
  paths, arrays, key_impls = [], {}, {}
  for i, (path, leaf) in enumerate(path_leaves):
    name = _leaf_name(i)
    paths.append(jax.tree_util.keystr(path))
    if _is_key(leaf):
      key_impls[name] = str(jax.random.key_impl(leaf))
      leaf = jax.random.key_data(leaf)
    # np.array copies device arrays to the host, so later training cannot alias them.
    arrays[name] = np.array(leaf)
  return paths, arrays, key_impls


def _sha256(array):
  return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _rebuild_leaf(template, array, key_impl):
  """The restored array as the template leaf's type (key, jax array, NumPy, Python scalar)."""
  if key_impl is not None:
    return jax.random.wrap_key_data(jnp.asarray(array), impl=key_impl)
  if isinstance(template, jax.Array):
    return jnp.asarray(array)
  if isinstance(template, (bool, int, float)):
    return type(template)(array.item())
  if isinstance(template, np.generic):
    return array.dtype.type(array.item())
  return array


# --------------------------------------------------------------------------------------
# Files


def _write_json_atomic(path, obj):
  """JSON into ``path`` via a temporary file, fsynced, then renamed over it."""
  tmp = path.with_name(path.name + ".tmp")
  with open(tmp, "w") as f:
    json.dump(obj, f, indent=1)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def _fsync_dir(path):
  """Makes a rename inside ``path`` durable (best effort: not every OS allows it)."""
  try:
    fd = os.open(path, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)


def step_dir_name(step):
  return f"step_{int(step):09d}"


class Checkpointer:
  """Saves and restores pytree states as numbered checkpoints in one directory.

  ``keep``: how many complete checkpoints to keep (the newest). ``warn``: called with a
  one-line message when a damaged checkpoint is skipped (default: ``absl.logging``).
  """

  def __init__(self, directory, *, keep=3, warn: Optional[Callable[[str], None]] = None):
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
      raise CheckpointError(f"keep must be an integer >= 1, got {keep!r}")
    self.directory = pathlib.Path(directory)
    self.keep = keep
    self._warn = warn or _absl_warning

  # -- listing -------------------------------------------------------------------

  def _step_dirs(self):
    """{step: path} of every directory named like a checkpoint (complete or not)."""
    if not self.directory.is_dir():
      return {}
    found = {}
    for child in self.directory.iterdir():
      match = _STEP_DIR.match(child.name)
      if match and child.is_dir():
        found[int(match.group(1))] = child
    return found

  def steps(self):
    """Steps of the checkpoints that have a manifest (i.e. finished writing), ascending."""
    return sorted(s for s, p in self._step_dirs().items() if (p / MANIFEST).is_file())

  def latest_step(self):
    """Newest step whose manifest reads (its arrays are verified only by ``restore``)."""
    dirs = self._step_dirs()
    for step in reversed(self.steps()):
      try:
        self._read_manifest(dirs[step])
        return step
      except CheckpointError:
        continue
    return None

  # -- saving --------------------------------------------------------------------

  def save(self, step, state, meta=None):
    """Writes ``state`` as checkpoint ``step`` atomically; returns its path.

    ``meta``: a JSON-serializable dict stored in the manifest (e.g. a config
    fingerprint) and returned by ``restore``. On any write failure the temporary
    directory is removed, the previous checkpoints are untouched, and a
    ``CheckpointError`` names the step, the directory and the cause.
    """
    step = int(step)
    paths, arrays, key_impls = _flatten(state)
    manifest = {
        "format_version": FORMAT_VERSION,
        "step": step,
        "leaves": [{"name": name, "path": path, "shape": list(arrays[name].shape),
                    "dtype": arrays[name].dtype.name,
                    "sha256": _sha256(arrays[name]), "key_impl": key_impls.get(name)}
                   for name, path in zip(arrays, paths)],
        "meta": meta or {},
    }
    final = self.directory / step_dir_name(step)
    tmp = self.directory / f"{_TMP_PREFIX}{final.name}-{os.getpid()}"
    try:
      self.directory.mkdir(parents=True, exist_ok=True)
      shutil.rmtree(tmp, ignore_errors=True)
      tmp.mkdir()
      _orbax_save(tmp / _STATE, arrays)
      _write_json_atomic(tmp / MANIFEST, manifest)
      if final.exists():  # a damaged leftover from an interrupted run at the same step
        shutil.rmtree(final)
      os.replace(tmp, final)
      _fsync_dir(self.directory)
    except Exception as e:  # orbax/tensorstore report a full disk in several types
      shutil.rmtree(tmp, ignore_errors=True)
      previous = self.steps()
      kept = f"the previous checkpoint (step {previous[-1]}) is intact" if previous \
          else "no earlier checkpoint exists"
      raise CheckpointError(f"could not write checkpoint step {step} in {self.directory}: "
                            f"{e}; {kept}") from e
    self._prune()
    return final

  def _prune(self):
    """Keeps the newest ``keep`` complete checkpoints; drops older and stale partial ones."""
    complete = self.steps()
    keep = set(complete[-self.keep:])
    newest = complete[-1] if complete else None
    for step, path in self._step_dirs().items():
      # A manifest-less directory newer than the newest complete one cannot come from
      # our atomic rename, but leave it for inspection rather than guess.
      if step not in keep and (newest is None or step < newest):
        shutil.rmtree(path, ignore_errors=True)
    for child in self.directory.iterdir():
      if child.name.startswith(_TMP_PREFIX):
        shutil.rmtree(child, ignore_errors=True)

  # -- restoring -----------------------------------------------------------------

  def _read_manifest(self, path):
    try:
      manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as e:
      raise CheckpointError(f"{path}: missing or unreadable {MANIFEST} (the save was "
                            f"interrupted or the file is damaged): {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
      raise CheckpointError(f"{path}/{MANIFEST}: not a format-{FORMAT_VERSION} manifest")
    return manifest

  def restore(self, step, like):
    """Checkpoint ``step`` as a pytree shaped like ``like``; verifies every leaf's SHA-256.

    Raises CheckpointError if the checkpoint is damaged, or if its leaves do not match
    ``like``'s structure, shapes or dtypes (a different model or config).
    """
    path = self.directory / step_dir_name(step)
    manifest = self._read_manifest(path)
    leaves = manifest["leaves"]
    template_leaves, treedef = jax.tree_util.tree_flatten(like)
    paths, like_arrays, _ = _flatten(like)
    if [leaf["path"] for leaf in leaves] != paths:
      raise CheckpointMismatchError(
          f"{path} holds a differently structured state: leaves "
          f"{[leaf['path'] for leaf in leaves]}, expected {paths}")
    for leaf, name in zip(leaves, like_arrays):
      expected = like_arrays[name]
      if tuple(leaf["shape"]) != expected.shape or np.dtype(leaf["dtype"]) != expected.dtype:
        raise CheckpointMismatchError(
            f"{path}: {leaf['path']} is {leaf['dtype']} {tuple(leaf['shape'])} in the "
            f"checkpoint but {expected.dtype.name} {expected.shape} in this run (was it "
            "written with another config?)")
    target = {leaf["name"]: np.zeros(leaf["shape"], np.dtype(leaf["dtype"])) for leaf in leaves}
    try:
      arrays = _orbax_restore(path / _STATE, target)
    except Exception as e:  # orbax and tensorstore raise many types on damaged files
      raise CheckpointError(f"{path}: cannot read the saved arrays ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''})") from e
    for leaf in leaves:
      array = arrays.get(leaf["name"])
      if array is None or _sha256(array) != leaf["sha256"]:
        raise CheckpointError(f"{path}: {leaf['path']} fails its SHA-256 check "
                              "(the checkpoint is corrupt)")
    rebuilt = [_rebuild_leaf(t, arrays[leaf["name"]], leaf.get("key_impl"))
               for t, leaf in zip(template_leaves, leaves)]
    return Restored(int(manifest["step"]), jax.tree_util.tree_unflatten(treedef, rebuilt),
                    manifest.get("meta", {}), path)

  def restore_latest(self, like):
    """The newest checkpoint that passes its checks, or None when there is none.

    Damaged checkpoints are reported through ``warn`` and skipped; a structure or
    shape mismatch with ``like`` is not damage and is raised.
    """
    dirs = self._step_dirs()
    for step in sorted(dirs, reverse=True):
      try:
        return self.restore(step, like)
      except CheckpointMismatchError:
        raise
      except CheckpointError as e:
        self._warn(f"skipping checkpoint step {step}: {e}")
    return None

  def clear(self):
    """Removes every checkpoint (a fresh run in a directory that held an old one)."""
    if self.directory.exists():
      shutil.rmtree(self.directory)


def _absl_warning(message):
  from absl import logging
  logging.warning("%s", message)

"""Periodic checkpoints of any pytree training state, on ``orbax.checkpoint.CheckpointManager``.

Orbax does the file work: one directory per step (``<directory>/<step>/``), written
under a temporary name and renamed only once complete (a kill or a full disk in the
middle of a save never leaves a half-written checkpoint under a step's name), the
latest step, and keep-the-last-N rotation. Saves are synchronous (no async threads).

Ours, on top:

* Generic state: any pytree (a dict of params, a ``TrainState(params, opt_state, step,
  key)`` NamedTuple, optax states, ``None`` leaves). Leaves are flattened in
  ``jax.tree_util`` order and stored as plain host arrays ``leaf_00000, leaf_00001, ...``;
  typed PRNG keys are stored as their key data plus their implementation's name and
  rebuilt on restore. ``restore_latest`` takes a template (``like``) with the same
  structure and gives back the same types (jax arrays, NumPy arrays, Python scalars).
* Verified: each checkpoint holds two orbax items, ``state`` (StandardSave of the
  arrays) and ``manifest`` (JsonSave: every leaf's tree path, shape, dtype and the
  SHA-256 of its bytes, plus the caller's ``meta``, e.g. a run fingerprint). A checkpoint
  whose manifest is missing or torn, whose arrays cannot be read, or whose bytes do not
  match their digests is skipped by ``restore_latest`` with one ``warn`` line, in favour
  of the one before.
* Quiet, one-line failures: orbax reports failures through absl logging with long
  tracebacks; during our calls its records are held back, and a failed save raises one
  ``CheckpointError`` naming the step, the directory and the cause (e.g. "No space left
  on device"), with the previous checkpoints intact.
* Never deletes another run's checkpoints: a directory that already holds checkpoints
  must be continued with ``restore_latest`` before ``save`` writes into it; then only
  keep-N rotation, and the replacement of checkpoints ``restore_latest`` found damaged,
  delete anything.

Layout::

    <directory>/300/state/...              orbax's StandardSave files
    <directory>/300/manifest/metadata      ours: leaf checksums, shapes, dtypes, meta
"""
import contextlib
import hashlib
import json
import logging
import os
import pathlib
import re
import shutil
import time
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.errors import DLCourseError
from experiments.runner import rundir

FORMAT_VERSION = 2
STATE_ITEM = "state"
MANIFEST_ITEM = "manifest"
_TMP_MARK = ".orbax-checkpoint-tmp"


class CheckpointError(DLCourseError):
  """A checkpoint cannot be written, or is damaged."""


class CheckpointMismatchError(CheckpointError):
  """A sound checkpoint that does not fit this run's state (another model or config)."""


class Restored(NamedTuple):
  step: int
  state: Any
  meta: dict
  path: pathlib.Path


# --------------------------------------------------------------------------------------
# Orbax's log records, held back during our calls


class _HoldOrbaxRecords(logging.Filter):
  """Drops the records that orbax's modules log to absl's logger, keeping them in
  ``held``: orbax logs a failed save as ERROR with its traceback, several times over."""

  def __init__(self):
    super().__init__()
    self.held = []

  def filter(self, record):
    if f"{os.sep}orbax{os.sep}" in (record.pathname or ""):
      self.held.append(record)
      return False
    return True


@contextlib.contextmanager
def _orbax_quiet():
  """Silences orbax's absl log records (from any thread) for the ``with`` body."""
  hold = _HoldOrbaxRecords()
  logger = logging.getLogger("absl")
  logger.addFilter(hold)
  try:
    yield hold
  finally:
    logger.removeFilter(hold)


def _cause(error):
  """The OS's reason for ``error`` in a few words (orbax/tensorstore wrap it in text)."""
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  text = str(error)
  code = re.search(r"os_error_code='?(\d+)", text)
  if code:
    return os.strerror(int(code.group(1)))
  first = text.splitlines()[0] if text else ""
  first = first if len(first) <= 200 else first[:200] + "..."
  return f"{type(error).__name__}: {first}" if first else type(error).__name__


# --------------------------------------------------------------------------------------
# Pytree state <-> flat named host arrays


def _is_key(leaf):
  dtype = getattr(leaf, "dtype", None)
  return dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)


def _leaf_name(i):
  return f"leaf_{i:05d}"


def _flatten(state):
  """(tree paths, {name: host array}, {name: key impl}) of a pytree state."""
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
  if isinstance(template, (bool, int, float, complex)):
    return type(template)(array.item())
  if isinstance(template, np.generic):
    return array.dtype.type(array.item())
  return array


def _manifest(step, paths, arrays, key_impls, meta):
  return {
      "format_version": FORMAT_VERSION,
      "step": step,
      "leaves": [{"name": name, "path": path, "shape": list(arrays[name].shape),
                  "dtype": arrays[name].dtype.name, "sha256": _sha256(arrays[name]),
                  "key_impl": key_impls.get(name)}
                 for name, path in zip(arrays, paths)],
      "meta": meta,
  }


def _json_meta(meta, step):
  """``meta`` as plain strict JSON (a copy), or CheckpointError before anything is written."""
  meta = {} if meta is None else meta
  bad = rundir.nonfinite_paths(meta)
  try:
    if bad or not isinstance(meta, dict):
      raise ValueError(f"NaN/inf at {', '.join(bad)}" if bad else "not a dict")
    return json.loads(json.dumps(meta, allow_nan=False))
  except (TypeError, ValueError) as e:
    raise CheckpointError(f"checkpoint step {step}: meta must be a JSON object ({e})") from None


def _check_manifest(manifest, path):
  ok = (isinstance(manifest, dict) and manifest.get("format_version") == FORMAT_VERSION
        and isinstance(manifest.get("leaves"), list) and isinstance(manifest.get("step"), int))
  if not ok:
    raise CheckpointError(f"{path}: missing or unreadable manifest (the save was "
                          "interrupted or the file is damaged)")
  return manifest


def _check_fits(manifest, like, path):
  """CheckpointMismatchError unless the manifest's leaves are ``like``'s, one for one."""
  leaves = manifest["leaves"]
  paths, like_arrays, _ = _flatten(like)
  saved_paths = [leaf.get("path") for leaf in leaves]
  if saved_paths != paths:
    raise CheckpointMismatchError(
        f"{path} holds a differently structured state: leaves {saved_paths}, "
        f"expected {paths}")
  for leaf, expected in zip(leaves, like_arrays.values()):
    if tuple(leaf["shape"]) != expected.shape or jnp.dtype(leaf["dtype"]) != expected.dtype:
      raise CheckpointMismatchError(
          f"{path}: {leaf['path']} is {leaf['dtype']} {tuple(leaf['shape'])} in the "
          f"checkpoint but {expected.dtype.name} {expected.shape} in this run (was it "
          "written with another config?)")


class Checkpoints:
  """Numbered checkpoints of one run's pytree state in ``directory`` (orbax underneath).

  ``keep``: how many checkpoints to keep (the newest). ``warn``: called with a one-line
  message when a damaged checkpoint is skipped (default: ``absl.logging.warning``).
  """

  def __init__(self, directory, *, keep=3, warn: Optional[Callable[[str], None]] = None):
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
      raise CheckpointError(f"keep must be an integer >= 1, got {keep!r}")
    self.directory = pathlib.Path(directory).absolute()
    self.keep = keep
    self._warn = warn or _absl_warning
    self._manager = None
    # Steps already in the directory that this object may replace or rotate away:
    # those it saved, and those restore_latest examined (the run continues them).
    self._adopted = set()
    self._damaged = set()

  # -- orbax -----------------------------------------------------------------------

  def _mgr(self):
    """The CheckpointManager, created on first use (it creates ``directory``)."""
    if self._manager is None:
      import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
      options = ocp.CheckpointManagerOptions(
          preservation_policy=ocp.checkpoint_managers.LatestN(n=self.keep),
          create=True, enable_async_checkpointing=False,
          # Leftover "<step>.orbax-checkpoint-tmp" directories are this run's own
          # interrupted saves (the workdir is locked), never complete checkpoints. They
          # are removed here, before the manager starts; orbax's own cleanup runs in a
          # thread of its own and logs after our calls have returned.
          cleanup_tmp_directories=False)
      self._remove_temporaries()
      with _orbax_quiet():
        self._manager = ocp.CheckpointManager(self.directory, options=options)
    return self._manager

  def _drop_manager(self):
    """Forgets the manager (after a failed save its bookkeeping may be stale)."""
    if self._manager is not None:
      with _orbax_quiet(), contextlib.suppress(Exception):
        self._manager.close()
    self._manager = None

  def _remove_temporaries(self, settle_s=0.0):
    """Removes the unfinished "<step>.orbax-checkpoint-tmp" directories. With
    ``settle_s`` (after a failed save) it keeps removing until a check 50 ms after the
    last removal finds none, for at most ``settle_s``: a write the failure left in
    flight in one of tensorstore's threads can recreate a directory after its removal."""
    deadline = time.monotonic() + settle_s
    while self.directory.is_dir():
      leftovers = [c for c in self.directory.iterdir() if _TMP_MARK in c.name]
      for child in leftovers:
        shutil.rmtree(child, ignore_errors=True)
      if not leftovers or time.monotonic() >= deadline:
        return
      time.sleep(0.05)

  def step_path(self, step):
    return self.directory / str(int(step))

  # -- listing -----------------------------------------------------------------------

  def steps(self):
    """Steps of the complete (finalized) checkpoints in the directory, ascending."""
    if not self.directory.is_dir():
      return []
    manager = self._mgr()
    with _orbax_quiet():
      manager.reload()
      return sorted(int(s) for s in manager.all_steps())

  def latest_step(self):
    """Newest step whose manifest reads (its arrays are verified only on restore)."""
    for step in reversed(self.steps()):
      try:
        self._read_manifest(step)
        return step
      except CheckpointError:
        continue
    return None

  # -- saving ------------------------------------------------------------------------

  def save(self, step, state, meta=None):
    """Writes ``state`` as checkpoint ``step`` synchronously; returns its path.

    ``meta``: a JSON object stored in the manifest (e.g. a config fingerprint) and
    returned by ``restore_latest``. Afterwards only the newest ``keep`` checkpoints
    remain. Raises CheckpointError (one line: step, directory, cause) when the
    checkpoint cannot be written; the previous checkpoints are then untouched. Refuses
    to write into a directory holding checkpoints this object has not adopted through
    ``restore_latest`` (they belong to an earlier run), or over a sound checkpoint.
    """
    import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
    step = int(step)
    if step < 0:
      raise CheckpointError(f"checkpoint step must be >= 0, got {step}")
    paths, arrays, key_impls = _flatten(state)
    manifest = _manifest(step, paths, arrays, key_impls, _json_meta(meta, step))
    self._make_room(step)
    args = ocp.args.Composite(**{STATE_ITEM: ocp.args.StandardSave(arrays),
                                 MANIFEST_ITEM: ocp.args.JsonSave(manifest)})
    try:
      with _orbax_quiet():
        self._mgr().save(step, args=args, force=True)
        self._manager.wait_until_finished()
    except Exception as e:  # orbax/tensorstore report a full disk in several types
      self._drop_manager()
      self._remove_temporaries(settle_s=2.0)
      previous = self.steps()
      kept = (f"the previous checkpoint (step {previous[-1]}) is intact" if previous
              else "no earlier checkpoint exists")
      raise CheckpointError(f"could not write checkpoint step {step} in {self.directory}: "
                            f"{_cause(e)}; {kept}") from e
    self._adopted = set(self.steps())
    return self.step_path(step)

  def _make_room(self, step):
    """Deletes this run's damaged checkpoints; refuses to touch anything else."""
    existing = self.steps()
    foreign = sorted(set(existing) - self._adopted)
    if foreign:
      raise CheckpointError(
          f"{self.directory} already holds checkpoints (steps {foreign}) that this run "
          "has not restored; continue them (restore_latest) or use another directory")
    damaged = sorted(self._damaged & set(existing))
    if damaged:
      manager = self._mgr()
      try:
        with _orbax_quiet():
          for old in damaged:
            manager.delete(old)
      except Exception as e:  # pylint: disable=broad-except
        raise CheckpointError(f"could not remove the damaged checkpoints {damaged} in "
                              f"{self.directory}: {_cause(e)}") from e
      self._damaged.clear()
    if step in self.steps():
      raise CheckpointError(f"checkpoint step {step} already exists in {self.directory}")

  # -- restoring ---------------------------------------------------------------------

  def _read_manifest(self, step):
    import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
    path = self.step_path(step)
    try:
      with _orbax_quiet():
        restored = self._mgr().restore(
            step, args=ocp.args.Composite(**{MANIFEST_ITEM: ocp.args.JsonRestore()}))
      manifest = restored[MANIFEST_ITEM]
    except Exception as e:  # a torn JSON file, a missing item directory...
      raise CheckpointError(f"{path}: missing or unreadable manifest ({_cause(e)})") from e
    manifest = _check_manifest(manifest, path)
    if manifest["step"] != step:
      raise CheckpointError(f"{path}: its manifest is for step {manifest['step']}")
    return manifest

  def _restore(self, step, like):
    """Checkpoint ``step`` shaped like ``like``; every leaf's SHA-256 verified."""
    import orbax.checkpoint as ocp  # pylint: disable=import-outside-toplevel
    path = self.step_path(step)
    manifest = self._read_manifest(step)
    _check_fits(manifest, like, path)
    leaves = manifest["leaves"]
    target = {leaf["name"]: np.zeros(leaf["shape"], jnp.dtype(leaf["dtype"]))
              for leaf in leaves}
    try:
      with _orbax_quiet():
        restored = self._mgr().restore(
            step, args=ocp.args.Composite(**{STATE_ITEM: ocp.args.StandardRestore(target)}))
      arrays = {name: np.asarray(value) for name, value in restored[STATE_ITEM].items()}
    except Exception as e:  # orbax and tensorstore raise many types on damaged files
      raise CheckpointError(f"{path}: cannot read the saved arrays ({_cause(e)})") from e
    for leaf in leaves:
      array = arrays.get(leaf["name"])
      if array is None or _sha256(array) != leaf["sha256"]:
        raise CheckpointError(f"{path}: {leaf['path']} fails its SHA-256 check "
                              "(the checkpoint is corrupt)")
    template_leaves, treedef = jax.tree_util.tree_flatten(like)
    rebuilt = [_rebuild_leaf(t, arrays[leaf["name"]], leaf.get("key_impl"))
               for t, leaf in zip(template_leaves, leaves)]
    return Restored(int(manifest["step"]), jax.tree_util.tree_unflatten(treedef, rebuilt),
                    manifest.get("meta") or {}, path)

  def restore_latest(self, like):
    """The newest checkpoint that passes its checks, or None when there is none.

    Walks back from the newest step: a damaged one is reported through ``warn`` (one
    line naming it) and skipped. A sound checkpoint that does not fit ``like``
    (structure, shape, dtype) is not damage: CheckpointMismatchError. From now on this
    object continues the directory's checkpoints (``save`` may rotate them away).
    """
    steps = self.steps()
    self._adopted |= set(steps)
    for step in reversed(steps):
      try:
        return self._restore(step, like)
      except CheckpointMismatchError:
        raise
      except CheckpointError as e:
        self._damaged.add(step)
        self._warn(f"skipping checkpoint step {step}: {e}")
    return None

  def close(self):
    """Waits for orbax to finish and releases it (idempotent)."""
    if self._manager is not None:
      with _orbax_quiet():
        self._manager.wait_until_finished()
        self._manager.close()
      self._manager = None

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def _absl_warning(message):
  from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel
  absl_logging.warning("%s", message)

"""experiments.runner.checkpoints: generic pytree states on orbax's CheckpointManager,
atomic saves (also under SIGKILL), keep-N, damage detection (flipped bytes, torn or
missing manifest, missing arrays) with one warning line, disk full mid-save, mismatch,
and no deletion of another run's checkpoints."""
import errno
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.runner import checkpoints

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


class TrainState(NamedTuple):
  """The shape of dlcourse.minibatch's state: Checkpoints must handle it as is."""
  params: dict
  opt_state: Any
  step: Any
  key: Optional[jax.Array]


def quiet(_message):
  pass


def example_state():
  params = {"W1": jnp.arange(6.0).reshape(2, 3), "b1": jnp.zeros((2, 1))}
  return TrainState(params, optax.adam(1e-3).init(params), jnp.asarray(7, jnp.int32),
                    jax.random.key(5))


def step_names(directory):
  return sorted(p.name for p in pathlib.Path(directory).iterdir())


# --------------------------------------------------------------------------------------
# Round trips


def test_any_pytree_state_round_trips_exactly(tmp_path):
  state = example_state()._replace(step=7)  # a Python int leaf comes back as an int
  ckpts = checkpoints.Checkpoints(tmp_path, keep=2, warn=quiet)
  path = ckpts.save(3, state, meta={"note": "x", "lr": 0.5})
  assert path == tmp_path / "3" and path.is_dir()
  restored = checkpoints.Checkpoints(tmp_path, warn=quiet).restore_latest(state)
  assert restored.step == 3 and restored.meta == {"note": "x", "lr": 0.5}
  assert restored.path == path
  assert isinstance(restored.state, TrainState) and restored.state.step == 7
  assert type(restored.state.step) is int
  assert jax.random.key_impl(restored.state.key) == jax.random.key_impl(state.key)
  assert np.array_equal(jax.random.key_data(restored.state.key), jax.random.key_data(state.key))
  # The optax state comes back as the same NamedTuples (ScaleByAdamState, EmptyState).
  assert jax.tree.structure(restored.state.opt_state) == jax.tree.structure(state.opt_state)
  for got, want in zip(jax.tree.leaves(restored.state.params) + jax.tree.leaves(
      restored.state.opt_state), jax.tree.leaves(state.params) + jax.tree.leaves(state.opt_state)):
    assert isinstance(got, jax.Array) and got.dtype == want.dtype
    assert np.array_equal(got, want)
  ckpts.close()


def test_none_leaves_numpy_and_scalar_types_and_the_rbg_key_come_back(tmp_path):
  state = {"params": {"W": np.arange(4, dtype=np.float64).reshape(2, 2)}, "key": None,
           "costs": np.array([0.5, np.nan]), "step": np.int64(40), "lr": 0.25,
           "rbg": jax.random.key(1, impl="rbg"), "flag": True}
  ckpts = checkpoints.Checkpoints(tmp_path, warn=quiet)
  ckpts.save(40, state)
  got = ckpts.restore_latest(state).state
  assert got["key"] is None
  assert isinstance(got["params"]["W"], np.ndarray) and got["params"]["W"].dtype == np.float64
  assert np.array_equal(got["costs"], state["costs"], equal_nan=True)
  assert type(got["step"]) is np.int64 and got["step"] == 40
  assert type(got["lr"]) is float and got["lr"] == 0.25 and got["flag"] is True
  assert str(jax.random.key_impl(got["rbg"])) == str(jax.random.key_impl(state["rbg"]))
  assert np.array_equal(jax.random.key_data(got["rbg"]), jax.random.key_data(state["rbg"]))
  ckpts.close()


def test_saves_are_synchronous_and_leave_no_threads(tmp_path):
  before = {t.ident for t in threading.enumerate()}
  ckpts = checkpoints.Checkpoints(tmp_path, warn=quiet)
  for step in (1, 2):
    ckpts.save(step, {"w": np.full(3, float(step))})
    # Complete on return: another object sees it at once.
    assert checkpoints.Checkpoints(tmp_path).latest_step() == step
  ckpts.close()
  deadline = time.monotonic() + 5  # a helper thread may be a moment from its end
  while True:
    left = [t.name for t in threading.enumerate() if t.is_alive() and t.ident not in before]
    if not left or time.monotonic() > deadline:
      break
    time.sleep(0.05)
  assert not left


# --------------------------------------------------------------------------------------
# Keep N, listing, atomicity


def test_keeps_the_last_n_and_leaves_no_temporaries(tmp_path):
  ckpts = checkpoints.Checkpoints(tmp_path, keep=2, warn=quiet)
  state = {"w": np.zeros(3)}
  for step in (10, 20, 30):
    ckpts.save(step, {"w": np.full(3, float(step))})
  assert ckpts.steps() == [20, 30] and ckpts.latest_step() == 30
  assert [n for n in step_names(tmp_path) if n[0].isdigit() or "tmp" in n] == ["20", "30"]
  assert ckpts.restore_latest(state).state["w"].tolist() == [30.0] * 3
  ckpts.close()


def test_an_empty_or_missing_directory_has_nothing_to_restore(tmp_path):
  ckpts = checkpoints.Checkpoints(tmp_path / "absent", warn=quiet)
  assert ckpts.steps() == [] and ckpts.latest_step() is None
  assert ckpts.restore_latest({"w": np.zeros(2)}) is None
  assert not (tmp_path / "absent").exists()  # looking creates nothing


def test_keep_must_be_a_positive_integer(tmp_path):
  for keep in (0, -1, 1.5, True):
    with pytest.raises(checkpoints.CheckpointError, match="keep must be an integer >= 1"):
      checkpoints.Checkpoints(tmp_path, keep=keep)


# --------------------------------------------------------------------------------------
# Damage


def _damage(step_dir, damage):
  manifest = step_dir / checkpoints.MANIFEST_ITEM / "metadata"
  state_dir = step_dir / checkpoints.STATE_ITEM
  if damage == "no_manifest":
    manifest.unlink()
  elif damage == "torn_manifest":
    text = manifest.read_text()
    manifest.write_text(text[:len(text) // 2])
  elif damage == "flipped_bytes":
    targets = [p for p in state_dir.rglob("*") if p.is_file() and p.stat().st_size > 4000]
    assert targets, "the array data file was not found"
    for target in targets:  # the array data
      raw = bytearray(target.read_bytes())
      for i in range(len(raw) // 2, len(raw) // 2 + 64):
        raw[i] ^= 0xFF
      target.write_bytes(bytes(raw))
  else:  # missing arrays: every file of the state item but orbax's _METADATA
    for p in state_dir.rglob("*"):
      if p.is_file() and p.name != "_METADATA":
        p.unlink()


@pytest.mark.parametrize("damage", ["no_manifest", "torn_manifest", "flipped_bytes",
                                    "missing_arrays"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous(tmp_path, damage, capfd):
  warnings = []
  ckpts = checkpoints.Checkpoints(tmp_path, keep=3, warn=warnings.append)
  values = np.random.RandomState(0).randn(1000)  # incompressible: the largest file
  for step in (1, 2):
    ckpts.save(step, {"w": values * step})
  ckpts.close()
  _damage(tmp_path / "2", damage)
  capfd.readouterr()
  again = checkpoints.Checkpoints(tmp_path, keep=3, warn=warnings.append)
  restored = again.restore_latest({"w": np.zeros(1000)})
  assert restored.step == 1
  assert np.array_equal(restored.state["w"], values)
  assert len(warnings) == 1 and warnings[0].startswith("skipping checkpoint step 2: ")
  assert str(tmp_path / "2") in warnings[0] and "\n" not in warnings[0]
  out, err = capfd.readouterr()
  assert "Traceback" not in out + err and "ERROR" not in err  # orbax kept quiet
  # The run continues: the damaged step is replaced by the new save, step 1 kept.
  again.save(2, {"w": values * 20})
  assert again.steps() == [1, 2]
  assert again.restore_latest({"w": np.zeros(1000)}).state["w"][0] == values[0] * 20
  again.close()


def test_every_checkpoint_damaged_gives_none_and_one_line_each(tmp_path):
  warnings = []
  ckpts = checkpoints.Checkpoints(tmp_path, keep=3, warn=warnings.append)
  for step in (5, 10):
    ckpts.save(step, {"w": np.random.RandomState(step).randn(1000)})
  ckpts.close()
  _damage(tmp_path / "5", "torn_manifest")
  _damage(tmp_path / "10", "flipped_bytes")
  again = checkpoints.Checkpoints(tmp_path, keep=3, warn=warnings.append)
  assert again.latest_step() == 10  # its manifest reads; the arrays are checked on restore
  assert again.restore_latest({"w": np.zeros(1000)}) is None
  assert [w.split(":")[0] for w in warnings] == ["skipping checkpoint step 10",
                                                 "skipping checkpoint step 5"]
  assert "SHA-256" in warnings[0] or "cannot read the saved arrays" in warnings[0]
  again.save(5, {"w": np.ones(1000)})  # starting over replaces the damaged ones
  assert again.steps() == [5]
  again.close()


# --------------------------------------------------------------------------------------
# Mismatch


def test_a_checkpoint_for_another_model_is_an_error_not_damage(tmp_path):
  warnings = []
  ckpts = checkpoints.Checkpoints(tmp_path, warn=warnings.append)
  ckpts.save(1, {"w": np.zeros(3)})
  with pytest.raises(checkpoints.CheckpointMismatchError, match=r"\(3,\).*\(4,\)"):
    ckpts.restore_latest({"w": np.zeros(4)})
  with pytest.raises(checkpoints.CheckpointMismatchError, match="float64 .*float32"):
    ckpts.restore_latest({"w": np.zeros(3, np.float32)})
  with pytest.raises(checkpoints.CheckpointMismatchError, match="differently structured"):
    ckpts.restore_latest({"w": np.zeros(3), "b": np.zeros(1)})
  assert not warnings and ckpts.steps() == [1]  # not damage: nothing skipped or removed
  ckpts.close()


def test_meta_must_be_strict_json(tmp_path):
  ckpts = checkpoints.Checkpoints(tmp_path, warn=quiet)
  with pytest.raises(checkpoints.CheckpointError, match=r"meta must be a JSON object.*lr"):
    ckpts.save(1, {"w": np.zeros(2)}, meta={"lr": float("nan")})
  with pytest.raises(checkpoints.CheckpointError, match="meta must be a JSON object"):
    ckpts.save(1, {"w": np.zeros(2)}, meta={"x": object()})
  assert ckpts.steps() == []
  ckpts.close()


# --------------------------------------------------------------------------------------
# Another run's checkpoints are never deleted


def test_a_new_object_does_not_write_over_checkpoints_it_has_not_restored(tmp_path):
  first = checkpoints.Checkpoints(tmp_path, keep=2, warn=quiet)
  for step in (100, 200):
    first.save(step, {"w": np.full(2, float(step))})
  first.close()
  second = checkpoints.Checkpoints(tmp_path, keep=2, warn=quiet)
  with pytest.raises(checkpoints.CheckpointError,
                     match=r"already holds checkpoints \(steps \[100, 200\]\).*restore_latest"):
    second.save(10, {"w": np.zeros(2)})
  assert second.steps() == [100, 200]
  assert second.restore_latest({"w": np.zeros(2)}).step == 200  # continuing them is fine
  with pytest.raises(checkpoints.CheckpointError, match="step 200 already exists"):
    second.save(200, {"w": np.zeros(2)})  # a sound checkpoint is never written over
  second.save(300, {"w": np.full(2, 300.0)})
  assert second.steps() == [200, 300]  # rotation of the continued run
  second.close()


# --------------------------------------------------------------------------------------
# Disk full


def _full_after_the_arrays(real):
  """StandardCheckpointHandler.async_save that writes the arrays, then finds the disk full."""
  async def async_save(self, directory, *args, **kwargs):
    for commit in await real(self, directory, *args, **kwargs) or []:
      commit.result()
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory))
  return async_save


async def _half_a_manifest(self, item, directory):
  """JsonCheckpointHandler._save_fn that writes half the JSON before the disk is full."""
  (directory / self._filename).write_text(json.dumps(item)[:20])
  raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory / self._filename))


@pytest.mark.parametrize("where", ["arrays", "manifest"])
def test_disk_full_in_the_middle_of_a_save_keeps_the_previous_checkpoint(
    tmp_path, monkeypatch, where, capfd):
  import orbax.checkpoint as ocp
  ckpts = checkpoints.Checkpoints(tmp_path, keep=3, warn=quiet)
  ckpts.save(1, {"w": np.ones(4)})
  if where == "arrays":
    monkeypatch.setattr(ocp.StandardCheckpointHandler, "async_save",
                        _full_after_the_arrays(ocp.StandardCheckpointHandler.async_save))
  else:
    monkeypatch.setattr(ocp.JsonCheckpointHandler, "_save_fn", _half_a_manifest)
  capfd.readouterr()
  with pytest.raises(checkpoints.CheckpointError) as error:
    ckpts.save(2, {"w": np.full(4, 2.0)})
  assert str(error.value) == (
      f"could not write checkpoint step 2 in {tmp_path}: No space left on device; "
      "the previous checkpoint (step 1) is intact")
  out, err = capfd.readouterr()
  assert "Traceback" not in out + err and len((out + err).splitlines()) <= 2
  monkeypatch.undo()
  assert [n for n in step_names(tmp_path) if n[0].isdigit()] == ["1"]  # nothing half-written
  assert ckpts.latest_step() == 1
  assert ckpts.restore_latest({"w": np.zeros(4)}).state["w"].tolist() == [1.0] * 4
  ckpts.save(2, {"w": np.full(4, 2.0)})  # and the next save works
  assert ckpts.steps() == [1, 2]
  ckpts.close()


FILL_UP = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
from experiments.runner import checkpoints
ckpts = checkpoints.Checkpoints({ckdir!r}, keep=5, warn=print)
values = np.random.RandomState(1).randn(8000)  # ~60 KB a checkpoint: the 3rd fills 230 KB
for step in range(1, 10):
  try:
    ckpts.save(step, {{"w": values * step}})
  except checkpoints.CheckpointError as e:
    print(e)
    sys.exit(1)
"""


def test_a_really_full_disk_gives_one_line_and_keeps_the_previous(tmp_path, tiny_tmpfs):
  # In a child process, as under the CLI: there orbax's log records would reach the
  # console (pytest would capture them here), ~100 lines of traceback before the fix.
  disk = tiny_tmpfs(tmp_path / "disk")
  try:
    child = subprocess.run(
        [sys.executable, "-c", FILL_UP.format(root=str(REPO_ROOT), ckdir=str(disk / "ck"))],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, JAX_PLATFORMS="cpu"))
    assert child.returncode == 1, child.stdout + child.stderr
    assert child.stderr == ""  # no orbax ERROR records, no traceback
    saved = sorted(int(p.name) for p in (disk / "ck").iterdir() if p.name.isdigit())
    assert saved and saved == list(range(1, saved[-1] + 1))
    assert child.stdout == (
        f"could not write checkpoint step {saved[-1] + 1} in {disk / 'ck'}: No space left on "
        f"device; the previous checkpoint (step {saved[-1]}) is intact\n")
    assert not [p for p in (disk / "ck").iterdir() if "tmp" in p.name]
    values = np.random.RandomState(1).randn(8000)
    ckpts = checkpoints.Checkpoints(disk / "ck", warn=quiet)
    got = ckpts.restore_latest({"w": np.zeros(8000)})
    assert got.step == saved[-1] and np.array_equal(got.state["w"], values * saved[-1])
    ckpts.close()
  finally:
    subprocess.run(["umount", str(disk)], check=False)


def test_orbax_log_records_are_held_back_only_during_our_calls(tmp_path):
  seen = []

  class Collect(logging.Handler):
    def emit(self, record):
      seen.append(record)

  handler = Collect(level=logging.DEBUG)
  absl_logger = logging.getLogger("absl")
  previous = absl_logger.level
  absl_logger.addHandler(handler)
  absl_logger.setLevel(logging.DEBUG)
  try:
    ckpts = checkpoints.Checkpoints(tmp_path, warn=quiet)
    ckpts.save(1, {"w": np.zeros(2)})
    ckpts.restore_latest({"w": np.zeros(2)})
    ckpts.close()
    assert not [r for r in seen if "orbax" in r.pathname]
    from absl import logging as absl_logging
    absl_logging.warning("still heard")
    assert [r.getMessage() for r in seen] == ["still heard"]
  finally:
    absl_logger.removeHandler(handler)
    absl_logger.setLevel(previous)


# --------------------------------------------------------------------------------------
# SIGKILL in the middle of saving

CHILD = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
from experiments.runner import checkpoints
ckpts = checkpoints.Checkpoints({ckdir!r}, keep=2, warn=lambda m: None)
values = np.random.RandomState(0).randn(20000)
for step in range(1, 100000):
  ckpts.save(step, {{"w": values * step, "step": step}})
"""


def test_sigkill_while_saving_leaves_only_complete_checkpoints(tmp_path):
  ckdir = tmp_path / "checkpoints"
  child = subprocess.Popen(
      [sys.executable, "-c", CHILD.format(root=str(REPO_ROOT), ckdir=str(ckdir))],
      cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      env=dict(os.environ, JAX_PLATFORMS="cpu"))
  deadline = time.monotonic() + 90
  try:
    # Kill it while it is writing: once a temporary directory shows up after step 3.
    while True:
      assert child.poll() is None, child.communicate()
      assert time.monotonic() < deadline, "the child never got to step 3"
      names = os.listdir(ckdir) if ckdir.is_dir() else []
      if any("tmp" in n for n in names) and any(n.isdigit() and int(n) >= 3 for n in names):
        break
      time.sleep(0.002)
  finally:
    child.send_signal(signal.SIGKILL)
    child.wait()
  assert child.returncode == -signal.SIGKILL
  warnings = []
  ckpts = checkpoints.Checkpoints(ckdir, keep=2, warn=warnings.append)
  restored = ckpts.restore_latest({"w": np.zeros(20000), "step": 0})
  values = np.random.RandomState(0).randn(20000)
  assert restored.step >= 3 and restored.state["step"] == restored.step
  assert np.array_equal(restored.state["w"], values * restored.step)
  assert not warnings  # the killed save never appears under a step's name
  ckpts.save(restored.step + 1, {"w": values, "step": 0})  # and the run goes on
  assert not [n for n in os.listdir(ckdir) if "tmp" in n]  # the torn save is cleaned up
  ckpts.close()


def test_an_interrupted_saves_temporary_directory_is_removed_when_saving_starts(tmp_path):
  leftover = tmp_path / "3.orbax-checkpoint-tmp-1764892800"
  (leftover / "state").mkdir(parents=True)
  (leftover / "state" / "half").write_bytes(b"\0" * 16)
  ckpts = checkpoints.Checkpoints(tmp_path, warn=quiet)
  ckpts.save(1, {"w": np.ones(2)})
  ckpts.close()
  assert not leftover.exists()
  assert ckpts.steps() == [1]

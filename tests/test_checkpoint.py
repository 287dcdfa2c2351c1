"""Checkpoints: generic pytree states, atomic saves, damage detection, chunked and resumed
training equal to one uninterrupted program bit for bit (float64 on CPU), and a run
killed with SIGKILL that resumes to the same parameters."""
import errno
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from dlcourse import checkpoint, data, experiment
from dlcourse.models import dense

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
ARCH = dense.Architecture((2, 3, 1), ("tanh", "sigmoid"))


class TrainState(NamedTuple):
  """The shape of dlcourse.minibatch's state: the wrapper must handle it as is."""
  params: dict
  opt_state: Any
  step: Any
  key: Optional[jax.Array]


def tiny_config(**overrides):
  config = ml_collections.ConfigDict(dict(
      learning_rate=0.5, num_iterations=200, record_every=10, course_compat=True,
      dtype="float32", method="manual", seed=2))
  config.update(overrides)
  return config


def tiny_problem(config):
  """(params, X, Y) of a 2-3-1 tanh net on 40 planar points (inside the precision)."""
  X, Y = data.planar_flower(m=40)
  return experiment.init_params(config, ARCH.layer_dims, "normal", 0.5), X, Y


def fit(config, options=None, **kwargs):
  with experiment.precision(config):
    params, X, Y = tiny_problem(config)
    result = experiment.fit_gd(config, ARCH, params, X, Y, options=options, **kwargs)
    return jax.tree.map(np.asarray, result.params), result.costs


def assert_same_bits(a, b):
  assert a.keys() == b.keys()
  for name in a:
    assert a[name].dtype == b[name].dtype
    assert np.array_equal(a[name].view(np.uint8), b[name].view(np.uint8)), name


def quiet(_message):
  pass


# --------------------------------------------------------------------------------------
# The wrapper on its own


def example_state():
  params = {"W1": jnp.arange(6.0).reshape(2, 3), "b1": jnp.zeros((2, 1))}
  return TrainState(params, optax.adam(1e-3).init(params), jnp.asarray(7, jnp.int32),
                    jax.random.key(5))


def test_any_pytree_state_round_trips_exactly(tmp_path):
  state = example_state()._replace(step=7)  # a Python int leaf comes back as an int
  checkpointer = checkpoint.Checkpointer(tmp_path, keep=2, warn=quiet)
  checkpointer.save(3, state, meta={"note": "x"})
  restored = checkpointer.restore_latest(state)
  assert restored.step == 3 and restored.meta == {"note": "x"}
  assert isinstance(restored.state, TrainState) and restored.state.step == 7
  assert type(restored.state.step) is int
  assert jax.random.key_impl(restored.state.key) == jax.random.key_impl(state.key)
  assert np.array_equal(jax.random.key_data(restored.state.key), jax.random.key_data(state.key))
  for got, want in zip(jax.tree.leaves(restored.state.params) + jax.tree.leaves(
      restored.state.opt_state), jax.tree.leaves(state.params) + jax.tree.leaves(state.opt_state)):
    assert isinstance(got, jax.Array) and got.dtype == want.dtype
    assert np.array_equal(got, want)


def test_keeps_the_last_n_and_leaves_no_temporaries(tmp_path):
  checkpointer = checkpoint.Checkpointer(tmp_path, keep=2, warn=quiet)
  state = {"w": np.zeros(3)}
  for step in (10, 20, 30):
    checkpointer.save(step, {"w": np.full(3, float(step))})
  assert checkpointer.steps() == [20, 30]
  assert sorted(p.name for p in tmp_path.iterdir()) == ["step_000000020", "step_000000030"]
  assert checkpointer.restore_latest(state).state["w"].tolist() == [30.0] * 3


@pytest.mark.parametrize("damage", ["no_manifest", "torn_manifest", "flipped_bytes",
                                    "missing_arrays"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous(tmp_path, damage):
  warnings = []
  checkpointer = checkpoint.Checkpointer(tmp_path, keep=3, warn=warnings.append)
  values = np.random.RandomState(0).randn(1000)  # incompressible: the largest file
  for step in (1, 2):
    checkpointer.save(step, {"w": values * step})
  latest = tmp_path / checkpoint.step_dir_name(2)
  if damage == "no_manifest":
    (latest / checkpoint.MANIFEST).unlink()
  elif damage == "torn_manifest":
    text = (latest / checkpoint.MANIFEST).read_text()
    (latest / checkpoint.MANIFEST).write_text(text[:len(text) // 2])
  elif damage == "flipped_bytes":
    for target in (latest / "state").rglob("*"):
      if target.is_file() and target.stat().st_size > 4000:  # the array data
        raw = bytearray(target.read_bytes())
        for i in range(len(raw) // 2, len(raw) // 2 + 64):
          raw[i] ^= 0xFF
        target.write_bytes(bytes(raw))
  else:
    for p in (latest / "state").rglob("*"):
      if p.is_file() and p.name != "_METADATA":
        p.unlink()
  restored = checkpointer.restore_latest({"w": np.zeros(1000)})
  assert restored.step == 1
  assert np.array_equal(restored.state["w"], values)
  assert len(warnings) == 1 and "skipping checkpoint step 2" in warnings[0]


def test_a_checkpoint_for_another_model_is_an_error_not_damage(tmp_path):
  checkpointer = checkpoint.Checkpointer(tmp_path, warn=quiet)
  checkpointer.save(1, {"w": np.zeros(3)})
  with pytest.raises(checkpoint.CheckpointMismatchError, match=r"\(3,\).*\(4,\)"):
    checkpointer.restore_latest({"w": np.zeros(4)})


@pytest.mark.parametrize("where", ["arrays", "manifest"])
def test_disk_full_in_the_middle_of_a_save_keeps_the_previous_checkpoint(
    tmp_path, monkeypatch, where):
  checkpointer = checkpoint.Checkpointer(tmp_path, keep=3, warn=quiet)
  checkpointer.save(1, {"w": np.ones(4)})
  real_save, real_manifest = checkpoint._orbax_save, checkpoint._write_json_atomic

  def orbax_then_full(path, arrays):  # the array files get written, then the disk fills
    real_save(path, arrays)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  def half_manifest(path, obj):
    path.write_text(json.dumps(obj)[:20])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  if where == "arrays":
    monkeypatch.setattr(checkpoint, "_orbax_save", orbax_then_full)
  else:
    monkeypatch.setattr(checkpoint, "_write_json_atomic", half_manifest)
  with pytest.raises(checkpoint.CheckpointError,
                     match=r"step 2 .*No space left.*previous checkpoint \(step 1\) is intact"):
    checkpointer.save(2, {"w": np.full(4, 2.0)})
  monkeypatch.setattr(checkpoint, "_orbax_save", real_save)
  monkeypatch.setattr(checkpoint, "_write_json_atomic", real_manifest)
  assert [p.name for p in tmp_path.iterdir()] == ["step_000000001"]  # nothing half-written
  assert checkpointer.latest_step() == 1
  assert checkpointer.restore_latest({"w": np.zeros(4)}).state["w"].tolist() == [1.0] * 4
  checkpointer.save(2, {"w": np.full(4, 2.0)})  # and the next save works
  assert checkpointer.steps() == [1, 2]


# --------------------------------------------------------------------------------------
# Chunked / resumed training


def test_chunked_training_equals_the_single_program_bit_for_bit(tmp_path):
  config = tiny_config()
  single = fit(config)
  chunked = fit(config, experiment.RunOptions(checkpoint_dir=tmp_path, checkpoint_every=50,
                                              warn=quiet))
  assert_same_bits(single[0], chunked[0])
  assert single[1] == chunked[1]
  assert checkpoint.Checkpointer(tmp_path / "fit0").steps() == [100, 150, 200]


def test_chunks_with_fresh_dropout_masks_and_a_partial_block_equal_one_program():
  # Masks are fold_in(key, absolute step); 95 iterations in blocks of 10 leave a rest of 5.
  config = tiny_config(num_iterations=95, course_compat=False, dtype="float32",
                       method="autodiff")
  kwargs = dict(dropout_layers=(1,), keep_prob=0.8, key=jax.random.key(3))
  single = fit(config, **kwargs)
  chunked = fit(config, experiment.RunOptions(chunk_every=30), **kwargs)
  assert_same_bits(single[0], chunked[0])
  assert single[1] == chunked[1]


def test_without_checkpoints_fit_gd_is_one_compiled_program(monkeypatch):
  chunked_calls = []
  real = experiment.train.train_gd_jit.lower
  monkeypatch.setattr(experiment.train.train_gd_jit, "lower",
                      lambda *a, **k: chunked_calls.append("start_step" in k) or real(*a, **k))
  fit(tiny_config(num_iterations=20))
  assert chunked_calls == [False]  # one program over all iterations, no chunk start


def test_checkpoint_interval_must_be_a_multiple_of_record_every(tmp_path):
  with pytest.raises(experiment.ConfigError, match="checkpoint_every=15 must be a multiple "
                     "of record_every=10"):
    fit(tiny_config(), experiment.RunOptions(checkpoint_dir=tmp_path, checkpoint_every=15))


def test_a_failed_save_mid_run_then_resume_gives_the_uninterrupted_result(
    tmp_path, monkeypatch):
  config = tiny_config()
  options = lambda resume: experiment.RunOptions(
      checkpoint_dir=tmp_path, checkpoint_every=50, resume=resume, warn=quiet)
  real_save = checkpoint.Checkpointer.save

  def full_disk_at_150(self, step, state, meta=None):
    if step == 150:
      raise checkpoint.CheckpointError("simulated: no space left")
    return real_save(self, step, state, meta)

  monkeypatch.setattr(checkpoint.Checkpointer, "save", full_disk_at_150)
  with pytest.raises(checkpoint.CheckpointError):
    fit(config, options(False))
  monkeypatch.setattr(checkpoint.Checkpointer, "save", real_save)
  resumed_options = options(True)
  resumed = fit(config, resumed_options)
  assert resumed_options.fits[0].resumed_from == 100  # lost only the steps since then
  single = fit(config)
  assert_same_bits(single[0], resumed[0])
  assert single[1] == resumed[1]


def test_resuming_with_another_learning_rate_is_refused(tmp_path):
  fit(tiny_config(num_iterations=100), experiment.RunOptions(
      checkpoint_dir=tmp_path, checkpoint_every=50, warn=quiet))
  with pytest.raises(checkpoint.CheckpointMismatchError, match="learning_rate: 0.5 in the "
                     "checkpoint, 0.25 now"):
    fit(tiny_config(num_iterations=100, learning_rate=0.25), experiment.RunOptions(
        checkpoint_dir=tmp_path, checkpoint_every=50, resume=True, warn=quiet))


def test_divergence_stops_naming_the_iteration_and_keeps_the_last_good_checkpoint(tmp_path):
  config = tiny_config(learning_rate=1e200, num_iterations=100)
  options = experiment.RunOptions(checkpoint_dir=tmp_path, checkpoint_every=10,
                                  stop_on_nonfinite=True, warn=quiet)
  with pytest.raises(experiment.TrainingDiverged) as error:
    fit(config, options)
  checkpointer = checkpoint.Checkpointer(tmp_path / "fit0")
  assert checkpointer.steps() == [10]
  assert str(error.value) == (
      "training stopped (fit 0, learning_rate 1e+200): the cost became nan at iteration 10 "
      "(costs are recorded every 10 iterations); the last good checkpoint is step 10 in "
      f"{tmp_path / 'fit0'}")
  like = {"params": {"W1": np.zeros((3, 2)), "b1": np.zeros((3, 1)), "W2": np.zeros((1, 3)),
                     "b2": np.zeros((1, 1))}, "step": 0, "costs": np.zeros(10), "key": None}
  state = checkpointer.restore_latest(like).state
  assert state["step"] == 10
  assert all(np.isfinite(p).all() for p in jax.tree.leaves(state["params"]))


# --------------------------------------------------------------------------------------
# SIGKILL in the middle of a run

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from dlcourse import experiment
from tests.test_checkpoint import fit, tiny_config
# Each chunk is slowed down so that the parent can kill the run in the middle.
options = experiment.RunOptions(checkpoint_dir={ckdir!r}, checkpoint_every=10, keep_checkpoints=2,
                                on_chunk=lambda step, params: time.sleep(0.1),
                                warn=lambda m: None)
fit(tiny_config(), options)
print("finished")
"""


def test_sigkill_mid_run_then_resume_equals_the_uninterrupted_run(tmp_path):
  ckdir = tmp_path / "checkpoints"
  child = subprocess.Popen(
      [sys.executable, "-c", CHILD.format(root=str(REPO_ROOT), ckdir=str(ckdir))],
      cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(
          os.environ, JAX_PLATFORMS="cpu"))
  checkpointer = checkpoint.Checkpointer(ckdir / "fit0", warn=quiet)
  deadline = time.monotonic() + 90
  try:
    while not checkpointer.steps() or checkpointer.steps()[-1] < 30:
      assert child.poll() is None, child.communicate()
      assert time.monotonic() < deadline, "the child never checkpointed"
      time.sleep(0.02)
    seen = checkpointer.steps()[-1]
  finally:
    child.send_signal(signal.SIGKILL)
    child.wait()
  assert child.returncode == -signal.SIGKILL  # it was killed, it did not finish
  assert seen < 200

  options = experiment.RunOptions(checkpoint_dir=ckdir, checkpoint_every=10,
                                  keep_checkpoints=2, resume=True, warn=quiet)
  resumed = fit(tiny_config(), options)
  resumed_from = options.fits[0].resumed_from
  assert seen <= resumed_from < 200  # at most the steps since the last checkpoint are lost
  uninterrupted = fit(tiny_config())
  assert_same_bits(uninterrupted[0], resumed[0])
  assert uninterrupted[1] == resumed[1]


# --------------------------------------------------------------------------------------
# Mini-batch training: the whole TrainState (params, Adam moments, step, key) is saved


def minibatch_fit(config, options=None, key=None):
  """An Adam mini-batch run of the tiny net on 40 planar points (batches of 16)."""
  from dlcourse import optim
  with experiment.precision(config):
    params, X, Y = tiny_problem(config)
    result = experiment.fit_minibatch(config, ARCH, params, X, Y, optim.adam(0.05), key=key,
                                      options=options)
    return jax.tree.map(np.asarray, result.params), result.costs


def minibatch_config():
  return tiny_config(dtype="float64", course_compat=False, num_epochs=40, batch_size=16)


class Crash(Exception):
  pass


def test_minibatch_run_resumes_after_a_crash_to_the_same_bits(tmp_path):
  config = minibatch_config()
  key = jax.random.key(7)
  whole = minibatch_fit(config, key=key)

  def crash_after_20(step, _params):
    if step == 20:
      raise Crash
  first = experiment.RunOptions(checkpoint_dir=tmp_path, checkpoint_every=10,
                                on_chunk=crash_after_20, warn=quiet)
  with pytest.raises(Crash):
    minibatch_fit(config, first, key=key)
  saved = checkpoint.Checkpointer(tmp_path / "fit0", warn=quiet)
  assert saved.steps() == [10, 20]
  resumed = minibatch_fit(config, experiment.RunOptions(
      checkpoint_dir=tmp_path, checkpoint_every=10, resume=True, warn=quiet), key=key)
  assert_same_bits(whole[0], resumed[0])
  assert whole[1] == resumed[1]
  # The checkpoint holds the optimizer state: Adam's moments are not zero after 40 epochs.
  from dlcourse import minibatch, optim
  with experiment.precision(config):
    params, _, _ = tiny_problem(config)
    like = {"params": minibatch.init_state(params, optim.adam(0.05), key), "step": 0,
            "costs": np.zeros(4), "key": key}
    latest = saved.restore_latest(like)
  adam_state = latest.state["params"].opt_state[0]
  assert int(latest.state["params"].step) == 40 * 3  # 3 mini-batches per epoch
  assert float(np.abs(adam_state.velocity["W1"]).sum()) > 0


def test_minibatch_resume_refuses_another_optimizer_setting(tmp_path):
  config = minibatch_config()
  options = experiment.RunOptions(checkpoint_dir=tmp_path, checkpoint_every=10, warn=quiet)
  minibatch_fit(config, options, key=jax.random.key(7))
  changed = minibatch_config()
  changed.batch_size = 8
  with pytest.raises(checkpoint.CheckpointMismatchError, match="config.batch_size"):
    minibatch_fit(changed, experiment.RunOptions(checkpoint_dir=tmp_path, checkpoint_every=10,
                                                 resume=True, warn=quiet),
                  key=jax.random.key(7))

"""experiments.runner.env: the fits an app runs through its Env -- chunks equal one
program bit for bit, checkpoints resume after a failed save, a crash or SIGKILL to the
same bits, resumes of another config are refused, divergence stops at the iteration."""
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from dlcourse import data, minibatch, optim, train
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner
from experiments.runner import checkpoints as ckpt
from experiments.runner import env as env_lib
from experiments.runner import models

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
ARCH = dense.Architecture((2, 3, 1), ("tanh", "sigmoid"))


def tiny_config(**overrides):
  config = ml_collections.ConfigDict(dict(
      learning_rate=0.5, num_iterations=200, record_every=10, course_compat=True,
      dtype="float32", method="manual", seed=2))
  config.update(overrides)
  return config


def quiet(_message):
  pass


def checkpoint_env(workdir, **kwargs):
  return env_lib.Env(workdir=pathlib.Path(workdir), warn=quiet, **kwargs)


def tiny_problem(config):
  """(params, X, Y) of a 2-3-1 tanh net on 40 planar points (inside the precision)."""
  X, Y = data.planar_flower(m=40)
  return runner.init_params(config, ARCH.layer_dims, "normal", 0.5), X, Y


def fit(config, env=None, **kwargs):
  env = env or env_lib.Env.plain()
  with runner.precision(config):
    params, X, Y = tiny_problem(config)
    result = env.fit_gd(config, ARCH, params, X, Y, **kwargs)
    return jax.tree.map(np.asarray, result.params), result.costs


def saved_steps(workdir, fit_index=0):
  return ckpt.Checkpoints(pathlib.Path(workdir) / "checkpoints" / f"fit{fit_index}",
                          warn=quiet).steps()


def finished_steps(workdir):
  """Complete checkpoint steps, read without orbax: an observer's CheckpointManager
  would clean up the writer's in-progress temporary directory."""
  directory = pathlib.Path(workdir) / "checkpoints" / "fit0"
  names = os.listdir(directory) if directory.is_dir() else []
  return sorted(int(n) for n in names if n.isdigit())


def assert_same_bits(a, b):
  assert a.keys() == b.keys()
  for name in a:
    assert a[name].dtype == b[name].dtype
    assert np.array_equal(a[name].view(np.uint8), b[name].view(np.uint8)), name


# --------------------------------------------------------------------------------------
# Full-batch GD


def test_chunked_training_equals_the_single_program_bit_for_bit(tmp_path):
  config = tiny_config()
  single = fit(config)
  chunked = fit(config, checkpoint_env(tmp_path, checkpoint_every=50))
  assert_same_bits(single[0], chunked[0])
  assert single[1] == chunked[1]
  assert saved_steps(tmp_path) == [100, 150, 200]


def test_chunks_with_fresh_dropout_masks_and_a_partial_block_equal_one_program():
  # Masks are fold_in(key, absolute step); 95 iterations in blocks of 10 leave a rest of 5.
  config = tiny_config(num_iterations=95, course_compat=False, method="autodiff")
  kwargs = dict(dropout_layers=(1,), keep_prob=0.8, key=jax.random.key(3))
  single = fit(config, **kwargs)
  chunked = fit(config, env_lib.Env(chunk_every=30), **kwargs)
  assert_same_bits(single[0], chunked[0])
  assert single[1] == chunked[1]


def test_dropout_draws_count_fresh_mask_entries_only():
  arch = dense.Architecture.make((2, 20, 3, 1))
  # C2W1's dropout row: 30000 steps of (20 + 3) x 211 entries.
  assert env_lib.dropout_draws(arch, (1, 2), 211, 30000, fresh=True) == 30000 * 23 * 211
  assert env_lib.dropout_draws(arch, (2,), 211, 10, fresh=True) == 10 * 3 * 211
  assert env_lib.dropout_draws(arch, (1, 2), 211, 30000, fresh=False) == 0  # fixed masks
  assert env_lib.dropout_draws(arch, (), 211, 30000, fresh=True) == 0


def test_a_fit_that_draws_many_masks_draws_them_ahead_to_the_same_bits(monkeypatch):
  config = tiny_config(num_iterations=95, course_compat=False)
  kwargs = dict(dropout_layers=(1,), keep_prob=0.8, key=jax.random.key(3))
  draws = env_lib.dropout_draws(ARCH, (1,), 40, 95, fresh=True)
  drawn = []   # the lengths of the masks' draws
  real_masks = env_lib._GDPrograms._masks
  monkeypatch.setattr(env_lib._GDPrograms, "_masks",
                      lambda self, start, length: drawn.append(length)
                      or real_masks(self, start, length))
  monkeypatch.setattr(env_lib, "MASKS_AHEAD_MIN_DRAWS", draws + 1)
  in_loop = fit(config, **kwargs)
  assert drawn == []
  monkeypatch.setattr(env_lib, "MASKS_AHEAD_MIN_DRAWS", draws)
  ahead = fit(config, **kwargs)
  assert drawn == [95]
  assert_same_bits(in_loop[0], ahead[0])
  assert in_loop[1] == ahead[1]
  # In chunks (the CLI's checkpoints) each chunk draws its own iterations' masks.
  drawn.clear()
  chunked = fit(config, env_lib.Env(chunk_every=30), **kwargs)
  assert drawn == [30, 30, 30, 5]
  assert_same_bits(in_loop[0], chunked[0])
  assert in_loop[1] == chunked[1]
  # Capped at 2 record blocks' entries: pieces of 20 iterations, the same bits.
  drawn.clear()
  monkeypatch.setattr(env_lib, "MASKS_AHEAD_MAX_ENTRIES", 3 * 40 * 20)
  pieces = fit(config, **kwargs)
  assert drawn == [20, 20, 20, 20, 15]
  assert_same_bits(in_loop[0], pieces[0])
  assert in_loop[1] == pieces[1]
  # The course's fixed masks draw nothing: never drawn ahead.
  drawn.clear()
  masks = {1: np.ones((3, 40), np.float32)}
  fit(tiny_config(num_iterations=95, course_compat=False), dropout_layers=(1,),
      keep_prob=0.8, fixed_masks=masks)
  assert drawn == []


def test_masks_drawn_ahead_are_a_program_of_their_own_in_the_fit_record(monkeypatch):
  config = tiny_config(num_iterations=40, course_compat=False)
  monkeypatch.setattr(env_lib, "MASKS_AHEAD_MIN_DRAWS", 1)
  with runner.precision(config):
    params, X, Y = tiny_problem(config)
    result = env_lib.Env.plain().fit_gd(config, ARCH, params, X, Y, dropout_layers=(1,),
                                        keep_prob=0.8, key=jax.random.key(3))
  (masks, masks_compile, masks_s), (gd, gd_compile, gd_s) = result.programs
  assert (masks, gd) == ("masks", "gd")
  assert masks_compile > 0 and gd_compile > 0 and masks_s > 0 and gd_s > 0
  assert masks_compile + gd_compile == pytest.approx(result.compile_s)
  assert masks_s + gd_s == pytest.approx(result.train_s)
  timings = models.fit_timings(result)
  assert timings["masks_compile_s"] == masks_compile and timings["gd_train_s"] == gd_s


def test_a_large_float32_minibatch_fit_compiles_with_the_elementwise_options(monkeypatch):
  """fit_minibatch passes ``cli.elementwise_compiler_options`` of its params and dtype to
  each chunk's compile: on for a first layer of 2^14 entries or more, off below."""
  seen, compiled_with = [], []
  real = env_lib.cli.elementwise_compiler_options
  monkeypatch.setattr(env_lib.cli, "elementwise_compiler_options",
                      lambda *a, **k: seen.append(a) or real(*a, **k))
  real_lower = minibatch.train_epochs_jit.lower

  class Lowered:
    def __init__(self, lowered):
      self.lowered = lowered

    def compile(self, options=None):
      compiled_with.append(dict(options or {}))
      return self.lowered.compile(options)

  monkeypatch.setattr(minibatch.train_epochs_jit, "lower",
                      lambda *a, **k: Lowered(real_lower(*a, **k)))
  rng = np.random.RandomState(0)
  config = ml_collections.ConfigDict(dict(num_epochs=3, record_every=1, batch_size=16,
                                          dtype="float32", method="manual", seed=0))
  results = {}
  for n_x in (8, 300):                 # W1: 64 x 8 (small) and 64 x 300 (19,200 entries)
    arch = dense.Architecture.make((n_x, 64, 1))
    X, Y = rng.rand(n_x, 48).astype(np.float32), (rng.rand(1, 48) > 0.5).astype(np.float32)
    params = {k: jnp.asarray(v) for k, v in
              runner.init_params(config, arch.layer_dims, "he").items()}
    env = env_lib.Env.plain()
    result = env.fit_minibatch(config, arch, params, X, Y, optim.adam(0.01),
                               key=jax.random.key(0))
    results[n_x] = result
  assert [(backend, dtype, largest) for backend, dtype, largest, *_ in seen] == \
      [("cpu", "float32", 64 * 8), ("cpu", "float32", 64 * 300)]
  assert compiled_with == [{}, env_lib.cli.ELEMENTWISE_COMPILER_OPTIONS]
  # The large fit trained: its costs fall, as without the options.
  costs = [c for _, c in results[300].costs]
  assert costs[-1] < costs[0]


def test_without_checkpoints_fit_gd_is_one_compiled_program(monkeypatch):
  lengths = []
  real = train.train_gd_jit.lower
  monkeypatch.setattr(train.train_gd_jit, "lower",
                      lambda *a, **k: lengths.append(k["num_iterations"]) or real(*a, **k))
  fit(tiny_config(num_iterations=20))
  assert lengths == [20]  # one program over all iterations


def test_checkpoint_interval_must_be_a_multiple_of_record_every(tmp_path):
  with pytest.raises(ConfigError, match="checkpoint_every=15 must be a multiple of "
                     "record_every=10"):
    fit(tiny_config(), checkpoint_env(tmp_path, checkpoint_every=15))
  assert not (tmp_path / "checkpoints").exists()


def test_a_failed_save_mid_run_then_resume_gives_the_uninterrupted_result(
    tmp_path, monkeypatch):
  config = tiny_config()
  real_save = ckpt.Checkpoints.save

  def full_disk_at_150(self, step, state, meta=None):
    if step == 150:
      raise ckpt.CheckpointError("simulated: no space left")
    return real_save(self, step, state, meta)

  monkeypatch.setattr(ckpt.Checkpoints, "save", full_disk_at_150)
  with pytest.raises(ckpt.CheckpointError):
    fit(config, checkpoint_env(tmp_path, checkpoint_every=50))
  monkeypatch.setattr(ckpt.Checkpoints, "save", real_save)
  env = checkpoint_env(tmp_path, checkpoint_every=50, resume=True)
  resumed = fit(config, env)
  assert env.fits[0].resumed_from == 100  # lost only the steps since then
  single = fit(config)
  assert_same_bits(single[0], resumed[0])
  assert single[1] == resumed[1]


def test_resuming_with_another_learning_rate_is_refused(tmp_path):
  fit(tiny_config(num_iterations=100), checkpoint_env(tmp_path, checkpoint_every=50))
  with pytest.raises(ckpt.CheckpointMismatchError, match="learning_rate: 0.5 in the "
                     "checkpoint, 0.25 now"):
    fit(tiny_config(num_iterations=100, learning_rate=0.25),
        checkpoint_env(tmp_path, checkpoint_every=50, resume=True))


def test_a_resume_without_a_sound_checkpoint_says_so_and_is_not_called_a_resume(tmp_path):
  messages = []
  env = env_lib.Env(workdir=tmp_path, checkpoint_every=50, resume=True,
                    warn=messages.append)
  fit(tiny_config(num_iterations=100), env)
  assert env.fits[0].resumed_from is None
  assert messages == [f"fit 0: no sound checkpoint in {tmp_path / 'checkpoints' / 'fit0'}; "
                      "training from step 0"]


def test_parameters_gone_non_finite_under_finite_costs_stop_the_fit():
  params = {"W1": jnp.ones((3, 2)), "b1": jnp.zeros((3, 1)), "W2": jnp.ones((1, 3))}
  its, costs = np.arange(10, 20, 5), np.array([0.5, 0.4])
  check = lambda p: env_lib._check_finite(1, 0.1, 5, its, costs, p, 10, 20, None, None)
  assert check(params) is None and check({}) is None
  for name, bad in (("b1", jnp.inf), ("W2", jnp.nan)):
    broken = dict(params, **{name: params[name].at[0, 0].set(bad)})
    with pytest.raises(runner.TrainingDiverged, match="the parameters became NaN/inf "
                       "between iteration 10 and 20; no checkpoint was kept"):
      check(broken)


def test_divergence_stops_naming_the_iteration_and_keeps_the_last_good_checkpoint(tmp_path):
  config = tiny_config(learning_rate=1e200, num_iterations=100)
  env = checkpoint_env(tmp_path, checkpoint_every=10, stop_on_nonfinite=True)
  with pytest.raises(runner.TrainingDiverged) as error:
    fit(config, env)
  directory = tmp_path / "checkpoints" / "fit0"
  assert saved_steps(tmp_path) == [10]
  assert str(error.value) == (
      "training stopped (fit 0, learning_rate 1e+200): the cost became nan at iteration 10 "
      "(costs are recorded every 10 iterations); the last good checkpoint is step 10 in "
      f"{directory}")
  like = {"params": {"W1": np.zeros((3, 2)), "b1": np.zeros((3, 1)), "W2": np.zeros((1, 3)),
                     "b2": np.zeros((1, 1))}, "step": 0, "costs": np.zeros(10), "key": None}
  state = ckpt.Checkpoints(directory, warn=quiet).restore_latest(like).state
  assert state["step"] == 10
  assert all(np.isfinite(p).all() for p in jax.tree.leaves(state["params"]))


# --------------------------------------------------------------------------------------
# SIGKILL in the middle of a run

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from experiments.runner import env as env_lib
from tests.test_runner_fits import checkpoint_env, fit, tiny_config
# Each chunk is slowed down so that the parent can kill the run in the middle.
real_run = env_lib._GDPrograms.run
env_lib._GDPrograms.run = lambda self, *a: (time.sleep(0.1), real_run(self, *a))[1]
fit(tiny_config(), checkpoint_env({workdir!r}, checkpoint_every=10, keep_checkpoints=2))
print("finished")
"""


def test_sigkill_mid_run_then_resume_equals_the_uninterrupted_run(tmp_path):
  child = subprocess.Popen(
      [sys.executable, "-c", CHILD.format(root=str(REPO_ROOT), workdir=str(tmp_path))],
      cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(
          os.environ, JAX_PLATFORMS="cpu"))
  deadline = time.monotonic() + 90
  try:
    while not finished_steps(tmp_path) or finished_steps(tmp_path)[-1] < 30:
      assert child.poll() is None, child.communicate()
      assert time.monotonic() < deadline, "the child never checkpointed"
      time.sleep(0.02)
    seen = finished_steps(tmp_path)[-1]
  finally:
    child.send_signal(signal.SIGKILL)
    child.wait()
  assert child.returncode == -signal.SIGKILL  # it was killed, it did not finish
  assert seen < 200

  env = checkpoint_env(tmp_path, checkpoint_every=10, keep_checkpoints=2, resume=True)
  resumed = fit(tiny_config(), env)
  assert seen <= env.fits[0].resumed_from < 200  # only the steps since the last are lost
  uninterrupted = fit(tiny_config())
  assert_same_bits(uninterrupted[0], resumed[0])
  assert uninterrupted[1] == resumed[1]


# --------------------------------------------------------------------------------------
# Mini-batch training: the whole TrainState (params, Adam moments, step, key) is saved


def minibatch_fit(config, env=None, key=None):
  """An Adam mini-batch run of the tiny net on 40 planar points (batches of 16)."""
  env = env or env_lib.Env.plain()
  with runner.precision(config):
    params, X, Y = tiny_problem(config)
    result = env.fit_minibatch(config, ARCH, params, X, Y, optim.adam(0.05), key=key)
    return jax.tree.map(np.asarray, result.params), result.costs


def minibatch_config():
  return tiny_config(dtype="float64", course_compat=False, num_epochs=40, batch_size=16)


def test_a_keyed_minibatch_fit_draws_its_shuffles_up_front_to_the_same_bits(monkeypatch):
  """The runner draws a JAX-keyed run's shuffles as one table before training
  (``minibatch.keyed_permutations``): the params and costs of the shuffles drawn in the
  loop, bit for bit, and the table's seconds are counted in the fit's."""
  config = minibatch_config()
  key = jax.random.key(7)
  drawn, real = [], env_lib._keyed_table
  monkeypatch.setattr(env_lib, "_keyed_table",
                      lambda key, num_epochs, m: drawn.append((num_epochs, m))
                      or real(key, num_epochs, m))
  up_front = minibatch_fit(config, key=key)
  assert drawn == [(40, 40)]
  monkeypatch.setattr(minibatch, "KEYED_TABLE_MAX_ENTRIES", 40 * 40 - 1)  # too large now
  in_loop = minibatch_fit(config, key=key)
  assert drawn == [(40, 40)]
  assert_same_bits(up_front[0], in_loop[0])
  assert up_front[1] == in_loop[1]


def test_a_keyed_minibatch_fit_times_its_two_programs_apart(monkeypatch):
  """The shuffles' table and the epochs are two programs: the fit's totals hold both,
  and ``FitResult.programs`` (the record's "<program>_compile_s") each one, so the
  per-program compile target reads each."""
  config = minibatch_config()
  timed, real = [], env_lib._keyed_table
  monkeypatch.setattr(env_lib, "_keyed_table",
                      lambda key, num_epochs, m: timed.append(real(key, num_epochs, m))
                      or timed[-1])
  with runner.precision(config):
    params, X, Y = tiny_problem(config)
    fit = env_lib.Env.plain().fit_minibatch(config, ARCH, params, X, Y, optim.adam(0.05),
                                            key=jax.random.key(7))
  (_, table_compile_s, drawn_s), = timed
  (shuffles, *shuffle_times), (epochs, epochs_compile_s, epochs_train_s) = fit.programs
  assert (shuffles, epochs) == ("shuffles", "epochs")
  assert shuffle_times == [table_compile_s, drawn_s]
  assert epochs_compile_s > 0 and epochs_train_s > 0
  assert fit.compile_s == pytest.approx(table_compile_s + epochs_compile_s)
  assert fit.train_s == pytest.approx(drawn_s + epochs_train_s)
  timings = models.fit_timings(fit)
  assert timings == {"compile_s": pytest.approx(fit.compile_s),
                     "train_s": pytest.approx(fit.train_s),
                     "shuffles_compile_s": table_compile_s, "shuffles_train_s": drawn_s,
                     "epochs_compile_s": epochs_compile_s, "epochs_train_s": epochs_train_s}
  assert models.fit_stages(fit, "softmax") == {
      "softmax_shuffles": (table_compile_s, drawn_s),
      "softmax_epochs": (epochs_compile_s, epochs_train_s)}


def test_a_fit_of_one_program_records_its_totals_alone():
  fit = env_lib.FitResult({}, [], 0.25, 1.5)
  assert fit.programs == ()
  assert models.fit_timings(fit) == {"compile_s": 0.25, "train_s": 1.5}
  assert models.fit_stages(fit, "quadratic") == {"quadratic": (0.25, 1.5)}
  with pytest.raises(ValueError, match="needs its stage name"):
    models.fit_stages(fit)   # would have named its timings "None_compile_s"


def test_stage_timings_total_the_stages_and_name_each():
  timings = models.stage_timings({"a_init": (0.5, None), "a": (1.0, 3.0), "b": (0.25, 2.0)})
  assert timings == {"compile_s": 1.75, "train_s": 5.0, "a_init_compile_s": 0.5,
                     "a_compile_s": 1.0, "a_train_s": 3.0, "b_compile_s": 0.25,
                     "b_train_s": 2.0}


def test_a_timed_stage_splits_its_compiling_from_its_running():
  """``timed_stage``: JAX's tracing, lowering and compiling of a program met for the
  first time is compile_s, the rest of the wall time run_s; a stage that compiles
  nothing has none; the listener is gone afterwards."""
  from jax._src import monitoring  # pylint: disable=import-outside-toplevel
  listeners = len(monitoring.get_event_duration_listeners())

  def fresh_program(x):
    f = jax.jit(lambda v: jnp.tanh(v) * x.size + 1.0)  # a new function: it compiles
    return np.asarray(f(x))

  x = jnp.arange(5.0)
  out, compile_s, run_s = models.timed_stage(fresh_program, x)
  np.testing.assert_allclose(out, np.tanh(np.arange(5.0)) * 5 + 1, rtol=1e-6)
  assert compile_s > 0 and run_s >= 0
  _, compile_s, run_s = models.timed_stage(time.sleep, 0.05)
  assert compile_s == 0 and run_s >= 0.05
  assert len(monitoring.get_event_duration_listeners()) == listeners
  with pytest.raises(ZeroDivisionError):
    models.timed_stage(lambda: 1 / 0)
  assert len(monitoring.get_event_duration_listeners()) == listeners


class Crash(Exception):
  pass


def test_minibatch_run_resumes_after_a_crash_to_the_same_bits(tmp_path, monkeypatch):
  config = minibatch_config()
  key = jax.random.key(7)
  whole = minibatch_fit(config, key=key)

  real_save = ckpt.Checkpoints.save

  def crash_after_20(self, step, state, meta=None):
    real_save(self, step, state, meta)
    if step == 20:
      raise Crash
  monkeypatch.setattr(ckpt.Checkpoints, "save", crash_after_20)
  with pytest.raises(Crash):
    minibatch_fit(config, checkpoint_env(tmp_path, checkpoint_every=10), key=key)
  monkeypatch.setattr(ckpt.Checkpoints, "save", real_save)
  assert saved_steps(tmp_path) == [10, 20]
  resumed = minibatch_fit(config, checkpoint_env(tmp_path, checkpoint_every=10, resume=True),
                          key=key)
  assert_same_bits(whole[0], resumed[0])
  assert whole[1] == resumed[1]
  # The checkpoint holds the optimizer state: Adam's moments are not zero after 40 epochs.
  with runner.precision(config):
    params, _, _ = tiny_problem(config)
    like = {"params": minibatch.init_state(params, optim.adam(0.05), key), "step": 0,
            "costs": np.zeros(4), "key": key}
    latest = ckpt.Checkpoints(tmp_path / "checkpoints" / "fit0",
                              warn=quiet).restore_latest(like)
  adam_state = latest.state["params"].opt_state[0]
  assert int(latest.state["params"].step) == 40 * 3  # 3 mini-batches per epoch
  assert float(np.abs(adam_state.velocity["W1"]).sum()) > 0


def test_minibatch_resume_refuses_another_optimizer_setting(tmp_path):
  minibatch_fit(minibatch_config(), checkpoint_env(tmp_path, checkpoint_every=10),
                key=jax.random.key(7))
  changed = minibatch_config()
  changed.batch_size = 8
  with pytest.raises(ckpt.CheckpointMismatchError, match="config.batch_size"):
    minibatch_fit(changed, checkpoint_env(tmp_path, checkpoint_every=10, resume=True),
                  key=jax.random.key(7))


def test_train_seconds_leave_out_the_compile_of_each_chunk_length(monkeypatch):
  """train_s counts the runs only: the first call of each chunk length compiles its
  program (compile_s), and that time is not training. Compiling is made slow here
  (a 0.5 s sleep on top of the real compile) so that counting it would show."""
  real_run, slow = env_lib._GDPrograms.run, 0.5

  def slow_compile(self, params, start, length):
    if length not in self.compiled:
      time.sleep(slow)
      self.compile_s += slow
    return real_run(self, params, start, length)

  monkeypatch.setattr(env_lib._GDPrograms, "run", slow_compile)
  config = tiny_config(num_iterations=200, record_every=10)
  env = env_lib.Env.plain()
  with runner.precision(config):
    params, X, Y = tiny_problem(config)
    result = env.fit_gd(config, ARCH, params, X, Y)
  assert result.compile_s >= slow
  assert result.train_s < slow / 2, (result.compile_s, result.train_s)


def test_auto_checkpoints_save_every_auto_save_every_s_and_at_the_fit_end(tmp_path, monkeypatch):
  # 200 iterations, records every 10: AUTO cuts ten chunks of 20. Each chunk takes 4 s
  # on a fake clock, so with saves at most every 10 s the chunks ending at 12, 24 and
  # 36 s save, and the last one always does.
  saved, now = [], [0.0]
  real_save, real_run = ckpt.Checkpoints.save, env_lib._GDPrograms.run
  monkeypatch.setattr(ckpt.Checkpoints, "save", lambda self, step, state, meta=None:
                      saved.append(step) or real_save(self, step, state, meta))

  def chunk_of_four_seconds(self, params, start, length):
    now[0] += 4.0
    return real_run(self, params, start, length)

  monkeypatch.setattr(env_lib._GDPrograms, "run", chunk_of_four_seconds)
  config = tiny_config()
  env = checkpoint_env(tmp_path / "a", checkpoint_every=env_lib.AUTO, auto_save_every_s=10.0,
                       clock=lambda: now[0])
  throttled = fit(config, env)
  assert saved == [60, 120, 180, 200]
  single = fit(config)
  assert_same_bits(single[0], throttled[0])
  assert single[1] == throttled[1]
  saved.clear()
  fit(config, checkpoint_env(tmp_path / "b", checkpoint_every=env_lib.AUTO,
                             auto_save_every_s=0.0))
  assert saved == list(range(20, 201, 20))
  saved.clear()
  fit(config, checkpoint_env(tmp_path / "c", checkpoint_every=20, auto_save_every_s=1e9))
  assert saved == list(range(20, 201, 20))  # an explicit interval saves every chunk


def test_a_stop_under_auto_checkpoints_saves_where_it_stops_and_resumes_exactly(tmp_path):
  config = tiny_config()
  env = checkpoint_env(tmp_path, checkpoint_every=env_lib.AUTO, auto_save_every_s=1e9)
  env.stop.request("SIGTERM")  # as the signal handler does: the first chunk ends the fit
  with pytest.raises(env_lib.Interrupted, match="at step 20 of 200; checkpoint step 20"):
    fit(config, env)
  assert saved_steps(tmp_path) == [20]
  env = checkpoint_env(tmp_path, checkpoint_every=env_lib.AUTO, auto_save_every_s=1e9,
                       resume=True)
  resumed = fit(config, env)
  assert env.fits[0].resumed_from == 20
  single = fit(config)
  assert_same_bits(single[0], resumed[0])
  assert single[1] == resumed[1]
  assert saved_steps(tmp_path) == [20, 200]

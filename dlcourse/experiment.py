"""What every experiment does between loading data and writing files (no I/O here,
except the checkpoints and metrics lines a run asks for through ``RunOptions``).

* precision: ``course_compat`` runs in float64 with the course's NumPy initializer;
  otherwise float32 with JAX keys, unless the config asks for float64.
* ``fit_gd``: validates inputs, compiles the full-batch loop ahead of time (so compile
  and run are timed apart), runs it, and returns a result record. By default it is one
  compiled program, as before. Under ``RunOptions`` (set by the experiment platform
  with ``run_options``; see ``experiments/common.py``) it runs in chunks of
  ``checkpoint_every`` iterations instead: each chunk is the same compiled scan started
  at an absolute step, so the result is bit-for-bit the one-program result, and between
  chunks it checkpoints, logs metrics, shows progress and stops on a NaN/inf cost.
"""
import contextlib
import contextvars
import dataclasses
import hashlib
import json
import math
import pathlib
import sys
import time
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import checkpoint as ckpt
from dlcourse import initializers, minibatch, train
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError, DLCourseError
from dlcourse.models import dense

AUTO = -1               # checkpoint_every / chunk_every: about AUTO_CHUNKS chunks per fit
AUTO_CHUNKS = 10


def uses_float64(config):
  return bool(config.get("course_compat", False)) or config.get("dtype", "float32") == "float64"


def precision(config):
  """Context that enables float64 for course-compatible (or float64) runs only."""
  return jax.enable_x64(True) if uses_float64(config) else contextlib.nullcontext()


def float_dtype(config):
  return jnp.float64 if uses_float64(config) else jnp.float32


def init_params(config, layer_dims, scheme, scale=None):
  """Course initializer (NumPy seed, float64) or JAX keys (``jax.random.key(seed)``)."""
  if config.get("course_compat", False):
    return initializers.course_initialize(config.seed, layer_dims, scheme, scale=scale or 0.01)
  return initializers.initialize(jax.random.key(config.seed), layer_dims, scheme, scale=scale or 0.01,
                                 dtype=float_dtype(config))


def check_learning_rate(learning_rate):
  if not float(learning_rate) > 0:
    raise ConfigError(f"learning_rate must be > 0, got {learning_rate}")


class FitResult(NamedTuple):
  params: dict
  costs: list            # [[iteration, cost], ...]
  compile_s: float
  train_s: float


class TrainingDiverged(DLCourseError):
  """The cost or the parameters became NaN/inf; the message names the iteration."""


@dataclasses.dataclass
class FitInfo:
  """What the platform needs to know about one ``fit_gd`` call of a run."""
  index: int
  arch: dense.Architecture
  params: dict
  resumed_from: Optional[int] = None       # checkpoint step it continued from
  checkpoint_dir: Optional[pathlib.Path] = None


@dataclasses.dataclass
class RunOptions:
  """How ``fit_gd`` runs beyond the maths. The defaults: one program, nothing written.

  checkpoint_dir: root for checkpoints; the k-th ``fit_gd`` call of a run uses
    ``<checkpoint_dir>/fit<k>``, so runs that fit several models resume each one.
  checkpoint_every: iterations between checkpoints (a multiple of record_every);
    0 = none, ``AUTO`` = about ten per fit. Checkpoints hold params, step, the recorded
    costs and the PRNG key.
  resume: continue each fit from its latest sound checkpoint.
  chunk_every: chunk length when not checkpointing (0 = one program; ``AUTO``): lets
    the progress line move.
  stop_on_nonfinite: raise ``TrainingDiverged`` at the first NaN/inf cost.
  log: a ``runlog.RunLog`` for metrics.jsonl / progress / TensorBoard, or None.
  warn: where notices go (a skipped damaged checkpoint, a resume).
  on_chunk: called as ``on_chunk(step, params)`` after each chunk (and its checkpoint).
  """
  checkpoint_dir: Optional[pathlib.Path] = None
  checkpoint_every: int = 0
  keep_checkpoints: int = 3
  resume: bool = False
  chunk_every: int = 0
  stop_on_nonfinite: bool = False
  log: Optional[object] = None
  warn: Callable[[str], None] = lambda message: print(message, file=sys.stderr)
  on_chunk: Optional[Callable[[int, dict], None]] = None
  fits: list = dataclasses.field(default_factory=list)


_OPTIONS = contextvars.ContextVar("dlcourse_run_options", default=None)


@contextlib.contextmanager
def run_options(options):
  """Every ``fit_gd`` inside the block (that is not given ``options``) uses these."""
  token = _OPTIONS.set(options)
  try:
    yield options
  finally:
    _OPTIONS.reset(token)


def current_options():
  return _OPTIONS.get()


def _auto_chunk(num_iterations, record_every):
  """A multiple of record_every giving about AUTO_CHUNKS chunks."""
  blocks = math.ceil(num_iterations / record_every)
  return max(1, math.ceil(blocks / AUTO_CHUNKS)) * record_every


def chunk_length(options, num_iterations, record_every):
  """Iterations per chunk, or None for the single-program path. Raises ConfigError for a
  checkpoint interval that is not a positive multiple of record_every."""
  checkpointing = options.checkpoint_dir is not None and options.checkpoint_every != 0
  every = options.checkpoint_every if checkpointing else options.chunk_every
  name = "checkpoint_every" if checkpointing else "chunk_every"
  if every == 0:
    return None
  if every == AUTO:
    every = _auto_chunk(num_iterations, record_every)
  if isinstance(every, bool) or not isinstance(every, int) or every < 1:
    raise ConfigError(f"{name} must be a positive integer (or 0 for none), got {every!r}")
  if every % record_every:
    raise ConfigError(f"{name}={every} must be a multiple of record_every={record_every} "
                      f"(costs are recorded every {record_every} iterations), e.g. "
                      f"{record_every * max(1, round(every / record_every))}")
  if every >= num_iterations and not checkpointing:
    return None
  return min(every, num_iterations)


def _key_list(key):
  """A PRNG key (typed or raw uint32 data) as a JSON list, or None."""
  if key is None:
    return None
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    key = jax.random.key_data(key)
  return np.asarray(key).tolist()


def _fingerprint(config, arch, X, Y, static, dynamic):
  """What must not change between a checkpoint and its resume (JSON-able).

  Every config field is in it (``config.<field>``): an optimizer or batch size that
  changed between the two would otherwise resume into a different run unnoticed.
  """
  fields = {f"config.{k}": v for k, v in json.loads(json.dumps(config.to_dict())).items()}
  return {
      **fields,
      "layer_dims": list(arch.layer_dims), "activations": list(arch.activations),
      "num_iterations": static["num_iterations"], "record_every": static["record_every"],
      "method": static["method"], "dropout_layers": list(static["dropout_layers"]),
      "learning_rate": float(config.learning_rate), "lambd": float(dynamic["lambd"]),
      "keep_prob": float(dynamic["keep_prob"]), "dtype": jnp.dtype(X.dtype).name,
      "fixed_masks": dynamic["fixed_masks"] is not None,
      "key": _key_list(dynamic["key"]),
      "data_sha256": hashlib.sha256(np.asarray(X).tobytes() + np.asarray(Y).tobytes())
      .hexdigest(),
  }


def _check_fingerprint(saved, current, where):
  changed = [f"{k}: {saved.get(k)!r} in the checkpoint, {v!r} now"
             for k, v in current.items() if saved.get(k) != v]
  if changed:
    raise ckpt.CheckpointMismatchError(
        f"cannot resume from {where}: it was written by a different run ("
        + "; ".join(changed) + "). Use the same config and data, or start afresh "
        "without --resume")


def _first_nonfinite(its, costs):
  bad = ~np.isfinite(costs)
  return (int(its[bad][0]), float(costs[bad][0])) if bad.any() else None


def _until_nonfinite(its, costs):
  """The recorded (iterations, costs) up to and including the first non-finite cost."""
  bad = np.flatnonzero(~np.isfinite(costs))
  end = bad[0] + 1 if bad.size else len(costs)
  return its[:end], costs[:end]


def _params_finite(params):
  return all(bool(jnp.all(jnp.isfinite(p))) for p in jax.tree.leaves(params))


def _diverged(index, learning_rate, what, saved_step, checkpoint_dir):
  kept = (f"the last good checkpoint is step {saved_step} in {checkpoint_dir}"
          if saved_step is not None else "no checkpoint was kept (checkpointing is off "
          "or none was written yet)")
  return TrainingDiverged(f"training stopped (fit {index}, learning_rate "
                          f"{learning_rate:g}): {what}; {kept}")


def _check_finite(index, learning_rate, record_every, its, costs, params, first, last,
                  saved_step, checkpoint_dir):
  """Raises TrainingDiverged naming the first recorded non-finite cost, or the span of
  iterations in which the parameters went non-finite."""
  bad = _first_nonfinite(its, costs)
  if bad is not None:
    raise _diverged(index, learning_rate, f"the cost became {bad[1]} at iteration {bad[0]} "
                    f"(costs are recorded every {record_every} iterations)",
                    saved_step, checkpoint_dir)
  if not _params_finite(params):
    raise _diverged(index, learning_rate, "the parameters became NaN/inf between "
                    f"iteration {first} and {last}", saved_step, checkpoint_dir)


def _log_costs(log, index, its, costs, learning_rate):
  for i, c in zip(its, costs):
    log.log(fit=index, step=int(i), cost=float(c), learning_rate=learning_rate)


def _train_accuracy(params, X, Y, arch):
  if arch.activations[-1] not in ("sigmoid", "softmax"):
    return None
  return float(dense.accuracy(params, X, Y, arch))


class _Programs:
  """Compiled chunk programs by chunk length (the last chunk may be shorter)."""

  def __init__(self, X, Y, learning_rate, static, dynamic):
    self.X, self.Y, self.lr, self.static, self.dynamic = X, Y, learning_rate, static, dynamic
    self.compiled, self.compile_s = {}, 0.0

  def run(self, params, start, length):
    if length not in self.compiled:
      begin = time.perf_counter()
      static = dict(self.static, num_iterations=length)
      self.compiled[length] = train.train_gd_jit.lower(
          params, self.X, self.Y, self.lr, **static, **self.dynamic,
          start_step=jnp.asarray(start)).compile()
      self.compile_s += time.perf_counter() - begin
    return self.compiled[length](params, self.X, self.Y, self.lr, **self.dynamic,
                                 start_step=jnp.asarray(start))


def _fit_single(config, index, options, params, X, Y, static, dynamic):
  """The one-program path (as before the platform); checks and logs after the run."""
  start = time.perf_counter()
  compiled = train.train_gd_jit.lower(params, X, Y, config.learning_rate, **static,
                                      **dynamic).compile()
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  result = compiled(params, X, Y, config.learning_rate, **dynamic)
  costs = np.asarray(jax.block_until_ready(result.costs))
  train_s = time.perf_counter() - start
  its = train.recorded_iterations(static["num_iterations"], static["record_every"])
  if options.log is not None:
    _log_costs(options.log, index, its, costs, float(config.learning_rate))
  if options.stop_on_nonfinite:
    _check_finite(index, float(config.learning_rate), static["record_every"], its, costs,
                  result.params, 0, static["num_iterations"], None, None)
  if options.log is not None:
    options.log.log(fit=index, step=static["num_iterations"],
                    train_accuracy=_train_accuracy(result.params, X, Y, static["arch"]))
  return result.params, its, costs, compile_s, train_s, None


def _checkpointer(options, index, config, X, Y, static, dynamic):
  """(Checkpointer for fit ``index``, fingerprint) or (None, None) when not checkpointing."""
  if options.checkpoint_dir is None or options.checkpoint_every == 0:
    return None, None
  checkpointer = ckpt.Checkpointer(pathlib.Path(options.checkpoint_dir) / f"fit{index}",
                                   keep=options.keep_checkpoints, warn=options.warn)
  return checkpointer, _fingerprint(config, static["arch"], X, Y, static, dynamic)


def _initial_state(params, key, num_records):
  """What a checkpoint holds: params, step, the costs recorded so far (NaN after the
  step), and the dropout key (None leaves nothing to store)."""
  return {"params": jax.tree.map(jnp.asarray, params), "step": 0,
          "costs": np.full(num_records, np.nan), "key": key}


def _resume_or_start(options, index, checkpointer, fingerprint, state):
  """(state, resumed_from): the latest sound checkpoint when resuming, else ``state``
  after clearing any older run's checkpoints."""
  if checkpointer is None:
    return state, None
  if not options.resume:
    checkpointer.clear()
    return state, None
  restored = checkpointer.restore_latest(state)
  if restored is None:
    return state, None
  _check_fingerprint(restored.meta, fingerprint, restored.path)
  options.warn(f"fit {index}: resuming from checkpoint step {restored.step} "
               f"({restored.path})")
  if options.log is not None:
    options.log.drop_after(index, restored.step)
  return restored.state, restored.step


def _fit_chunked(config, index, options, params, X, Y, static, dynamic, chunk, programs=None,
                 params_of=lambda trained: trained):
  """Chunks of ``chunk`` iterations, with checkpoints / logging / progress between.

  ``programs.run(trained, start, length)`` advances the trained pytree (GD: the params;
  mini-batches: a ``minibatch.TrainState`` with the optimizer state and key) and returns
  it with the costs recorded in the chunk; ``params_of`` extracts the params from it.
  """
  n, r = static["num_iterations"], static["record_every"]
  lr = float(config.learning_rate)
  checkpointer, fingerprint = _checkpointer(options, index, config, X, Y, static, dynamic)
  state, resumed_from = _resume_or_start(
      options, index, checkpointer, fingerprint,
      _initial_state(params, dynamic["key"], len(train.recorded_iterations(n, r))))
  programs = programs or _Programs(X, Y, config.learning_rate, static, dynamic)
  saved_step = resumed_from
  progress = options.log.progress(n, label=f"fit {index}: ", first_step=state["step"]) \
      if options.log is not None else None
  train_s = 0.0
  try:
    while state["step"] < n:
      step, length = state["step"], min(chunk, n - state["step"])
      begin = time.perf_counter()
      result = programs.run(state["params"], step, length)
      chunk_costs = np.asarray(jax.block_until_ready(result.costs), dtype=np.float64)
      train_s += time.perf_counter() - begin
      its = np.arange(step, step + length, r)
      if options.log is not None:
        shown = _until_nonfinite(its, chunk_costs) if options.stop_on_nonfinite \
            else (its, chunk_costs)
        _log_costs(options.log, index, *shown, lr)
      if options.stop_on_nonfinite:
        _check_finite(index, lr, r, its, chunk_costs, params_of(result.params), step,
                      step + length, saved_step,
                      checkpointer.directory if checkpointer else None)
      costs = state["costs"].copy()
      costs[its // r] = chunk_costs
      state = dict(state, params=result.params, step=step + length, costs=costs)
      if options.log is not None:
        options.log.log(fit=index, step=state["step"], learning_rate=lr,
                        train_accuracy=_train_accuracy(params_of(result.params), X, Y,
                                                       static["arch"]))
        progress.update(state["step"], float(chunk_costs[-1]))
      if checkpointer is not None:
        checkpointer.save(state["step"], state, meta=fingerprint)
        saved_step = state["step"]
      if options.on_chunk is not None:
        options.on_chunk(state["step"], params_of(state["params"]))
  finally:
    if progress is not None:
      progress.close()
  return (params_of(state["params"]), train.recorded_iterations(n, r), state["costs"],
          programs.compile_s, train_s,
          (resumed_from, checkpointer.directory if checkpointer else None))


def fit_gd(config, arch, params, X, Y, *, lambd=0.0, dropout_layers=(), keep_prob=1.0,
           fixed_masks=None, key=None, options=None):
  """Full-batch GD for ``config.num_iterations`` at ``config.learning_rate``, timed.

  ``options``: a ``RunOptions``; default: the ones set by ``run_options`` around the
  call, else plain (one compiled program, nothing written). Every input check runs
  before anything is compiled.
  """
  check_learning_rate(config.learning_rate)
  if isinstance(config.num_iterations, bool) or int(config.num_iterations) < 1:
    raise ConfigError(f"num_iterations must be >= 1, got {config.num_iterations}")
  if isinstance(config.record_every, bool) or int(config.record_every) < 1:
    raise ConfigError(f"record_every must be >= 1, got {config.record_every}")
  dense.check_data(X, Y, arch)
  dense.check_params(params, arch)
  reg.check_lambd(lambd)
  if dropout_layers:
    reg.check_dropout(keep_prob, dropout_layers, arch.num_layers)
  options = options or current_options() or RunOptions()
  static = dict(arch=arch, num_iterations=int(config.num_iterations),
                record_every=int(config.record_every), method=config.get("method", "manual"),
                dropout_layers=tuple(dropout_layers))
  chunk = chunk_length(options, static["num_iterations"], static["record_every"])
  index = len(options.fits)
  dtype = float_dtype(config)
  X, Y = jnp.asarray(X, dtype), jnp.asarray(Y, dtype)
  dynamic = dict(lambd=lambd, keep_prob=keep_prob, key=key, fixed_masks=fixed_masks)
  if chunk is None:
    params, its, costs, compile_s, train_s, where = _fit_single(
        config, index, options, params, X, Y, static, dynamic)
  else:
    params, its, costs, compile_s, train_s, where = _fit_chunked(
        config, index, options, params, X, Y, static, dynamic, chunk)
  resumed_from, checkpoint_dir = where or (None, None)
  options.fits.append(FitInfo(index, arch, params, resumed_from, checkpoint_dir))
  return FitResult(params, [[int(i), float(c)] for i, c in zip(its, costs)],
                   compile_s, train_s)


class _EpochPrograms:
  """Compiled mini-batch programs by chunk length in epochs (``minibatch.train_epochs``).

  The state carries its own position (``TrainState.step``), so ``start`` is implied.
  """

  def __init__(self, X, Y, permutations, static, record_every):
    self.X, self.Y, self.permutations = X, Y, permutations
    self.static, self.record_every = static, record_every
    self.compiled, self.compile_s = {}, 0.0

  def run(self, state, start, length):
    del start
    if length not in self.compiled:
      begin = time.perf_counter()
      self.compiled[length] = minibatch.train_epochs_jit.lower(
          state, self.X, self.Y, self.permutations, **self.static,
          num_epochs=length).compile()
      self.compile_s += time.perf_counter() - begin
    state, costs = self.compiled[length](state, self.X, self.Y, self.permutations)
    return train.TrainResult(state, costs[::self.record_every])


def fit_minibatch(config, arch, params, X, Y, optimizer, *, permutations=None, key=None,
                  options=None):
  """Mini-batch training for ``config.num_epochs`` epochs (``dlcourse.minibatch``), timed.

  The same platform as ``fit_gd``, in units of epochs: one compiled program by default;
  under ``RunOptions`` chunks of epochs with checkpoints of the whole ``TrainState``
  (params, optimizer state, step, key), resume, logging and the NaN stop. Costs are the
  course's epoch costs, recorded every ``config.record_every`` epochs.
  """
  num_epochs, record_every = int(config.num_epochs), int(config.record_every)
  batch_size = int(config.batch_size)
  minibatch.check_training(X, Y, batch_size, num_epochs, optimizer)
  dense.check_data(X, Y, arch)
  dense.check_params(params, arch)
  if permutations is not None:
    minibatch.check_permutations(permutations, np.shape(X)[1], num_epochs)
    permutations = jnp.asarray(permutations, jnp.int32)
  elif key is None:
    raise ConfigError("mini-batch shuffling needs either permutations or a PRNG key")
  options = options or current_options() or RunOptions()
  dtype = float_dtype(config)
  X, Y = jnp.asarray(X, dtype), jnp.asarray(Y, dtype)
  state = minibatch.init_state(params, optimizer, key)
  # static/dynamic in fit_gd's vocabulary, for the chunking and the resume fingerprint
  static = dict(arch=arch, num_iterations=num_epochs, record_every=record_every,
                method=config.get("method", "manual"), dropout_layers=())
  dynamic = dict(lambd=0.0, keep_prob=1.0, key=key, fixed_masks=permutations)
  chunk = chunk_length(options, num_epochs, record_every) or num_epochs
  index = len(options.fits)
  programs = _EpochPrograms(X, Y, permutations, dict(
      arch=arch, optimizer=optimizer, batch_size=batch_size, method=static["method"]),
      record_every)
  params, its, costs, compile_s, train_s, where = _fit_chunked(
      config, index, options, state, X, Y, static, dynamic, chunk, programs,
      params_of=lambda trained: trained.params)
  resumed_from, checkpoint_dir = where or (None, None)
  options.fits.append(FitInfo(index, arch, params, resumed_from, checkpoint_dir))
  return FitResult(params, [[int(i), float(c)] for i, c in zip(its, costs)],
                   compile_s, train_s)


def accuracy(params, X, Y, arch, config):
  """Accuracy as a Python float in [0, 1]."""
  dtype = float_dtype(config)
  return float(dense.accuracy(params, jnp.asarray(X, dtype), jnp.asarray(Y, dtype), arch))


def train_test_record(config, fit, arch, train_x, train_y, test_x=None, test_y=None, **extra):
  """``result_record`` with the fitted params' accuracy on the training and test sets
  (``test_accuracy`` None when there is no test set)."""
  test_accuracy = None if test_x is None else accuracy(fit.params, test_x, test_y, arch, config)
  return result_record(config, fit, accuracy(fit.params, train_x, train_y, arch, config),
                       test_accuracy, **extra)


def result_record(config, fit, train_accuracy, test_accuracy, **extra):
  """The result.json record every experiment writes."""
  record = {
      "config": config.to_dict(),
      "costs": fit.costs,
      "train_accuracy": train_accuracy,
      "test_accuracy": test_accuracy,
      "timings": {"compile_s": round(fit.compile_s, 4), "train_s": round(fit.train_s, 4)},
      "versions": {"jax": jax.__version__, "backend": jax.default_backend()},
  }
  record.update(extra)
  return record

"""``Env``: what the runner hands an app's ``run(config, env)``, and the fits it runs.

Explicit state, as in flax's ``train_and_evaluate(config, workdir)``: the runner builds
one ``Env`` per run (the run directory, the data directory, the checkpoint and logging
settings, the stop flag its signal handlers set) and passes it in; ``env.fit_gd`` and
``env.fit_minibatch`` return what they trained, and ``env.fits`` lists them for the
runner's export after ``run`` returns. ``Env.plain()`` writes nothing: one compiled
program per fit, no checkpoints, no log (what tests and the report use).

A fit under the CLI runs as chunks of one compiled program (``dlcourse.train`` /
``dlcourse.minibatch`` started at an absolute step), so the result is bit for bit the
one-program result; between chunks it checkpoints the whole training state, appends to
metrics.jsonl, moves the progress line, stops on a NaN/inf cost and honours SIGINT /
SIGTERM (a checkpoint at the chunk's end, then ``Interrupted``).
"""
import dataclasses
import hashlib
import json
import math
import os
import pathlib
import sys
import time
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays, minibatch, train, validation
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError, DLCourseError
from dlcourse.models import dense
from experiments.runner import checkpoints as ckpt
from experiments.runner import cli, long_runs
from experiments.runner.models import float_dtype

AUTO = -1          # checkpoint_every: about AUTO_CHUNKS chunks per fit
AUTO_CHUNKS = 10
# With AUTO, a chunk's end saves only once this many seconds have passed since the fit's
# last save (or its start); a fit's last chunk and a stop (SIGINT / SIGTERM) always save.
# A save costs 50-70 ms (orbax's files, our manifest, keep-N rotation): a save at each
# of ten chunks took C2W2's command-line run 0.73 s for 0.16 s of training, and
# intro_letters' twenty 1.3 s for ~3 s (2026-12-07, 2-core Xeon). An explicit
# checkpoint_every saves at every chunk.
AUTO_SAVE_EVERY_S = 10.0


class FitResult(NamedTuple):
  params: dict
  costs: list            # [[iteration or epoch, cost], ...]
  compile_s: float       # every program the fit compiled, together
  train_s: float
  # A fit that runs more than one program: ((name, compile_s, run_s), ...), one entry
  # per program (the per-program compile target is read from these); () otherwise.
  programs: tuple = ()


class TrainingDiverged(DLCourseError):
  """The cost or the parameters became NaN/inf; the message names the iteration."""


class Interrupted(Exception):
  """SIGINT / SIGTERM: the fit checkpointed where it stopped (message: how to resume)."""


@dataclasses.dataclass
class StopFlag:
  """Set by the runner's signal handlers; fits look at it between chunks."""
  signal_name: Optional[str] = None

  def request(self, signal_name):
    self.signal_name = signal_name

  @property
  def requested(self):
    return self.signal_name is not None


@dataclasses.dataclass
class FitInfo:
  """What the runner needs to know about one fit of a run (for params.h5, result.json)."""
  index: int
  arch: dense.Architecture
  params: dict
  resumed_from: Optional[int] = None


def default_cache_dir():
  """Where apps cache generated data sets: ``$XDG_CACHE_HOME/dlcourse/data``."""
  base = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
  return base / "dlcourse" / "data"


def _stderr(message):
  print(message, file=sys.stderr)


@dataclasses.dataclass
class Env:
  """A run's surroundings. ``checkpoint_every``: iterations (epochs) between checkpoints,
  a multiple of the config's record_every; 0 = none; ``AUTO`` = chunks of about a tenth
  of the fit, saved at most every ``auto_save_every_s`` seconds, at the fit's end and
  on a stop."""
  workdir: Optional[pathlib.Path] = None
  data_dir: Optional[pathlib.Path] = None
  cache_dir: Optional[pathlib.Path] = None
  checkpoint_every: int = 0
  keep_checkpoints: int = 3
  auto_save_every_s: float = AUTO_SAVE_EVERY_S
  clock: Callable[[], float] = time.monotonic   # seconds, for auto_save_every_s
  resume: bool = False
  chunk_every: int = 0
  stop_on_nonfinite: bool = False
  log: Optional[object] = None          # metrics.RunLog
  warn: Callable[[str], None] = _stderr
  stop: StopFlag = dataclasses.field(default_factory=StopFlag)
  fits: list = dataclasses.field(default_factory=list)
  # Called once, when the first fit has passed its checks (or by the runner when the
  # app returns): only then does the runner write config.json and clear an old log, so
  # a run that its app refuses leaves the workdir as it found it.
  on_start: Optional[Callable[[], None]] = None
  started: bool = False

  def start(self):
    """Marks the run as started (idempotent); runs ``on_start`` the first time."""
    if not self.started:
      self.started = True
      if self.on_start is not None:
        self.on_start()

  @classmethod
  def plain(cls, data_dir=None, cache_dir=None):
    """Writes nothing: one program per fit (tests, the report)."""
    return cls(data_dir=None if data_dir is None else pathlib.Path(data_dir),
               cache_dir=None if cache_dir is None else pathlib.Path(cache_dir))

  @property
  def checkpoint_dir(self):
    if self.workdir is None or self.checkpoint_every == 0:
      return None
    return pathlib.Path(self.workdir) / "checkpoints"

  def fit_gd(self, config, arch, params, X, Y, *, lambd=0.0, dropout_layers=(),
             keep_prob=1.0, fixed_masks=None, key=None):
    """Full-batch GD for ``config.num_iterations`` at ``config.learning_rate``, timed.

    Every input check runs before anything is compiled.
    """
    validation.learning_rate(config.learning_rate, dtype=float_dtype(config))
    num_iterations = validation.positive_int("num_iterations", config.num_iterations)
    record_every = validation.positive_int("record_every", config.record_every)
    dense.check_data(X, Y, arch)
    dense.check_params(params, arch)
    reg.check_lambd(lambd)
    if dropout_layers:
      reg.check_dropout(keep_prob, dropout_layers, arch.num_layers)
    static = dict(arch=arch, num_iterations=num_iterations, record_every=record_every,
                  method=config.get("method", "manual"), dropout_layers=tuple(dropout_layers))
    chunk = self._chunk_length(num_iterations, record_every)
    dtype = float_dtype(config)
    X, Y = arrays.device_array(X, dtype), arrays.device_array(Y, dtype)
    dynamic = dict(lambd=lambd, keep_prob=keep_prob, key=key, fixed_masks=fixed_masks)
    draws = dropout_draws(arch, dropout_layers, X.shape[1], num_iterations,
                          fresh=key is not None and fixed_masks is None)
    programs = _GDPrograms(X, Y, config.learning_rate, static, dynamic,
                           masks_ahead=(draws >= MASKS_AHEAD_MIN_DRAWS
                                        and cli.takes_our_choices(jax.default_backend())))
    fingerprint = _fingerprint(config, X, Y, static, dynamic)
    fit = _fit(self, config, arch, params, programs, fingerprint, static, chunk,
               key=key, trained=lambda p: p)
    if not programs.masks_ahead:
      return fit
    return fit._replace(programs=(
        ("masks", programs.masks_compile_s, programs.masks_s),
        ("gd", fit.compile_s - programs.masks_compile_s, fit.train_s - programs.masks_s)))

  def fit_minibatch(self, config, arch, params, X, Y, optimizer, *, permutations=None,
                    key=None):
    """Mini-batch training for ``config.num_epochs`` epochs (``dlcourse.minibatch``).

    The same machinery in units of epochs; checkpoints hold the whole ``TrainState``
    (params, optimizer state, step, key). Costs are the course's epoch costs.
    """
    num_epochs = validation.positive_int("num_epochs", config.num_epochs)
    record_every = validation.positive_int("record_every", config.record_every)
    batch_size = int(config.batch_size)
    minibatch.check_training(X, Y, batch_size, num_epochs, optimizer)
    dense.check_data(X, Y, arch)
    dense.check_params(params, arch)
    if permutations is not None:
      minibatch.check_permutations(permutations, np.shape(X)[1], num_epochs)
      permutations = arrays.device_array(permutations, jnp.int32)
    elif key is None:
      raise ConfigError("mini-batch shuffling needs either permutations or a PRNG key")
    dtype = float_dtype(config)
    X, Y = arrays.device_array(X, dtype), arrays.device_array(Y, dtype)
    static = dict(arch=arch, num_iterations=num_epochs, record_every=record_every,
                  method=config.get("method", "manual"), dropout_layers=())
    dynamic = dict(lambd=0.0, keep_prob=1.0, key=key, fixed_masks=permutations)
    largest = max((int(np.size(leaf)) for leaf in jax.tree.leaves(params)), default=0)
    programs = _EpochPrograms(X, Y, permutations, dict(
        arch=arch, optimizer=optimizer, batch_size=batch_size, method=static["method"]),
        record_every, cli.elementwise_compiler_options(
            jax.default_backend(), jnp.dtype(dtype).name, largest))
    fingerprint = _fingerprint(config, X, Y, static, dynamic)
    chunk = self._chunk_length(num_epochs, record_every) or num_epochs
    table = None
    if permutations is None and num_epochs * X.shape[1] <= minibatch.KEYED_TABLE_MAX_ENTRIES:
      # The key's shuffles, drawn up front (the same permutations): the training program
      # then holds no sort (about a third of a small net's compile).
      programs.permutations, *table = _keyed_table(key, num_epochs, X.shape[1])
    fit = _fit(self, config, arch, minibatch.init_state(params, optimizer, key), programs,
               fingerprint, static, chunk, key=key, trained=lambda s: s.params)
    if table is None:
      return fit
    table_compile_s, drawn_s = table
    return fit._replace(compile_s=fit.compile_s + table_compile_s,
                        train_s=fit.train_s + drawn_s,
                        programs=(("shuffles", table_compile_s, drawn_s),
                                  ("epochs", fit.compile_s, fit.train_s)))

  # -- the machinery ---------------------------------------------------------------

  def _chunk_length(self, num_iterations, record_every):
    """Iterations per chunk, or None for one program. ConfigError for an interval that
    is not a positive multiple of record_every."""
    checkpointing = self.checkpoint_dir is not None
    every = self.checkpoint_every if checkpointing else self.chunk_every
    name = "checkpoint_every" if checkpointing else "chunk_every"
    if every == 0:
      return None
    if every == AUTO:
      blocks = math.ceil(num_iterations / record_every)
      every = max(1, math.ceil(blocks / AUTO_CHUNKS)) * record_every
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
      raise ConfigError(f"{name} must be a positive integer (or 0 for none), got {every!r}")
    if every % record_every:
      raise ConfigError(f"{name}={every} must be a multiple of record_every={record_every} "
                        f"(costs are recorded every {record_every} iterations), e.g. "
                        f"{record_every * max(1, round(every / record_every))}")
    if every >= num_iterations and not checkpointing:
      return None
    return min(every, num_iterations)


def _fit(env, config, arch, start, programs, fingerprint, static, chunk, *, key, trained):
  """Runs one fit (``chunk`` None: one program) and records it in ``env.fits``."""
  env.start()
  index = len(env.fits)
  n, r = static["num_iterations"], static["record_every"]
  its = train.recorded_iterations(n, r)
  state = {"params": start, "step": 0, "costs": np.full(len(its), np.nan), "key": key}
  checkpoints, resumed_from = None, None
  if chunk is not None and env.checkpoint_dir is not None:
    checkpoints = ckpt.Checkpoints(env.checkpoint_dir / f"fit{index}",
                                   keep=env.keep_checkpoints, warn=env.warn)
    state, resumed_from = _resume(env, index, checkpoints, fingerprint, state)
  elif env.resume:
    env.warn(f"fit {index}: checkpointing is off (--checkpoint_every=0), so there is "
             "nothing to resume from; training from step 0")
    if env.log is not None:
      env.log.drop_after(index, -1)  # this fit's old lines: it logs them again
  lr = config.get("learning_rate")
  try:
    state, train_s = _run_chunks(env, index, state, programs, static, chunk or n,
                                 checkpoints, fingerprint, trained,
                                 None if lr is None else float(lr))
  finally:
    if checkpoints is not None:
      checkpoints.close()
  params = trained(state["params"])
  env.fits.append(FitInfo(index, arch, params, resumed_from))
  return FitResult(params, [[int(i), float(c)] for i, c in zip(its, state["costs"])],
                   programs.compile_s, train_s)


def _resume(env, index, checkpoints, fingerprint, state):
  """(state, resumed_from): the latest sound checkpoint when the run is resumed."""
  if not env.resume:
    return state, None
  restored = checkpoints.restore_latest(state)
  if restored is None:
    env.warn(f"fit {index}: no sound checkpoint in {checkpoints.directory}; training "
             "from step 0")
    if env.log is not None:
      env.log.drop_after(index, -1)
    return state, None
  _check_fingerprint(restored.meta, fingerprint, restored.path)
  env.warn(f"fit {index}: resuming from checkpoint step {restored.step} ({restored.path})")
  if env.log is not None:
    env.log.drop_after(index, restored.step)
  return restored.state, restored.step


def _run_chunks(env, index, state, programs, static, chunk, checkpoints, fingerprint,
                trained, lr):
  n, r = static["num_iterations"], static["record_every"]
  saved_step = None
  progress = env.log.progress(n, label=f"fit {index}: ", first_step=state["step"]) \
      if env.log is not None else None
  train_s, last_save = 0.0, env.clock()
  try:
    while state["step"] < n:
      step, length = state["step"], min(chunk, n - state["step"])
      begin, compiling_before = time.perf_counter(), programs.compile_s
      result = programs.run(state["params"], step, length)
      chunk_costs = np.asarray(jax.block_until_ready(result.costs), dtype=np.float64)
      # A chunk length's first call compiles its program: that is compile_s, not training.
      train_s += time.perf_counter() - begin - (programs.compile_s - compiling_before)
      its = np.arange(step, step + length, r)
      if env.log is not None:
        shown = _until_nonfinite(its, chunk_costs) if env.stop_on_nonfinite \
            else (its, chunk_costs)
        for i, c in zip(*shown):
          env.log.log(fit=index, step=int(i), cost=float(c), learning_rate=lr)
      if env.stop_on_nonfinite:
        _check_finite(index, lr, r, its, chunk_costs, trained(result.params), step,
                      step + length, saved_step,
                      checkpoints.directory if checkpoints else None)
      costs = state["costs"].copy()
      costs[its // r] = chunk_costs
      state = dict(state, params=result.params, step=step + length, costs=costs)
      if env.log is not None:
        env.log.log(fit=index, step=state["step"], learning_rate=lr,
                    train_accuracy=_train_accuracy(trained(result.params), programs,
                                                   static["arch"]))
        progress.update(state["step"], float(chunk_costs[-1]))
      if checkpoints is not None and _save_due(env, state["step"] >= n, last_save):
        checkpoints.save(state["step"], state, meta=fingerprint)
        saved_step, last_save = state["step"], env.clock()
      if env.stop.requested and state["step"] < n:
        where = (f"checkpoint step {saved_step} in {checkpoints.directory}; rerun the "
                 "same command to resume" if checkpoints is not None else
                 "no checkpoint (checkpointing is off): a rerun starts over")
        raise Interrupted(f"{env.stop.signal_name}: stopped fit {index} at step "
                          f"{state['step']} of {n}; {where}")
  finally:
    if progress is not None:
      progress.close()
  return state, train_s


def _save_due(env, last_chunk, last_save):
  """Whether a chunk's end checkpoints: always with an explicit ``checkpoint_every``;
  with AUTO at the fit's last chunk, on a stop, or once ``auto_save_every_s`` seconds
  have passed since ``last_save`` (``env.clock``)."""
  return (env.checkpoint_every != AUTO or last_chunk or env.stop.requested
          or env.clock() - last_save >= env.auto_save_every_s)


def _train_accuracy(params, programs, arch):
  if arch.activations[-1] not in ("sigmoid", "softmax"):
    return None
  return float(dense.accuracy(params, programs.X, programs.Y, arch))


def dropout_draws(arch, dropout_layers, m, num_iterations, *, fresh):
  """The mask entries a full-batch GD run draws: n_l m per dropout layer l at every
  iteration when its masks are ``fresh`` (drawn from a key); 0 with fixed masks."""
  if not fresh:
    return 0
  return num_iterations * m * sum(arch.layer_dims[l] for l in dropout_layers)


# A full-batch fit that draws this many fresh dropout-mask entries or more draws each
# chunk's masks before its loop, in a program of their own that only hashes
# (``train.dropout_masks_ahead``, compiled with the hash unrolled:
# ``long_runs.compile_hashing``), and hands them to a training program that holds no
# hash. C2W1's JAX-keyed dropout row, [2, 20, 3, 1] on 211 examples, 30000 steps of
# 4853 mask entries (1.5e8), ten chunks on one pinned core (2026-12-07, Zen 4): drawn in
# the loop (JAX's rolled hash, the legacy emitters) it compiled in 0.48 s and trained in
# 1.70 s; as a long run (``long_runs``: the hash unrolled, XLA's own emitters) 0.79-0.86
# and 0.71 s; drawn ahead 0.19-0.25 s (masks) + 0.37 s (training) compiling and 0.53 s
# training, 0.21 s of it hashing, with the same costs and parameters to the bit. The
# masks' program costs ~0.1 s of compiling more than the loop's own draws, which ~8 ns
# saved per drawn entry pays back from ~1.5e7 entries. On the CPU only, as the project's
# other per-program choices (``cli.takes_our_choices``): the cost is the CPU's.
MASKS_AHEAD_MIN_DRAWS = 2e7
# At most about this many mask entries (booleans: bytes) are drawn at once; a longer
# chunk trains in pieces of whole record blocks, one masks' draw each.
MASKS_AHEAD_MAX_ENTRIES = 1 << 25


class _GDPrograms:
  """Compiled full-batch GD chunk programs by chunk length (the last may be shorter);
  the start step is traced, so one program serves every chunk. ``masks_ahead``: each
  chunk's fresh dropout masks are drawn before its loop (``MASKS_AHEAD_MIN_DRAWS``),
  in pieces of at most ``MASKS_AHEAD_MAX_ENTRIES`` entries (or one record block)."""

  def __init__(self, X, Y, learning_rate, static, dynamic, masks_ahead=False):
    self.X, self.Y, self.lr, self.static, self.dynamic = X, Y, learning_rate, static, dynamic
    self.masks_ahead = masks_ahead
    self.compiled, self.masks_compiled = {}, {}
    # compile_s: every program, the masks' included; masks_*: the masks' program alone.
    self.compile_s, self.masks_compile_s, self.masks_s = 0.0, 0.0, 0.0

  def run(self, params, start, length):
    if not self.masks_ahead:
      return self._train(params, start, length)
    piece, costs = self._piece_length(length), []
    for first in range(start, start + length, piece):
      n = min(piece, start + length - first)
      result = self._train(params, first, n, self._masks(first, n))
      params = result.params
      costs.append(np.asarray(result.costs))
    return train.TrainResult(params, np.concatenate(costs))

  def _piece_length(self, length):
    """Iterations per masks' draw: whole record blocks of at most
    ``MASKS_AHEAD_MAX_ENTRIES`` entries (at least one block), at most ``length``."""
    arch, r = self.static["arch"], self.static["record_every"]
    per_iteration = dropout_draws(arch, self.static["dropout_layers"], self.X.shape[1], 1,
                                  fresh=True)
    blocks = max(1, MASKS_AHEAD_MAX_ENTRIES // max(1, per_iteration * r))
    return min(length, blocks * r)

  def _masks(self, start, length):
    """The fresh masks of iterations [start, start + length), drawn now."""
    key, keep_prob = self.dynamic["key"], self.dynamic["keep_prob"]
    first = arrays.device_array(start, jnp.int32)
    if length not in self.masks_compiled:
      begin = time.perf_counter()
      self.masks_compiled[length] = long_runs.compile_hashing(
          train.dropout_masks_ahead_jit, key, first, keep_prob, arch=self.static["arch"],
          num_iterations=length, dropout_layers=self.static["dropout_layers"],
          m=self.X.shape[1])
      elapsed = time.perf_counter() - begin
      self.compile_s += elapsed
      self.masks_compile_s += elapsed
    begin = time.perf_counter()
    masks = jax.block_until_ready(self.masks_compiled[length](key, first, keep_prob))
    self.masks_s += time.perf_counter() - begin
    return masks

  def _train(self, params, start, length, noise=None):
    first = arrays.device_array(start, jnp.int32)
    if length not in self.compiled:
      begin = time.perf_counter()
      kwargs = dict(self.static, num_iterations=length, **self.dynamic)
      self.compiled[length] = train.train_gd_jit.lower(
          params, self.X, self.Y, self.lr, **kwargs, start_step=first,
          noise=noise).compile()
      self.compile_s += time.perf_counter() - begin
    return self.compiled[length](params, self.X, self.Y, self.lr, **self.dynamic,
                                 start_step=first, noise=noise)


def _keyed_table(key, num_epochs, m):
  """(``minibatch.keyed_permutations`` table, its compile s, its run s); its program
  compiles with the hash unrolled (``long_runs.compile_hashing``), under
  ``jax.enable_x64`` as ``minibatch.keyed_permutations`` does (its sort words are uint64)."""
  begin = time.perf_counter()
  with jax.enable_x64(True):
    compiled = long_runs.compile_hashing(minibatch.keyed_permutations_jit, key,
                                         num_epochs=int(num_epochs), m=int(m))
  compile_s = time.perf_counter() - begin
  begin = time.perf_counter()
  table = jax.block_until_ready(compiled(key))
  return table, compile_s, time.perf_counter() - begin


class _EpochPrograms:
  """Compiled mini-batch programs by chunk length in epochs; the ``TrainState`` carries
  its own position, so ``start`` is implied."""

  def __init__(self, X, Y, permutations, static, record_every, compiler_options=None):
    self.X, self.Y, self.permutations = X, Y, permutations
    self.static, self.record_every = static, record_every
    # ``cli.elementwise_compiler_options``: where the optimizer's elementwise update is
    # a large part of each step.
    self.compiler_options = dict(compiler_options or {})
    self.compiled, self.compile_s = {}, 0.0

  def run(self, state, start, length):
    del start
    if length not in self.compiled:
      begin = time.perf_counter()
      self.compiled[length] = minibatch.train_epochs_jit.lower(
          state, self.X, self.Y, self.permutations, **self.static,
          num_epochs=length).compile(self.compiler_options)
      self.compile_s += time.perf_counter() - begin
    state, costs = self.compiled[length](state, self.X, self.Y, self.permutations)
    # Sliced on the host: an eager slice on the device compiles a program per shape.
    return train.TrainResult(state, np.asarray(costs)[::self.record_every])


# -- resume fingerprints and the NaN stop -------------------------------------------


def _key_list(key):
  if key is None:
    return None
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    key = jax.random.key_data(key)
  return np.asarray(key).tolist()


def _fingerprint(config, X, Y, static, dynamic):
  """What must not change between a checkpoint and its resume (JSON-able): every config
  field, the architecture, the dtype, the keys and a digest of the data."""
  arch = static["arch"]
  fields = {f"config.{k}": v for k, v in json.loads(json.dumps(config.to_dict())).items()}
  return {
      **fields,
      "layer_dims": list(arch.layer_dims), "activations": list(arch.activations),
      "num_iterations": static["num_iterations"], "record_every": static["record_every"],
      "method": static["method"], "dropout_layers": list(static["dropout_layers"]),
      "lambd": float(dynamic["lambd"]), "keep_prob": float(dynamic["keep_prob"]),
      "dtype": jnp.dtype(X.dtype).name, "fixed_masks": dynamic["fixed_masks"] is not None,
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
        + "; ".join(changed) + "); use another --workdir or pass --overwrite")


def _until_nonfinite(its, costs):
  bad = np.flatnonzero(~np.isfinite(costs))
  end = bad[0] + 1 if bad.size else len(costs)
  return its[:end], costs[:end]


@jax.jit
def _all_finite(params):
  """Whether every entry of every leaf is finite, as one program per params structure
  (op by op it compiled isfinite and all once per leaf shape: 12 programs, ~0.13 s, for
  C2W2's six leaves)."""
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(p)) for p in jax.tree.leaves(params)]))


def _params_finite(params):
  return not jax.tree.leaves(params) or bool(_all_finite(params))


def _check_finite(index, learning_rate, record_every, its, costs, params, first, last,
                  saved_step, checkpoint_dir):
  """Raises TrainingDiverged naming the first recorded non-finite cost, or the span of
  iterations in which the parameters went non-finite."""
  kept = (f"the last good checkpoint is step {saved_step} in {checkpoint_dir}"
          if saved_step is not None else "no checkpoint was kept (checkpointing is off "
          "or none was written yet)")
  bad = np.flatnonzero(~np.isfinite(costs))
  if bad.size:
    what = (f"the cost became {costs[bad[0]]} at iteration {its[bad[0]]} (costs are "
            f"recorded every {record_every} iterations)")
  elif not _params_finite(params):
    what = f"the parameters became NaN/inf between iteration {first} and {last}"
  else:
    return
  rate = "" if learning_rate is None else f", learning_rate {learning_rate:g}"
  raise TrainingDiverged(f"training stopped (fit {index}{rate}): {what}; {kept}")

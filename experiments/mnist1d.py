"""MNIST-1D: the published baselines reproduced, then the course's toolbox and batch norm.

Softmax regression (a [40, 10] dense net) and an MLP ([40, 100, 100, 10] ReLU) trained
with the benchmark's recipe: hand-written Adam (``dlcourse.optim.adam``) at 1e-2 on
mini-batches of 100 taken in order (epoch after epoch, batch t = columns [tB, (t+1)B)),
200 epochs = 8000 updates, cross-entropy, this project's hand-derived backward (``dense``
/ ``bn_dense``, whose grad functions are handed to the shared loop ``dlcourse.loop``).

Every run trains ``num_seeds`` models in one compiled program (``jax.vmap`` over seeds,
and in a search over learning rate, lambda, keep_prob and hidden width) whose body is
a ``lax.scan`` over blocks of ``record_every`` epochs of ``loop.run``, with an eval-mode
accuracy after each block. The width varies by *masking* a max-width net: the hidden
units beyond model k's width start with zero incoming weights (and zero b), their
outgoing weights are zero, and the kept outgoing weights are rescaled to the narrow
net's fan-in. A zero unit has Z = 0 (batch norm: Z = 0, mu = sigma2 = 0, Z_tilde = beta
= 0), so ReLU gives A = 0 and g'(0) = 0: every gradient of those weights is exactly 0
and Adam, L2 and dropout keep them at 0. The masked net therefore *is* the narrow net,
at the cost of wider arithmetic. A search groups its models into ``SEARCH_BUCKETS``
width buckets (max_width, max_width / 2, max_width / 4: each model in the narrowest that
holds it), one program per bucket: a 256-wide step costs 7x a 64-wide one, and one
program per width would compile ~2 s per width.

Data: ``dlcourse.mnist1d`` generates the arrays; this app caches them under
``env.cache_dir`` (npz written to a temp file and renamed into place) with their
SHA-256, reuses the cache when its checksum holds, and says so loudly when the package
builds something whose checksum differs from the recorded one (config.expected_checksum).
"""
import dataclasses
import functools
import math
import pathlib
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcourse import batchnorm as bn
from dlcourse import draws, initializers, loop, mnist1d, optim, plots, schedules, sweep, validation
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError
from dlcourse.models import bn_dense, dense
from experiments import runner
from experiments.runner import datacache
from experiments.configs import mnist1d as mnist1d_config

NAME = "mnist1d"
MODELS = ("mlp", "logistic")
INITS = ("benchmark", "he")
LR_DECAYS = ("none", "exponential")
COURSE_OPTIMIZERS = {"gd": optim.gd, "momentum": optim.momentum, "rmsprop": optim.rmsprop,
                     "adam": optim.adam}


# --- data: generate once, cache with a checksum ------------------------------------------

def cache_path(cache_dir, data_seed):
  return pathlib.Path(cache_dir) / f"mnist1d_seed{int(data_seed)}.npz"


def write_cache(path, arrays, warn=None):
  """Writes the arrays and ``mnist1d.checksum`` of them atomically (``datacache.store``:
  a temporary file, then a rename; ``warn``: told in one line when it cannot)."""
  datacache.store(path, arrays, "mnist1d", warn, "checksum", mnist1d.checksum)


def read_cache(path):
  """The cached arrays, or None (with the reason) when unreadable or not what it says."""
  return datacache.read_checked(path, "checksum", mnist1d.checksum, mnist1d.ARRAY_NAMES)


def load_data(config, env):
  """(arrays, info): the cache when it holds the expected data, else the generator.

  info: {"source": "cache" | "generated", "checksum", "expected_checksum",
  "matches_expected", "note"}; warnings go to ``env.warn``.
  """
  expected = config.expected_checksum
  path = None if env.cache_dir is None else cache_path(env.cache_dir, config.data_seed)
  note = ""
  if path is not None and path.exists():
    arrays, problem = read_cache(path)
    if arrays is not None and mnist1d.checksum(arrays) == expected:
      mnist1d.validate(arrays)
      return arrays, _info("cache", arrays, expected, f"read {path}")
    note = (f"cached {path} {problem}; regenerating" if problem else
            f"cached {path} has checksum {mnist1d.checksum(arrays)}, not the recorded "
            f"{expected}; regenerating")
    env.warn(f"mnist1d: {note}")
  arrays = mnist1d.generate(config.data_seed)
  digest = mnist1d.checksum(arrays)
  if digest != expected:
    changed = (f"the mnist1d package's generator output CHANGED: checksum {digest}, "
               f"recorded {expected}; results are not comparable with the published "
               "table")
    env.warn(f"mnist1d: WARNING: {changed}")
    note = f"{note}; {changed}" if note else changed
  if path is not None:
    write_cache(path, arrays, env.warn)
  return arrays, _info("generated", arrays, expected, note)


def _info(source, arrays, expected, note):
  digest = mnist1d.checksum(arrays)
  return {"source": source, "checksum": digest, "expected_checksum": expected,
          "matches_expected": digest == expected, "note": note}


# --- what one run trains -------------------------------------------------------------------

class Spec(NamedTuple):
  """Everything static about a run (hashable: a jit static argument)."""
  arch: dense.Architecture
  batchnorm: bool
  init: str
  dropout: bool
  optimizer: str
  batch_size: int
  num_epochs: int
  record_every: int       # epochs per block (a cost record and an eval after each)
  shuffle: bool
  method: str
  bn_epsilon: float
  bn_momentum: float
  masked_width: bool      # hidden widths vary per model (search): mask a max-width net


class Hypers(NamedTuple):
  """Per-model values (traced; vmapped over a leading model axis)."""
  seed: jax.Array
  learning_rate: jax.Array
  lambd: jax.Array
  keep_prob: jax.Array
  width: jax.Array
  log_decay_base: jax.Array   # log of the learning rate's decay per epoch; 0: no decay


def architecture(config):
  if config.model not in MODELS:
    raise ConfigError(f"model must be one of {MODELS}, got {config.model!r}")
  if config.model == "logistic":
    return dense.Architecture((mnist1d.NUM_FEATURES, mnist1d.NUM_CLASSES), ("softmax",))
  dims = tuple(int(n) for n in config.hidden_dims)
  if not dims:
    raise ConfigError("the mlp needs hidden_dims, e.g. (100, 100)")
  return dense.Architecture.make((mnist1d.NUM_FEATURES,) + dims + (mnist1d.NUM_CLASSES,),
                                 hidden="relu", output="softmax")


def make_spec(config, arch, num_epochs, m, *, masked_width=False):
  """The static part of a run; checks every hyperparameter before anything compiles."""
  validation.learning_rate(config.learning_rate)
  batch_size = validation.positive_int("batch_size", config.batch_size)
  if m % batch_size:
    raise ConfigError(f"batch_size {batch_size} must divide the m = {m} training examples "
                      "(in-order batches cycle through them)")
  validation.positive_int("record_every", config.record_every)
  validation.positive_int("num_seeds", config.num_seeds)
  num_epochs = validation.positive_int("num_epochs", num_epochs)
  if config.init not in INITS:
    raise ConfigError(f"init must be one of {INITS}, got {config.init!r}")
  if config.lr_decay not in LR_DECAYS:
    raise ConfigError(f"lr_decay must be one of {LR_DECAYS}, got {config.lr_decay!r}")
  if config.method not in ("manual", "autodiff"):
    raise ConfigError(f"method must be 'manual' or 'autodiff', got {config.method!r}")
  reg.check_lambd(config.lambd)
  hidden = arch.num_layers > 1
  if config.batchnorm and not hidden:
    raise ConfigError("batch norm needs hidden layers (model='mlp')")
  dropout = float(config.keep_prob) < 1.0 or masked_width
  if float(config.keep_prob) < 1.0:
    if not hidden:
      raise ConfigError("dropout needs hidden layers (model='mlp')")
    reg.check_dropout(config.keep_prob, range(1, arch.num_layers), arch.num_layers)
  if config.batchnorm:
    bn.check_epsilon(config.bn_epsilon)
    bn.check_momentum(config.bn_momentum)
  make_optimizer(config.optimizer, 0.01)   # refuses an unknown optimizer name now
  log_decay_base(config)   # refuses a bad decay_base now
  return Spec(arch, bool(config.batchnorm), config.init, dropout, config.optimizer,
              batch_size, num_epochs,
              int(config.record_every), bool(config.shuffle), config.method,
              float(config.bn_epsilon), float(config.bn_momentum), bool(masked_width))


def make_optimizer(name, learning_rate):
  """The course's hand-written optimizers by name, or any optax alias as 'optax:<name>'
  (called as ``optax.<name>(learning_rate)``)."""
  if name in COURSE_OPTIMIZERS:
    return COURSE_OPTIMIZERS[name](learning_rate)
  if name.startswith("optax:") and callable(getattr(optax, name[6:], None)):
    return getattr(optax, name[6:])(learning_rate)
  raise ConfigError(f"optimizer must be one of {tuple(COURSE_OPTIMIZERS)} or "
                    f"'optax:<name>' (e.g. optax:adamw), got {name!r}")


def log_decay_base(config):
  """``Hypers.log_decay_base`` of the config: log(decay_base) for lr_decay='exponential'
  (decay_base in (0, 1], as ``schedules.exponential_decay`` needs), 0 for none."""
  if config.lr_decay == "none":
    return 0.0
  base = validation.real_scalar("decay_base", config.decay_base)
  if not 0 < base <= 1:
    raise ConfigError(f"decay_base must lie in (0, 1], got {base!r}")
  return math.log(base)


def benchmark_init(key, layer_dims, dtype):
  """PyTorch's nn.Linear default, the benchmark's init: W, b ~ U(-1/sqrt(n_in), 1/sqrt(n_in)),
  one key per array (W1, b1, W2, ...), hashed together (``draws.stacked``)."""
  shapes, bounds = [], []
  for l in range(1, len(layer_dims)):
    bound = 1.0 / math.sqrt(layer_dims[l - 1])
    shapes += [(layer_dims[l], layer_dims[l - 1]), (layer_dims[l], 1)]
    bounds += [bound, bound]
  drawn = draws.stacked(lambda k, shape, bound: jax.random.uniform(k, shape, dtype, -bound, bound),
                        jax.random.split(key, len(shapes)), shapes, bounds)
  return {f"{name}{l}": drawn[2 * l - 2 + i] for l in range(1, len(layer_dims))
          for i, name in enumerate(("W", "b"))}


def mask_width(params, arch, width):
  """The narrow net of ``width`` hidden units per layer inside the max-width net: rows
  beyond ``width`` of W^[l], b^[l] (l < L) and the matching columns of W^[l+1] are
  zeroed; kept columns (and b^[l+1]) are rescaled by sqrt(n_l / width), the fan-in
  factor of both inits (He: sqrt(2 / n_in); benchmark: 1 / sqrt(n_in))."""
  params = dict(params)
  for l in range(1, arch.num_layers):
    n_l = arch.layer_dims[l]
    keep = (jnp.arange(n_l) < width)[:, None]
    params[f"W{l}"] = jnp.where(keep, params[f"W{l}"], 0)
    params[f"b{l}"] = jnp.where(keep, params[f"b{l}"], 0)
    factor = jnp.sqrt(n_l / width).astype(params[f"W{l + 1}"].dtype)
    params[f"W{l + 1}"] = jnp.where(keep.T, params[f"W{l + 1}"] * factor, 0)
    # b^[l+1] shares W^[l+1]'s fan-in bound (benchmark init; He's b is 0); its rows
    # beyond the width are zeroed by the next iteration.
    params[f"b{l + 1}"] = params[f"b{l + 1}"] * factor
  return params


def init_model(spec, seed, width, dtype):
  """(params, model_state) of one model: {} state for a plain net, the running
  averages for a batch-norm net."""
  key = jax.random.fold_in(jax.random.key(0), seed)
  dims = spec.arch.layer_dims
  if spec.init == "he":
    params = initializers.initialize(key, dims, "he", dtype=dtype)
  else:
    params = benchmark_init(key, dims, dtype)
  if spec.masked_width:
    params = mask_width(params, spec.arch, width)
  if spec.batchnorm:
    return bn_dense.from_dense_params(params, spec.arch), bn_dense.init_state(spec.arch, dtype)
  return params, {}


@dataclasses.dataclass(frozen=True, eq=False)
class GradFn:
  """``grad_fn(params, model_state, X_batch, Y_batch, key) -> (J, grads,
  new_model_state)``: the hand-derived (or autodiff) gradients of the batch cost with
  fresh dropout masks on every hidden layer, drawn from the step's key (``draw``; the
  loop draws each step's masks a step ahead and passes them back as ``noise``)."""
  spec: Spec
  lambd: jax.Array
  keep_prob: jax.Array

  def draw(self, key, m):
    """The step's masks {l: D^[l] (n_l, m)}, or None without dropout."""
    if not self.spec.dropout:
      return None
    hidden = tuple(range(1, self.spec.arch.num_layers))
    return reg.dropout_masks(key, self.spec.arch.layer_dims, hidden, self.keep_prob, m)

  def __call__(self, params, state, X, Y, key, noise=None):
    spec = self.spec
    masks = self.draw(key, X.shape[1]) if noise is None else noise
    dropout = None if masks is None else reg.Dropout(masks, self.keep_prob)
    if spec.batchnorm:
      return bn_dense.cost_and_grads(params, state, X, Y, spec.arch, self.lambd, dropout,
                                     spec.method, spec.bn_epsilon, spec.bn_momentum)
    J, grads = dense.cost_and_grads(params, X, Y, spec.arch, self.lambd, dropout,
                                    spec.method)
    return J, grads, state


def make_grad_fn(spec, lambd, keep_prob):
  """The batch gradients of one model (``GradFn``)."""
  return GradFn(spec, lambd, keep_prob)


def model_accuracy(spec, params, state, X, Y):
  """Eval-mode accuracy (batch norm with its running averages)."""
  if spec.batchnorm:
    return bn_dense.accuracy(params, state, X, Y, spec.arch, spec.bn_epsilon)
  return dense.accuracy(params, X, Y, spec.arch)


class Trained(NamedTuple):
  params: dict
  state: dict
  costs: jax.Array        # (num_records,) epoch cost of epochs 0, r, 2r, ...
  curves: jax.Array       # (num_full_blocks, num_eval_sets): accuracy after each block
  final: jax.Array        # (num_eval_sets,) accuracy after the last epoch


class InitSpec(NamedTuple):
  """The part of a Spec that initialization reads (``init_model``): rows that differ
  only in training share their init program."""
  arch: dense.Architecture
  init: str
  masked_width: bool
  batchnorm: bool


def init_spec(spec):
  return InitSpec(spec.arch, spec.init, spec.masked_width, spec.batchnorm)


class Start(NamedTuple):
  """What one model starts from (``init_models``): params, model state and its keys."""
  params: dict
  state: dict
  shuffle_key: jax.Array
  dropout_key: jax.Array


def init_one(hypers, *, spec, dtype):
  """One model's Start: init from ``hypers.seed`` (``init_model``), and its shuffle and
  dropout keys. Vmappable over ``hypers``."""
  params, state = init_model(spec, hypers.seed, hypers.width, dtype)
  shuffle_key, dropout_key = jax.random.split(
      jax.random.fold_in(jax.random.key(1), hypers.seed))
  return Start(params, state, shuffle_key, dropout_key)


@functools.partial(jax.jit, static_argnames=("spec", "dtype"))
def init_models(hypers, *, spec, dtype):
  """K models' Starts (a leading axis on every ``hypers`` field) in one compiled program;
  ``spec``: a Spec or its ``init_spec``.

  A program of its own, apart from training: it runs once, so it keeps the default
  compiler options where training takes the slower-to-compile ones
  (``runner.long_run_compiler_options``), and rows that share the architecture and the
  init share it (the seeds are its input). Its random draws (a rolled loop per draw on
  the CPU) took ~0.8 of the ~1.9 s that XLA spent on the MLP's training program when it
  was part of it.
  The same values to the bit (tests/test_mnist1d.py)."""
  return jax.vmap(lambda h: init_one(h, spec=spec, dtype=dtype))(hypers)


def train_one(hypers, start, X, Y, eval_sets, *, spec):
  """One model from its ``start``: ``spec.num_epochs`` epochs of the shared loop
  (``dlcourse.loop.run``: one optimizer step per mini-batch, batches in column order, or
  reshuffled each epoch with spec.shuffle), in blocks of ``record_every`` epochs with an
  eval-mode accuracy on each eval set after every block (a ``lax.scan`` over the
  blocks). Vmappable over ``hypers`` and ``start``."""
  steps_per_epoch = X.shape[1] // spec.batch_size
  # Both numbers traced: a row with decay and one without share one program.
  tx = make_optimizer(spec.optimizer, schedules.exponential_decay_of_log(
      hypers.learning_rate, hypers.log_decay_base, steps_per_epoch))
  grad_fn = make_grad_fn(spec, hypers.lambd, hypers.keep_prob)
  batching = (loop.Epochs(spec.batch_size, key=start.shuffle_key) if spec.shuffle
              else loop.InOrder(spec.batch_size))

  def epochs(train_state, n):
    return loop.run(train_state, X, Y, grad_fn=grad_fn, optimizer=tx, num_iterations=n,
                    record_every=n, batching=batching)

  def evaluate(train_state):
    return jnp.stack([model_accuracy(spec, train_state.params, train_state.model_state,
                                     Xe, Ye) for Xe, Ye in eval_sets])

  def block(train_state, _):
    train_state, costs = epochs(train_state, spec.record_every)
    return train_state, (costs[0], evaluate(train_state))

  train_state = loop.init_state(start.params, tx, key=start.dropout_key,
                                model_state=start.state)
  num_blocks, rest = divmod(spec.num_epochs, spec.record_every)
  train_state, (costs, curves) = jax.lax.scan(block, train_state, None, length=num_blocks)
  if rest:
    train_state, last = epochs(train_state, rest)
    costs = jnp.concatenate([costs, last[:1]])
    final = evaluate(train_state)
  else:   # the last block ended at the last epoch: its evaluation is the final one
    final = curves[-1]
  return Trained(train_state.params, train_state.model_state, costs, curves, final)


@functools.partial(jax.jit, static_argnames=("spec",))
def train_models(hypers, start, X, Y, eval_sets, *, spec):
  """K models (a leading axis on every ``hypers`` and ``start`` field) in one compiled
  program."""
  return jax.vmap(lambda h, s: train_one(h, s, X, Y, eval_sets, spec=spec))(hypers, start)


def training_flops(spec, num_models, m):
  """The training's arithmetic, about: 6 FLOPs per weight per example (the forward's
  product and the backward's two) over every epoch of every model."""
  dims = spec.arch.layer_dims
  weights = sum(dims[l] * dims[l - 1] for l in range(1, len(dims)))
  return 6.0 * weights * m * spec.num_epochs * num_models


class Timings(NamedTuple):
  """Seconds of one ``run_models``, per program: ``init_s`` the initialization
  program's first call (its compile, then its run of ~1 ms), ``compile_s`` the training
  program's lowering and compile, ``train_s`` the training program's run."""
  init_s: float
  compile_s: float
  train_s: float


def run_models(spec, hypers, X, Y, eval_sets, dtype):
  """Initializes, compiles (timed apart), trains and returns (Trained as NumPy,
  Timings)."""
  X, Y = jnp.asarray(X, dtype), jnp.asarray(Y, dtype)
  eval_sets = tuple((jnp.asarray(Xe, dtype), jnp.asarray(Ye, dtype)) for Xe, Ye in eval_sets)
  hypers = Hypers(jnp.asarray(hypers.seed, jnp.int32), jnp.asarray(hypers.learning_rate, dtype),
                  jnp.asarray(hypers.lambd, dtype), jnp.asarray(hypers.keep_prob, dtype),
                  jnp.asarray(hypers.width, jnp.int32), jnp.asarray(hypers.log_decay_base, dtype))
  start_s = time.perf_counter()
  start = jax.block_until_ready(init_models(hypers, spec=init_spec(spec),
                                            dtype=np.dtype(dtype).name))
  init_s = time.perf_counter() - start_s
  start_s = time.perf_counter()
  # Training programs of more than a few seconds are compiled for speed (runner.long_runs).
  compiled = runner.compile_long_run(train_models, hypers, start, X, Y, eval_sets, spec=spec,
                                     flops=training_flops(spec, len(hypers.seed), X.shape[1]))
  compile_s = time.perf_counter() - start_s
  start_s = time.perf_counter()
  trained = jax.block_until_ready(compiled(hypers, start, X, Y, eval_sets))
  train_s = time.perf_counter() - start_s
  return jax.tree.map(np.asarray, trained), Timings(init_s, compile_s, train_s)


def seed_hypers(config, num_seeds, width):
  """num_seeds models differing only in their seed (init, dropout masks, shuffles)."""
  k = int(num_seeds)
  full = lambda v: np.full(k, v)
  return Hypers(config.seed + np.arange(k), full(config.learning_rate), full(config.lambd),
                full(config.keep_prob), full(width), full(log_decay_base(config)))


def recorded_epochs(num_epochs, record_every):
  return list(range(0, num_epochs, record_every))


def summary(values):
  """{"mean", "std", "values"} of per-seed fractions (std: population, ddof=0)."""
  values = np.asarray(values, np.float64)
  return {"mean": float(values.mean()), "std": float(values.std()),
          "values": [float(v) for v in values]}


# --- one configuration over seeds ----------------------------------------------------------

def train_config(config, arrays):
  """Trains config over num_seeds seeds on the 4000 training examples; evaluates on
  train and test. Returns a dict of per-seed results and timings."""
  arch = architecture(config)
  X, Y = arrays["train_x"], arrays["train_y"]
  spec = make_spec(config, arch, config.num_epochs, X.shape[1])
  widths = arch.layer_dims[1] if arch.num_layers > 1 else 0
  hypers = seed_hypers(config, config.num_seeds, widths)
  trained, timings = run_models(
      spec, hypers, X, Y, ((X, Y), (arrays["test_x"], arrays["test_y"])),
      runner.float_dtype(config))
  return {"spec": spec, "trained": trained, "timings": timings,
          "compile_s": timings.init_s + timings.compile_s, "train_s": timings.train_s,
          "train": summary(trained.final[:, 0]), "test": summary(trained.final[:, 1])}


# --- random search on a dev split ----------------------------------------------------------

def search_hypers(config):
  """The search's K configurations: lr = 10^r, lambda = 10^s (``sweep.random_search``),
  keep_prob ~ U[range], width = round(10^w), w ~ U[log10 range] (``sweep.log_uniform``);
  every model starts from seed config.seed."""
  drawn = sweep.random_search(
      int(config.search_num), seed=int(config.search_seed),
      learning_rate_log10=tuple(config.learning_rate_log10),
      lambd_log10=tuple(config.lambd_log10), keep_prob_range=tuple(config.keep_prob_range),
      init_seed=int(config.seed))
  low, high = (int(w) for w in config.width_range)
  if not 1 <= low <= high:
    raise ConfigError(f"width_range must be (low, high) with 1 <= low <= high, got "
                      f"{tuple(config.width_range)}")
  rng = np.random.RandomState(int(config.search_seed) + 1)
  widths = np.clip(np.rint(sweep.log_uniform(rng, (math.log10(low), math.log10(high)),
                                             drawn.num_models)), low, high).astype(np.int64)
  return Hypers(drawn.seed, drawn.learning_rate, drawn.lambd, drawn.keep_prob, widths,
                np.full(drawn.num_models, log_decay_base(config)))


SEARCH_BUCKETS = 3


def width_buckets(widths, max_width, levels=SEARCH_BUCKETS):
  """Each model's bucket: the narrowest of max_width, max_width // 2, ...,
  max_width // 2^(levels - 1) that holds its width (a masked net of that width)."""
  widths = np.asarray(widths)
  buckets = np.full(widths.shape, int(max_width))
  for k in range(1, int(levels)):
    narrower = int(max_width) // 2 ** k
    buckets = np.where(widths <= narrower, narrower, buckets)
  return buckets


def search_models(config, hypers, X_tr, Y_tr, X_dev, Y_dev):
  """Trains the search's models, one program per width bucket (``width_buckets``) of
  masked nets, on the training part. Returns (final (K, 2) train/dev accuracies in the
  models' order, {bucket width: Timings})."""
  search_config = config.copy_and_resolve_references()
  search_config.model = "mlp"
  buckets = width_buckets(hypers.width, int(config.width_range[1]))
  final, timings = np.zeros((len(buckets), 2)), {}
  for width in sorted(set(buckets.tolist())):
    models = np.flatnonzero(buckets == width)
    search_config.hidden_dims = (width,) * max(1, len(config.hidden_dims))
    arch = architecture(search_config)
    spec = make_spec(search_config, arch, config.search_num_epochs, X_tr.shape[1],
                     masked_width=True)
    trained, timings[width] = run_models(
        spec, Hypers(*(np.asarray(field)[models] for field in hypers)), X_tr, Y_tr,
        ((X_tr, Y_tr), (X_dev, Y_dev)), runner.float_dtype(config))
    final[models] = trained.final
  return final, timings


def run_search(config, arrays):
  """Random search (dev split of the training set) and the best row retrained over
  num_seeds seeds on all 4000 training examples, scored on the test set."""
  X_tr, Y_tr, X_dev, Y_dev = mnist1d.dev_split(arrays["train_x"], arrays["train_y"],
                                               config.num_dev)
  hypers = search_hypers(config)
  final, bucket_timings = search_models(config, hypers, X_tr, Y_tr, X_dev, Y_dev)
  table = []
  for k in range(len(hypers.seed)):
    table.append({"model": k, "learning_rate": float(hypers.learning_rate[k]),
                  "lambd": float(hypers.lambd[k]), "keep_prob": float(hypers.keep_prob[k]),
                  "width": int(hypers.width[k]),
                  "train_accuracy": float(final[k, 0]),
                  "dev_accuracy": float(final[k, 1])})
  table.sort(key=lambda r: (-r["dev_accuracy"], -r["train_accuracy"], r["model"]))
  best = table[0]
  retrain = config.copy_and_resolve_references()
  retrain.model = "mlp"
  retrain.search = False
  retrain.learning_rate, retrain.lambd = best["learning_rate"], best["lambd"]
  retrain.keep_prob = best["keep_prob"]
  retrain.hidden_dims = (best["width"],) * max(1, len(config.hidden_dims))
  seeds = train_config(retrain, arrays)
  return {"table": table, "best": best, "dev_split": {"train": X_tr.shape[1],
                                                      "dev": X_dev.shape[1]},
          "search_timings": bucket_timings, "seeds": seeds}


# --- the app -------------------------------------------------------------------------------

def tool_config(config, name):
  """config with the overrides of one toolbox row applied."""
  c = config.copy_and_resolve_references()
  c.toolbox = False
  if name == "logistic":
    c.model, c.hidden_dims = "logistic", ()
  elif name in mnist1d_config.TOOLS:
    c.update(mnist1d_config.TOOLS[name])
  return c


TOOLBOX_ROWS = ("logistic", "mlp", "he", "l2", "dropout", "decay", "batchnorm", "all")


def _row_metrics(result, config):
  return {"train": result["train"], "test": result["test"],
          "compile_s": result["compile_s"], "train_s": result["train_s"],
          "settings": {k: config[k] for k in ("model", "init", "batchnorm", "lambd",
                                              "keep_prob", "lr_decay", "learning_rate")}}


def _run_toolbox(config, arrays):
  """Every toolbox row (TOOLBOX_ROWS, then the search): (main row, metrics, costs,
  timings, figures); the main row is "all tools"."""
  rows, timings = {}, {"compile_s": 0.0, "train_s": 0.0}
  for name in TOOLBOX_ROWS:
    c = tool_config(config, name)
    result = train_config(c, arrays)
    rows[name] = _row_metrics(result, c)
    timings["compile_s"] += result["compile_s"]
    timings["train_s"] += result["train_s"]
  # The search tunes the all-tools model, as the "search" variant does.
  searched = run_search(tool_config(config, "all"), arrays)
  rows["search"] = _row_metrics(searched["seeds"], tool_config(config, "all"))
  rows["search"]["best"] = searched["best"]
  for times in searched["search_timings"].values():
    timings["compile_s"] += times.init_s + times.compile_s
    timings["train_s"] += times.train_s
  timings["compile_s"] += searched["seeds"]["compile_s"]
  timings["train_s"] += searched["seeds"]["train_s"]
  metrics = {"toolbox": rows, "search_table": searched["table"][:10],
             "dev_split": searched["dev_split"]}
  return rows["all"], metrics, [], timings, {"search.png": _search_figure(searched)}


def _staged_timings(**stages):
  """``runner.stage_timings`` of a run in stages ({stage: Timings}): per stage its two
  programs, "<stage>_init" (compiled, its ~1 ms run counted in) and "<stage>"."""
  programs = {}
  for stage, times in stages.items():
    programs[f"{stage}_init"] = (times.init_s, None)
    programs[stage] = (times.compile_s, times.train_s)
  return runner.stage_timings(programs)


def _run_search(config, arrays):
  """The search variant: (main row, metrics, costs, timings, figures)."""
  searched = run_search(config, arrays)
  main = _row_metrics(searched["seeds"], config)
  metrics = {"best": searched["best"], "search_table": searched["table"],
             "dev_split": searched["dev_split"], "seeds": main}
  # One stage per training: each width bucket's search, then the retraining.
  timings = _staged_timings(**{f"search{width}": times
                               for width, times in searched["search_timings"].items()},
                            retrain=searched["seeds"]["timings"])
  return main, metrics, _mean_costs(searched["seeds"]), timings, {
      "search.png": _search_figure(searched)}


def _run_one(config, arrays):
  """One configuration over its seeds: (main row, metrics, costs, timings, figures)."""
  result = train_config(config, arrays)
  main = _row_metrics(result, config)
  metrics = {"seeds": main, "test_curve": _curve(result, 1), "train_curve": _curve(result, 0)}
  costs = _mean_costs(result)
  figure = plots.cost_curve(
      costs, title=f"MNIST-1D {config.model}: mini-batch cost (mean of seeds)",
      learning_rate=config.learning_rate, xlabel="epoch")
  return main, metrics, costs, _staged_timings(seeds=result["timings"]), {"cost.png": figure}


def _search_figure(searched):
  return plots.accuracy_vs_learning_rate(
      searched["table"], title="MNIST-1D random search: train / dev accuracy")


def run(config, env):
  """(record, figures): trains the configured model(s); writes nothing itself (the data
  cache under env.cache_dir aside)."""
  arrays, data_info = load_data(config, env)
  run_variant = _run_toolbox if config.toolbox else _run_search if config.search \
      else _run_one
  with runner.precision(config):
    main, metrics, costs, timings, figures = run_variant(config, arrays)
  metrics.update(data=data_info, published_test=mnist1d_config.PUBLISHED)
  key = "logistic" if config.model == "logistic" and not (config.toolbox or config.search) \
      else "mlp"
  published = mnist1d_config.PUBLISHED[key]
  metrics["published_vs_ours"] = {
      "published_test_percent": published,
      "ours_test_percent": 100 * main["test"]["mean"],
      "difference_points": 100 * main["test"]["mean"] - published}
  record = runner.result(config, costs=costs, train_accuracy=main["train"]["mean"],
                         test_accuracy=main["test"]["mean"], timings=timings,
                         cost_unit="epoch", metrics=metrics)
  return record, figures


def _mean_costs(result):
  spec = result["spec"]
  costs = np.asarray(result["trained"].costs, np.float64).mean(axis=0)
  epochs = recorded_epochs(spec.num_epochs, spec.record_every)
  return [[e, float(c)] for e, c in zip(epochs, costs) if np.isfinite(c)]


def _curve(result, which):
  """[[epochs done, mean accuracy over seeds], ...] after each block of record_every."""
  curves = np.asarray(result["trained"].curves)[:, :, which].mean(axis=0)
  r = result["spec"].record_every
  return [[(i + 1) * r, float(a)] for i, a in enumerate(curves)]


def _pm(s):
  return f"{100 * s['mean']:.2f} ± {100 * s['std']:.2f}"


_LABELS = {"mlp": "MLP baseline", "logistic": "logistic regression",
           "all": "all tools (He, L2, dropout, decay, batch norm)",
           "search": "random search, best retrained"}


def _toolbox_table(rows, published, best=None, dev_split=None):
  """Markdown: one line per configuration {name: {"train", "test"} summaries}."""
  lines = ["| configuration | published test % | train % (mean ± std) | "
           "test % (mean ± std) | test - published (points) |",
           "| --- | --- | --- | --- | --- |"]
  for name, row in rows.items():
    pub = published["logistic"] if name == "logistic" else published["mlp"]
    lines.append(f"| {_LABELS.get(name, f'MLP + {name}')} | {pub:.0f} | {_pm(row['train'])} "
                 f"| {_pm(row['test'])} | {100 * row['test']['mean'] - pub:+.2f} |")
  if best is not None:
    lines += ["", f"Search best (dev {100 * best['dev_accuracy']:.2f} %): lr "
              f"{best['learning_rate']:.3g}, lambda {best['lambd']:.3g}, keep_prob "
              f"{best['keep_prob']:.2f}, width {best['width']}; dev split "
              f"{dev_split['train']} train / {dev_split['dev']} dev columns of the 4000 "
              "training examples."]
  return "\n".join(lines)


def report_summary(records):
  """The report's MNIST-1D section from its rows' records ({row id: record}, the rows
  of configs/mnist1d.py's REPORT, each run on its own): the toolbox table."""
  rows, best, dev_split, published = {}, None, None, mnist1d_config.PUBLISHED
  for row_id, record in records.items():
    name = row_id.removeprefix("mnist1d_")
    m = record["metrics"]
    rows[name] = m["seeds"]
    if "best" in m:
      best, dev_split = m["best"], m["dev_split"]
  if not rows:
    return ""
  return "\n".join([f"Test accuracy over {records[next(iter(records))]['config']['num_seeds']}"
                    " seeds per configuration, each trained in one vmapped program:", "",
                    _toolbox_table(rows, published, best, dev_split)])


def report_markdown(record):
  """The reproduction line (published / ours / difference) or the toolbox table."""
  m = record["metrics"]
  if "toolbox" in m:
    best = m["toolbox"]["search"]["best"]
    return _toolbox_table(m["toolbox"], m["published_test"], best, m["dev_split"])
  p = m["published_vs_ours"]
  seeds = m.get("seeds", {})
  spread = f" (± {100 * seeds['test']['std']:.2f} over seeds)" if seeds else ""
  return (f"| published test % | ours test % | difference (points) |\n| --- | --- | --- |\n"
          f"| {p['published_test_percent']:.0f} | {p['ours_test_percent']:.2f}{spread} | "
          f"{p['difference_points']:+.2f} |")


if __name__ == "__main__":
  runner.launch(NAME, run)

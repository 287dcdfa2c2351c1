"""Hyperparameter sweeps: K models trained at once, in one compiled program (C2W3).

The course tunes hyperparameters by training many models and keeping the one with
the best dev-set accuracy, sampling at random rather than on a grid, and on a log
scale for scale-like parameters:

    r ~ Uniform[a, b],   learning_rate = 10^r          (so 1e-4..1e-3 gets as many
                                                        points as 1e-1..1)

Here the K models of a sweep are one program: ``jax.vmap`` of the library's own
trainer (``dlcourse.train.train_gd``, or an optax optimizer from ``dlcourse.optim``)
over a leading model axis of the parameters and of the swept hyperparameters
(learning rate, L2 lambda, dropout keep_prob, initial seed).

Shapes (K models, layer l has n_l units, X is (n_x, m) and shared by every model):

    params[f"W{l}"]: (K, n_l, n_{l-1})     params[f"b{l}"]: (K, n_l, 1)
    Z1 = W1 @ X        -> (K, n_1, m)      one (K*n_1, n_x) x (n_x, m) product
    dW1 = dZ1 @ X^T    -> (K, n_1, n_x)    one (K*n_1, m) x (m, n_x) product

Because X is not batched, vmap folds the model axis into the rows of the first
layer's products instead of emitting K small matrix products: the first layer,
which holds nearly all the FLOPs, runs as one large matrix product per direction
(``first_layer_products`` checks this on the compiled program; the tests assert it).

When m << n_x (the cats: 209 pictures of 12288 pixels), ``train_gram`` trains the first
layer in its Gram (dual) form instead: GD keeps W1 = s W1_0 + C X^T, so Z1 = s Z0 + C G
with G = X^T X computed once, which is ~n_x / m times less work and has the same iterates
(``run_sweep(first_layer="auto")`` picks it where valid). With a mesh
(``dlcourse.parallel``) the models and/or the examples are split over devices.

A sweep's result: a table ranked by dev accuracy (``ranked_table``), its best row, and
a PNG of accuracy against learning rate (``plots.accuracy_vs_learning_rate``).
"""
import dataclasses
import functools
import itertools
import re
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import initializers, loop, optim, train, validation
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import dense

# Optimizers other than plain GD, each ``learning_rate -> optax.GradientTransformation``.
OPTIMIZERS = {"momentum": optim.momentum, "rmsprop": optim.rmsprop, "adam": optim.adam}
OPTIMIZER_NAMES = ("gd",) + tuple(OPTIMIZERS)


# --- which configurations --------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Hypers:
  """K configurations, one entry per model: every field is a (K,) NumPy array."""
  learning_rate: np.ndarray
  lambd: np.ndarray
  keep_prob: np.ndarray
  seed: np.ndarray

  def __post_init__(self):
    fields = dict(learning_rate=np.asarray(self.learning_rate, np.float64),
                  lambd=np.asarray(self.lambd, np.float64),
                  keep_prob=np.asarray(self.keep_prob, np.float64),
                  seed=np.asarray(self.seed, np.int64))
    sizes = {name: value.shape for name, value in fields.items()}
    if any(len(s) != 1 for s in sizes.values()) or len({s[0] for s in sizes.values()}) != 1:
      raise ShapeError(f"every hyperparameter must be a (K,) array of the same K, got {sizes}")
    for name, value in fields.items():
      object.__setattr__(self, name, value)

  @property
  def num_models(self):
    return int(self.learning_rate.shape[0])

  def row(self, k):
    """Model k's configuration as plain Python numbers."""
    return {"learning_rate": float(self.learning_rate[k]), "lambd": float(self.lambd[k]),
            "keep_prob": float(self.keep_prob[k]), "seed": int(self.seed[k])}


def check_hypers(hypers):
  """ConfigError unless every learning rate > 0, lambda >= 0 and keep_prob in (0, 1]."""
  if hypers.num_models < 1:
    raise ConfigError("a sweep needs at least one configuration")
  # `not x > 0` also rejects NaN.
  if not np.all(hypers.learning_rate > 0):
    raise ConfigError(f"learning rates must be > 0, got {hypers.learning_rate.tolist()}")
  if not np.all((hypers.lambd >= 0) & np.isfinite(hypers.lambd)):
    raise ConfigError(f"L2 lambdas must be finite and >= 0, got {hypers.lambd.tolist()}")
  if not np.all((hypers.keep_prob > 0) & (hypers.keep_prob <= 1)):
    raise ConfigError(f"keep_probs must lie in (0, 1], got {hypers.keep_prob.tolist()}")


def grid(learning_rate=(0.01,), lambd=(0.0,), keep_prob=(1.0,), seed=(0,)):
  """Every combination of the given values (the course's grid; ``random_search`` is
  usually the better use of K models). Model order: learning rate varies slowest."""
  rows = list(itertools.product(learning_rate, lambd, keep_prob, seed))
  return Hypers(*(np.array(column) for column in zip(*rows)))


def log_uniform(rng, log10_range, num):
  """10^r with r ~ Uniform[a, b): the course's scale for learning rates and lambdas."""
  low, high = (float(v) for v in log10_range)
  if not low <= high:
    raise ConfigError(f"log10 range must be (low, high) with low <= high, got {log10_range}")
  return 10.0 ** rng.uniform(low, high, num)


def random_search(num, *, seed=0, learning_rate_log10=(-4.0, 0.0), lambd_log10=None,
                  keep_prob_range=None, init_seed=0, vary_init_seed=False):
  """``num`` random configurations drawn from ``np.random.RandomState(seed)``.

  learning_rate = 10^r, r ~ U[learning_rate_log10]; lambda = 10^s, s ~ U[lambd_log10]
  (lambda = 0 when None); keep_prob ~ U[keep_prob_range] (1 when None). Every model
  starts from ``init_seed`` unless ``vary_init_seed``, which gives model k the seed
  ``init_seed + k``: one shared start isolates the effect of the hyperparameters.
  """
  if int(num) < 1:
    raise ConfigError(f"a random search needs num >= 1 points, got {num}")
  rng = np.random.RandomState(seed)
  learning_rate = log_uniform(rng, learning_rate_log10, num)
  lambd = np.zeros(num) if lambd_log10 is None else log_uniform(rng, lambd_log10, num)
  if keep_prob_range is None:
    keep_prob = np.ones(num)
  else:
    low, high = (float(v) for v in keep_prob_range)
    keep_prob = rng.uniform(low, high, num)
  seeds = init_seed + (np.arange(num) if vary_init_seed else np.zeros(num, np.int64))
  return Hypers(learning_rate, lambd, keep_prob, seeds)


# --- the K models ----------------------------------------------------------------

def init_models(seeds, layer_dims, scheme="he", *, scale=0.01, dtype=jnp.float32):
  """Stacked params (leading axis K): model k = ``initialize(key(seeds[k]), ...)``.

  vmap of JAX's counter-based PRNG is exact, so each slice is bit-identical to
  initializing that model alone.
  """
  return _init_models(jnp.asarray(seeds), tuple(int(n) for n in layer_dims), scheme,
                      float(scale), jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _init_models(seeds, layer_dims, scheme, scale, dtype):
  # One compiled program: eagerly, every PRNG primitive of every layer would be
  # dispatched (and compiled) on its own.
  def one(seed):
    return initializers.initialize(jax.random.key(seed), layer_dims, scheme, scale=scale,
                                   dtype=dtype)
  return jax.vmap(one)(seeds)


def model(stacked, k):
  """Model k's params (or any leaf's slice k) from a stacked pytree."""
  return jax.tree.map(lambda leaf: leaf[k], stacked)


def _axis(value):
  """vmap axis of a hyperparameter: 0 for a per-model (K,) array, None for a scalar
  (a shared value stays unbatched, so e.g. lambda = 0 costs nothing)."""
  return 0 if jnp.ndim(value) == 1 else None


def train_optax(params, X, Y, learning_rate, *, arch, optimizer, num_iterations,
                record_every=100, method="manual", lambd=0.0, first_layer_blocks=True):
  """Full-batch training with a course optimizer (``momentum``, ``rmsprop``, ``adam``).

  ``loop.run`` with ``OPTIMIZERS[optimizer](learning_rate)`` and the dense net's
  grad_fn: each step ``params := params + tx.update(grads)`` (the optimizer multiplies
  by -learning_rate). learning_rate and lambd may be traced, so this vmaps like
  ``train.train_gd``; ``first_layer_blocks`` as there.
  """
  tx = OPTIMIZERS[optimizer](learning_rate)
  grad_fn = loop.dense_grad_fn(arch, method=method, lambd=lambd,
                               first_layer_blocks=first_layer_blocks)
  state, costs = loop.run(loop.init_state(params, tx), X, Y, grad_fn=grad_fn,
                          optimizer=tx, num_iterations=num_iterations,
                          record_every=record_every)
  return train.TrainResult(state.params, costs)


def _is_zero(value):
  # A Python 0 skips the L2 terms entirely; a traced lambda (a sweep) always takes them.
  return isinstance(value, (int, float)) and value == 0


def gram_start(params, X):
  """What the Gram form needs once: G = X^T X (m, m), Z0 = W1_0 X (n_1, m), ||W1_0||^2."""
  W0 = params["W1"]
  return X.T @ X, W0 @ X, jnp.sum(W0 * W0)


def train_gram(params, X, Y, learning_rate, *, arch, num_iterations, record_every=100,
               method="manual", lambd=0.0):
  """Full-batch GD with the first layer in its Gram (dual) form: the iterates of
  ``train.train_gd`` in exact arithmetic, at a fraction of the cost when m << n_x.

  GD moves W1 only along the span of X's columns, since dW1 = (1/m) dZ1 X^T + (l/m) W1:

      W1_t = s_t W1_0 + C_t X^T          C_t: (n_1, m), s_t a scalar
      s_{t+1} = (1 - a l / m) s_t,   C_{t+1} = (1 - a l / m) C_t - (a / m) dZ1_t

  (a the learning rate, l the L2 lambda, dZ1 the course's m dJ/dZ1). With G = X^T X and
  Z0 = W1_0 X computed once,

      Z1_t = W1_t X + b1 = s_t Z0 + C_t G + b1             n_1 m^2 FLOPs, not n_1 n_x m

  and W1 = s W1_0 + C X^T is formed once at the end. The rest of the net is the library's
  own ``dense.cost_and_grads`` (manual or autodiff) on the m-dimensional input I_m with
  first-layer weights V1 = s Z0 + C G: then Z1 = V1 I_m + b1, and its dV1 = dZ1 / m is
  exactly the direction of the C update. The L2 term of W1 uses
  ||W1||^2 = s^2 ||W1_0||^2 + 2 s <C, Z0> + <C G, C>. No dropout.
  Per iteration the first layer costs 3 n_1 m^2 multiply-adds (C G, V1 I_m, dZ1 I_m^T)
  instead of 2 n_1 n_x m: for the cat net (n_x = 12288, m = 209) about 40 times fewer.
  """
  m = X.shape[1]
  G, Z0, W0_sq = gram_start(params, X)
  eye = jnp.eye(m, dtype=X.dtype)
  dual_arch = dense.Architecture((m,) + arch.layer_dims[1:], arch.activations)
  rest = {k: v for k, v in params.items() if k != "W1"}
  use_l2 = not _is_zero(lambd)

  def step(carry, i, recorded):
    del i, recorded  # the Gram form's cost is a few small sums: always computed
    s, C, rest = carry
    CG = C @ G
    J, grads = dense.cost_and_grads(dict(rest, W1=s * Z0 + CG), eye, Y, dual_arch, 0.0,
                                    None, method)
    shrink = 1.0
    if use_l2:
      W1_sq = s * s * W0_sq + 2 * s * jnp.sum(C * Z0) + jnp.sum(CG * C)
      deep = [k for k in rest if k.startswith("W")]
      J = J + lambd * (W1_sq + sum(jnp.sum(rest[k] ** 2) for k in deep)) / (2 * m)
      grads = dict(grads, **{k: grads[k] + (lambd / m) * rest[k] for k in deep})
      shrink = 1 - learning_rate * lambd / m
    rest = {k: v - learning_rate * grads[k] for k, v in rest.items()}
    return (shrink * s, shrink * C - learning_rate * grads["W1"], rest), J

  start = (jnp.ones((), X.dtype), jnp.zeros((arch.layer_dims[1], m), X.dtype), rest)
  (s, C, rest), costs = loop.run_blocks(step, start, num_iterations, record_every)
  return train.TrainResult(dict(rest, W1=s * params["W1"] + C @ X.T), costs)


FIRST_LAYER = ("primal", "gram")


def train_models(params, X, Y, learning_rate, *, arch, num_iterations, record_every=100,
                 method="manual", lambd=0.0, dropout_layers=(), keep_prob=1.0, key=None,
                 optimizer="gd", first_layer="primal"):
  """Trains K models at once: ``jax.vmap`` of ``train.train_gd`` (or ``train_optax``, or
  ``train_gram`` with ``first_layer="gram"``).

  params: stacked, every leaf (K, ...). learning_rate, lambd, keep_prob: a scalar shared
  by all models or a (K,) array, one per model; key: one PRNG key or (K,) keys (fresh
  dropout masks). X (n_x, m) and Y (1, m) are shared. Returns a TrainResult whose params
  are stacked and whose costs are (K, num_records). Not jitted; see ``train_models_jit``.
  """
  if optimizer not in OPTIMIZER_NAMES:
    raise ConfigError(f"optimizer must be one of {OPTIMIZER_NAMES}, got {optimizer!r}")
  if first_layer not in FIRST_LAYER:
    raise ConfigError(f"first_layer must be one of {FIRST_LAYER}, got {first_layer!r}")
  if optimizer != "gd" and dropout_layers:
    raise ConfigError("dropout sweeps use the GD trainer (optimizer='gd')")
  if first_layer == "gram" and (optimizer != "gd" or dropout_layers):
    raise ConfigError("the Gram form of the first layer is plain GD without dropout "
                      f"(got optimizer={optimizer!r}, dropout_layers={dropout_layers})")
  static = dict(arch=arch, num_iterations=num_iterations, record_every=record_every,
                method=method)

  # Vmapped, the first layer's products are one large product each with W1 whole (the
  # stacked W1 on the matrix library's left; see dense's "layout"): no column blocks.
  def one(p, lr, lam, kp, k):
    if first_layer == "gram":
      return train_gram(p, X, Y, lr, lambd=lam, **static)
    if optimizer == "gd":
      return train.train_gd(p, X, Y, lr, lambd=lam, dropout_layers=tuple(dropout_layers),
                            keep_prob=kp, key=k, first_layer_blocks=False, **static)
    return train_optax(p, X, Y, lr, optimizer=optimizer, lambd=lam, first_layer_blocks=False,
                       **static)

  in_axes = (0, _axis(learning_rate), _axis(lambd), _axis(keep_prob),
             None if key is None else _axis(key))
  return jax.vmap(one, in_axes=in_axes)(params, learning_rate, lambd, keep_prob, key)


train_models_jit = loop.Program(
    train_models, static_argnames=("arch", "num_iterations", "record_every", "method",
                                   "dropout_layers", "optimizer", "first_layer"))


@functools.partial(jax.jit, static_argnames=("arch",))
def accuracies(params, X, Y, *, arch):
  """(K,) accuracies of stacked models on one data set."""
  return jax.vmap(lambda p: dense.accuracy(p, X, Y, arch))(params)


# --- the compiled program's first-layer products ---------------------------------

_DOT = re.compile(r"= (\w+)\[([\d,]*)\]\{?[\d,]*\}? dot\(([^)]*)\)([^\n]*)")
_PARAM = re.compile(r"%?([\w.\-]+) = (\w+)\[([\d,]*)\]")


class Dot(NamedTuple):
  """One dot instruction of an optimized HLO module: its output and operand shapes."""
  out: tuple
  lhs: tuple
  rhs: tuple
  batched: bool    # has batch dimensions (a batch of independent small products)


def _shape(text):
  return tuple(int(d) for d in text.split(",") if d)


def hlo_dots(hlo_text):
  """Every ``dot`` in an HLO module's text, with the shapes of its operands."""
  shapes = {name: _shape(dims) for name, _, dims in _PARAM.findall(hlo_text)}
  dots = []
  for _, out, operands, attributes in _DOT.findall(hlo_text):
    names = [o.strip().lstrip("%") for o in operands.split(",")]
    lhs, rhs = (shapes.get(n, ()) for n in names[:2])
    dots.append(Dot(_shape(out), lhs, rhs, "lhs_batch_dims" in attributes))
  return dots


def first_layer_products(hlo_text, num_models, n_1, n_x, m):
  """The dots of a K-model program that touch X (n_x, m): W1 X and dZ1 X^T.

  Returns (forward, backward) lists of Dots: forward ones produce K*n_1*m values,
  backward ones K*n_1*n_x. A well-formed sweep has them unbatched, with X (or X^T)
  as one whole operand, i.e. a single (K*n_1, n_x) x (n_x, m) product and a single
  (K*n_1, m) x (m, n_x) product.
  """
  rows = num_models * n_1
  x_shapes = {(n_x, m), (m, n_x)}
  touching_x = [d for d in hlo_dots(hlo_text) if d.lhs in x_shapes or d.rhs in x_shapes]
  size = lambda shape: int(np.prod(shape))
  forward = [d for d in touching_x if size(d.out) == rows * m]
  backward = [d for d in touching_x if size(d.out) == rows * n_x]
  return forward, backward


# --- a whole sweep: init, compile, train, evaluate, rank --------------------------

class SweepResult(NamedTuple):
  first_layer: str         # "primal" or "gram": how the first layer was trained
  hypers: Hypers
  params: dict             # stacked, leading axis K
  costs: np.ndarray        # (K, num_records)
  train_accuracy: np.ndarray   # (K,)
  dev_accuracy: np.ndarray     # (K,)
  table: list              # ranked rows (dicts), best first
  compile_s: float
  train_s: float


def _shared_or_per_model(values, dtype, default):
  """A (K,) hyperparameter as one shared Python scalar when every model uses
  ``default`` (the unbatched term is cheaper, and identical to training one model),
  else a (K,) array."""
  if np.all(values == default):
    return default
  return np.asarray(values, dtype)


def run_sweep(arch, hypers, X, Y, X_dev, Y_dev, *, num_iterations, scheme="he",
              scale=0.01, dtype=jnp.float32, record_every=100, method="manual",
              dropout_layers=(), key=None, optimizer="gd", mesh=None,
              first_layer="auto"):
  """Trains one model per configuration of ``hypers`` and ranks them on (X_dev, Y_dev).

  Compiles first (timed apart from training). Model k starts from
  ``initialize(key(hypers.seed[k]), arch.layer_dims, scheme)`` in ``dtype``.
  first_layer: "primal" (vmap of ``train.train_gd``), "gram" (``train_gram``) or "auto"
  (``choose_first_layer``). mesh: None (one device), ``parallel.data_mesh()`` (X and Y,
  host arrays or global arrays from ``parallel.shard_process_columns``, split by
  columns) or ``parallel.sweep_mesh(models, data)`` (the models split too).
  """
  check_hypers(hypers)
  validation.record_length(num_iterations, record_every)
  if dropout_layers:
    reg.check_dropout(float(hypers.keep_prob.min()), dropout_layers, arch.num_layers)
    if key is None:
      raise ConfigError("a dropout sweep needs an explicit PRNG key")
  params = init_models(hypers.seed, arch.layer_dims, scheme, scale=scale, dtype=dtype)
  per_model = dict(learning_rate=np.asarray(hypers.learning_rate, dtype),
                   lambd=_shared_or_per_model(hypers.lambd, dtype, 0.0),
                   keep_prob=_shared_or_per_model(hypers.keep_prob, dtype, 1.0))
  if mesh is None:
    X, Y = jnp.asarray(X, dtype), jnp.asarray(Y, dtype)
    X_dev, Y_dev = jnp.asarray(X_dev, dtype), jnp.asarray(Y_dev, dtype)
  else:
    X, Y, X_dev, Y_dev, params, key, per_model = _on_mesh(
        mesh, dtype, X, Y, X_dev, Y_dev, params, key, per_model)
  args = (params, X, Y, per_model.pop("learning_rate"))
  kwargs = dict(per_model, key=key)
  first_layer = choose_first_layer(first_layer, X.shape, optimizer, dropout_layers, mesh)
  static = dict(arch=arch, num_iterations=int(num_iterations),
                record_every=int(record_every), method=method,
                dropout_layers=tuple(dropout_layers), optimizer=optimizer,
                first_layer=first_layer)
  start = time.perf_counter()
  compiled = train_models_jit.lower(*args, **static, **kwargs).compile()
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  result = jax.block_until_ready(compiled(*args, **kwargs))
  train_s = time.perf_counter() - start
  train_acc = _exact_fraction(accuracies(result.params, X, Y, arch=arch), X.shape[1])
  dev_acc = _exact_fraction(accuracies(result.params, X_dev, Y_dev, arch=arch),
                            X_dev.shape[1])
  costs = np.asarray(result.costs)
  table = ranked_table(hypers, costs[:, -1], train_acc, dev_acc)
  return SweepResult(first_layer, hypers, result.params, costs, train_acc, dev_acc, table,
                     compile_s, train_s)


def _exact_fraction(accuracy, m):
  """float32 accuracies as the exact fractions (correct / m) they round, in float64."""
  return np.rint(np.asarray(accuracy, np.float64) * m) / m


def _on_mesh(mesh, dtype, X, Y, X_dev, Y_dev, params, key, per_model):
  """Places a sweep's arrays on ``mesh``: over a ``data`` axis the training columns are
  split (each process may pass its own global arrays), over a ``models`` axis the
  stacked params and per-model hyperparameters are split; the rest is replicated."""
  from dlcourse import parallel  # deferred: single-device sweeps never need it
  from jax.sharding import NamedSharding, PartitionSpec as P

  axes = mesh.axis_names
  if parallel.DATA_AXIS in axes:
    parallel.check_divisible(X.shape[1], mesh)
  models = mesh.shape.get(parallel.MODELS_AXIS, 1)
  K = jax.tree.leaves(params)[0].shape[0]
  if K % models:
    raise ConfigError(f"{K} models do not split over {models} devices of the mesh's "
                      f"'models' axis; use a multiple of {models} models")
  model_axis = parallel.MODELS_AXIS if parallel.MODELS_AXIS in axes else None
  columns = NamedSharding(mesh, P(None, parallel.DATA_AXIS if parallel.DATA_AXIS in axes
                                  else None))

  def place_columns(array):
    if isinstance(array, jax.Array) and not array.is_fully_addressable:
      return array  # already a global array, fed process by process
    return jax.device_put(np.asarray(array, dtype), columns)

  def place_models(tree):
    if model_axis:
      return shard_models(tree, mesh)
    return parallel.replicate(jax.tree.map(np.asarray, tree), mesh)

  replicated = [parallel.replicate(np.asarray(a, dtype), mesh) for a in (X_dev, Y_dev)]
  key = None if key is None else parallel.replicate(key, mesh)
  per_model = {name: value if np.ndim(value) == 0 else place_models(value)
               for name, value in per_model.items()}
  return (place_columns(X), place_columns(Y), *replicated, place_models(params), key,
          per_model)


def shard_models(tree, mesh):
  """Stacked arrays (leading axis K) split over the mesh's ``models`` axis.

  Goes through NumPy: every process holds the same full host copy and keeps its slices.
  """
  from dlcourse import parallel
  from jax.sharding import NamedSharding, PartitionSpec as P
  return jax.tree.map(lambda a: jax.device_put(np.asarray(a), NamedSharding(
      mesh, P(parallel.MODELS_AXIS, *([None] * (np.ndim(a) - 1))))), tree)


def choose_first_layer(first_layer, X_shape, optimizer, dropout_layers, mesh):
  """``auto``: the Gram form when it is valid (plain GD, no dropout) and at least 4x
  cheaper (m <= n_x / 4) and the examples are not split over devices; else primal."""
  if first_layer != "auto":
    return first_layer
  n_x, m = X_shape
  data_parallel = mesh is not None and "data" in mesh.axis_names and mesh.shape["data"] > 1
  if optimizer == "gd" and not dropout_layers and 4 * m <= n_x and not data_parallel:
    return "gram"
  return "primal"


def ranked_table(hypers, final_cost, train_accuracy, dev_accuracy):
  """One row per model, best first: by dev accuracy, then train accuracy, then the
  last recorded cost (lower is better; NaN, a diverged run, ranks last)."""
  final_cost = np.asarray(final_cost, np.float64)
  cost_key = np.where(np.isfinite(final_cost), final_cost, np.inf)
  order = sorted(range(hypers.num_models),
                 key=lambda k: (-dev_accuracy[k], -train_accuracy[k], cost_key[k], k))
  table = []
  for rank, k in enumerate(order, start=1):
    cost = float(final_cost[k])
    table.append({"rank": rank, "model": int(k), **hypers.row(k),
                  "final_cost": cost if np.isfinite(cost) else None,
                  "train_accuracy": float(train_accuracy[k]),
                  "dev_accuracy": float(dev_accuracy[k])})
  return table


def format_table(table, top=10):
  """The first ``top`` rows as aligned text."""
  head = f"{'rank':>4} {'lr':>10} {'lambda':>9} {'keep':>5} {'seed':>4} " \
         f"{'cost':>9} {'train':>7} {'dev':>7}"
  lines = [head]
  for row in table[:top]:
    cost = "nan" if row["final_cost"] is None else f"{row['final_cost']:.4f}"
    lines.append(f"{row['rank']:>4} {row['learning_rate']:>10.3g} {row['lambd']:>9.3g} "
                 f"{row['keep_prob']:>5.2f} {row['seed']:>4} {cost:>9} "
                 f"{100 * row['train_accuracy']:>6.2f}% {100 * row['dev_accuracy']:>6.2f}%")
  return "\n".join(lines)

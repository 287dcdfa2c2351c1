"""The one training loop: every trainer of the library is a use of ``run``.

One optimizer step on a batch (X_t, Y_t), for any ``optax.GradientTransformation``::

    J, grads, model_state = grad_fn(params, model_state, X_t, Y_t, key_t)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)      # dlcourse.optim.gd(alpha):
                                                       #   W := W + (-alpha dW) = W - alpha dW

``key_t = fold_in(state.key, t)`` with t the absolute step (None without a key), so any
step's randomness (dropout masks) is a function of (key, t) alone.

A ``grad_fn`` may also say how it draws that randomness: a method ``draw(key_t, m)``
returning step t's draws for a batch of m columns (a pytree: {l: D^[l]}), which its call
then takes back as ``noise=``. An epoch of mini-batches then draws each step's noise one
step ahead: step t draws step t + 1's and hands it on in the scan's carry (the epoch's
first step's is drawn before the scan). The same bits as drawing inside the step, but
each mask is hashed once and kept in memory: drawn inside the step, XLA:CPU fuses the
hash into each of the mask's consumers, the forward and the backward, and computes it
twice. MNIST-1D's dropout row (8 models, one core, 100 epochs) trained in 5.5-5.6 s
instead of 6.8-7.2 s, with the same accuracies; drawing a whole epoch's masks in one
vmapped call was slower (5.9 s) and compiled 1 s longer. The masks are the same bits;
the iterates are too in the tests, though XLA, fusing the masks' use differently, may
round differently (a full-batch loop drawn ahead differed by 1 ulp, for ~4 % on C2W1's
dropout row: full-batch steps draw inside), unless a full-batch loop is handed its
iterations' noise drawn before it, all at once (``draw_ahead``, then ``run(...,
noise=...)``): by a program of its own that does nothing but hash, so that the training
program holds no hash at all (see ``draw_ahead``).

What an *iteration* is depends on ``batching``:

* ``FullBatch()``: one step on all m columns (Course 1's gradient descent; C2W1).
* ``Epochs(batch_size, permutations=..., key=...)``: one epoch of C2W2's mini-batch
  descent. Epoch e shuffles the columns by ``permutations[e]`` (the notebook's
  ``np.random.seed(11 + e)`` rows) or by ``permutation(fold_in(key, e), m)``, cuts them
  into ceil(m / B) batches, the last one partial (m mod B columns), and takes one step
  per batch. Its cost is the notebook's ``(1/m) sum_t m_t J^{t}``.
* ``InOrder(batch_size)``: the same epochs without shuffling (batches in column order).

``run`` runs ``num_iterations`` iterations from ``state`` and records the cost of the
iterations i0, i0 + N, i0 + 2N, ... (N = ``record_every``, i0 the first one): the cost
of a full-batch iteration is J before its update (as the notebooks print it), of an
epoch its epoch cost. The iteration index is ``state.step // steps_per_iteration``, so
a run in chunks -- ``run(state, ..., num_iterations=chunk)`` again and again from the
returned state -- gives bit for bit the states and costs of one uninterrupted run, and
``TrainState`` is all a checkpoint needs.

Compilation: the step is traced once. An epoch whose last batch is partial (m mod B
columns) pads that batch with zero columns to B and walks all ceil(m / B) batches in one
``lax.scan``, each with a column mask (``Batches.padded``): the step's cost and
gradients are those of the kept columns alone (``dlcourse.losses``), so the iterates
are the course's. A ``grad_fn`` takes the mask when it says so (``takes_column_mask``,
as ``DenseGradFn`` does); any other (batch norm's, whose batch statistics would need
masking too) keeps the partial batch at its own width, a second trace of the step. The
recording costs no second copy of it: a ``lax.scan`` over
the blocks of N iterations holds one loop over the block (dynamic trip count, so the
last, shorter block is the same code) that keeps the first iteration's cost. Only that
iteration computes it: each step is handed ``recorded`` (a traced bool), and a grad_fn
that ``takes_need_cost`` (``DenseGradFn``; the manual backward) computes its loss under
a ``lax.cond`` there alone on the CPU, since the gradients need only dZ^[L] = A^[L] - Y
(other platforms compute it always: ``dense._cost_if``). Computed
at every iteration, the loss's logs were a fifth of a small net's: the moons
[2, 5, 2, 1] net, 64 runs x 2000 iterations (Zen 4, 2026-12-07), took 0.71 -> 0.61-0.64
s one after another and 0.51 -> 0.41-0.42 s vmapped, with the same bits and compile
time (a second, cost-free copy of the step would have saved ~0.05 s more and cost
~0.1 s of compiling per program).
Hyperparameters inside ``grad_fn`` and ``optimizer`` stay traced when they are built
from traced values inside the caller's jitted function (``train.gd_chunk`` does this
for alpha, lambda and keep_prob), so one program serves every value and ``jax.vmap``
sweeps them. (A traced alpha and a compile-time constant alpha give programs that XLA
simplifies differently, so their iterates may differ in the last bit; ``optim.gd``'s
W + (-alpha dW) itself is bit for bit W - alpha dW either way -- tests/test_loop.py.)

For a jitted loop called from the host: ``run_jit(state, X, Y, grad_fn, optimizer=...,
num_iterations=..., record_every=..., batching=...)``. ``grad_fn`` and ``batching`` are
pytrees (``DenseGradFn``: lambda, keep_prob and fixed masks are traced leaves; any other
function: ``jax.tree_util.Partial(fn)``); ``optimizer``, ``num_iterations`` and
``record_every`` are static. ``run_jit.lower(...).compile()`` once per chunk length
serves every chunk: the start is ``state.step``, a traced value.
"""
import dataclasses
import functools
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from dlcourse import arrays, validation
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError
from dlcourse.losses import kept_count
from dlcourse.models import dense

__all__ = [
    "TrainState", "init_state", "FullBatch", "Epochs", "InOrder", "FULL_BATCH",
    "Batches", "num_batches", "steps_per_iteration", "partition", "epoch_permutation",
    "DenseGradFn", "dense_grad_fn", "optimizer_step", "run_blocks", "run", "run_jit",
    "Program",
]


class TrainState(NamedTuple):
  """Everything a run needs to continue, as a pytree (what a checkpoint holds).

  params: {"W1", "b1", ...} (any pytree).
  opt_state: the optimizer's state (its own step counters included).
  model_state: state the model carries between steps besides its parameters (batch
    norm's running averages, say), threaded through ``grad_fn``; None when there is none.
  step: int32 scalar, optimizer steps taken so far. At an iteration boundary it is
    ``iteration * steps_per_iteration``, which is how a chunk knows where it starts.
  key: base PRNG key of the steps' randomness (step t gets ``fold_in(key, t)``), or None.
  """
  params: Any
  opt_state: Any
  model_state: Any
  step: jax.Array
  key: Optional[jax.Array]


def init_state(params, optimizer: optax.GradientTransformation, key=None, model_state=None,
               step=0) -> TrainState:
  """The state before step ``step`` (default 0): fresh optimizer state."""
  return TrainState(params, optimizer.init(params), model_state,
                    arrays.device_array(step, jnp.int32), key)


# --- batching: what one iteration is ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FullBatch:
  """One iteration = one step on all m columns."""


@dataclasses.dataclass(frozen=True)
class Epochs:
  """One iteration = one shuffled epoch of ``batch_size``-column mini-batches.

  Exactly one of ``permutations`` ((E, m) ints, row e = epoch e's order, E >= the last
  epoch run; indexed by the absolute epoch, so every chunk gets the same table) and
  ``key`` (epoch e: ``permutation(fold_in(key, e), m)``) is given.
  """
  batch_size: int
  permutations: Optional[jax.Array] = None
  key: Optional[jax.Array] = None


@dataclasses.dataclass(frozen=True)
class InOrder:
  """One iteration = one epoch of ``batch_size``-column mini-batches in column order."""
  batch_size: int


jax.tree_util.register_dataclass(FullBatch, data_fields=[], meta_fields=[])
jax.tree_util.register_dataclass(Epochs, data_fields=["permutations", "key"],
                                 meta_fields=["batch_size"])
jax.tree_util.register_dataclass(InOrder, data_fields=[], meta_fields=["batch_size"])

FULL_BATCH = FullBatch()


class Batches(NamedTuple):
  """One epoch's mini-batches, stacked so that a ``lax.scan`` can walk them.

  X, Y: the full batches, (num_full, n_x, batch_size) and (num_full, n_y, batch_size).
  rest_X, rest_Y: the partial last batch, (n_x, m mod batch_size) and
    (n_y, m mod batch_size), or None when batch_size divides m.
  """
  X: jax.Array
  Y: jax.Array
  rest_X: Optional[jax.Array]
  rest_Y: Optional[jax.Array]

  def padded(self):
    """(X, Y, masks): every batch at the full width, the partial one padded with zero
    columns, stacked (ceil(m / B), n, B), and each batch's column mask (ceil(m / B), B):
    True for the columns that are examples."""
    num_full, _, width = self.X.shape
    if self.rest_X is None:
      return self.X, self.Y, jnp.ones((num_full, width), bool)
    rest = self.rest_X.shape[1]
    pad = lambda A: jnp.pad(A, ((0, 0), (0, width - rest)))[None]
    X = jnp.concatenate([self.X, pad(self.rest_X)])
    Y = jnp.concatenate([self.Y, pad(self.rest_Y)])
    sizes = jnp.asarray([width] * num_full + [rest])
    return X, Y, jnp.arange(width)[None, :] < sizes[:, None]


def num_batches(m: int, batch_size: int) -> int:
  """Mini-batches per epoch, ceil(m / batch_size): the schedules' steps_per_epoch."""
  return -(-int(m) // int(batch_size))


def steps_per_iteration(batching, m: int) -> int:
  """Optimizer steps per iteration: 1 for ``FullBatch``, ceil(m / B) for epochs."""
  if isinstance(batching, FullBatch):
    return 1
  if isinstance(batching, (Epochs, InOrder)):
    return num_batches(m, batching.batch_size)
  raise ConfigError(f"batching must be FullBatch(), Epochs(...) or InOrder(...), "
                    f"got {batching!r}")


def epoch_permutation(key: jax.Array, epoch: Any, m: int) -> jax.Array:
  """JAX-keyed shuffle of epoch ``epoch``: ``permutation(fold_in(key, epoch), m)``.

  Folding the epoch number into one base key (rather than splitting a carried key)
  makes each epoch's permutation a function of (key, epoch) only, so a run resumed at
  any epoch shuffles exactly as an uninterrupted one.
  """
  return jax.random.permutation(jax.random.fold_in(key, epoch), m)


def partition(X, Y, permutation, batch_size: int) -> Batches:
  """Shuffles the columns by ``permutation`` (None: keep their order) and cuts
  consecutive mini-batches.

  The course's ``random_mini_batches`` given its permutation: shuffled_X =
  X[:, permutation], batch t = shuffled_X[:, t B : (t + 1) B], the last one partial.
  Shapes come from static sizes only, so this works under ``jax.jit``.
  """
  m = X.shape[1]
  full = m // batch_size
  if permutation is not None:
    X, Y = jnp.take(X, permutation, axis=1), jnp.take(Y, permutation, axis=1)

  def stacked(A):
    # Column t*B + c of A goes to [t, :, c]: batch t is a contiguous slice, as in the course.
    return A[:, :full * batch_size].reshape(A.shape[0], full, batch_size).transpose(1, 0, 2)

  if m % batch_size:
    rest_X, rest_Y = X[:, full * batch_size:], Y[:, full * batch_size:]
  else:
    rest_X = rest_Y = None
  return Batches(stacked(X), stacked(Y), rest_X, rest_Y)


# --- the dense net's grad_fn ---------------------------------------------------------


def _is_python_zero(value):
  # A Python 0 skips the L2 terms entirely (dense does the same); anything else -- a
  # traced lambda of a sweep -- always takes them.
  return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


@jax.tree_util.register_pytree_node_class
class DenseGradFn:
  """``grad_fn`` of ``dlcourse.models.dense``: ``(J, grads, model_state)`` from
  ``dense.cost_and_grads`` (manual or autodiff), model_state passed through.

  Dropout on ``dropout_layers`` uses ``fixed_masks`` ({l: D^[l] (n_l, m)}) at every step
  when given (course-compatible mode) and otherwise masks drawn from the step's key.
  A pytree: lambda, keep_prob and the fixed masks are its leaves (traced under jit,
  batched under vmap); arch, method and dropout_layers its static part. A Python 0 for
  lambda stays static (no L2 terms in the program). It takes a column ``mask`` (a
  padded batch; see the module docstring), except with fixed dropout masks, which are
  as wide as the data's batch. In a full-batch loop ``run`` carries the params in the
  layout ``loop_params`` gives (W1 in column blocks where that is faster; static
  ``first_layer_blocks=False`` keeps it whole) and returns them in the course's shapes.
  """

  def __init__(self, arch, method="manual", lambd=0.0, dropout_layers=(), keep_prob=1.0,
               fixed_masks=None, first_layer_blocks=True):
    self.arch, self.method = arch, method
    self.dropout_layers = tuple(dropout_layers)
    self.lambd, self.keep_prob, self.fixed_masks = lambd, keep_prob, fixed_masks
    self.first_layer_blocks = validation.flag("first_layer_blocks", first_layer_blocks)

  def tree_flatten(self):
    static_zero = _is_python_zero(self.lambd)
    children = (None if static_zero else self.lambd, self.keep_prob, self.fixed_masks)
    return children, (self.arch, self.method, self.dropout_layers, static_zero,
                      self.first_layer_blocks)

  @classmethod
  def tree_unflatten(cls, aux, children):
    arch, method, dropout_layers, static_zero, first_layer_blocks = aux
    lambd, keep_prob, fixed_masks = children
    return cls(arch, method, 0.0 if static_zero else lambd, dropout_layers, keep_prob,
               fixed_masks, first_layer_blocks)

  def loop_params(self, params, X):
    """params as a full-batch loop over X carries them: W1 in column blocks where that is
    faster (``dense.first_layer_in_blocks``; never with ``first_layer_blocks=False``)."""
    return dense.first_layer_in_blocks(params, X) if self.first_layer_blocks else params

  @staticmethod
  def whole_params(params):
    """The inverse of ``loop_params``: params in the course's shapes."""
    return dense.first_layer_whole(params)

  def dropout(self, key, m):
    """This step's ``reg.Dropout`` (or None without dropout layers)."""
    if not self.dropout_layers:
      return None
    if self.fixed_masks is not None:
      return reg.Dropout(self.fixed_masks, self.keep_prob)
    if key is None:
      raise ConfigError("dropout with fresh masks needs an explicit PRNG key")
    return reg.Dropout(self.draw(key, m), self.keep_prob)

  def draw(self, key, m):
    """The step's fresh dropout masks {l: D^[l] (n_l, m)} from its key, or None (no
    dropout layers, fixed masks, or no key): what ``run`` draws a step ahead and passes
    back as ``noise``."""
    if not self.dropout_layers or self.fixed_masks is not None or key is None:
      return None
    return reg.dropout_masks(key, self.arch.layer_dims, self.dropout_layers,
                             self.keep_prob, m)

  @property
  def takes_column_mask(self):
    return self.fixed_masks is None

  # ``need_cost``: the loss is computed only where the loop records it (manual method).
  takes_need_cost = True

  def __call__(self, params, model_state, X, Y, key, mask=None, noise=None,
               need_cost=None):
    dropout = (self.dropout(key, X.shape[1]) if noise is None
               else reg.Dropout(noise, self.keep_prob))
    J, grads = dense.cost_and_grads(params, X, Y, self.arch, self.lambd, dropout,
                                    self.method, mask, need_cost)
    return J, grads, model_state


def dense_grad_fn(arch, *, method="manual", lambd=0.0, dropout_layers=(), keep_prob=1.0,
                  fixed_masks=None, first_layer_blocks=True) -> DenseGradFn:
  """The dense net's ``grad_fn`` (see ``DenseGradFn``)."""
  return DenseGradFn(arch, method, lambd, dropout_layers, keep_prob, fixed_masks,
                     first_layer_blocks)


def _map_param_trees(f, tree, params):
  """``f`` applied to ``params`` and to every subtree of ``tree`` (an optimizer state)
  shaped like params (a moment estimate, a velocity); the rest of ``tree`` as it is."""
  structure = jax.tree.structure(params)
  like_params = lambda node: jax.tree.structure(node) == structure
  return f(params), jax.tree.map(lambda node: f(node) if like_params(node) else node, tree,
                                 is_leaf=like_params)


# --- the loop --------------------------------------------------------------------------


def optimizer_step(params, opt_state, grads, optimizer):
  """``updates, opt_state = optimizer.update(grads, opt_state, params)``; params + updates.

  With ``optim.gd(alpha)`` the update is (-alpha) dW, and W + (-alpha dW) is bit for bit
  W - alpha dW (negation is exact, and a + (-b) is a - b in IEEE arithmetic).
  """
  updates, opt_state = optimizer.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state


def _float_dtype(tree):
  """The result dtype of a pytree's floating leaves (the cost record's dtype)."""
  dtypes = [jnp.result_type(leaf) for leaf in jax.tree.leaves(tree)
            if jnp.issubdtype(jnp.result_type(leaf), jnp.floating)]
  return jnp.result_type(*dtypes) if dtypes else jnp.result_type(float)


def run_blocks(iterate: Callable, carry, num_iterations: int, record_every: int,
               start=0, cost_dtype=None):
  """``carry = iterate(carry, i, recorded)[0]`` for the iterations i in
  [start, start + n), returning (carry, costs) with the cost of i = start, start + N,
  start + 2N, ...

  ``iterate(carry, i, recorded) -> (carry, J)`` (J a scalar) is traced once: a
  ``lax.scan`` over the ceil(n / N) blocks, each a loop over its iterations
  [b, min(b + N, start + n)) (a dynamic trip count, so the last, shorter block runs the
  same code) that keeps the cost of its first iteration in ``cost_dtype`` (default: the
  carry's float dtype). ``recorded`` is a traced bool, true where J is kept (None when
  N = 1: every J is), so that ``iterate`` may skip computing J elsewhere (``run``
  hands it to a grad_fn that ``takes_need_cost``); J there may be anything.
  ``start`` may be traced; ``num_iterations`` and ``record_every`` are static.
  """
  n, r = int(num_iterations), int(record_every)
  dtype = _float_dtype(carry) if cost_dtype is None else cost_dtype
  start = jnp.asarray(start)
  if r == 1:  # every iteration recorded: no inner loop at all
    return jax.lax.scan(lambda c, i: _cast_cost(iterate(c, i, None), dtype), carry,
                        start + jnp.arange(n, dtype=start.dtype))
  end = start + n

  def block(carry, first):
    def body(i, state):
      carry, J_first = state
      recorded = i == first
      carry, J = iterate(carry, i, recorded)
      return carry, jnp.where(recorded, J.astype(dtype), J_first)
    return jax.lax.fori_loop(first, jnp.minimum(first + r, end), body,
                             (carry, jnp.zeros((), dtype)))

  num_blocks = -(-n // r)
  return jax.lax.scan(block, carry, start + r * jnp.arange(num_blocks, dtype=start.dtype))


def _cast_cost(carry_and_cost, dtype):
  carry, J = carry_and_cost
  return carry, J.astype(dtype)


def _step_fn(grad_fn, optimizer, key):
  """One optimizer step on one batch: (params, opt_state, model_state), t -> (.., J);
  ``mask``: the batch's column mask, for a grad_fn that takes one; ``noise``: the
  step's draws made ahead (``_draw_fn``), for a grad_fn that draws its own;
  ``recorded``: whether the step's J is kept (``run_blocks``), for a grad_fn that
  ``takes_need_cost``."""
  def step(carry, X, Y, t, mask=None, noise=None, recorded=None):
    params, opt_state, model_state = carry
    step_key = None if key is None else jax.random.fold_in(key, t)
    extra = {}
    if mask is not None:
      extra["mask"] = mask
    if noise is not None:
      extra["noise"] = noise
    if recorded is not None and getattr(grad_fn, "takes_need_cost", False):
      extra["need_cost"] = recorded
    J, grads, model_state = grad_fn(params, model_state, X, Y, step_key, **extra)
    params, opt_state = optimizer_step(params, opt_state, grads, optimizer)
    return (params, opt_state, model_state), J
  return step


def _epoch_permutation(batching, epoch, m):
  if isinstance(batching, InOrder):
    return None
  if batching.permutations is not None:
    return batching.permutations[epoch]
  if batching.key is None:
    raise ConfigError("Epochs shuffling needs either permutations or a PRNG key")
  return epoch_permutation(batching.key, epoch, m)


def _draw_fn(grad_fn, key, batch_size):
  """t -> the noise of step t, ``grad_fn.draw(fold_in(key, t), batch_size)``, or None
  when the grad_fn draws nothing ahead (no ``draw`` method, or no key)."""
  if key is None or not hasattr(grad_fn, "draw"):
    return None
  return lambda t: grad_fn.draw(jax.random.fold_in(key, t), batch_size)


def draw_ahead(grad_fn, key, first, num_iterations: int, m: int):
  """The noise of a full-batch loop's iterations [first, first + num_iterations),
  drawn in one batched call, for ``run(..., noise=...)``: every leaf of
  ``grad_fn.draw`` with a leading axis of num_iterations, row i being
  ``grad_fn.draw(fold_in(key, first + i), m)``, what ``run`` draws at iteration
  first + i itself (the same bits: Threefry hashes each key's counters alone, batched
  or not). ``first`` may be traced; num_iterations and m are static.

  Jitted apart (``dlcourse.train.dropout_masks_ahead_jit``), this is a program that only
  hashes, and the training program that takes its result holds no hash. On the CPU the
  hash then runs as one large vectorized pass instead of a small one per step, and each
  program compiles faster than a loop with the hash unrolled in it (C2W1's dropout row:
  0.18 and 0.37 s against 0.79-0.86 s; with JAX's rolled hash, 0.48 s but a loop 3x
  slower). The price is memory: one mask entry per unit, column and iteration (that
  row's chunk of 3000 iterations of 4853 entries: 14.6 MB of booleans).
  """
  ts = first + jnp.arange(num_iterations, dtype=jnp.result_type(first))
  return jax.vmap(lambda t: grad_fn.draw(jax.random.fold_in(key, t), m))(ts)


def _full_batch_iteration(step, X, Y, noise, first):
  """iterate(carry, i): one step on all m columns; with ``noise`` (``draw_ahead``'s,
  from iteration ``first`` on) the step takes row i - first of it instead of drawing."""
  if noise is None:
    return lambda carry, i, recorded: step(carry, X, Y, i, recorded=recorded)

  def iterate(carry, i, recorded):
    row = jax.tree.map(
        lambda a: jax.lax.dynamic_index_in_dim(a, i - first, keepdims=False), noise)
    return step(carry, X, Y, i, noise=row, recorded=recorded)
  return iterate


def _epoch_iteration(step, X, Y, batching, masks_columns, draw=None):
  """iterate(carry, e): epoch e's steps, its cost (1/m) sum_t m_t J^{t}.

  One ``lax.scan`` over the batches. A partial last batch is padded and masked
  (``Batches.padded``) when ``masks_columns`` (the grad_fn takes a mask); otherwise it
  takes a step of its own after the scan, at its own width (a second trace of ``step``),
  drawing its own noise. ``draw`` (``_draw_fn``): each scanned step's noise is drawn a
  step ahead and carried (the module docstring); the last step's draw for the step
  after it is dropped.
  """
  m, batch_size = X.shape[1], batching.batch_size
  per_epoch = num_batches(m, batch_size)
  padded = masks_columns and m % batch_size != 0
  in_order = partition(X, Y, None, batch_size) if isinstance(batching, InOrder) else None

  def body(state, batch, recorded):
    carry, total, first_step, noise = state
    t, X_t, Y_t, mask = batch
    upcoming = None if draw is None else draw(first_step + t + 1)
    carry, J = step(carry, X_t, Y_t, first_step + t, mask, noise, recorded)
    # The notebook's cost_total += compute_cost(...): the batch's summed loss m_t J^{t}.
    m_t = X_t.shape[1] if mask is None else kept_count(mask, J.dtype)
    return (carry, total + J * m_t, first_step, upcoming), None

  def iterate(carry, epoch, recorded=None):
    if in_order is not None:
      batches = in_order
    else:
      batches = partition(X, Y, _epoch_permutation(batching, epoch, m), batch_size)
    first_step = epoch * per_epoch
    total = jnp.zeros((), X.dtype)
    if padded:
      X_b, Y_b, masks = batches.padded()
    else:
      X_b, Y_b, masks = batches.X, batches.Y, None
    ts = jnp.arange(X_b.shape[0], dtype=jnp.result_type(first_step))
    noise = None if draw is None else draw(first_step)
    (carry, total, _, _), _ = jax.lax.scan(functools.partial(body, recorded=recorded),
                                           (carry, total, first_step, noise),
                                           (ts, X_b, Y_b, masks))
    if batches.rest_X is not None and not padded:
      carry, J = step(carry, batches.rest_X, batches.rest_Y, first_step + per_epoch - 1,
                      recorded=recorded)
      total = total + J * batches.rest_X.shape[1]
    return carry, total / m

  return iterate


def run(state: TrainState, X, Y, *, grad_fn, optimizer, num_iterations: int,
        record_every: int = 1, batching=FULL_BATCH, noise=None):
  """Runs iterations [i0, i0 + num_iterations) from ``state``; see the module docstring.

  Pure and jittable (``run_jit``), and vmappable over the state and hyperparameters.

  Args:
    state: where to start; i0 = state.step // steps_per_iteration (state.step at an
      iteration boundary).
    X: (n_x, m); Y: (n_y, m), in the params' dtype.
    grad_fn: ``(params, model_state, X_t, Y_t, key_t) -> (J, grads, model_state)``,
      e.g. ``dense_grad_fn(arch, ...)``; with a ``draw`` method, see the module
      docstring; one that ``takes_need_cost`` is also handed ``need_cost=`` (a traced
      bool: whether this step's J is recorded; elsewhere its J may be anything).
    optimizer: an ``optax.GradientTransformation`` (``dlcourse.optim.gd`` for GD).
    num_iterations, record_every: static ints >= 1.
    batching: ``FullBatch()``, ``Epochs(...)`` or ``InOrder(...)``.
    noise: None, or (a full-batch loop only) the iterations' noise drawn before the
      loop, ``draw_ahead(grad_fn, state.key, i0, num_iterations, m)``: the steps take
      it instead of drawing their own.

  Returns:
    (state after the iterations, costs of shape (ceil(num_iterations / record_every),)).
  """
  per_iteration = steps_per_iteration(batching, X.shape[1])
  step = _step_fn(grad_fn, optimizer, state.key)
  first = state.step // per_iteration if per_iteration > 1 else state.step
  if isinstance(batching, FullBatch):
    iterate = _full_batch_iteration(step, X, Y, noise, first)
  elif noise is not None:
    raise ConfigError("noise drawn ahead (draw_ahead) is for a full-batch loop; "
                      "mini-batch epochs draw each step's one step ahead themselves")
  else:
    iterate = _epoch_iteration(step, X, Y, batching,
                               getattr(grad_fn, "takes_column_mask", False),
                               _draw_fn(grad_fn, state.key, batching.batch_size))
  params, opt_state = state.params, state.opt_state
  in_loop = isinstance(batching, FullBatch) and hasattr(grad_fn, "loop_params")
  if in_loop:  # the grad_fn's own layout inside the loop (speed only; see DenseGradFn)
    params, opt_state = _map_param_trees(lambda p: grad_fn.loop_params(p, X), opt_state,
                                         params)
  carry = (params, opt_state, state.model_state)
  (params, opt_state, model_state), costs = run_blocks(
      iterate, carry, num_iterations, record_every, first, _float_dtype(state.params))
  if in_loop:
    params, opt_state = _map_param_trees(grad_fn.whole_params, opt_state, params)
  new_step = state.step + jnp.asarray(num_iterations * per_iteration, state.step.dtype)
  return TrainState(params, opt_state, model_state, new_step, state.key), costs


# --- compiling ------------------------------------------------------------------------

class Program:
  """A jitted training function whose calls and ``.lower`` first run ``check`` (host-side
  input checks, before anything is traced or compiled) when one is given.

  ``program(*args)`` and ``program.lower(*args).compile()`` work as on a ``jax.jit``
  function; ``program.unchecked`` is the jitted function itself.
  """

  def __init__(self, fun, *, static_argnames=(), check=None, **jit_kwargs):
    self._fun, self._check = fun, check
    self._jit_kwargs = dict(jit_kwargs, static_argnames=tuple(static_argnames))
    functools.update_wrapper(self, fun)

  @functools.cached_property
  def unchecked(self):
    return jax.jit(self._fun, **self._jit_kwargs)

  def __call__(self, *args, **kwargs):
    if self._check is not None:
      self._check(*args, **kwargs)
    return self.unchecked(*args, **kwargs)

  def lower(self, *args, **kwargs):
    if self._check is not None:
      self._check(*args, **kwargs)
    return self.unchecked.lower(*args, **kwargs)


def _run_positional(state, X, Y, grad_fn, *, optimizer, num_iterations, record_every=1,
                    batching=FULL_BATCH):
  """``run`` jitted: ``run_jit(state, X, Y, grad_fn, *, optimizer, num_iterations,
  record_every=1, batching=FULL_BATCH)``. grad_fn and batching are traced pytrees (a
  plain function: wrap it in ``jax.tree_util.Partial``); the other keywords are static.
  Lower it once per chunk length: the start is ``state.step``, traced."""
  return run(state, X, Y, grad_fn=grad_fn, optimizer=optimizer,
             num_iterations=num_iterations, record_every=record_every, batching=batching)


run_jit = Program(_run_positional,
                  static_argnames=("optimizer", "num_iterations", "record_every"))

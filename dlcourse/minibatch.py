"""Mini-batch gradient descent (Course 2, week 2), compiled as one program.

Each epoch shuffles the m columns of X (n_x, m) and Y (n_y, m) with one permutation
and cuts them, in order, into mini-batches X^{1}, X^{2}, ... of ``batch_size`` columns;
the last one is partial when ``batch_size`` does not divide m (300 examples in batches
of 64: 4 x 64 + 44). Each mini-batch t takes one optimizer step on its own averaged
cost and gradients (the partial batch averages over its own m_t columns)::

    J^{t} = (1/m_t) sum_{i in t} L(a^(i), y^(i)),   dW = dJ^{t}/dW
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)   (course: W := W - alpha * direction)

``batch_size = 1`` is stochastic gradient descent and ``batch_size = m`` full-batch
gradient descent: all three run through the same code.

The epoch cost is recorded as the course notebook does: the *summed* per-example loss
of every mini-batch (taken in the forward pass of that batch's update, before it) is
accumulated and divided by m once the epoch ends, ``cost = (1/m) sum_t m_t J^{t}``.

Shuffling:

* JAX keys: epoch e uses ``jax.random.permutation(fold_in(key, e), m)``, so any epoch's
  permutation is known from the key and e alone (no state to replay). The loop draws
  them epoch by epoch; ``keyed_permutations`` draws the same ones as a table up front
  (the runner does, for tables up to ``KEYED_TABLE_MAX_ENTRIES``).
* Course-compatible: the notebook sets ``seed = 10`` and at each epoch
  ``seed = seed + 1; np.random.seed(seed); permutation(m)`` (seeds 11, 12, ...).
  ``course_permutations`` precomputes those rows with private ``RandomState``s and they
  are fed in as a (num_epochs, m) array.

Compilation: ``train_epochs`` is ``dlcourse.loop.run`` with ``loop.Epochs``: a
``lax.scan`` over epochs whose body is an inner ``lax.scan`` over the mini-batches, the
partial one padded with zero columns and masked out of the cost and gradients (see
``dlcourse.loop``), so the step is traced once and nothing is recompiled per epoch. It
runs epochs [first_epoch, first_epoch + num_epochs) from a ``TrainState``, with
``first_epoch = state.step // steps_per_epoch``; running the epochs in chunks gives
bit-for-bit the same result as one uninterrupted run, which is what a checkpointing loop
needs.

The optimizer is any ``optax.GradientTransformation`` (``dlcourse.optim`` or optax's);
learning-rate schedules count optimizer steps, i.e. mini-batches, so build them with
``steps_per_epoch = num_batches(m, batch_size)`` (see ``dlcourse.schedules``).
"""
import functools
from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcourse import loop, validation
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.loop import Batches, TrainState, epoch_permutation, num_batches, partition
from dlcourse.models import dense

__all__ = [
    "TrainState",
    "Batches",
    "num_batches",
    "batch_sizes",
    "course_permutations",
    "keyed_permutations",
    "keyed_permutations_jit",
    "stable_argsort_u32",
    "shuffle_rounds",
    "KEYED_TABLE_MAX_ENTRIES",
    "epoch_permutation",
    "partition",
    "batch_list",
    "init_state",
    "minibatch_step",
    "train_epochs",
    "train_epochs_jit",
    "check_batch_size",
    "check_num_epochs",
    "check_training",
    "check_permutations",
    "run_epochs",
    "train",
]

# The notebook's `seed = 10` before its epoch loop (epoch e then uses seed 11 + e).
COURSE_SHUFFLE_SEED = 10


# ----------------------------------------------------------------------------
# Partitioning (num_batches, partition and epoch_permutation live in dlcourse.loop)
# ----------------------------------------------------------------------------


def batch_sizes(m: int, batch_size: int) -> tuple:
  """Sizes m_t of one epoch's mini-batches: floor(m / B) times B, then m mod B if > 0."""
  full, rest = divmod(int(m), int(batch_size))
  return (int(batch_size),) * full + ((rest,) if rest else ())


def course_permutations(m: int, num_epochs: int, first_epoch: int = 0,
                        seed: int = COURSE_SHUFFLE_SEED) -> np.ndarray:
  """The notebook's shuffles for epochs [first_epoch, first_epoch + num_epochs).

  Row k is ``np.random.seed(seed + 1 + first_epoch + k); np.random.permutation(m)``,
  drawn from a private ``RandomState`` (its stream is the legacy global one's), so
  NumPy's global state is neither used nor changed. Returns (num_epochs, m) int32.
  """
  epochs = range(int(first_epoch), int(first_epoch) + int(num_epochs))
  # One RandomState reseeded per epoch: the same stream as a new one per seed, and 13x
  # faster (constructing a RandomState costs ~80 us; 10000 epochs are 0.8 s).
  rng = np.random.RandomState()

  def permutation(epoch_seed):
    rng.seed(epoch_seed)
    return rng.permutation(int(m))

  rows = [permutation(seed + 1 + e) for e in epochs]
  return np.asarray(rows, dtype=np.int32).reshape(len(rows), int(m))


def keyed_permutations(key: jax.Array, num_epochs: int, m: int) -> jax.Array:
  """The JAX-keyed shuffles of epochs [0, num_epochs) as a table (num_epochs, m): row e is
  ``epoch_permutation(key, e, m)``, bit for bit what ``Epochs(key=key)`` draws inside
  the loop, drawn here in one batched program (``keyed_permutations_jit``).

  A training program fed this table holds no shuffling of its own: its compile is that
  of the course-compatible one, and the table's program is shared by every run of the
  same (num_epochs, m). The table takes 4 num_epochs m bytes (see
  ``KEYED_TABLE_MAX_ENTRIES``). Call it outside any trace: it turns on 64-bit types for
  its own program.
  """
  with jax.enable_x64(True):
    return keyed_permutations_jit(key, num_epochs=int(num_epochs), m=int(m))


def shuffle_rounds(m: int) -> int:
  """How many sorts ``jax.random.permutation`` makes to shuffle m items: enough fresh
  32-bit keys that ties are unlikely, ceil(3 ln m / ln(2^32 - 1)) (1 up to m = 1625)."""
  return int(np.ceil(3 * np.log(max(1, m)) / np.log(np.iinfo(np.uint32).max)))


def stable_argsort_u32(bits: jax.Array) -> jax.Array:
  """The stable argsort of uint32 ``bits`` (..., m) along the last axis, int32.

  One sort of the 64-bit words ``bits << 32 | position``: positions are distinct, so
  ties in ``bits`` keep their positions' order, as a stable sort of (bits, position)
  pairs does. XLA:CPU sorts one primitive operand several times faster than a key-value
  pair (5000 x 300 keys, one core: 35 against 155 ms). Needs ``jax_enable_x64``.
  """
  if not jax.config.jax_enable_x64:
    raise ValueError("stable_argsort_u32 sorts uint64 words: trace it under "
                     "jax.enable_x64(True)")
  positions = jax.lax.broadcasted_iota(jnp.uint64, bits.shape, bits.ndim - 1)
  words = jax.lax.sort((bits.astype(jnp.uint64) << 32) | positions, dimension=bits.ndim - 1)
  return (words & 0xFFFFFFFF).astype(jnp.int32)


def _keyed_shuffle(key: jax.Array, m: int) -> jax.Array:
  """``jax.random.permutation(key, m)`` by its own algorithm, each round's stable sort
  made as ``stable_argsort_u32``: per round, ``key, subkey = split(key)``, 32 random
  bits per item from ``subkey``, and the items reordered by a stable sort on them.
  Only on the CPU: other backends sort JAX's key-value pairs at full speed, and take
  ``jax.random.permutation`` itself."""
  if jax.default_backend() != "cpu":
    return jax.random.permutation(key, m).astype(jnp.int32)
  x = jnp.arange(m, dtype=jnp.int32)
  for _ in range(shuffle_rounds(m)):
    key, subkey = jax.random.split(key)
    x = x[stable_argsort_u32(jax.random.bits(subkey, (m,), jnp.uint32))]
  return x


@functools.partial(jax.jit, static_argnames=("num_epochs", "m"))
def keyed_permutations_jit(key, *, num_epochs, m):
  """``keyed_permutations`` compiled (static num_epochs and m); trace it under
  ``jax.enable_x64(True)`` (``keyed_permutations`` does). Row e shuffles with
  ``fold_in(key, e)``, as ``epoch_permutation`` does; the tests check the two agree."""
  epochs = jnp.arange(num_epochs, dtype=jnp.uint32)
  return jax.vmap(lambda e: _keyed_shuffle(jax.random.fold_in(key, e), m))(epochs)


# Above this many entries (64 MB of int32) a run draws its keyed shuffles in the loop.
KEYED_TABLE_MAX_ENTRIES = 1 << 24


def batch_list(batches: Batches) -> list:
  """The mini-batches as the course's list [(X^{1}, Y^{1}), ...] (for inspection)."""
  pairs = [(batches.X[t], batches.Y[t]) for t in range(batches.X.shape[0])]
  if batches.rest_X is not None:
    pairs.append((batches.rest_X, batches.rest_Y))
  return pairs


# ----------------------------------------------------------------------------
# Training: uses of dlcourse.loop
# ----------------------------------------------------------------------------


def init_state(params: dict, optimizer: optax.GradientTransformation,
               key: Optional[jax.Array] = None) -> TrainState:
  """The state before epoch 0: fresh optimizer state, step 0; ``key`` shuffles."""
  return loop.init_state(params, optimizer, key)


def minibatch_step(params, opt_state, X_batch, Y_batch, *, arch, optimizer, method="manual"):
  """One optimizer step on one mini-batch (n_x, m_t), (n_y, m_t), as the loop takes it.

  J^{t} and the gradients are averaged over the batch's own m_t columns
  (``dense.cost_and_grads``). Returns (params, opt_state, m_t J^{t}): the summed
  per-example loss, the course's ``compute_cost`` term of the epoch's cost_total.
  """
  J, grads, _ = loop.dense_grad_fn(arch, method=method)(params, None, X_batch, Y_batch, None)
  params, opt_state = loop.optimizer_step(params, opt_state, grads, optimizer)
  return params, opt_state, J * X_batch.shape[1]


def epochs_batching(state: TrainState, permutations, batch_size: int) -> loop.Epochs:
  """The loop's ``Epochs``: the permutation table, or else the state's key, shuffles."""
  if permutations is None:
    return loop.Epochs(batch_size, key=state.key)
  return loop.Epochs(batch_size, permutations=permutations)


def train_epochs(state: TrainState, X, Y, permutations=None, *, arch, optimizer, batch_size,
                 num_epochs, method="manual"):
  """Runs epochs [e0, e0 + num_epochs), e0 = state.step // steps_per_epoch, in one scan.

  ``loop.run`` with ``loop.Epochs``. Pure and jittable (see ``train_epochs_jit``;
  ``run_epochs`` checks inputs first).

  Args:
    state: where to start; ``TrainState.key`` shuffles when ``permutations`` is None.
    X: (n_x, m); Y: (n_y, m), in the params' dtype.
    permutations: None (JAX-keyed shuffles) or an int array (E, m) whose row e is
      epoch e's permutation, E >= e0 + num_epochs (course-compatible mode). Indexed
      by the absolute epoch, so every chunk is given the same table.
    arch: ``dense.Architecture``; optimizer: an ``optax.GradientTransformation``.
    batch_size: 1 <= B <= m; num_epochs: epochs in this call (static).
    method: gradients by the hand-derived backward ("manual") or ``jax.grad``.

  Returns:
    (state after the epochs, costs (num_epochs,) with the course's epoch cost).
  """
  return loop.run(state, X, Y, grad_fn=loop.dense_grad_fn(arch, method=method),
                  optimizer=optimizer, num_iterations=num_epochs, record_every=1,
                  batching=epochs_batching(state, permutations, batch_size))


train_epochs_jit = loop.Program(
    train_epochs, static_argnames=("arch", "optimizer", "batch_size", "num_epochs", "method"))


# ----------------------------------------------------------------------------
# Checked entry points (the checks themselves live in dlcourse.validation)
# ----------------------------------------------------------------------------


def check_batch_size(batch_size, m) -> int:
  """ConfigError unless 1 <= batch_size <= m (an integer); returns it as an int."""
  batch_size = validation.positive_int("batch_size", batch_size)
  if batch_size > m:
    raise ConfigError(f"batch_size {batch_size} is larger than the m = {m} examples")
  return batch_size


def check_num_epochs(num_epochs) -> int:
  """ConfigError unless num_epochs is an integer in [1, 2**31 - 1]; returns it as an int."""
  return validation.num_steps("num_epochs", num_epochs)


def check_training(X, Y, batch_size, num_epochs, optimizer=None) -> None:
  """ConfigError / ShapeError for inputs that cannot be trained, before any compile."""
  if np.ndim(X) != 2 or np.ndim(Y) != 2:
    raise ShapeError(f"X and Y must be (n_x, m) and (n_y, m), got shapes "
                     f"{np.shape(X)} and {np.shape(Y)}")
  m = np.shape(X)[1]
  if np.shape(Y)[1] != m or m < 1:
    raise ShapeError(f"X {np.shape(X)} and Y {np.shape(Y)} must have the same m >= 1 columns")
  check_batch_size(batch_size, m)
  check_num_epochs(num_epochs)
  if optimizer is not None and not isinstance(optimizer, optax.GradientTransformation):
    raise ConfigError(f"optimizer must be an optax.GradientTransformation, got {optimizer!r}")


def check_permutations(permutations, m, last_epoch) -> None:
  """ShapeError unless ``permutations`` is (E, m) with E >= last_epoch and each row
  a permutation of 0..m-1 (an out-of-range row index would be clamped silently)."""
  table = np.asarray(permutations)
  if table.ndim != 2 or table.shape[1] != m or table.shape[0] < last_epoch:
    raise ShapeError(f"permutations must have shape (E >= {last_epoch}, m = {m}), "
                     f"got {table.shape}")
  if not np.issubdtype(table.dtype, np.integer):
    raise ShapeError(f"permutations must be integers, got dtype {table.dtype}")
  if not np.array_equal(np.sort(table, axis=1), np.broadcast_to(np.arange(m), table.shape)):
    raise ShapeError("every row of permutations must be a permutation of 0..m-1")


def run_epochs(state: TrainState, X, Y, permutations=None, *, arch, optimizer, batch_size,
               num_epochs, method="manual"):
  """``train_epochs_jit`` after checking every input (one chunk of a run)."""
  check_training(X, Y, batch_size, num_epochs, optimizer)
  dense.check_data(X, Y, arch)
  dense.check_params(state.params, arch)
  m = np.shape(X)[1]
  first_epoch, offset = divmod(int(state.step), num_batches(m, batch_size))
  if offset:
    raise ConfigError(f"state.step {int(state.step)} is not at an epoch boundary "
                      f"({num_batches(m, batch_size)} steps per epoch)")
  if permutations is None:
    if state.key is None:
      raise ConfigError("shuffling needs either permutations or a PRNG key in the state")
  else:
    check_permutations(permutations, m, first_epoch + num_epochs)
    permutations = jnp.asarray(permutations, jnp.int32)
  return train_epochs_jit(state, X, Y, permutations, arch=arch, optimizer=optimizer,
                          batch_size=batch_size, num_epochs=num_epochs, method=method)


def train(params, X, Y, *, arch, optimizer, batch_size, num_epochs, key=None,
          permutations=None, method="manual"):
  """A whole run from ``params``: (final TrainState, epoch costs (num_epochs,))."""
  check_training(X, Y, batch_size, num_epochs, optimizer)
  dense.check_params(params, arch)
  state = init_state(params, optimizer, key)
  return run_epochs(state, X, Y, permutations, arch=arch, optimizer=optimizer,
                    batch_size=batch_size, num_epochs=num_epochs, method=method)

"""Tests of dlcourse.minibatch: partitions, shuffles, tracing, chunking, and the notebook's loop.

The reference is the C2W2 notebook's training loop written in NumPy (``notebook_model``):
global ``np.random.seed(seed)`` shuffles, the notebook's forward/backward for the
[2, 5, 2, 1] ReLU net (with ``dz3 = 1/m (a3 - Y)``), its update rules (Adam's t counted
per mini-batch), its ``cost_total / m`` epoch cost and its decay applied after each
epoch. Ours differs from it only by rounding (where 1/m is applied, lr0 / k vs
1 / k * lr0), so a few epochs agree to 1e-12.
"""
import functools
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import data, initializers, loop, minibatch, optim, schedules, train
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import dense

DIMS = (2, 5, 2, 1)
ARCH = dense.Architecture.make(DIMS)
M = 300
TOLERANCE = 1e-12


# ----------------------------------------------------------------------------
# The notebook's loop, in NumPy (the reference)
# ----------------------------------------------------------------------------


@pytest.fixture
def numpy_global_state():
  """The reference seeds NumPy's global generator as the notebook does; restore it after."""
  state = np.random.get_state()
  yield
  np.random.set_state(state)


def notebook_shuffle(m, seed):
  """The notebook's random_mini_batches shuffle: global seed, then permutation(m)."""
  np.random.seed(seed)
  return list(np.random.permutation(m))


def notebook_forward(X, p):
  """z1 = W1 X + b1, a1 = relu(z1), ..., a3 = sigmoid(z3) (opt_utils' forward_propagation)."""
  z1 = p["W1"] @ X + p["b1"]
  a1 = np.maximum(0, z1)
  z2 = p["W2"] @ a1 + p["b2"]
  a2 = np.maximum(0, z2)
  z3 = p["W3"] @ a2 + p["b3"]
  a3 = 1 / (1 + np.exp(-z3))
  return a3, (a1, a2)


def notebook_backward(X, Y, p, a3, cache):
  """dz3 = 1/m (a3 - Y), dW3 = dz3 a2^T, ... (opt_utils' backward_propagation)."""
  a1, a2 = cache
  dz3 = 1. / X.shape[1] * (a3 - Y)
  dz2 = (p["W3"].T @ dz3) * np.int64(a2 > 0)
  dz1 = (p["W2"].T @ dz2) * np.int64(a1 > 0)
  grads = {}
  for l, (dz, a_prev) in {3: (dz3, a2), 2: (dz2, a1), 1: (dz1, X)}.items():
    grads[f"W{l}"] = dz @ a_prev.T
    grads[f"b{l}"] = np.sum(dz, axis=1, keepdims=True)
  return grads


def notebook_update(name, p, g, v, s, t, lr, beta=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
  """One step of update_parameters_with_{gd, momentum, adam} (and the lecture's RMSprop)."""
  for k in p:
    if name == "gd":
      p[k] = p[k] - lr * g[k]
    elif name == "momentum":
      v[k] = beta * v[k] + (1 - beta) * g[k]
      p[k] = p[k] - lr * v[k]
    elif name == "rmsprop":
      s[k] = beta2 * s[k] + (1 - beta2) * np.power(g[k], 2)
      p[k] = p[k] - lr * g[k] / (np.sqrt(s[k]) + eps)
    elif name == "adam":
      v[k] = beta1 * v[k] + (1 - beta1) * g[k]
      s[k] = beta2 * s[k] + (1 - beta2) * np.power(g[k], 2)
      v_corrected = v[k] / (1 - np.power(beta1, t))
      s_corrected = s[k] / (1 - np.power(beta2, t))
      p[k] = p[k] - lr * v_corrected / (np.sqrt(s_corrected) + eps)


def notebook_model(X, Y, name, lr, batch_size, num_epochs, decay=None, decay_rate=1.,
                   time_interval=1000, shuffle=True):
  """The notebook's model(): returns (params, [cost of every epoch]).

  ``shuffle=False`` keeps the data order (for the full-batch comparison with train_gd).
  """
  p = {k: np.asarray(a) for k, a in initializers.course_initialize(3, DIMS, "he").items()}
  v = {k: np.zeros_like(a) for k, a in p.items()}
  s = {k: np.zeros_like(a) for k, a in p.items()}
  m, t, seed, lr0, costs = X.shape[1], 0, 10, lr, []
  for i in range(num_epochs):
    seed = seed + 1
    permutation = notebook_shuffle(m, seed) if shuffle else list(range(m))
    X_shuffled, Y_shuffled = X[:, permutation], Y[:, permutation].reshape((1, m))
    cost_total = 0
    for k in range(math.ceil(m / batch_size)):
      X_batch = X_shuffled[:, k * batch_size:(k + 1) * batch_size]
      Y_batch = Y_shuffled[:, k * batch_size:(k + 1) * batch_size]
      a3, cache = notebook_forward(X_batch, p)
      cost_total += np.sum(-np.log(a3) * Y_batch - np.log(1 - a3) * (1 - Y_batch))
      grads = notebook_backward(X_batch, Y_batch, p, a3, cache)
      t = t + 1
      notebook_update(name, p, grads, v, s, t, lr)
    costs.append(cost_total / m)
    if decay == "inverse_time":
      lr = 1 / (1 + decay_rate * i) * lr0
    elif decay == "fixed_interval":
      lr = 1 / (1 + decay_rate * np.floor(i / time_interval)) * lr0
  return p, costs


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def moons():
  return data.moons()


def moons_jnp():
  X, Y = moons()
  dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
  return jnp.asarray(X, dtype), jnp.asarray(Y, dtype)


def course_params():
  return initializers.course_initialize(3, DIMS, "he")


def make_optimizer(name, lr, steps_per_epoch, decay=None, decay_rate=1., time_interval=1000):
  """Ours (or optax's, ``optax_adam``), with the notebook's decay timing."""
  timing = dict(steps_per_epoch=steps_per_epoch, course_timing=True)
  if decay == "inverse_time":
    lr = schedules.inverse_time_decay(lr, decay_rate, **timing)
  elif decay == "fixed_interval":
    lr = schedules.fixed_interval_decay(lr, decay_rate, time_interval, **timing)
  if name == "optax_adam":
    return optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8)
  return {"gd": optim.gd, "momentum": optim.momentum, "rmsprop": optim.rmsprop,
          "adam": optim.adam}[name](lr)


def _bits(leaf):
  if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
    leaf = jax.random.key_data(leaf)  # typed keys have no NumPy view
  return np.asarray(leaf)


def assert_trees_equal(a, b):
  """Same structure and the same bits in every leaf."""
  chex.assert_trees_all_equal_structs(a, b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(_bits(x), _bits(y))


def max_abs_diff(ours, reference):
  return max(float(np.max(np.abs(np.asarray(ours[k]) - reference[k]))) for k in reference)


# ----------------------------------------------------------------------------
# Partitions and shuffles
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("m,batch_size,sizes", [
    (300, 64, (64, 64, 64, 64, 44)),
    (300, 1, (1,) * 300),
    (300, 300, (300,)),
    (300, 50, (50,) * 6),
    (7, 3, (3, 3, 1)),
])
def test_batch_sizes(m, batch_size, sizes):
  assert minibatch.batch_sizes(m, batch_size) == sizes
  assert minibatch.num_batches(m, batch_size) == len(sizes)
  assert sum(sizes) == m


def test_partition_cuts_consecutive_slices_of_the_shuffled_data():
  # Row 0 holds each column's index, so what lands where can be read back.
  m = 300
  X = np.stack([np.arange(m), -np.arange(m)]).astype(np.float32)
  Y = (np.arange(m) % 2).reshape(1, m).astype(np.float32)
  permutation = np.random.RandomState(0).permutation(m)
  batches = minibatch.partition(jnp.asarray(X), jnp.asarray(Y), jnp.asarray(permutation), 64)
  assert batches.X.shape == (4, 2, 64) and batches.Y.shape == (4, 1, 64)
  assert batches.rest_X.shape == (2, 44) and batches.rest_Y.shape == (1, 44)
  pairs = minibatch.batch_list(batches)
  assert [b.shape[1] for b, _ in pairs] == [64, 64, 64, 64, 44]
  np.testing.assert_array_equal(np.concatenate([b for b, _ in pairs], axis=1), X[:, permutation])
  np.testing.assert_array_equal(np.concatenate([y for _, y in pairs], axis=1), Y[:, permutation])


def test_partition_without_a_partial_batch():
  X, Y = jnp.ones((2, 300)), jnp.ones((1, 300))
  batches = minibatch.partition(X, Y, jnp.arange(300), 50)
  assert batches.X.shape == (6, 2, 50) and batches.rest_X is None and batches.rest_Y is None


def test_course_permutations_are_the_notebooks_global_seed_shuffles(numpy_global_state):
  expected, seed = [], 10
  for _ in range(6):
    seed = seed + 1
    expected.append(notebook_shuffle(M, seed))
  table = minibatch.course_permutations(M, 6)
  assert table.shape == (6, M) and table.dtype == np.int32
  np.testing.assert_array_equal(table, np.asarray(expected))
  np.testing.assert_array_equal(minibatch.course_permutations(M, 2, first_epoch=4), table[4:])


def test_course_permutations_leave_numpys_global_state_alone(numpy_global_state):
  np.random.seed(123)
  first = np.random.rand(3)
  np.random.seed(123)
  minibatch.course_permutations(M, 3)
  np.testing.assert_array_equal(np.random.rand(3), first)


def test_every_example_is_used_once_per_epoch():
  key = jax.random.key(0)
  jax_rows = np.stack([np.asarray(minibatch.epoch_permutation(key, e, M)) for e in range(4)])
  for table in (jax_rows, minibatch.course_permutations(M, 4)):
    np.testing.assert_array_equal(np.sort(table, axis=1), np.tile(np.arange(M), (4, 1)))
    assert len({tuple(row) for row in table}) == 4  # each epoch shuffles anew
  # Epoch e's shuffle depends on (key, e) only, and on the key.
  np.testing.assert_array_equal(minibatch.epoch_permutation(key, 2, M), jax_rows[2])
  assert not np.array_equal(minibatch.epoch_permutation(jax.random.key(1), 2, M), jax_rows[2])


# ----------------------------------------------------------------------------
# Compilation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [64, 50])
def test_the_step_is_traced_once_with_or_without_a_partial_batch(monkeypatch, batch_size):
  # The loop's one step (grad_fn, then the optimizer) is traced once: a partial last
  # batch (300 = 4 x 64 + 44) is padded to 64 columns and masked.
  chex.clear_trace_counter()
  calls = []

  def counting_grad_fn(self, params, model_state, X_batch, Y_batch, key, mask=None):
    calls.append((X_batch.shape, None if mask is None else mask.shape))
    return grad_fn(self, params, model_state, X_batch, Y_batch, key, mask)

  grad_fn = loop.DenseGradFn.__call__
  monkeypatch.setattr(loop.DenseGradFn, "__call__",
                      chex.assert_max_traces(counting_grad_fn, n=1))
  X, Y = moons_jnp()
  optimizer = optim.gd(0.01)  # a fresh transformation: jit must trace anew
  params = initializers.initialize(jax.random.key(0), DIMS, "he")
  state, costs = minibatch.train(params, X, Y, arch=ARCH, optimizer=optimizer,
                                 batch_size=batch_size, num_epochs=4, key=jax.random.key(1))
  mask = (batch_size,) if M % batch_size else None
  assert calls == [((2, batch_size), mask)]  # whatever the number of epochs
  assert costs.shape == (4,) and int(state.step) == 4 * minibatch.num_batches(M, batch_size)


@pytest.mark.usefixtures("x64")
def test_a_grad_fn_without_a_mask_takes_the_partial_batch_at_its_width():
  """A grad_fn that takes no column mask (batch norm's) gets the partial batch as it is,
  a second trace of the step, and the same iterates as the masked one."""
  X, Y = moons_jnp()
  shapes = []
  dense_fn = loop.dense_grad_fn(ARCH)

  def unmasked(params, model_state, X_batch, Y_batch, key):
    shapes.append(X_batch.shape)
    return dense_fn(params, model_state, X_batch, Y_batch, key)

  optimizer = optim.adam(0.01)
  params = initializers.initialize(jax.random.key(0), DIMS, "he", dtype=jnp.float64)
  X, Y = X.astype(jnp.float64), Y.astype(jnp.float64)
  start = loop.init_state(params, optimizer)
  batching = loop.Epochs(64, key=jax.random.key(2))
  runs = [jax.jit(functools.partial(loop.run, grad_fn=fn, optimizer=optimizer,
                                    num_iterations=3, batching=batching))(start, X, Y)
          for fn in (jax.tree_util.Partial(unmasked), dense_fn)]
  assert shapes == [(2, 64), (2, M % 64)]
  (state_a, costs_a), (state_b, costs_b) = runs
  assert state_a.params["W1"].dtype == jnp.float64
  chex.assert_trees_all_close(state_a.params, state_b.params, rtol=1e-12, atol=1e-14)
  np.testing.assert_allclose(costs_a, costs_b, rtol=1e-13)


def test_the_whole_run_is_traced_once_across_chunks():
  chex.clear_trace_counter()
  run = jax.jit(chex.assert_max_traces(minibatch.train_epochs, n=1),
                static_argnames=("arch", "optimizer", "batch_size", "num_epochs", "method"))
  X, Y = moons_jnp()
  optimizer = optim.adam(0.01)
  state = minibatch.init_state(initializers.initialize(jax.random.key(0), DIMS, "he"),
                               optimizer, jax.random.key(1))
  for _ in range(3):  # epochs 0-1, 2-3, 4-5: one program, new states
    state, _ = run(state, X, Y, arch=ARCH, optimizer=optimizer, batch_size=64, num_epochs=2)
  assert int(state.step) == 6 * 5


# ----------------------------------------------------------------------------
# Chunks, and the same code for SGD, mini-batch and full-batch GD
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", ["course", "jax_key"])
def test_chunked_run_equals_uninterrupted_run_bit_for_bit(x64, shuffle):
  X, Y = moons_jnp()
  # Adam (step counter) with a rate that drops every 2 epochs: state that must carry over.
  optimizer = make_optimizer("adam", 0.01, 5, decay="fixed_interval", time_interval=2)
  if shuffle == "course":
    permutations, key = jnp.asarray(minibatch.course_permutations(M, 6)), None
  else:
    permutations, key = None, jax.random.key(7)
  run = functools.partial(minibatch.run_epochs, arch=ARCH, optimizer=optimizer, batch_size=64)
  start = minibatch.init_state(course_params(), optimizer, key)
  whole, whole_costs = run(start, X, Y, permutations, num_epochs=6)
  state, chunk_costs = start, []
  for _ in range(3):
    state, costs = run(state, X, Y, permutations, num_epochs=2)
    chunk_costs.append(costs)
  assert_trees_equal(state, whole)
  np.testing.assert_array_equal(np.concatenate(chunk_costs), whole_costs)
  assert int(whole.step) == 30


@pytest.mark.parametrize("name,lr,batch_size,decay,num_epochs", [
    ("gd", 0.0007, 64, None, 3),
    ("momentum", 0.0007, 64, None, 3),
    ("rmsprop", 0.0007, 64, None, 3),
    ("adam", 0.0007, 64, None, 3),
    ("optax_adam", 0.0007, 64, None, 3),
    ("gd", 0.1, 64, "inverse_time", 4),
    ("momentum", 0.1, 64, "fixed_interval", 5),
    ("adam", 0.01, 64, "fixed_interval", 5),
    ("gd", 0.01, 1, None, 2),        # stochastic gradient descent
    ("gd", 0.5, 300, None, 20),      # full-batch gradient descent
], ids=["gd", "momentum", "rmsprop", "adam", "optax_adam", "gd_inverse_time",
        "momentum_fixed_interval", "adam_fixed_interval", "sgd", "full_batch"])
def test_matches_the_notebooks_loop(x64, numpy_global_state, name, lr, batch_size, decay,
                                    num_epochs):
  X, Y = moons()
  steps = minibatch.num_batches(M, batch_size)
  # time_interval 2: the fixed-interval rate drops inside these few epochs.
  optimizer = make_optimizer(name, lr, steps, decay=decay, time_interval=2)
  state, costs = minibatch.train(
      course_params(), *moons_jnp(), arch=ARCH, optimizer=optimizer, batch_size=batch_size,
      num_epochs=num_epochs, permutations=minibatch.course_permutations(M, num_epochs))
  reference, reference_costs = notebook_model(
      X, Y, name.replace("optax_", ""), lr, batch_size, num_epochs, decay=decay, time_interval=2)
  assert max_abs_diff(state.params, reference) <= TOLERANCE
  np.testing.assert_allclose(costs, reference_costs, rtol=0, atol=TOLERANCE)
  assert int(state.step) == num_epochs * steps
  if name == "adam":  # the notebook's t counts mini-batches
    assert int(state.opt_state[0].count) == num_epochs * steps


def test_full_batch_equals_train_gd(x64):
  X, Y = moons_jnp()
  num_epochs, lr = 30, 0.5
  # Unshuffled, so the columns are summed in the same order as train_gd's.
  same_order = np.tile(np.arange(M, dtype=np.int32), (num_epochs, 1))
  state, costs = minibatch.train(course_params(), X, Y, arch=ARCH, optimizer=optim.gd(lr),
                                 batch_size=M, num_epochs=num_epochs, permutations=same_order)
  result = train.train_gd_jit(course_params(), X, Y, lr, arch=ARCH, num_iterations=num_epochs,
                              record_every=1)
  # The same arithmetic in two programs: LLVM may schedule (and fuse into FMAs) the same
  # operations differently in each, which moves the last bit after a few iterations
  # (5.6e-17 in b1 after 30, at -O2), so the check is to a few ulps, not to 0.
  assert max_abs_diff(state.params, {k: np.asarray(v) for k, v in result.params.items()}) \
      <= 1e-15
  np.testing.assert_allclose(costs, result.costs, rtol=1e-14, atol=0)


def test_float32_with_jax_keys():
  X, Y = moons_jnp()
  params = initializers.initialize(jax.random.key(0), DIMS, "he")
  state, costs = minibatch.train(params, X, Y, arch=ARCH, optimizer=optim.adam(0.01),
                                 batch_size=64, num_epochs=50, key=jax.random.key(0))
  assert costs.dtype == jnp.float32 and state.step.dtype == jnp.int32
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state.params))
  assert np.all(np.isfinite(costs)) and costs[-1] < costs[0]


# ----------------------------------------------------------------------------
# Bad input: ConfigError / ShapeError before anything is compiled
# ----------------------------------------------------------------------------


@pytest.fixture
def no_compile(monkeypatch):
  def compiled(*args, **kwargs):
    raise AssertionError("bad input reached the compiled program")
  monkeypatch.setattr(minibatch, "train_epochs_jit", compiled)


def _train(**overrides):
  X, Y = moons_jnp()
  kwargs = dict(arch=ARCH, optimizer=optim.gd(0.1), batch_size=64, num_epochs=2,
                key=jax.random.key(0))
  kwargs.update(overrides)
  params = initializers.initialize(jax.random.key(0), DIMS, "he")
  return minibatch.train(params, kwargs.pop("X", X), kwargs.pop("Y", Y), **kwargs)


@pytest.mark.parametrize("overrides,error", [
    ({"batch_size": 0}, ConfigError),
    ({"batch_size": -64}, ConfigError),
    ({"batch_size": 301}, ConfigError),
    ({"batch_size": 2.5}, ConfigError),
    ({"batch_size": True}, ConfigError),
    ({"num_epochs": 0}, ConfigError),
    ({"optimizer": "adam"}, ConfigError),
    ({"key": None}, ConfigError),
    ({"X": jnp.ones((2, 299))}, ShapeError),
    ({"Y": jnp.ones((300,))}, ShapeError),
    ({"permutations": np.zeros((2, 300), np.int32)}, ShapeError),        # not permutations
    ({"permutations": minibatch.course_permutations(300, 1)}, ShapeError),  # too few epochs
    ({"permutations": minibatch.course_permutations(299, 2)}, ShapeError),  # wrong m
], ids=["batch_0", "batch_negative", "batch_above_m", "batch_fractional", "batch_bool",
        "epochs_0", "optimizer_name", "no_key_no_permutations", "X_Y_columns", "Y_1d",
        "permutations_not", "permutations_too_few", "permutations_wrong_m"])
def test_bad_training_input_is_refused_before_compiling(no_compile, overrides, error):
  with pytest.raises(error):
    _train(**overrides)


@pytest.mark.parametrize("build", [
    lambda: optim.gd(0.0),
    lambda: optim.gd(-0.1),
    lambda: optim.momentum(0.1, beta=1.0),
    lambda: optim.momentum(0.1, beta=-0.1),
    lambda: optim.rmsprop(0.1, beta2=1.0),
    lambda: optim.rmsprop(0.1, epsilon=0.0),
    lambda: optim.adam(0.1, beta1=1.0),
    lambda: optim.adam(0.1, beta2=-0.5),
    lambda: optim.adam(0.1, epsilon=-1e-8),
    lambda: schedules.fixed_interval_decay(0.1, 1.0, 0, steps_per_epoch=5),
    lambda: schedules.fixed_interval_decay(0.1, 1.0, -1000, steps_per_epoch=5),
    lambda: schedules.inverse_time_decay(0.0, 1.0, steps_per_epoch=5),
    lambda: schedules.inverse_time_decay(0.1, -1.0, steps_per_epoch=5),
])
def test_bad_hyperparameters_are_refused_when_the_optimizer_is_built(build):
  with pytest.raises(ConfigError):
    build()


def test_a_state_between_epochs_is_refused(no_compile):
  X, Y = moons_jnp()
  optimizer = optim.gd(0.1)
  state = minibatch.init_state(initializers.initialize(jax.random.key(0), DIMS, "he"),
                               optimizer, jax.random.key(0))._replace(step=jnp.int32(3))
  with pytest.raises(ConfigError, match="epoch boundary"):
    minibatch.run_epochs(state, X, Y, arch=ARCH, optimizer=optimizer, batch_size=64,
                         num_epochs=1)


def test_keyed_permutations_are_the_loops_keyed_shuffles():
  key = jax.random.key(11)
  table = minibatch.keyed_permutations(key, 4, M)
  assert table.shape == (4, M) and table.dtype == jnp.int32
  for e in range(4):
    np.testing.assert_array_equal(table[e], loop.epoch_permutation(key, e, M))
  assert not np.array_equal(table[0], table[1])


@pytest.mark.parametrize("m", [1, 2, 1625, 1626, 2912])
def test_keyed_permutations_match_jax_random_permutation_in_one_and_two_rounds(m):
  # jax.random.permutation sorts once up to m = 1625 and twice above: the table redoes
  # its rounds with packed sort words, so a change in JAX's algorithm shows here.
  key = jax.random.key(5)
  x64_before = jax.config.jax_enable_x64
  table = minibatch.keyed_permutations(key, 3, m)
  assert jax.config.jax_enable_x64 == x64_before  # its 64-bit words stay inside
  assert table.dtype == jnp.int32
  assert minibatch.shuffle_rounds(m) == (0 if m == 1 else 1 if m <= 1625 else 2)
  for e in range(3):
    np.testing.assert_array_equal(table[e],
                                  jax.random.permutation(jax.random.fold_in(key, e), m))


def test_keyed_permutations_off_the_cpu_are_jax_random_permutation(monkeypatch):
  # Another backend takes jax.random.permutation itself: the same rows. (Another
  # num_epochs, so that the program is traced again rather than taken from jit's cache.)
  key = jax.random.key(8)
  on_cpu = minibatch.keyed_permutations(key, 3, 2912)
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  np.testing.assert_array_equal(minibatch.keyed_permutations(key, 4, 2912)[:3], on_cpu)


def test_stable_argsort_u32_keeps_tied_keys_in_their_order():
  bits = np.array([[7, 3, 7, 0, 3, 2**32 - 1, 0, 7], [1, 1, 1, 1, 0, 0, 0, 0]], np.uint32)
  with jax.enable_x64(True):
    order = jax.jit(minibatch.stable_argsort_u32)(bits)
  assert order.dtype == jnp.int32
  np.testing.assert_array_equal(order, np.argsort(bits, axis=1, kind="stable"))


def test_stable_argsort_u32_refuses_to_run_without_64_bit_words():
  with pytest.raises(ValueError, match="enable_x64"):
    minibatch.stable_argsort_u32(jnp.zeros((1, 4), jnp.uint32))

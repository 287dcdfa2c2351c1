"""The one training loop (``dlcourse.loop``): its updates, batching, state and programs."""
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import initializers, loop, optim, train
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import dense

pytestmark = pytest.mark.usefixtures("x64")

ARCH = dense.Architecture.make((3, 4, 1), hidden="tanh")
M = 10


def problem(m=M):
  params = initializers.initialize(jax.random.key(0), ARCH.layer_dims, "he", dtype=jnp.float64)
  rng = np.random.RandomState(0)
  X = jnp.asarray(rng.randn(3, m))
  Y = jnp.asarray((rng.rand(1, m) > 0.5).astype(float))
  return params, X, Y


def bits(leaf):
  if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
    leaf = jax.random.key_data(leaf)
  return np.asarray(leaf)


def assert_same_bits(a, b):
  chex.assert_trees_all_equal_structs(a, b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(bits(x), bits(y))


def run(state, X, Y, **kwargs):
  kwargs.setdefault("grad_fn", loop.dense_grad_fn(ARCH))
  return jax.jit(functools.partial(loop.run, **kwargs))(state, X, Y)


# --- plain GD through optax is the course's update, bit for bit -----------------------


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_optim_gd_update_is_theta_minus_alpha_dtheta_bit_for_bit(dtype):
  rng = np.random.RandomState(1)
  params = {"W": jnp.asarray(rng.randn(5, 7), dtype), "b": jnp.asarray(rng.randn(5, 1), dtype)}
  grads = jax.tree.map(lambda p: jnp.asarray(rng.randn(*p.shape) * 10.0 ** rng.randint(-8, 3),
                                             dtype), params)
  lr = 0.0123
  via_optax = jax.jit(lambda p, g: loop.optimizer_step(p, optim.gd(lr).init(p), g,
                                                       optim.gd(lr))[0])(params, grads)
  course = jax.jit(train.gd_update)(params, grads, lr)
  assert_same_bits(via_optax, course)
  # And both are the NumPy formula, rounded once per operation.
  for name in params:
    expected = np.asarray(params[name]) - np.asarray(lr, dtype) * np.asarray(grads[name])
    np.testing.assert_array_equal(np.asarray(via_optax[name]), expected)


def reference_gd(params, X, Y, lr, num_iterations):
  """The course's loop written out: J, dtheta, theta - alpha dtheta, no optax."""
  def step(p, _):
    J, grads = dense.cost_and_grads(p, X, Y, ARCH)
    return train.gd_update(p, grads, lr), J
  return jax.lax.scan(step, params, None, length=num_iterations)


def loop_gd(params, X, Y, lr, num_iterations, record_every):
  state, costs = loop.run(loop.init_state(params, optim.gd(lr)), X, Y,
                          grad_fn=loop.dense_grad_fn(ARCH), optimizer=optim.gd(lr),
                          num_iterations=num_iterations, record_every=record_every)
  return state, costs


@pytest.mark.parametrize("lr", [0.5, 0.37])
@pytest.mark.parametrize("traced", [True, False], ids=["traced_lr", "constant_lr"])
def test_full_batch_gd_through_optim_gd_is_the_course_loop_bit_for_bit(lr, traced):
  # Both programs take alpha the same way: a traced alpha and a compile-time constant
  # give programs that XLA simplifies differently (1-ulp differences), optax or not.
  params, X, Y = problem()
  if traced:
    reference = jax.jit(reference_gd, static_argnums=4)
    ours = jax.jit(loop_gd, static_argnums=(4, 5))
  else:
    reference = jax.jit(lambda p, X, Y, _, n: reference_gd(p, X, Y, lr, n), static_argnums=4)
    ours = jax.jit(lambda p, X, Y, _, n, r: loop_gd(p, X, Y, lr, n, r), static_argnums=(4, 5))
  expected_params, expected_costs = reference(params, X, Y, lr, 30)
  state, costs = ours(params, X, Y, lr, 30, 1)
  assert_same_bits(state.params, expected_params)
  np.testing.assert_array_equal(costs, expected_costs)
  # Recording every 7th iteration: the same iterates, the costs of iterations 0, 7, ...
  state7, costs7 = ours(params, X, Y, lr, 30, 7)
  assert_same_bits(state7.params, expected_params)
  np.testing.assert_array_equal(costs7, np.asarray(expected_costs)[::7])
  assert int(state7.step) == 30 and costs7.shape == (5,)


# --- epochs, in-order batches ----------------------------------------------------------


def reference_epochs(params, X, Y, optimizer, batch_size, orders):
  """Epoch by epoch in Python: shuffle, cut, one jitted optimizer step per batch."""
  opt_state, costs = optimizer.init(params), []

  @jax.jit
  def step(params, opt_state, X_t, Y_t):
    J, grads = dense.cost_and_grads(params, X_t, Y_t, ARCH)
    return J, loop.optimizer_step(params, opt_state, grads, optimizer)

  for order in orders:
    Xs, Ys, total = X[:, order], Y[:, order], 0.0
    for start in range(0, X.shape[1], batch_size):
      J, (params, opt_state) = step(params, opt_state, Xs[:, start:start + batch_size],
                                    Ys[:, start:start + batch_size])
      total += float(J) * Xs[:, start:start + batch_size].shape[1]
    costs.append(total / X.shape[1])
  return params, costs


def test_epochs_with_permutations_follow_the_notebooks_loop():
  params, X, Y = problem()
  orders = np.stack([np.random.RandomState(e).permutation(M) for e in range(3)]).astype(np.int32)
  optimizer = optim.adam(0.05)
  state, costs = run(loop.init_state(params, optimizer), X, Y, optimizer=optimizer,
                     num_iterations=3, batching=loop.Epochs(4, permutations=jnp.asarray(orders)))
  expected, expected_costs = reference_epochs(params, X, Y, optimizer, 4, orders)
  chex.assert_trees_all_close(state.params, expected, rtol=1e-13, atol=1e-15)
  np.testing.assert_allclose(costs, expected_costs, rtol=1e-13)
  assert int(state.step) == 3 * 3  # 4 + 4 + 2 columns: three steps an epoch
  assert int(state.opt_state[0].count) == 9


def test_keyed_epochs_equal_their_permutation_table_and_in_order_equals_identity():
  params, X, Y = problem()
  key = jax.random.key(5)
  optimizer = optim.momentum(0.1)
  start = loop.init_state(params, optimizer)
  keyed = run(start, X, Y, optimizer=optimizer, num_iterations=3,
              batching=loop.Epochs(4, key=key))
  table = jnp.stack([loop.epoch_permutation(key, e, M) for e in range(3)])
  tabled = run(start, X, Y, optimizer=optimizer, num_iterations=3,
               batching=loop.Epochs(4, permutations=table))
  assert_same_bits(keyed, tabled)
  in_order = run(start, X, Y, optimizer=optimizer, num_iterations=3, batching=loop.InOrder(4))
  identity = run(start, X, Y, optimizer=optimizer, num_iterations=3,
                 batching=loop.Epochs(4, permutations=jnp.tile(jnp.arange(M), (3, 1))))
  assert_same_bits(in_order, identity)
  assert not np.allclose(keyed[0].params["W1"], in_order[0].params["W1"])


# --- model state -----------------------------------------------------------------------


def running_mean_grad_fn(params, model_state, X, Y, key):
  """A stateful toy: the dense net's gradients, and batch norm's running average of
  the batch means, mu := 0.9 mu + 0.1 mean_columns(X_t)."""
  del key
  J, grads = dense.cost_and_grads(params, X, Y, ARCH)
  return J, grads, 0.9 * model_state + 0.1 * jnp.mean(X, axis=1, keepdims=True)


def test_model_state_is_threaded_through_every_step_and_chunk():
  params, X, Y = problem()
  optimizer = optim.gd(0.1)
  start = loop.init_state(params, optimizer, model_state=jnp.zeros((3, 1)))
  kwargs = dict(grad_fn=running_mean_grad_fn, optimizer=optimizer, batching=loop.InOrder(4))
  state, _ = run(start, X, Y, num_iterations=4, **kwargs)
  mu = np.zeros((3, 1))
  for _ in range(4):
    for s in range(0, M, 4):
      mu = 0.9 * mu + 0.1 * np.mean(np.asarray(X)[:, s:s + 4], axis=1, keepdims=True)
  np.testing.assert_allclose(state.model_state, mu, rtol=1e-14)
  chunked = start
  for _ in range(2):
    chunked, _ = run(chunked, X, Y, num_iterations=2, **kwargs)
  assert_same_bits(chunked, state)


# --- chunks and compiled programs ------------------------------------------------------


@pytest.mark.parametrize("batching", ["full_dropout", "epochs_key", "epochs_dropout"])
def test_chunks_of_one_compiled_program_equal_the_uninterrupted_run(batching):
  params, X, Y = problem()
  if batching == "full_dropout":
    grad_fn = loop.dense_grad_fn(ARCH, dropout_layers=(1,), keep_prob=0.7)
    optimizer, spec, n, r = optim.gd(0.3), loop.FULL_BATCH, 18, 3
  elif batching == "epochs_dropout":   # masks drawn a step ahead, from each chunk's start
    grad_fn = loop.dense_grad_fn(ARCH, dropout_layers=(1,), keep_prob=0.7)
    optimizer, spec, n, r = optim.adam(0.05), loop.Epochs(4, key=jax.random.key(2)), 6, 2
  else:
    grad_fn = loop.dense_grad_fn(ARCH)
    optimizer, spec, n, r = optim.adam(0.05), loop.Epochs(4, key=jax.random.key(2)), 6, 1
  start = loop.init_state(params, optimizer, key=jax.random.key(9))
  kwargs = dict(optimizer=optimizer, record_every=r, batching=spec)
  whole, whole_costs = loop.run_jit(start, X, Y, grad_fn, num_iterations=n, **kwargs)
  chunk = loop.run_jit.lower(start, X, Y, grad_fn, num_iterations=n // 3, **kwargs).compile()
  state, costs = start, []
  for _ in range(3):  # the start is state.step, a traced value: one program serves all
    state, c = chunk(state, X, Y, grad_fn, batching=spec)
    costs.append(c)
  assert_same_bits(state, whole)
  np.testing.assert_array_equal(np.concatenate(costs), whole_costs)


def test_hyperparameters_of_the_dense_grad_fn_are_traced():
  params, X, Y = problem()
  optimizer = optim.gd(0.2)
  start = loop.init_state(params, optimizer)
  jitted = loop.run_jit.unchecked
  before = jitted._cache_size()
  results = [jitted(start, X, Y, loop.dense_grad_fn(ARCH, lambd=lambd), optimizer=optimizer,
                    num_iterations=5, record_every=5) for lambd in (0.1, 0.7)]
  assert jitted._cache_size() == before + 1  # one program for both lambdas
  assert not np.allclose(results[0][0].params["W1"], results[1][0].params["W1"])
  # A Python 0 stays static: no L2 terms, so a program of its own.
  jitted(start, X, Y, loop.dense_grad_fn(ARCH, lambd=0.0), optimizer=optimizer,
         num_iterations=5, record_every=5)
  assert jitted._cache_size() == before + 2


@pytest.mark.parametrize("batching,num_iterations,record_every,traces", [
    ("full", 23, 5, 1),      # a shorter last block is the same code
    ("epochs", 3, 2, 2),     # one trace per batch shape: 4 columns, then the partial 2
    ("in_order", 4, 1, 1),   # 5 = 5 + 0: no partial batch
])
def test_the_step_is_traced_once_per_batch_shape(batching, num_iterations, record_every,
                                                 traces):
  chex.clear_trace_counter()
  params, X, Y = problem()
  shapes = []

  @functools.partial(chex.assert_max_traces, n=traces)
  def grad_fn(params, model_state, X, Y, key):
    shapes.append(X.shape)
    J, grads = dense.cost_and_grads(params, X, Y, ARCH)
    return J, grads, model_state

  spec = {"full": loop.FULL_BATCH, "epochs": loop.Epochs(4, key=jax.random.key(0)),
          "in_order": loop.InOrder(5)}[batching]
  optimizer = optim.gd(0.1)
  state, costs = run(loop.init_state(params, optimizer), X, Y, grad_fn=grad_fn,
                     optimizer=optimizer, num_iterations=num_iterations,
                     record_every=record_every, batching=spec)
  assert len(shapes) == traces
  assert costs.shape == (-(-num_iterations // record_every),)
  assert int(state.step) == num_iterations * loop.steps_per_iteration(spec, M)


# --- the cost, computed where it is recorded -------------------------------------------


class CostOnRequest:
  """A grad_fn that ``takes_need_cost``: the dense net's gradients, J only where asked
  (NaN elsewhere, so a recorded J that was not asked for shows), and a model state
  counting the steps that asked (None, a loop recording every J, counts as asked)."""
  takes_need_cost = True

  def __init__(self, takes_column_mask=True):
    self.takes_column_mask = takes_column_mask

  def __call__(self, params, count, X, Y, key, mask=None, need_cost=None):
    del key
    J, grads = dense.cost_and_grads(params, X, Y, ARCH, mask=mask)
    if need_cost is None:
      return J, grads, count + 1
    return jnp.where(need_cost, J, jnp.nan), grads, count + need_cost.astype(count.dtype)


@pytest.mark.parametrize("batching,num_iterations,record_every,asked", [
    ("full", 23, 5, 5),            # iterations 0, 5, 10, 15, 20
    ("full", 4, 1, 4),             # every J recorded
    ("epochs_padded", 5, 2, 9),    # epochs 0, 2, 4; M = 10: 3 batches each, the last padded
    ("epochs_rest", 5, 2, 9),      # the partial batch a step of its own, asked too
])
def test_a_grad_fn_is_asked_for_its_cost_only_where_the_loop_records_it(
    batching, num_iterations, record_every, asked):
  params, X, Y = problem()
  optimizer = optim.gd(0.1)
  spec = loop.FULL_BATCH if batching == "full" else loop.Epochs(4, key=jax.random.key(4))
  kwargs = dict(optimizer=optimizer, num_iterations=num_iterations,
                record_every=record_every, batching=spec)
  start = loop.init_state(params, optimizer, model_state=jnp.zeros((), jnp.int32))
  state, costs = run(start, X, Y, grad_fn=CostOnRequest(batching != "epochs_rest"), **kwargs)
  assert int(state.model_state) == asked
  # The recorded costs are every-iteration's, bit for bit, and so are the iterates.
  every, every_costs = run(start, X, Y, grad_fn=CostOnRequest(batching != "epochs_rest"),
                           **dict(kwargs, record_every=1))
  np.testing.assert_array_equal(costs, np.asarray(every_costs)[::record_every])
  assert_same_bits(state.params, every.params)


def test_the_dense_grad_fn_computes_its_loss_only_on_recorded_iterations():
  params, X, Y = problem()
  optimizer = optim.gd(0.1)
  start = loop.init_state(params, optimizer)
  program = lambda r: jax.make_jaxpr(functools.partial(
      loop.run, grad_fn=loop.dense_grad_fn(ARCH), optimizer=optimizer, num_iterations=10,
      record_every=r))(start, X, Y)
  assert "cond[" in str(program(5))      # the loss behind a lax.cond on "recorded"
  assert "cond[" not in str(program(1))  # every iteration's J recorded: no cond


# --- a step's randomness drawn a step ahead ---------------------------------------------


class KeyEcho:
  """A grad_fn whose ``draw`` returns its key's bits, and whose cost counts how many
  of them differ from its own step key's: 0 at every step iff each step was handed
  exactly the draw of its own key. ``takes_column_mask`` as asked (False: a partial
  last batch takes a step of its own, drawing inline)."""

  def __init__(self, takes_column_mask):
    self.takes_column_mask = takes_column_mask
    self.handed = []   # per trace of the step: (batch width, whether noise was handed in)

  def draw(self, key, m):
    return jnp.broadcast_to(jax.random.key_data(key)[:, None], (2, m))

  def __call__(self, params, model_state, X, Y, key, mask=None, noise=None):
    self.handed.append((X.shape[1], noise is not None))
    noise = self.draw(key, X.shape[1]) if noise is None else noise
    J = jnp.sum(noise != self.draw(key, X.shape[1])).astype(X.dtype)
    return J, jax.tree.map(jnp.zeros_like, params), model_state


@pytest.mark.parametrize("takes_column_mask", [True, False])
@pytest.mark.parametrize("batch_size", [4, 5])   # M = 10: a partial last batch, and none
def test_each_step_is_handed_the_draw_of_its_own_step_key(takes_column_mask, batch_size):
  params, X, Y = problem()
  optimizer = optim.gd(0.1)
  grad_fn = KeyEcho(takes_column_mask)
  start = loop.init_state(params, optimizer, key=jax.random.key(3))
  _, costs = run(start, X, Y, grad_fn=grad_fn, optimizer=optimizer, num_iterations=5,
                 record_every=1, batching=loop.Epochs(batch_size, key=jax.random.key(1)))
  np.testing.assert_array_equal(costs, np.zeros(5))
  rest = M % batch_size
  # The scanned steps are handed their noise; a partial batch's own step draws inline.
  expected = {(batch_size, True)} | ({(rest, False)} if rest and not takes_column_mask
                                     else set())
  assert set(grad_fn.handed) == expected


@pytest.mark.parametrize("batching", ["keyed", "in_order_padded"])
def test_masks_drawn_ahead_are_the_bits_of_masks_drawn_in_the_step(batching):
  """The loop draws a ``draw``-ing grad_fn's dropout masks a step ahead; the same
  grad_fn without ``draw`` (a plain function) draws them inside each step."""
  params, X, Y = problem()
  grad_fn = loop.dense_grad_fn(ARCH, dropout_layers=(1,), keep_prob=0.6)
  inline = lambda *args, **kwargs: grad_fn(*args, **kwargs)
  inline.takes_column_mask = True
  spec = {"keyed": loop.Epochs(4, key=jax.random.key(2)),
          "in_order_padded": loop.InOrder(3)}[batching]
  optimizer = optim.adam(0.05)
  start = loop.init_state(params, optimizer, key=jax.random.key(9))
  kwargs = dict(optimizer=optimizer, num_iterations=4, record_every=1, batching=spec)
  ahead = run(start, X, Y, grad_fn=grad_fn, **kwargs)
  drawn_inside = run(start, X, Y, grad_fn=inline, **kwargs)
  assert_same_bits(ahead, drawn_inside)
  without = run(start, X, Y, grad_fn=loop.dense_grad_fn(ARCH), **kwargs)
  assert not np.allclose(ahead[0].params["W1"], without[0].params["W1"])  # masks applied


# --- refusals ------------------------------------------------------------------------------


@pytest.fixture
def no_compile(monkeypatch):
  def compiled(*args, **kwargs):
    raise AssertionError("bad input reached the compiled program")
  monkeypatch.setattr(train.train_gd_jit, "unchecked", compiled)


@pytest.mark.parametrize("change,error", [
    (lambda p, X, Y: (p, X, Y.T), ShapeError),                       # transposed Y
    (lambda p, X, Y: (p, X, Y.reshape(-1)), ShapeError),             # 1-D Y
    (lambda p, X, Y: (p, X[:2], Y), ShapeError),                     # wrong n_x
    (lambda p, X, Y: ({k: v for k, v in p.items() if k != "b2"}, X, Y), ShapeError),
    (lambda p, X, Y: (dict(p, W1=p["W1"].T), X, Y), ShapeError),     # misshapen W1
], ids=["Y_transposed", "Y_1d", "wrong_n_x", "missing_b2", "W1_transposed"])
def test_train_gd_jit_refuses_bad_shapes_before_compiling(no_compile, change, error):
  params, X, Y = change(*problem())
  with pytest.raises(error):
    train.train_gd_jit(params, X, Y, 0.1, arch=ARCH, num_iterations=5, record_every=5)
  with pytest.raises(error):
    train.train_gd_jit.lower(params, X, Y, 0.1, arch=ARCH, num_iterations=5, record_every=5)


@pytest.mark.parametrize("kwargs", [
    dict(learning_rate=0.0), dict(learning_rate=float("nan")), dict(num_iterations=0),
    dict(record_every=2.5), dict(dropout_layers=(1,), keep_prob=0.5)])  # no key
def test_train_gd_jit_refuses_bad_settings_before_compiling(no_compile, kwargs):
  params, X, Y = problem()
  settings = dict(learning_rate=0.1, arch=ARCH, num_iterations=5, record_every=5)
  settings.update(kwargs)
  with pytest.raises(ConfigError):
    train.train_gd_jit(params, X, Y, settings.pop("learning_rate"), **settings)


def test_epochs_without_a_shuffle_source_is_a_config_error():
  params, X, Y = problem()
  with pytest.raises(ConfigError, match="permutations or a PRNG key"):
    run(loop.init_state(params, optim.gd(0.1)), X, Y, optimizer=optim.gd(0.1),
        num_iterations=1, batching=loop.Epochs(4))

"""Tests of dlcourse.optim: course formulas, optax equivalence, composition, validation.

XLA compiles dominate the runtime, so the float64 trajectories are computed by two
jitted ``lax.scan``s shared by the module: ``runs`` (ours vs optax's, on a
four-leaf model) and ``small_runs`` (schedules, inject_hyperparams, chains, EWA,
on a two-leaf model). The minimization problems compile once per problem. Every
optimizer is therefore exercised under ``jax.jit``.
"""
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim
from dlcourse.errors import ConfigError, ShapeError

SHAPES = {"W1": (3, 4), "b1": (3, 1), "W2": (1, 3), "b2": (1, 1)}
# Compile time grows with the number of leaves, so the composition checks run on
# a two-leaf model; the optax/NumPy equivalences use the four-leaf one.
SMALL_SHAPES = {"W": (3, 4), "b": (3, 1)}
# Small gradients on one leaf make sqrt(s) ~ 1e-3, so where epsilon sits (inside
# or outside the root) changes the step far beyond the 1e-12 tolerance.
GRAD_SCALE = {"W1": 1.0, "b1": 0.5, "W2": 2.0, "b2": 1e-3, "W": 1.0, "b": 1e-3}
NUM_STEPS = 60
TOLERANCE = 1e-12
LR = 0.01
NAMES = ("gd", "momentum", "rmsprop", "adam")
FACTORIES = {"gd": optim.gd, "momentum": optim.momentum, "rmsprop": optim.rmsprop,
             "adam": optim.adam}
# Non-default hyperparameters, so a swapped or ignored argument shows.
HYPERPARAMS = {
    "gd": {},
    "momentum": {"beta": 0.8},
    "rmsprop": {"beta2": 0.95, "epsilon": 1e-6},
    "adam": {"beta1": 0.8, "beta2": 0.95, "epsilon": 1e-5},
}
OPTAX_EQUIVALENTS = {
    "gd": lambda lr: optax.sgd(lr),
    "momentum": lambda lr: optax.chain(optax.ema(0.8, debias=False),
                                       optax.scale_by_learning_rate(lr)),
    "rmsprop": lambda lr: optax.rmsprop(lr, decay=0.95, eps=1e-6, eps_in_sqrt=False),
    "adam": lambda lr: optax.adam(lr, 0.8, 0.95, 1e-5),
}
EWA_BETA = 0.85


def _schedule(count):
  return LR / (1.0 + count)


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------


def _random_params(shapes=SHAPES, seed=0):
  rng = np.random.default_rng(seed)
  return {k: rng.normal(size=shape) for k, shape in shapes.items()}


def _random_grads(shapes=SHAPES, seed=1):
  """Per leaf, a (NUM_STEPS, *shape) stack of float64 gradients."""
  rng = np.random.default_rng(seed)
  return {k: GRAD_SCALE[k] * rng.normal(size=(NUM_STEPS, *shape)) for k, shape in shapes.items()}


def _grads_at(grads, t):
  return {k: g[t] for k, g in grads.items()}


def _max_abs_diff(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


# The arrays here are tiny, so XLA's backend optimization costs far more time than
# it saves; compiling without it cuts the compile time by about a third.
_COMPILER_OPTIONS = {"xla_backend_optimization_level": 0}


def _jit_call(fn, *args):
  """``jax.jit(fn)(*args)``, compiled with ``_COMPILER_OPTIONS``."""
  return jax.jit(fn).lower(*args).compile(compiler_options=_COMPILER_OPTIONS)(*args)


def _run_all(transforms, params, grads):
  """Feed the same gradients to every transformation, in one compiled scan.

  transforms: name -> tx, or name -> (tx, edit) where ``edit(state)`` changes the
  initial state. Returns name -> (params after each step, updates of each step),
  NumPy arrays with a leading step axis.
  """
  names = sorted(transforms)
  # A GradientTransformation is itself a tuple, so tell the forms apart by `init`.
  pairs = [(transforms[n], None) if hasattr(transforms[n], "init") else transforms[n]
           for n in names]

  def step(carry, g):
    new_carry, outputs = [], []
    for (tx, _), (p, state) in zip(pairs, carry):
      updates, state = tx.update(g, state, p)
      p = optax.apply_updates(p, updates)
      new_carry.append((p, state))
      outputs.append((p, updates))
    return tuple(new_carry), tuple(outputs)

  def run(p, gs):
    states = [tx.init(p) if edit is None else edit(tx.init(p)) for tx, edit in pairs]
    return jax.lax.scan(step, tuple((p, s) for s in states), gs)[1]

  outputs = _jit_call(run, jax.tree.map(jnp.asarray, params), jax.tree.map(jnp.asarray, grads))
  return {n: jax.tree.map(np.asarray, out) for n, out in zip(names, outputs)}


def _triple_injected_lr(state):
  return state._replace(hyperparams={
      **state.hyperparams, "learning_rate": 3 * state.hyperparams["learning_rate"]})


def _clip_and_decay(tx):
  return optax.chain(optax.clip_by_global_norm(1.0), optax.add_decayed_weights(1e-2), tx)


def _equivalence_transforms():
  """Ours (custom and default hyperparameters) and optax's equivalents."""
  transforms = {}
  for name in NAMES:
    factory, kwargs = FACTORIES[name], HYPERPARAMS[name]
    transforms[name] = factory(LR, *kwargs.values())  # positional order pinned
    transforms[f"{name}/optax"] = OPTAX_EQUIVALENTS[name](LR)
    if kwargs:
      transforms[f"{name}/defaults"] = factory(LR)
  transforms["sgd_trace_momentum"] = optax.sgd(LR, momentum=0.8)
  transforms["rmsprop_eps_in_sqrt"] = optax.rmsprop(LR, decay=0.95, eps=1e-6)
  return transforms


def _composition_transforms():
  """Ours with schedules, inject_hyperparams and chains, plus the EWA pieces."""
  transforms = {}
  for name in NAMES:
    factory, kwargs = FACTORIES[name], HYPERPARAMS[name]
    transforms[name] = factory(LR, **kwargs)
    transforms[f"{name}/schedule"] = factory(_schedule, **kwargs)
    transforms[f"{name}/inject_lr_x3"] = (
        optax.inject_hyperparams(factory)(learning_rate=LR, **kwargs), _triple_injected_lr)
    transforms[f"{name}/chain"] = _clip_and_decay(factory(LR, **kwargs))
    transforms[f"{name}/chain/optax"] = _clip_and_decay(OPTAX_EQUIVALENTS[name](LR))
  transforms["adam/inject_schedule"] = optax.inject_hyperparams(optim.adam)(
      learning_rate=_schedule, **HYPERPARAMS["adam"])
  for bias_correction in (False, True):
    transforms[f"ewa/{bias_correction}"] = optim.exponentially_weighted_average(
        EWA_BETA, bias_correction)
    transforms[f"ewa/{bias_correction}/optax"] = optax.ema(EWA_BETA, debias=bias_correction)
  return transforms


def _float64_runs(transforms, shapes):
  """(params, grads, name -> (param trajectory, update trajectory)), all float64."""
  previous = jax.config.jax_enable_x64
  jax.config.update("jax_enable_x64", True)
  try:
    params, grads = _random_params(shapes), _random_grads(shapes)
    results = _run_all(transforms, params, grads)
  finally:
    jax.config.update("jax_enable_x64", previous)
  for trajectory, _ in results.values():
    assert all(leaf.dtype == np.float64 for leaf in jax.tree.leaves(trajectory))
  return params, grads, results


@pytest.fixture(scope="module")
def runs():
  return _float64_runs(_equivalence_transforms(), SHAPES)


@pytest.fixture(scope="module")
def small_runs():
  return _float64_runs(_composition_transforms(), SMALL_SHAPES)


def _steps(params, trajectory):
  """W_t - W_{t-1} for every step, per leaf."""
  return {k: np.diff(np.concatenate([p[None], trajectory[k]]), axis=0) for k, p in params.items()}


# ----------------------------------------------------------------------------
# Independent NumPy loops of the course formulas (course notation, per layer)
# ----------------------------------------------------------------------------


def _stack(history):
  return {k: np.stack([p[k] for p in history]) for k in history[0]}


def _numpy_gd(params, grads, learning_rate):
  params, history = dict(params), []
  for t in range(NUM_STEPS):
    dW = _grads_at(grads, t)
    params = {k: params[k] - learning_rate * dW[k] for k in params}
    history.append(params)
  return _stack(history)


def _numpy_momentum(params, grads, learning_rate, beta=0.9):
  params, history = dict(params), []
  v = {k: np.zeros_like(p) for k, p in params.items()}
  for t in range(NUM_STEPS):
    dW = _grads_at(grads, t)
    for k in params:
      v[k] = beta * v[k] + (1 - beta) * dW[k]
      params[k] = params[k] - learning_rate * v[k]
    history.append(dict(params))
  return _stack(history)


def _numpy_rmsprop(params, grads, learning_rate, beta2=0.999, epsilon=1e-8):
  params, history = dict(params), []
  s = {k: np.zeros_like(p) for k, p in params.items()}
  for t in range(NUM_STEPS):
    dW = _grads_at(grads, t)
    for k in params:
      s[k] = beta2 * s[k] + (1 - beta2) * np.square(dW[k])
      params[k] = params[k] - learning_rate * dW[k] / (np.sqrt(s[k]) + epsilon)
    history.append(dict(params))
  return _stack(history)


def _numpy_adam(params, grads, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
  params, history = dict(params), []
  v = {k: np.zeros_like(p) for k, p in params.items()}
  s = {k: np.zeros_like(p) for k, p in params.items()}
  for t in range(1, NUM_STEPS + 1):
    dW = _grads_at(grads, t - 1)
    for k in params:
      v[k] = beta1 * v[k] + (1 - beta1) * dW[k]
      s[k] = beta2 * s[k] + (1 - beta2) * np.square(dW[k])
      v_corrected = v[k] / (1 - beta1 ** t)
      s_corrected = s[k] / (1 - beta2 ** t)
      params[k] = params[k] - learning_rate * v_corrected / (np.sqrt(s_corrected) + epsilon)
    history.append(dict(params))
  return _stack(history)


NUMPY_REFERENCES = {"gd": _numpy_gd, "momentum": _numpy_momentum, "rmsprop": _numpy_rmsprop,
                    "adam": _numpy_adam}


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------

_REQUIRED = inspect.Parameter.empty


@pytest.mark.parametrize("factory, expected", [
    (optim.gd, [("learning_rate", _REQUIRED)]),
    (optim.momentum, [("learning_rate", _REQUIRED), ("beta", 0.9)]),
    (optim.rmsprop, [("learning_rate", _REQUIRED), ("beta2", 0.999), ("epsilon", 1e-8)]),
    (optim.adam, [("learning_rate", _REQUIRED), ("beta1", 0.9), ("beta2", 0.999),
                  ("epsilon", 1e-8)]),
    (optim.scale_by_momentum, [("beta", 0.9)]),
    (optim.scale_by_rmsprop, [("beta2", 0.999), ("epsilon", 1e-8)]),
    (optim.scale_by_adam, [("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)]),
    (optim.exponentially_weighted_average, [("beta", _REQUIRED), ("bias_correction", False)]),
])
def test_signatures(factory, expected):
  params = inspect.signature(factory).parameters
  assert [(name, p.default) for name, p in params.items()] == expected


# ----------------------------------------------------------------------------
# Float64 equivalence with optax and with the NumPy course loops
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_matches_optax_in_float64(runs, name):
  params, _, results = runs
  ours, theirs = results[name][0], results[f"{name}/optax"][0]
  diff = _max_abs_diff(ours, theirs)
  print(f"{name}: max |ours - optax| over {NUM_STEPS} steps = {diff:.3g}")
  assert diff <= TOLERANCE
  # The trajectory really moved, so the comparison is not vacuous.
  assert _max_abs_diff({k: ours[k][-1] for k in SHAPES}, params) > 1e-3


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("defaults", [False, True], ids=["custom", "defaults"])
def test_matches_numpy_course_loop_in_float64(runs, name, defaults):
  params, grads, results = runs
  kwargs = {} if defaults else HYPERPARAMS[name]
  # gd has no hyperparameter besides the learning rate: its defaults run is the same.
  ours = results[f"{name}/defaults" if defaults and HYPERPARAMS[name] else name][0]
  diff = _max_abs_diff(ours, NUMPY_REFERENCES[name](params, grads, LR, **kwargs))
  print(f"{name} ({'defaults' if defaults else 'custom'}): max |ours - numpy| = {diff:.3g}")
  assert diff <= TOLERANCE


def test_momentum_is_not_optax_trace_form(runs):
  """The course's (1 - beta) factor: optax.sgd(momentum=beta) takes larger steps."""
  _, _, results = runs
  assert _max_abs_diff(results["momentum"][0], results["sgd_trace_momentum"][0]) > 1e-2


def test_rmsprop_differs_from_optax_default_eps_in_sqrt(runs):
  _, _, results = runs
  assert _max_abs_diff(results["rmsprop"][0], results["rmsprop_eps_in_sqrt"][0]) > 1e-6


def test_first_adam_step_is_sign_of_gradient_times_lr(runs):
  """With t = 1 the corrections undo (1 - beta): the step is lr * g / (|g| + eps)."""
  _, grads, results = runs
  first_updates = _grads_at(results["adam/defaults"][1], 0)
  g = _grads_at(grads, 0)
  for k in SHAPES:
    np.testing.assert_allclose(first_updates[k], -LR * g[k] / (np.abs(g[k]) + 1e-8), rtol=1e-12)


# ----------------------------------------------------------------------------
# Schedules, inject_hyperparams, chains
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_schedule_learning_rate_scales_each_step(small_runs, name):
  """The direction does not depend on lr: step_k(schedule) = schedule(k) / lr * step_k(lr)."""
  params, _, results = small_runs
  constant = _steps(params, results[name][0])
  scheduled = _steps(params, results[f"{name}/schedule"][0])
  factors = np.array([_schedule(k) / LR for k in range(NUM_STEPS)])
  for k in params:
    expected = factors.reshape((-1,) + (1,) * params[k].ndim) * constant[k]
    np.testing.assert_allclose(scheduled[k], expected, rtol=1e-9, atol=1e-15)
  assert _max_abs_diff(scheduled, constant) > 1e-4


@pytest.mark.parametrize("name", NAMES)
def test_inject_hyperparams_lr_in_state_scales_steps(small_runs, name):
  """inject_hyperparams works, and tripling the lr held in its state triples every step."""
  params, _, results = small_runs
  constant = _steps(params, results[name][0])
  tripled = _steps(params, results[f"{name}/inject_lr_x3"][0])
  for k in params:
    np.testing.assert_allclose(tripled[k], 3.0 * constant[k], rtol=1e-9, atol=1e-15)


def test_inject_hyperparams_state_holds_hyperparameters():
  injected = optax.inject_hyperparams(optim.adam)(learning_rate=0.01)
  state = injected.init({"w": jnp.ones(2)})
  assert set(state.hyperparams) == {"learning_rate", "beta1", "beta2", "epsilon"}
  assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.01)


def test_inject_hyperparams_with_schedule(small_runs):
  _, _, results = small_runs
  diff = _max_abs_diff(results["adam/inject_schedule"][0], results["adam/schedule"][0])
  print(f"adam, injected vs plain, schedule lr: max |difference| = {diff:.3g}")
  assert diff <= TOLERANCE


def test_inject_hyperparams_validates_at_init():
  with pytest.raises(ConfigError, match="learning_rate"):
    optax.inject_hyperparams(optim.adam)(learning_rate=-0.1).init({"w": jnp.ones(2)})
  with pytest.raises(ConfigError, match="beta1"):
    optax.inject_hyperparams(optim.adam)(learning_rate=0.1, beta1=1.0).init({"w": jnp.ones(2)})


@pytest.mark.parametrize("name", NAMES)
def test_chain_with_clip_and_weight_decay(small_runs, name):
  _, _, results = small_runs
  chained = results[f"{name}/chain"][0]
  diff = _max_abs_diff(chained, results[f"{name}/chain/optax"][0])
  print(f"{name} after clip + weight decay: max |ours - optax| = {diff:.3g}")
  assert diff <= TOLERANCE
  # Clipping and decay were active: without them the trajectory differs.
  assert _max_abs_diff(chained, results[name][0]) > 1e-4


# ----------------------------------------------------------------------------
# State dtypes (shapes only: jax.eval_shape compiles nothing)
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_state_and_updates_follow_param_dtype(name, dtype, x64):
  tx = FACTORIES[name](LR, **HYPERPARAMS[name])
  params = {k: jax.ShapeDtypeStruct(s, dtype) for k, s in SHAPES.items()}
  state = jax.eval_shape(tx.init, params)
  updates, new_state = jax.eval_shape(tx.update, params, state, params)
  for leaf in jax.tree.leaves((state, new_state)):
    assert leaf.dtype in (dtype, jnp.int32), (name, leaf)
  assert all(leaf.dtype == dtype for leaf in jax.tree.leaves(updates))
  assert jax.tree.map(lambda u: u.shape, updates) == jax.tree.map(lambda p: p.shape, params)


def test_adam_state_holds_int32_count_and_moments():
  params = {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in SHAPES.items()}
  state = jax.eval_shape(optim.scale_by_adam().init, params)
  assert isinstance(state, optim.AdamState)
  assert state.count.dtype == jnp.int32 and state.count.shape == ()
  for moments in (state.velocity, state.square_average):
    assert {k: m.shape for k, m in moments.items()} == SHAPES


# ----------------------------------------------------------------------------
# Optimization problems (one compile per problem for all four optimizers)
# ----------------------------------------------------------------------------


def _final_losses(transforms, loss, start, num_steps):
  """name -> loss after ``num_steps`` of each optimizer from ``start``."""
  names = sorted(transforms)

  def step(carry, _):
    new_carry = []
    for name, (p, state) in zip(names, carry):
      updates, state = transforms[name].update(jax.grad(loss)(p), state, p)
      new_carry.append((optax.apply_updates(p, updates), state))
    return tuple(new_carry), None

  def run(p):
    carry = tuple((p, transforms[name].init(p)) for name in names)
    final, _ = jax.lax.scan(step, carry, None, length=num_steps)
    return [loss(p) for p, _ in final]

  return dict(zip(names, map(float, _jit_call(run, start))))


def _quadratic_problem():
  rng = np.random.default_rng(3)
  target = {k: jnp.asarray(rng.normal(size=s), jnp.float32) for k, s in SMALL_SHAPES.items()}
  curvature = {k: jnp.asarray(rng.uniform(0.5, 2.0, size=s), jnp.float32)
               for k, s in SMALL_SHAPES.items()}

  def loss(p):
    terms = jax.tree.map(lambda x, t, a: 0.5 * jnp.sum(a * (x - t) ** 2), p, target, curvature)
    return sum(jax.tree.leaves(terms))

  return loss, jax.tree.map(jnp.zeros_like, target)


def _rosenbrock(p):
  return (1 - p["x"]) ** 2 + 100 * (p["y"] - p["x"] ** 2) ** 2


QUADRATIC = {  # name -> (optimizer, bound on final / initial loss)
    "gd": (optim.gd(0.5), 1e-6),
    "momentum": (optim.momentum(0.5, 0.9), 1e-6),
    "rmsprop": (optim.rmsprop(0.01, 0.999), 1e-3),
    "adam": (optim.adam(0.05), 1e-6),
}
ROSENBROCK = {  # name -> (optimizer, bound on the final loss; it starts at 24.2)
    "gd": (optim.gd(1e-3), 0.05),
    "momentum": (optim.momentum(2e-3, 0.9), 0.01),
    "rmsprop": (optim.rmsprop(3e-3, 0.999), 0.02),
    "adam": (optim.adam(2e-2), 1e-4),
}


@pytest.fixture(scope="module")
def quadratic_losses():
  loss, start = _quadratic_problem()
  finals = _final_losses({n: tx for n, (tx, _) in QUADRATIC.items()}, loss, start, 500)
  return float(loss(start)), finals


@pytest.fixture(scope="module")
def rosenbrock_losses():
  start = {"x": jnp.array(-1.2), "y": jnp.array(1.0)}
  finals = _final_losses({n: tx for n, (tx, _) in ROSENBROCK.items()}, _rosenbrock, start, 3000)
  return float(_rosenbrock(start)), finals


@pytest.mark.parametrize("name", NAMES)
def test_reduces_quadratic(quadratic_losses, name):
  initial, finals = quadratic_losses
  assert initial > 5.0
  assert finals[name] < QUADRATIC[name][1] * initial


@pytest.mark.parametrize("name", NAMES)
def test_reduces_rosenbrock(rosenbrock_losses, name):
  initial, finals = rosenbrock_losses
  assert initial == pytest.approx(24.2)
  assert finals[name] < ROSENBROCK[name][1]


# ----------------------------------------------------------------------------
# Exponentially weighted averages
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("bias_correction", [False, True])
def test_ewa_transform_matches_optax_ema_and_numpy(small_runs, bias_correction):
  _, grads, results = small_runs
  ours = results[f"ewa/{bias_correction}"][1]
  v = {k: np.zeros(s) for k, s in SMALL_SHAPES.items()}
  reference = []
  for t in range(1, NUM_STEPS + 1):
    v = {k: EWA_BETA * v[k] + (1 - EWA_BETA) * g for k, g in _grads_at(grads, t - 1).items()}
    reference.append({k: v[k] / (1 - EWA_BETA ** t) if bias_correction else v[k] for k in v})
  diff_optax = _max_abs_diff(ours, results[f"ewa/{bias_correction}/optax"][1])
  diff_numpy = _max_abs_diff(ours, _stack(reference))
  print(f"ewa(bias_correction={bias_correction}): max |ours - optax.ema| = {diff_optax:.3g}, "
        f"max |ours - numpy| = {diff_numpy:.3g}")
  assert diff_optax <= TOLERANCE and diff_numpy <= TOLERANCE


def test_ewa_bias_correction_recovers_constant(x64):
  c = 3.0
  corrected = np.asarray(optim.smooth(jnp.full(20, c), 0.9, bias_correction=True))
  assert corrected[0] == c  # t = 1: ((1 - beta) c) / (1 - beta)
  np.testing.assert_allclose(corrected, c, rtol=1e-14, atol=0)
  # beta = 1/2 keeps every intermediate dyadic, so each corrected value is exactly c.
  assert np.all(np.asarray(optim.smooth(jnp.full(30, 4.0), 0.5, bias_correction=True)) == 4.0)


def test_ewa_without_correction_starts_low(x64):
  c, beta = 3.0, 0.9
  plain = np.asarray(optim.smooth(jnp.full(3, c), beta))
  assert plain[0] == (1 - beta) * c
  np.testing.assert_allclose(plain, [(1 - beta ** t) * c for t in (1, 2, 3)], rtol=1e-14)


def test_ewa_state_holds_int32_count_and_average():
  tx = optim.exponentially_weighted_average(0.9, bias_correction=True)
  params = {k: jax.ShapeDtypeStruct(s, jnp.float32) for k, s in SHAPES.items()}
  _, state = jax.eval_shape(tx.update, params, jax.eval_shape(tx.init, params))
  assert isinstance(state, optim.EwaState)
  assert state.count.dtype == jnp.int32 and state.count.shape == ()
  assert {k: a.shape for k, a in state.average.items()} == SHAPES


@pytest.mark.parametrize("bias_correction", [False, True])
def test_smooth_temperature_series(bias_correction, x64):
  days = np.arange(365)
  rng = np.random.default_rng(7)
  temperatures = 15 + 10 * np.sin(2 * np.pi * days / 365) + 3 * rng.normal(size=days.size)
  beta = 0.9
  got = np.asarray(optim.smooth(temperatures, beta, bias_correction))
  v, want = 0.0, []
  for t, theta in enumerate(temperatures, start=1):
    v = beta * v + (1 - beta) * theta
    want.append(v / (1 - beta ** t) if bias_correction else v)
  assert got.shape == temperatures.shape
  np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
  # The average is smoother than the data.
  assert np.std(np.diff(got)) < 0.5 * np.std(np.diff(temperatures))


def test_smooth_is_jittable_and_promotes_integers():
  got = jax.jit(optim.smooth, static_argnums=(1, 2))(jnp.arange(4), 0.5, False)
  assert jnp.issubdtype(got.dtype, jnp.floating)
  np.testing.assert_allclose(got, [0.0, 0.5, 1.25, 2.125])


def test_smooth_rejects_non_1d():
  with pytest.raises(ShapeError, match=r"\(2, 3\)"):
    optim.smooth(jnp.zeros((2, 3)), 0.9)


# ----------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------


BAD_CONFIGS = [
    (lambda: optim.gd(0.0), "learning_rate"),
    (lambda: optim.gd(-0.1), "learning_rate"),
    (lambda: optim.gd(float("nan")), "learning_rate"),
    (lambda: optim.gd(True), "learning_rate"),
    (lambda: optim.gd("0.1"), "learning_rate"),
    (lambda: optim.gd(jnp.ones(2)), "learning_rate"),
    (lambda: optim.gd(float("inf")), "learning_rate must be a finite number > 0"),
    (lambda: optim.adam(0.1, 0.9, 0.999, float("inf")), "epsilon must be a finite number"),
    (lambda: optim.momentum(0.0), "learning_rate"),
    (lambda: optim.momentum(0.1, 1.0), "beta"),
    (lambda: optim.momentum(0.1, -0.1), "beta"),
    (lambda: optim.momentum(0.1, 1.5), "beta"),
    (lambda: optim.rmsprop(-1.0), "learning_rate"),
    (lambda: optim.rmsprop(0.1, 1.0), "beta2"),
    (lambda: optim.rmsprop(0.1, -0.5), "beta2"),
    (lambda: optim.rmsprop(0.1, 0.9, 0.0), "epsilon"),
    (lambda: optim.rmsprop(0.1, 0.9, -1e-8), "epsilon"),
    (lambda: optim.adam(0.0), "learning_rate"),
    (lambda: optim.adam(0.1, 1.0), "beta1"),
    (lambda: optim.adam(0.1, -0.1), "beta1"),
    (lambda: optim.adam(0.1, 0.9, 1.0), "beta2"),
    (lambda: optim.adam(0.1, 0.9, 2.0), "beta2"),
    (lambda: optim.adam(0.1, 0.9, 0.999, 0.0), "epsilon"),
    (lambda: optim.adam(0.1, 0.9, 0.999, -1.0), "epsilon"),
    (lambda: optim.scale_by_momentum(1.0), "beta"),
    (lambda: optim.scale_by_rmsprop(0.9, 0.0), "epsilon"),
    (lambda: optim.scale_by_adam(0.9, 1.0), "beta2"),
    (lambda: optim.exponentially_weighted_average(1.0), "beta"),
    (lambda: optim.exponentially_weighted_average(-0.2), "beta"),
    (lambda: optim.exponentially_weighted_average(0.9, bias_correction="yes"), "bias_correction"),
    (lambda: optim.smooth(jnp.ones(3), 1.0), "beta"),
]


@pytest.mark.parametrize("build, name", BAD_CONFIGS)
def test_bad_hyperparameters_raise_config_error(build, name):
  with pytest.raises(ConfigError, match=name):
    build()


def test_config_error_is_a_value_error():
  with pytest.raises(ValueError):
    optim.adam(-1.0)


def test_good_edge_hyperparameters_are_accepted():
  optim.momentum(0.1, 0.0)
  optim.rmsprop(0.1, 0.0, 1e-12)
  optim.adam(jnp.asarray(0.1), 0.0, 0.0)
  optim.adam(lambda count: 0.1 * 0.5 ** count)
  optim.gd(np.float32(0.1))
  optim.gd(1)

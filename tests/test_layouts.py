"""The large-input product layout of ``dlcourse.models.dense`` (speed only) changes no value.

For an A_prev of >= 2^19 entries the products W A_prev and dZ A_prev^T read an
examples-major copy A_prev^T, the forward with it on the left ((A_prev^T W^T)^T); these
tests check, in float64, that every value equals the course-layout formulas to 1e-12,
that jax.grad and jax.vmap see the same function, and that inside a compiled training
loop the copy is made once, outside the loop, and both products read it. On two or more
cores the products run in halves (the forward over the examples, float32's dW over the
features); the ``cores`` fixture runs a test as on one core and as on two.
"""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import sweep, train
from dlcourse.models import dense

N_X, M = 2048, 256      # 2^19 entries: the smallest input that takes the layout
LAYER_DIMS = (N_X, 6, 3, 1)


@pytest.fixture(params=[1, 2], ids=["one_core", "two_cores"])
def cores(request, monkeypatch):
  """The test as on a process with ``param`` cores (the layout is chosen when tracing:
  the caches are cleared around it)."""
  monkeypatch.setattr(dense, "_cores", lambda: request.param)
  jax.clear_caches()
  yield request.param
  jax.clear_caches()


def _data(seed=0):
  rng = np.random.RandomState(seed)
  X = rng.rand(N_X, M)
  Y = (rng.rand(1, M) > 0.5).astype(np.float64)
  params = {}
  for l in range(1, len(LAYER_DIMS)):
    params[f"W{l}"] = rng.randn(LAYER_DIMS[l], LAYER_DIMS[l - 1]) / np.sqrt(LAYER_DIMS[l - 1])
    params[f"b{l}"] = 0.1 * rng.randn(LAYER_DIMS[l], 1)
  return X, Y, params


def _course_grads(params, X, Y):
  """The course's forward/backward in NumPy float64 (relu hidden layers, sigmoid out)."""
  L = len(LAYER_DIMS) - 1
  A, caches = X, []
  for l in range(1, L + 1):
    Z = params[f"W{l}"] @ A + params[f"b{l}"]
    caches.append((A, Z))
    A = 1 / (1 + np.exp(-Z)) if l == L else np.maximum(Z, 0)
  m = X.shape[1]
  cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
  grads, dZ = {}, A - Y
  for l in range(L, 0, -1):
    A_prev, _ = caches[l - 1]
    grads[f"W{l}"] = dZ @ A_prev.T / m
    grads[f"b{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
    if l > 1:
      dZ = (params[f"W{l}"].T @ dZ) * (caches[l - 2][1] > 0)
  return cost, grads


def test_the_cat_sized_input_takes_the_layout_and_small_ones_do_not():
  assert dense._reads_transposed_copy(jnp.zeros((N_X, M)))
  assert dense._reads_transposed_copy(jnp.zeros((12288, 209)))
  assert not dense._reads_transposed_copy(jnp.zeros((N_X, M - 1)))
  assert not dense._reads_transposed_copy(jnp.zeros((2, 400)))


def test_linear_forward_and_backward_equal_the_course_formulas(x64, cores):
  rng = np.random.RandomState(1)
  A_prev, W, b = rng.rand(N_X, M), rng.randn(5, N_X), rng.randn(5, 1)
  dZ = rng.randn(5, M)
  Z = jax.jit(dense.linear_forward)(A_prev, W, b)
  dA_prev, dW, db = jax.jit(dense.linear_backward)(dZ, A_prev, W)
  np.testing.assert_allclose(Z, W @ A_prev + b, rtol=0, atol=1e-12)
  np.testing.assert_allclose(dW, dZ @ A_prev.T / M, rtol=0, atol=1e-12)
  np.testing.assert_allclose(db, dZ.sum(axis=1, keepdims=True) / M, rtol=0, atol=1e-12)
  np.testing.assert_allclose(dA_prev, W.T @ dZ, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["manual", "autodiff"])
def test_cost_and_grads_equal_the_course_loop(x64, cores, method):
  X, Y, params = _data()
  cost, grads = _course_grads(params, X, Y)
  arch = dense.Architecture.make(LAYER_DIMS)
  J, ours = jax.jit(dense.cost_and_grads, static_argnames=("arch", "method"))(
      params, X, Y, arch=arch, method=method)
  assert abs(float(J) - cost) < 1e-12
  for name, expected in grads.items():
    np.testing.assert_allclose(ours[name], expected, rtol=0, atol=1e-12, err_msg=name)


def test_vmap_over_models_equals_each_model(x64, cores):
  """A sweep's view (W batched, X shared): the same gradients as one model at a time."""
  X, Y, _ = _data()
  arch = dense.Architecture.make(LAYER_DIMS)
  models = [_data(seed)[2] for seed in (1, 2, 3)]
  stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *models)
  _, batched = jax.jit(jax.vmap(lambda p: dense.cost_and_grads(p, X, Y, arch)))(stacked)
  for k, params in enumerate(models):
    _, expected = _course_grads(params, X, Y)
    for name in expected:
      np.testing.assert_allclose(batched[name][k], expected[name], rtol=0, atol=1e-12)


def test_jax_grad_through_the_left_product_equals_the_course_formulas(x64, cores):
  """The product's own autodiff rule: cotangents of W and of a large A_prev (a hidden
  layer's input would take this path) are dZ A_prev^T and W^T dZ."""
  rng = np.random.RandomState(2)
  A_prev, W, b = rng.rand(N_X, M), rng.randn(5, N_X), rng.randn(5, 1)
  dZ = rng.randn(5, M)
  _, vjp = jax.vjp(dense.linear_forward, A_prev, W, b)
  dA_prev, dW, db = jax.jit(vjp)(dZ)
  np.testing.assert_allclose(dW, dZ @ A_prev.T, rtol=0, atol=1e-10)
  np.testing.assert_allclose(dA_prev, W.T @ dZ, rtol=0, atol=1e-10)
  np.testing.assert_allclose(db, dZ.sum(axis=1, keepdims=True), rtol=0, atol=1e-10)


def test_vmap_over_models_and_inputs_equals_each_pair(x64, cores):
  """vmap with an input of each model's own (the product's other vmap case)."""
  arch = dense.Architecture.make(LAYER_DIMS)
  pairs = [_data(seed) for seed in (4, 5)]
  Xs = jnp.stack([X for X, _, _ in pairs])
  Ys = jnp.stack([Y for _, Y, _ in pairs])
  stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *[p for _, _, p in pairs])
  _, batched = jax.jit(jax.vmap(lambda p, X, Y: dense.cost_and_grads(p, X, Y, arch)))(
      stacked, Xs, Ys)
  for k, (X, Y, params) in enumerate(pairs):
    _, expected = _course_grads(params, X, Y)
    for name in expected:
      np.testing.assert_allclose(batched[name][k], expected[name], rtol=0, atol=1e-12)


def test_a_sweeps_forward_puts_the_stacked_weights_on_the_left(cores):
  """Under vmap over models (X shared) the forward is one product of the stacked
  W^[1] (K n_1, n_x) with the copy; for one model, the copy is on the left (in halves
  of the examples on two cores)."""
  X, _, params = _data()
  W = jnp.asarray(params["W1"], jnp.float32)
  X = jnp.asarray(X, jnp.float32)
  b = jnp.zeros((W.shape[0], 1), jnp.float32)
  one = jax.jit(dense.linear_forward).lower(X, W, b).compile().as_text()
  stacked = jax.jit(jax.vmap(dense.linear_forward, in_axes=(None, 0, 0))).lower(
      X, jnp.stack([W] * 4), jnp.stack([b] * 4)).compile().as_text()
  assert [d.lhs for d in sweep.hlo_dots(one)] == (
      [(M, N_X)] if cores == 1 else [(M // 2, N_X)] * 2)
  assert [(d.lhs, d.batched) for d in sweep.hlo_dots(stacked)] == [((4 * 6, N_X), False)]


_COMPUTATION = re.compile(r"^(ENTRY )?%?([\w.\-]+) \(", re.M)


def _computations(hlo_text):
  """{name: body text} of an HLO module's computations, and the ENTRY's name."""
  heads = list(_COMPUTATION.finditer(hlo_text))
  bodies, entry = {}, None
  for head, following in zip(heads, heads[1:] + [None]):
    end = following.start() if following else len(hlo_text)
    bodies[head.group(2)] = hlo_text[head.start():end]
    if head.group(1):
      entry = head.group(2)
  return bodies, entry


def test_training_loop_makes_the_examples_major_copy_once_outside_the_loop(cores):
  """The compiled full-batch trainer: the copy X^T (m, n_x) -- on two cores its two
  blocks of features (m, n_x/2), matching W1's column blocks (dense's "first layer in
  column blocks") -- is produced in the ENTRY computation, before the loops, and no loop
  body produces one; the first layer's products read it: on two cores two independent
  products per pass, and no (n_1, n_x) matrix joined in the loop."""
  arch = dense.Architecture.make(LAYER_DIMS)
  X, Y, params = _data()
  params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
  X, Y = jnp.asarray(X, jnp.float32), jnp.asarray(Y, jnp.float32)
  hlo = train.train_gd_jit.lower(params, X, Y, 0.01, arch=arch, num_iterations=6,
                                 record_every=3).compile().as_text()
  bodies, entry = _computations(hlo)
  copies = [(M, N_X)] if cores == 1 else [(M, N_X // 2)]
  loop_bodies = set(re.findall(r"body=%?([\w.\-]+)", hlo))
  assert loop_bodies, "no while loop in the compiled trainer"
  for rows, cols in copies:
    makes_copy = re.compile(
        rf"= f32\[{rows},{cols}\]\{{1,0\}} (?!parameter|get-tuple-element|bitcast)")
    for name in loop_bodies:
      assert not makes_copy.search(bodies[name]), f"loop body {name} copies X every iteration"
    made = len(makes_copy.findall(bodies[entry]))
    assert made == (1 if cores == 1 else 2), f"{made} copies ({rows}, {cols}) before the loop"
  reads = [d for d in sweep.hlo_dots(hlo) if {d.lhs, d.rhs} & set(copies)]
  # The forward Z^T = X^T W^T has the copy on the left; dW = dZ X^T reads the copy.
  forward = [d for d in reads if d.lhs == copies[0]]
  backward = [d for d in reads if d.rhs == copies[-1]]
  if cores == 1:
    assert [d.out for d in forward] == [(M, 6)], reads
    assert [d.out for d in backward] == [(6, N_X)], reads
  else:
    assert [d.out for d in forward] == [(M, 6)] * 2, reads
    assert [d.out for d in backward] == [(6, N_X // 2)] * 2, reads
    joins = re.compile(rf"= f32\[6,{N_X}\]\{{1,0\}} (concatenate|fusion)\(")
    for name in loop_bodies:
      assert not joins.search(bodies[name]), f"loop body {name} joins W1 or dW every iteration"
  assert len(reads) == len(forward) + len(backward) == 2 * cores, reads


@pytest.mark.parametrize("method", ["manual", "autodiff"])
def test_products_in_halves_equal_whole_products_to_the_bit(monkeypatch, method):
  """float32, where both products run in halves on two cores: the same bits as whole."""
  X, Y, params = _data()
  params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
  X, Y = jnp.asarray(X, jnp.float32), jnp.asarray(Y, jnp.float32)
  arch = dense.Architecture.make(LAYER_DIMS)
  results = []
  for cores in (1, 2):
    monkeypatch.setattr(dense, "_cores", lambda cores=cores: cores)
    jax.clear_caches()
    results.append(jax.jit(dense.cost_and_grads, static_argnames=("arch", "method"))(
        params, X, Y, arch=arch, method=method))
  jax.clear_caches()
  (J1, grads1), (J2, grads2) = results
  assert np.asarray(J1).tobytes() == np.asarray(J2).tobytes()
  for name in grads1:
    np.testing.assert_array_equal(grads1[name], grads2[name], err_msg=name)


def test_thin_layers_keep_whole_products(monkeypatch):
  """A layer of fewer than SPLIT_MIN_ROWS units is bound by memory: no halves."""
  monkeypatch.setattr(dense, "_cores", lambda: 2)
  A_T = jnp.zeros((M, N_X))
  assert len(dense._halves(A_T, 0, dense.SPLIT_MIN_ROWS - 1)) == 1
  assert len(dense._halves(A_T, 0, dense.SPLIT_MIN_ROWS)) == 2
  monkeypatch.setattr(dense, "_cores", lambda: 1)
  assert len(dense._halves(A_T, 0, 20)) == 1


def test_other_backends_keep_the_course_order(monkeypatch):
  monkeypatch.setattr(dense.jax, "default_backend", lambda: "gpu")
  assert not dense._reads_transposed_copy(jnp.zeros((12288, 209)))


def test_small_inputs_keep_the_course_order():
  arch = dense.Architecture.make((2, 5, 1))
  X, Y = jnp.ones((2, 40)), jnp.ones((1, 40))
  params = {"W1": jnp.ones((5, 2)), "b1": jnp.zeros((5, 1)), "W2": jnp.ones((1, 5)),
            "b2": jnp.zeros((1, 1))}
  hlo = jax.jit(dense.cost_and_grads, static_argnames="arch").lower(
      params, X, Y, arch=arch).compile().as_text()
  assert "[40,2]" not in hlo


# --- dA_prev = W^T dZ: a transposed copy of one operand above 2^14 entries of dZ --------

_TRANSPOSE_CASES = {      # (n_l, n_{l-1}, m): which copy transpose_times makes
    "copies W^T": (300, 60, 100),        # W: 18,000 entries <= (300 + 60) * 100
    "copies dZ^T": (256, 256, 100),      # W: 65,536 entries > (256 + 256) * 100
    "small: no copy": (5, 3, 64),
}


@pytest.mark.parametrize("case", sorted(_TRANSPOSE_CASES))
def test_transpose_times_equals_W_transpose_dZ(x64, case):
  n_l, n_prev, m = _TRANSPOSE_CASES[case]
  rng = np.random.RandomState(2)
  W, dZ = rng.randn(n_l, n_prev), rng.randn(n_l, m)
  np.testing.assert_allclose(jax.jit(dense.transpose_times)(W, dZ), W.T @ dZ,
                             rtol=0, atol=1e-12)
  Ws, dZs = rng.randn(3, n_l, n_prev), rng.randn(3, n_l, m)   # a sweep: both batched
  batched = jax.jit(jax.vmap(dense.transpose_times))(Ws, dZs)
  for k in range(3):
    np.testing.assert_allclose(batched[k], Ws[k].T @ dZs[k], rtol=0, atol=1e-12)


def _contracting_dims_of_dots(hlo_text, out_shapes):
  """lhs_contracting_dims of every dot whose output has one of ``out_shapes``."""
  found = []
  for line in hlo_text.splitlines():
    match = re.search(r"= f32\[(\d+),(\d+)\]\{[\d,]*\} dot\(.*lhs_contracting_dims=\{(\d+)\}",
                      line)
    if match and (int(match.group(1)), int(match.group(2))) in out_shapes:
      found.append(int(match.group(3)))
  return found


@pytest.mark.parametrize("case", sorted(_TRANSPOSE_CASES))
def test_large_transpose_products_contract_the_left_operand_along_its_last_axis(case):
  """What the matrix library needs: in the compiled program the left operand of the
  large W^T dZ products is contracted along its last axis (a copy made it so); the small
  product keeps the plain W.T @ dZ, contracted along W's rows (axis 0)."""
  n_l, n_prev, m = _TRANSPOSE_CASES[case]
  W, dZ = jnp.ones((n_l, n_prev)), jnp.ones((n_l, m))
  hlo = jax.jit(dense.transpose_times).lower(W, dZ).compile().as_text()
  dims = _contracting_dims_of_dots(hlo, {(n_prev, m), (m, n_prev)})
  assert dims == ([0] if case.startswith("small") else [1]), (case, dims)


def test_the_copy_products_autodiff_rule_equals_the_plain_products(x64, cores):
  """jax.vjp of dZ A_prev^T (halves or whole) is that of the plain product."""
  rng = np.random.RandomState(3)
  dZ, A_T = rng.randn(5, M), rng.rand(M, N_X)
  g = rng.randn(5, N_X)
  out, vjp = jax.vjp(dense._times_copy, dZ, A_T)
  expected_out, expected_vjp = jax.vjp(jnp.matmul, dZ, A_T)
  np.testing.assert_allclose(out, expected_out, rtol=0, atol=1e-12)
  for ours, theirs in zip(jax.jit(vjp)(g), expected_vjp(g)):
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


# --- the first layer in column blocks (full-batch loops) ------------------------------

def _blocked(params):
  W1 = params["W1"]
  return dict(params, W1=dense.ColumnBlocks(tuple(jnp.split(W1, [W1.shape[1] // 2], 1))))


@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_blocked_first_layer_grads_equal_the_course_formulas(x64, cores, lambd):
  """W1 as two column blocks, float64: the hand-derived backward's dW1 blocks are the
  blocks of the course's dW1, and jax.grad through the blocked forward agrees with it
  (the L2 term included); J is the course's."""
  X, Y, params = _data()
  arch = dense.Architecture.make(LAYER_DIMS)
  cost, expected = _course_grads(params, X, Y)
  cost += lambd * sum(np.sum(params[f"W{l}"] ** 2) for l in (1, 2, 3)) / (2 * M)
  expected = {k: g + (lambd / M * params[k] if k.startswith("W") else 0)
              for k, g in expected.items()}
  run = jax.jit(dense.cost_and_grads, static_argnames=("arch", "method"))
  for method in ("manual", "autodiff"):
    J, ours = run(_blocked(params), X, Y, arch=arch, lambd=lambd, method=method)
    assert abs(float(J) - cost) < 1e-12, method
    assert isinstance(ours["W1"], dense.ColumnBlocks), method
    np.testing.assert_allclose(jnp.concatenate(ours["W1"].parts, 1), expected["W1"],
                               rtol=0, atol=1e-12, err_msg=method)
    for name in ("b1", "W2", "b2", "W3", "b3"):
      np.testing.assert_allclose(ours[name], expected[name], rtol=0, atol=1e-12,
                                 err_msg=f"{method} {name}")


def test_blocks_are_taken_on_two_cores_for_a_large_input(monkeypatch):
  X, _, params = _data()
  W1 = jnp.asarray(params["W1"], jnp.float32)
  X32 = jnp.asarray(X, jnp.float32)
  monkeypatch.setattr(dense, "_cores", lambda: 2)
  blocked = dense.first_layer_in_blocks({"W1": W1}, X32)["W1"]
  assert isinstance(blocked, dense.ColumnBlocks)
  assert blocked.shape == W1.shape and blocked.dtype == W1.dtype
  assert [p.shape for p in blocked.parts] == [(6, N_X // 2)] * 2
  np.testing.assert_array_equal(dense.first_layer_whole({"W1": blocked})["W1"], W1)
  with jax.enable_x64(True):   # float64 too (faster on the Zen 4, even on the Xeon)
    assert dense.splits_first_layer(jnp.asarray(X, jnp.float64), W1.astype(jnp.float64))
  assert not dense.splits_first_layer(X32[:, :M // 2], W1)          # a small input
  assert dense.splits_first_layer(X32, W1[:dense.BLOCKS_MIN_ROWS])
  assert not dense.splits_first_layer(X32, W1[:dense.BLOCKS_MIN_ROWS - 1])  # one unit
  monkeypatch.setattr(dense, "_cores", lambda: 1)
  assert dense.first_layer_in_blocks({"W1": W1}, X32)["W1"] is W1


def _train_both_ways(params, X, Y, optimizer):
  """(blocked, whole): 40 iterations of train_gd (GD) or sweep.train_optax (Adam) with
  W1 carried in column blocks and with it whole."""
  static = dict(arch=dense.Architecture.make(LAYER_DIMS), num_iterations=40,
                record_every=10)
  jax.clear_caches()
  results = []
  for blocks in (True, False):
    if optimizer == "gd":
      fit = jax.jit(train.train_gd, static_argnames=train._STATIC)
      results.append(fit(params, X, Y, 0.05, first_layer_blocks=blocks, **static))
    else:
      fit = jax.jit(sweep.train_optax, static_argnames=(
          "arch", "optimizer", "num_iterations", "record_every", "first_layer_blocks"))
      results.append(fit(params, X, Y, 0.01, optimizer=optimizer, first_layer_blocks=blocks,
                         **static))
  jax.clear_caches()
  blocked, whole = results
  assert jax.tree.structure(blocked.params) == jax.tree.structure(params)
  assert not np.array_equal(blocked.params["W1"], params["W1"])  # it did train W1
  return blocked, whole


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_a_loop_with_blocks_trains_as_one_with_W1_whole(x64, monkeypatch, optimizer):
  """The loop's layout (``loop.run``: params, and an optimizer's moments, into blocks
  before the loop and back after) in float64, blocks forced on: the same training as
  with W1 whole, to float64 rounding, params back in the course's shapes."""
  X, Y, params = _data()
  monkeypatch.setattr(dense, "splits_first_layer", lambda X, W1: True)
  blocked, whole = _train_both_ways(params, jnp.asarray(X), jnp.asarray(Y), optimizer)
  for name in params:
    assert blocked.params[name].shape == params[name].shape, name
    np.testing.assert_allclose(blocked.params[name], whole.params[name], rtol=0,
                               atol=1e-10, err_msg=name)
  np.testing.assert_allclose(blocked.costs, whole.costs, rtol=1e-12)


def test_a_float32_gd_loop_takes_blocks_on_two_cores_and_trains_the_same(monkeypatch):
  """The configuration that takes the blocks (float32, two cores): the same training as
  with W1 whole, to float32 rounding."""
  X, Y, params = _data()
  params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
  monkeypatch.setattr(dense, "_cores", lambda: 2)
  blocked, whole = _train_both_ways(params, jnp.asarray(X, jnp.float32),
                                    jnp.asarray(Y, jnp.float32), "gd")
  for name in params:
    np.testing.assert_allclose(blocked.params[name], whole.params[name], rtol=2e-4,
                               atol=2e-6, err_msg=name)
  np.testing.assert_allclose(blocked.costs, whole.costs, rtol=1e-5)


def test_a_first_layer_blocks_that_is_not_a_bool_is_refused():
  from dlcourse import loop  # pylint: disable=import-outside-toplevel
  from dlcourse.errors import ConfigError  # pylint: disable=import-outside-toplevel
  with pytest.raises(ConfigError, match="first_layer_blocks must be a bool, got 'no'"):
    loop.dense_grad_fn(dense.Architecture.make(LAYER_DIMS), first_layer_blocks="no")

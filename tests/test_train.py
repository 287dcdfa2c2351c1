"""The scanned full-batch loop equals step-by-step gradient descent."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import initializers, loop, optim, train
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError
from dlcourse.models import dense

pytestmark = pytest.mark.usefixtures("x64")


def problem():
  arch = dense.Architecture.make((3, 4, 1), hidden="tanh")
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he", dtype=jnp.float64)
  rng = np.random.RandomState(0)
  X = jnp.asarray(rng.randn(3, 10))
  Y = jnp.asarray((rng.rand(1, 10) > 0.5).astype(float))
  return arch, params, X, Y


@pytest.mark.parametrize("method", ["manual", "autodiff"])
def test_scan_equals_python_loop_and_records_costs(method):
  arch, params, X, Y = problem()
  result = train.train_gd_jit(params, X, Y, 0.5, arch=arch, num_iterations=25, record_every=10,
                              method=method)
  p, costs = params, []
  for i in range(25):
    p, J = train.gd_step(p, X, Y, 0.5, arch=arch, method=method)
    costs.append(float(J))
  np.testing.assert_array_equal(train.recorded_iterations(25, 10), [0, 10, 20])
  np.testing.assert_allclose(result.costs, np.array(costs)[[0, 10, 20]], rtol=1e-12)
  for name in params:
    np.testing.assert_allclose(result.params[name], p[name], rtol=1e-12)
  assert costs[-1] < costs[0]


def test_manual_and_autodiff_training_agree():
  arch, params, X, Y = problem()
  a = train.train_gd_jit(params, X, Y, 0.5, arch=arch, num_iterations=50, record_every=10)
  b = train.train_gd_jit(params, X, Y, 0.5, arch=arch, num_iterations=50, record_every=10,
                         method="autodiff")
  for name in params:
    np.testing.assert_allclose(a.params[name], b.params[name], rtol=1e-10)


def test_fixed_masks_are_used_every_step_and_fresh_masks_differ():
  arch, params, X, Y = problem()
  masks = reg.course_dropout_masks(arch.layer_dims, (1,), 0.5, 10)
  fixed = train.train_gd_jit(params, X, Y, 0.5, arch=arch, num_iterations=5, record_every=1,
                             dropout_layers=(1,), keep_prob=0.5, fixed_masks=masks)
  p = params
  for _ in range(5):
    J, g = dense.cost_and_grads(p, X, Y, arch, 0.0, reg.Dropout(masks, 0.5))
    p = train.gd_update(p, g, 0.5)
  np.testing.assert_allclose(fixed.params["W1"], p["W1"], rtol=1e-12)
  fresh = train.train_gd_jit(params, X, Y, 0.5, arch=arch, num_iterations=5, record_every=1,
                             dropout_layers=(1,), keep_prob=0.5, key=jax.random.key(0))
  assert not np.allclose(fresh.params["W1"], p["W1"])
  with pytest.raises(ValueError, match="explicit PRNG key"):
    train.train_gd(params, X, Y, 0.5, arch=arch, num_iterations=5, dropout_layers=(1,),
                   keep_prob=0.5)


def test_masks_drawn_ahead_are_the_loops_own_masks_bit_for_bit():
  """``dropout_masks_ahead`` for iterations [30, 50) holds the masks the loop draws at
  those iterations itself, bit for bit (each row is ``reg.dropout_masks`` of that
  iteration's key), and training on them gives the loop's iterates: to rounding in
  float32, where XLA may fuse the masks' use differently (1 ulp here)."""
  arch = dense.Architecture.make((3, 6, 5, 1))
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he")
  rng = np.random.RandomState(0)
  X = jnp.asarray(rng.randn(3, 10), jnp.float32)
  Y = jnp.asarray((rng.rand(1, 10) > 0.5).astype(np.float32))
  key, layers = jax.random.key(7), (1, 2)
  kwargs = dict(arch=arch, num_iterations=20, record_every=5, dropout_layers=layers,
                keep_prob=0.7, key=key, start_step=30)
  drawn_in_loop = train.train_gd_jit(params, X, Y, 0.5, **kwargs)
  masks = train.dropout_masks_ahead_jit(key, 30, 0.7, arch=arch, num_iterations=20,
                                        dropout_layers=layers, m=10)
  assert {l: D.shape for l, D in masks.items()} == {1: (20, 6, 10), 2: (20, 5, 10)}
  row = reg.dropout_masks(jax.random.fold_in(key, 37), arch.layer_dims, layers, 0.7, 10)
  for l in layers:
    np.testing.assert_array_equal(masks[l][7], row[l])
  drawn_ahead = train.train_gd_jit(params, X, Y, 0.5, **kwargs, noise=masks)
  np.testing.assert_allclose(drawn_ahead.costs, drawn_in_loop.costs, rtol=1e-6)
  for name in params:
    np.testing.assert_allclose(drawn_ahead.params[name], drawn_in_loop.params[name],
                               rtol=1e-6, atol=1e-7)
  # The masks of other iterations train to other values.
  shifted = train.dropout_masks_ahead_jit(key, 31, 0.7, arch=arch, num_iterations=20,
                                          dropout_layers=layers, m=10)
  other = train.train_gd_jit(params, X, Y, 0.5, **kwargs, noise=shifted)
  assert not np.array_equal(other.params["W1"], drawn_in_loop.params["W1"])


def test_a_loop_given_its_masks_holds_no_hash():
  arch, params, X, Y = problem()
  key = jax.random.key(0)
  kwargs = dict(arch=arch, num_iterations=5, record_every=5, dropout_layers=(1,),
                keep_prob=0.5, key=key)
  masks = train.dropout_masks_ahead(key, 0, 0.5, arch=arch, num_iterations=5,
                                    dropout_layers=(1,), m=10)
  # The compiled programs (the step's unused key is gone after XLA's dead-code pass):
  # Threefry's rounds are xors of added and rotated words.
  drawing = train.train_gd_jit.lower(params, X, Y, 0.5, **kwargs).compile().as_text()
  given = train.train_gd_jit.lower(params, X, Y, 0.5, **kwargs,
                                   noise=masks).compile().as_text()
  assert " xor(" in drawing
  assert " xor(" not in given


def test_masks_drawn_ahead_are_checked_before_compiling():
  arch, params, X, Y = problem()
  masks = train.dropout_masks_ahead(jax.random.key(0), 0, 0.5, arch=arch, num_iterations=5,
                                    dropout_layers=(1,), m=10)
  kwargs = dict(arch=arch, record_every=1, dropout_layers=(1,), keep_prob=0.5)
  with pytest.raises(ConfigError, match=r"noise must hold .*\(6, 4, 10\)"):
    train.train_gd_jit(params, X, Y, 0.5, num_iterations=6, noise=masks, **kwargs)
  with pytest.raises(ConfigError, match="noise must hold .*got ArrayImpl"):
    train.train_gd_jit(params, X, Y, 0.5, num_iterations=5, noise=masks[1], **kwargs)
  with pytest.raises(ConfigError, match=r"noise must hold .*got \{2: "):
    train.train_gd_jit(params, X, Y, 0.5, num_iterations=5, noise={2: masks[1]}, **kwargs)
  with pytest.raises(ConfigError, match="only for dropout with fresh masks"):
    train.train_gd_jit(params, X, Y, 0.5, arch=arch, num_iterations=5, noise=masks)
  fixed = reg.course_dropout_masks(arch.layer_dims, (1,), 0.5, 10)
  with pytest.raises(ConfigError, match="only for dropout with fresh masks"):
    train.train_gd_jit(params, X, Y, 0.5, num_iterations=5, noise=masks, fixed_masks=fixed,
                       **kwargs)
  # Given its masks, a run needs no key.
  train.train_gd_jit(params, X, Y, 0.5, num_iterations=5, noise=masks, **kwargs)


def test_masks_drawn_ahead_are_for_full_batch_loops_only():
  arch, params, X, Y = problem()
  grad_fn = loop.dense_grad_fn(arch, dropout_layers=(1,), keep_prob=0.5)
  masks = loop.draw_ahead(grad_fn, jax.random.key(0), 0, 2, 10)
  state = loop.init_state(params, optim.gd(0.1), jax.random.key(0))
  with pytest.raises(ConfigError, match="full-batch loop"):
    loop.run(state, X, Y, grad_fn=grad_fn, optimizer=optim.gd(0.1), num_iterations=2,
             batching=loop.Epochs(5, key=jax.random.key(1)), noise=masks)

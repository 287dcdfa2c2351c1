"""The scanned full-batch loop equals step-by-step gradient descent."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import initializers, train
from dlcourse import regularization as reg
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

"""Batch norm (C2W3): the hand-derived backward against jax.grad (float64, rtol 1e-9) and
finite differences, a planted bug named by the check, running averages, eval vs train."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import batchnorm as bn
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import bn_dense


def _rand(seed, shape):
  return jnp.asarray(np.random.RandomState(seed).randn(*shape))


# Jitted once per shape: eager dispatch of every small op would dominate the test time.
cost_and_grads = jax.jit(bn_dense.cost_and_grads, static_argnames=("arch", "method"))


# --- one layer ----------------------------------------------------------------------------

@jax.jit
def _layer_grads(Z, gamma, beta, G):
  """jax.grad's (dZ, dgamma, dbeta) of J = (1/m) sum(G * Z_tilde) and both hand-derived
  forms, with m dJ/dZ_tilde = G in the course's convention."""
  m = Z.shape[1]
  J = lambda Z, g, b: jnp.sum(G * bn.forward(Z, g, b)[0]) / m
  dZ_ref, dg_ref, db_ref = jax.grad(J, argnums=(0, 1, 2))(Z, gamma, beta)
  _, cache, _ = bn.forward(Z, gamma, beta)
  return ((dZ_ref * m, dg_ref, db_ref), bn.backward(G, cache, gamma),
          bn.backward_compact(G, cache, gamma))


@pytest.mark.parametrize("n,m,seed", [(1, 2, 0), (3, 5, 1), (7, 16, 2), (4, 33, 3)])
def test_layer_backward_matches_jax_grad(x64, n, m, seed):
  rng = np.random.RandomState(seed)
  Z = jnp.asarray(3.0 * rng.randn(n, m) + 1.0)
  gamma, beta = jnp.asarray(1 + rng.randn(n, 1)), jnp.asarray(rng.randn(n, 1))
  reference, chain_rule, compact = _layer_grads(Z, gamma, beta, jnp.asarray(rng.randn(n, m)))
  for ours in (chain_rule, compact):
    for name, got, want in zip(("dZ", "dgamma", "dbeta"), ours, reference):
      np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13, err_msg=name)


def test_forward_standardizes_each_unit(x64):
  Z = _rand(0, (4, 50)) * 5 + 3
  Z_tilde, cache, (mu, sigma2) = bn.forward(Z, jnp.ones((4, 1)), jnp.zeros((4, 1)))
  np.testing.assert_allclose(jnp.mean(Z_tilde, axis=1), 0, atol=1e-12)
  np.testing.assert_allclose(jnp.mean(Z_tilde ** 2, axis=1), sigma2[:, 0]
                             / (sigma2[:, 0] + bn.DEFAULT_EPSILON), rtol=1e-12)
  np.testing.assert_allclose(mu[:, 0], np.mean(np.asarray(Z), axis=1), rtol=1e-12)
  np.testing.assert_allclose(sigma2[:, 0], np.var(np.asarray(Z), axis=1), rtol=1e-12)


def test_running_averages_are_the_course_ewa(x64):
  """v <- beta v + (1 - beta) theta over batches, starting at mu = 0, sigma2 = 1."""
  beta = 0.8
  mu_run, s2_run = jnp.zeros((2, 1)), jnp.ones((2, 1))
  expected_mu, expected_s2 = np.zeros((2, 1)), np.ones((2, 1))
  for t in range(5):
    Z = _rand(t, (2, 9)) + t
    mu, s2 = bn.batch_statistics(Z)
    mu_run, s2_run = bn.update_running(mu_run, s2_run, mu, s2, beta)
    Zn = np.asarray(Z)
    expected_mu = beta * expected_mu + (1 - beta) * Zn.mean(1, keepdims=True)
    expected_s2 = beta * expected_s2 + (1 - beta) * Zn.var(1, keepdims=True)
  np.testing.assert_allclose(mu_run, expected_mu, rtol=1e-12)
  np.testing.assert_allclose(s2_run, expected_s2, rtol=1e-12)


def test_bad_hyperparameters_are_refused():
  with pytest.raises(ConfigError, match="epsilon"):
    bn.check_epsilon(0.0)
  with pytest.raises(ConfigError, match="momentum"):
    bn.check_momentum(1.0)


# --- the whole net -------------------------------------------------------------------------

CASES = [((5, 4, 3), 2, 0.0, 1.0, 0), ((6, 8, 5, 4), 7, 0.4, 1.0, 1),
         ((3, 5, 5, 5, 2), 12, 0.0, 0.7, 2), ((4, 3, 6, 3), 31, 1.3, 0.8, 3)]


@pytest.mark.parametrize("dims,m,lambd,keep_prob,seed", CASES)
def test_net_backward_matches_jax_grad(x64, dims, m, lambd, keep_prob, seed):
  """Hand-derived grads == jax.grad (rtol 1e-9) over shapes, batch sizes, L2, dropout;
  the new running averages are the same either way."""
  params, state, X, Y, arch = bn_dense.gradcheck_case(seed, dims, m)
  dropout = None
  if keep_prob < 1:
    layers = tuple(range(1, arch.num_layers))
    rng = np.random.RandomState(seed + 100)
    masks = {l: jnp.asarray(rng.rand(arch.layer_dims[l], m) < keep_prob) for l in layers}
    dropout = reg.Dropout(masks, keep_prob)
  J, grads, new_state = cost_and_grads(params, state, X, Y, arch, lambd, dropout)
  J_ad, grads_ad, state_ad = cost_and_grads(params, state, X, Y, arch, lambd, dropout,
                                            method="autodiff")
  assert set(grads) == set(params)
  np.testing.assert_allclose(J, J_ad, rtol=1e-12)
  for name in params:
    np.testing.assert_allclose(grads[name], grads_ad[name], rtol=1e-9, atol=1e-13,
                               err_msg=name)
  for name in state:
    np.testing.assert_allclose(new_state[name], state_ad[name], rtol=1e-12)


def test_params_and_state_keys():
  arch = bn_dense.Architecture.make((40, 16, 8, 10), hidden="relu", output="softmax")
  params, state = jax.jit(bn_dense.initialize, static_argnums=1)(jax.random.key(0), arch)
  assert sorted(params) == sorted(["W1", "gamma1", "beta1", "W2", "gamma2", "beta2",
                                   "W3", "b3"])
  assert sorted(state) == sorted(["mu1", "sigma2_1", "mu2", "sigma2_2"])
  bn_dense.check_params(params, arch)
  bn_dense.check_state(state, arch)
  with pytest.raises(ShapeError, match="b1"):
    bn_dense.check_params({**params, "b1": jnp.zeros((16, 1))}, arch)
  with pytest.raises(ConfigError, match="hidden layer"):
    bn_dense.initialize(jax.random.key(0), bn_dense.Architecture((4, 2), ("softmax",)))


def test_gradient_check_passes_and_names_the_planted_bug(x64):
  """Finite differences agree with the hand-derived backward; with the variance path
  dropped, the check flags exactly W of the last hidden layer and everything below."""
  good = bn_dense.batchnorm_gradcheck(0)
  assert good.passed, good.table()
  assert good.manual_vs_autodiff.overall < 1e-12
  assert good.manual_vs_numeric.overall < 1e-7
  bad = bn_dense.batchnorm_gradcheck(0, plant_bug=True)
  assert bad.disagreeing == ["W1", "W2", "beta1", "gamma1"], bad.table()
  assert bad.manual_vs_numeric.per_param["W2"] > 1e-3
  # autodiff and the differences still agree: the bug is in the hand-written code only.
  assert bad.autodiff_vs_numeric.overall < 1e-7


def test_train_mode_updates_state_and_eval_mode_uses_it(x64):
  params, state, X, Y, arch = bn_dense.gradcheck_case(5, (5, 6, 4, 3), 20)

  @jax.jit
  def outputs(params, state):
    # momentum 0: the running averages become this batch's statistics.
    AL_train, _, new_state = bn_dense.forward(params, state, X, arch, train=True,
                                              momentum=0.0)
    AL_eval, _, _ = bn_dense.forward(params, new_state, X, arch, train=False)
    AL_init, _, _ = bn_dense.forward(params, state, X, arch, train=False)
    AL_small, _, _ = bn_dense.forward(params, state, X[:, :5], arch, train=True)
    one = bn_dense.predict(params, new_state, X[:, :1], arch)
    every = bn_dense.predict(params, new_state, X, arch)
    return AL_train, AL_eval, AL_init, AL_small, one, every, new_state

  AL_train, AL_eval, AL_init, AL_small, one, every, new_state = outputs(params, state)
  # With the batch's own statistics as running averages, eval == train on that batch.
  np.testing.assert_allclose(AL_eval, AL_train, rtol=1e-10)
  mu, sigma2 = bn.batch_statistics(params["W1"] @ X)
  np.testing.assert_allclose(new_state["mu1"], mu, rtol=1e-12)
  np.testing.assert_allclose(new_state["sigma2_1"], sigma2, rtol=1e-12)
  # Eval mode treats each example alone: predicting one column = that column of all.
  np.testing.assert_array_equal(one, every[:, :1])
  # Train mode does not: one example's output depends on its batch.
  assert not np.allclose(AL_small, AL_train[:, :5])
  # The initial state (mu 0, sigma2 1) gives other outputs than the batch statistics.
  assert not np.allclose(AL_init, AL_train)


def test_training_with_an_optax_optimizer_lowers_the_cost(x64):
  import optax
  params, state, X, Y, arch = bn_dense.gradcheck_case(7, (5, 8, 3), 30)
  tx = optax.adam(0.05)

  def step(carry, _):
    params, state, opt_state = carry
    J, grads, state = bn_dense.cost_and_grads(params, state, X, Y, arch)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), state, opt_state), J

  (params, state, _), costs = jax.jit(lambda c: jax.lax.scan(step, c, None, length=60))(
      (params, state, tx.init(params)))
  assert float(costs[-1]) < 0.3 * float(costs[0])
  assert float(bn_dense.accuracy(params, state, X, Y, arch)) > 0.9

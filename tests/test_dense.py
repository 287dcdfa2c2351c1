"""The L-layer net's hand-derived backward == jax.grad (rtol 1e-9, float64) and jax.vjp per layer."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import initializers
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import dense, logistic

pytestmark = pytest.mark.usefixtures("x64")

HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
OUTPUTS = ("sigmoid", "softmax", "linear")


def random_problem(seed):
  """A random architecture (depth 1-5, widths 1-6, random hidden activations) and data."""
  rng = np.random.RandomState(seed)
  depth = rng.randint(1, 6)
  output = OUTPUTS[seed % len(OUTPUTS)]
  n_out = rng.randint(2, 5) if output == "softmax" else 1
  dims = (rng.randint(1, 7),) + tuple(rng.randint(1, 7, depth - 1)) + (n_out,)
  acts = tuple(rng.choice(HIDDEN, depth - 1)) + (output,)
  arch = dense.Architecture(dims, acts)
  m = rng.randint(1, 9)
  key = jax.random.key(seed)
  params = initializers.initialize(key, dims, "normal", scale=1.0, dtype=jnp.float64)
  params = jax.tree.map(lambda p: p + 0.1, params)  # nonzero biases
  X = jnp.asarray(rng.randn(dims[0], m))
  if output == "softmax":
    Y = jax.nn.one_hot(rng.randint(0, n_out, m), n_out, dtype=jnp.float64).T
  elif output == "sigmoid":
    Y = jnp.asarray(rng.randint(0, 2, (1, m)), jnp.float64)
  else:
    Y = jnp.asarray(rng.randn(1, m))
  return arch, params, X, Y


def both_gradients(params, X, Y, arch, lambd=0.0, dropout=None):
  """(manual, autodiff) cost-and-grads, compiled as one program: one compile per shape
  instead of one per eager op keeps the suite fast."""
  def both(params, X, Y, dropout):
    return (dense.cost_and_grads(params, X, Y, arch, lambd, dropout),
            dense.cost_and_grads(params, X, Y, arch, lambd, dropout, "autodiff"))
  return jax.jit(both)(params, X, Y, dropout)


@pytest.mark.parametrize("seed", range(16))
def test_manual_backward_equals_jax_grad(seed):
  arch, params, X, Y = random_problem(seed)
  (J, manual), (J_ad, autodiff) = both_gradients(params, X, Y, arch)
  assert set(manual) == set(params)
  np.testing.assert_allclose(J, J_ad, rtol=1e-12)
  for name in params:
    np.testing.assert_allclose(manual[name], autodiff[name], rtol=1e-9, atol=1e-12,
                               err_msg=f"{name} of {arch}")


@pytest.mark.parametrize("seed", range(0, 16, 2))
def test_manual_backward_with_l2_and_dropout_equals_jax_grad(seed):
  arch, params, X, Y = random_problem(seed)
  if arch.num_layers < 2:
    arch, params, X, Y = random_problem(seed + 1000)
  layers = tuple(range(1, arch.num_layers))
  masks = reg.dropout_masks(jax.random.key(seed), arch.layer_dims, layers, 0.7, X.shape[1])
  dropout = reg.Dropout(masks, 0.7)
  (J, manual), (J_ad, autodiff) = both_gradients(params, X, Y, arch, 0.3, dropout)
  np.testing.assert_allclose(J, J_ad, rtol=1e-12)
  for name in params:
    np.testing.assert_allclose(manual[name], autodiff[name], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("activation", HIDDEN + ("softmax",))
def test_each_layer_backward_equals_vjp(activation):
  rng = np.random.RandomState(0)
  A_prev, W, b = (jnp.asarray(rng.randn(*s)) for s in [(4, 5), (3, 4), (3, 1)])
  dA = jnp.asarray(rng.randn(3, 5))
  (A, Z), vjp = jax.vjp(lambda *a: dense.layer_forward(*a, activation), A_prev, W, b)
  cache = dense.LayerCache(A_prev, Z, A, None)
  dA_prev, dW, db = dense.layer_backward(dA, cache, W, activation)
  # layer_backward carries the course's 1/m: it is the vjp of the cotangent dA / m,
  # except dA_prev, which the course leaves unscaled (the 1/m is applied once, in dW/db).
  m = A_prev.shape[1]
  e_A_prev, e_W, e_b = vjp((dA / m, jnp.zeros_like(Z)))
  np.testing.assert_allclose(dW, e_W, rtol=1e-12)
  np.testing.assert_allclose(db, e_b, rtol=1e-12)
  np.testing.assert_allclose(dA_prev / m, e_A_prev, rtol=1e-12, atol=1e-15)


def test_logistic_regression_matches_course_formulas():
  rng = np.random.RandomState(1)
  X = rng.randn(6, 9)
  Y = rng.randint(0, 2, (1, 9)).astype(float)
  params = {"W1": jnp.asarray(rng.randn(1, 6)), "b1": jnp.asarray([[0.3]])}
  J, grads = dense.cost_and_grads(params, jnp.asarray(X), jnp.asarray(Y), logistic.architecture(6))
  w, b = logistic.to_course(params)
  A = 1 / (1 + np.exp(-(np.asarray(w).T @ X + float(b))))
  np.testing.assert_allclose(J, -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)), rtol=1e-12)
  np.testing.assert_allclose(grads["W1"].T, X @ (A - Y).T / 9, rtol=1e-12)
  np.testing.assert_allclose(grads["b1"], [[np.sum(A - Y) / 9]], rtol=1e-12)


def test_predict_and_accuracy():
  arch = logistic.architecture(1)
  params = {"W1": jnp.array([[1.0]]), "b1": jnp.array([[0.0]])}
  X = jnp.array([[-2.0, -1.0, 1.0, 2.0]])
  np.testing.assert_array_equal(dense.predict(params, X, arch), [[0, 0, 1, 1]])
  assert float(dense.accuracy(params, X, jnp.array([[0.0, 1.0, 1.0, 1.0]]), arch)) == 0.75
  soft = dense.Architecture((1, 2), ("softmax",))
  sp = {"W1": jnp.array([[1.0], [-1.0]]), "b1": jnp.zeros((2, 1))}
  np.testing.assert_array_equal(dense.predict(sp, X, soft), [[1, 1, 0, 0]])
  onehot = jnp.array([[0.0, 1, 1, 0], [1, 0, 0, 1]])
  assert float(dense.accuracy(sp, X, onehot, soft)) == 0.5


def test_architecture_errors():
  with pytest.raises(ConfigError, match="2 layers need as many activations"):
    dense.Architecture((3, 2, 1), ("relu",))
  with pytest.raises(ConfigError, match="unknown activation 'swish'"):
    dense.Architecture((3, 1), ("swish",))
  with pytest.raises(ConfigError, match="no paired loss"):
    dense.Architecture((3, 1), ("relu",))
  with pytest.raises(ConfigError, match="positive sizes"):
    dense.Architecture((3, 0, 1), ("relu", "sigmoid"))


def test_check_params_names_the_bad_shape():
  arch = dense.Architecture.make((4, 3, 1))
  params = initializers.initialize(jax.random.key(0), (4, 3, 1))
  dense.check_params(params, arch)
  params["W2"] = params["W2"].T
  with pytest.raises(ShapeError, match=r"W2 has shape \(3, 1\), expected \(1, 3\)"):
    dense.check_params(params, arch)


@pytest.mark.parametrize("X,Y,error,message", [
    (np.full((2, 3), np.nan), np.zeros((1, 3)), "DataError", "6 non-finite entries"),
    (np.ones((2, 3)), np.zeros((3, 1)), "ShapeError", "looks transposed"),
    (np.ones((2, 3)), np.array([[0, 1, 2]]), "DataError", "2"),
    (np.ones((2, 0)), np.zeros((1, 0)), "DataError", "empty"),
    (np.ones((5, 3)), np.zeros((1, 3)), "ShapeError", "layer_dims\\[0\\] = 2 but X has n_x = 5"),
])
def test_check_data_refuses_bad_training_data(X, Y, error, message):
  from dlcourse import errors
  with pytest.raises(getattr(errors, error), match=message):
    dense.check_data(X, Y, dense.Architecture.make((2, 3, 1)))


def test_check_data_softmax_takes_one_hot_and_refuses_label_rows():
  """A (1, m) row would broadcast against the (K, m) output: it must go through
  data.one_hot, the one place labels are encoded."""
  arch = dense.Architecture.make((2, 3), output="softmax")
  dense.check_data(np.ones((2, 4)), np.eye(3)[:, [0, 1, 2, 1]], arch)
  with pytest.raises(ShapeError, match=r"data.one_hot\(Y, 3\)"):
    dense.check_data(np.ones((2, 4)), np.array([[0, 1, 2, 1]]), arch)
  from dlcourse.errors import DataError
  with pytest.raises(DataError):
    dense.check_data(np.ones((2, 4)), np.eye(3)[:, [0, 1, 2, 2]] * 2, arch)


def test_compiled_output_is_the_forward_passs_last_activation(x64):
  arch = dense.Architecture.make((3, 4, 2), hidden="relu", output="softmax")
  rng = np.random.RandomState(0)
  params = {"W1": rng.randn(4, 3), "b1": rng.randn(4, 1), "W2": rng.randn(2, 4),
            "b2": rng.randn(2, 1)}
  X = rng.randn(3, 7)
  np.testing.assert_allclose(dense.output(params, X, arch), dense.forward(params, X, arch)[0],
                             rtol=0, atol=1e-14)


@pytest.mark.parametrize("output,lambd", [("sigmoid", 0.0), ("sigmoid", 0.7),
                                          ("softmax", 0.0), ("linear", 0.3)])
@pytest.mark.parametrize("method", ["manual", "autodiff"])
def test_a_masked_padded_batch_has_the_cost_and_gradients_of_its_kept_columns(
    output, lambd, method):
  """A batch of 5 examples padded with 3 zero columns and masked (the loop's partial
  mini-batch) gives the 5 examples' J and gradients: m = 5, and the padding adds 0."""
  n_y = 3 if output == "softmax" else 1
  arch = dense.Architecture.make((4, 6, n_y), hidden="tanh", output=output)
  params = initializers.initialize(jax.random.key(3), arch.layer_dims, "he",
                                   dtype=jnp.float64)
  rng = np.random.RandomState(1)
  X = jnp.asarray(rng.randn(4, 5))
  Y = jnp.asarray(np.eye(3)[:, rng.randint(3, size=5)] if output == "softmax"
                  else (rng.rand(n_y, 5) > 0.5).astype(float))
  pad = lambda A: jnp.pad(A, ((0, 0), (0, 3)))
  mask = jnp.arange(8) < 5
  J, grads = dense.cost_and_grads(params, X, Y, arch, lambd, method=method)
  J_masked, grads_masked = dense.cost_and_grads(params, pad(X), pad(Y), arch, lambd,
                                                method=method, mask=mask)
  np.testing.assert_allclose(J_masked, J, rtol=1e-14)
  for name in params:
    np.testing.assert_allclose(grads_masked[name], grads[name], rtol=1e-12, atol=1e-15)
  # Unmasked, the padding counts as 3 more examples: a different cost.
  assert not np.isclose(dense.cost_and_grads(params, pad(X), pad(Y), arch, lambd)[0], J)


def test_a_mask_must_have_one_entry_per_column():
  arch = dense.Architecture.make((4, 1))
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he")
  with pytest.raises(ShapeError, match="mask must have shape"):
    dense.cost_and_grads(params, jnp.ones((4, 8)), jnp.ones((1, 8)), arch,
                         mask=jnp.ones((1, 8), bool))


@pytest.mark.parametrize("output,lambd,masked", [("sigmoid", 0.0, False),
                                                 ("sigmoid", 0.7, True),
                                                 ("softmax", 0.3, False)])
def test_need_cost_false_skips_the_loss_and_leaves_the_gradients_bit_for_bit(
    output, lambd, masked):
  """A loop that records the cost every N iterations asks for J only there: where
  ``need_cost`` is false J is 0 and the gradients are the same bits; where true, J is too."""
  n_y = 3 if output == "softmax" else 1
  arch = dense.Architecture.make((4, 6, n_y), hidden="relu", output=output)
  params = initializers.initialize(jax.random.key(5), arch.layer_dims, "he")
  rng = np.random.RandomState(2)
  X = jnp.asarray(rng.randn(4, 8), jnp.float32)
  Y = jnp.asarray(np.eye(3)[:, rng.randint(3, size=8)] if output == "softmax"
                  else (rng.rand(1, 8) > 0.5), jnp.float32)
  mask = jnp.arange(8) < 5 if masked else None
  at = jax.jit(lambda need: dense.cost_and_grads(params, X, Y, arch, lambd, None,
                                                 "manual", mask, need))
  J, grads = jax.jit(lambda: dense.cost_and_grads(params, X, Y, arch, lambd, None,
                                                  "manual", mask))()
  J_true, grads_true = at(jnp.bool_(True))
  J_false, grads_false = at(jnp.bool_(False))
  assert float(J) > 0 and float(J_false) == 0.0
  np.testing.assert_array_equal(J_true, J)
  for name in params:
    np.testing.assert_array_equal(grads_true[name], grads[name])
    np.testing.assert_array_equal(grads_false[name], grads[name])


def test_off_the_cpu_need_cost_changes_nothing(monkeypatch):
  """Off the CPU (``platform_dependent``'s default branch, taken here by hand: no GPU on
  these machines) J is computed always: XLA:GPU would wait on the host for a
  conditional's predicate at every step."""
  arch = dense.Architecture.make((4, 3, 1))
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he")
  rng = np.random.RandomState(0)
  X, Y = jnp.asarray(rng.randn(4, 5), jnp.float32), jnp.asarray(rng.rand(1, 5) > 0.5,
                                                               jnp.float32)
  monkeypatch.setattr(jax.lax, "platform_dependent",
                      lambda *args, default, **per_platform: default(*args))
  J, _ = dense.cost_and_grads(params, X, Y, arch)
  J_false, _ = dense.cost_and_grads(params, X, Y, arch, need_cost=jnp.bool_(False))
  assert float(J) > 0
  np.testing.assert_array_equal(J_false, J)

"""Shape checks of the public dense API (issue 9, defects 4 and 5).

Before these checks a transposed (m, 1) Y gave a silently wrong autodiff cost (the
(1, m) - (m, 1) broadcast makes an (m, m) "loss"), a wrong accuracy, a bare
dot_general TypeError on the manual path and a KeyError for a missing b2; a softmax net
given a (1, m) row of class labels broadcast it against its (K, m) output; and the
output layer was compared with itself, so layer_dims ending in 2 trained on (1, m)
labels. Each test below failed then and raises a one-line ShapeError now, on the host,
also when the call is traced (jit / vmap) since shapes are known to tracers.
"""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import data, initializers, minibatch, train
from dlcourse.errors import DataError, ShapeError
from dlcourse.models import dense

pytestmark = pytest.mark.usefixtures("x64")

M = 12


@pytest.fixture
def binary():
  """A (2, 4, 1) tanh/sigmoid net with its (2, M) inputs and (1, M) labels."""
  rng = np.random.RandomState(0)
  X = rng.randn(2, M)
  Y = (rng.rand(1, M) > 0.5).astype(np.float64)
  arch = dense.Architecture.make((2, 4, 1), hidden="tanh")
  params = initializers.course_initialize(2, arch.layer_dims, "normal", scale=0.5)
  return arch, params, X, Y


@pytest.fixture
def softmax3():
  """A (4, 5, 3) relu/softmax net, inputs (4, M), class labels (1, M) in [0, 3)."""
  rng = np.random.RandomState(1)
  X = rng.randn(4, M)
  labels = np.array([[0, 1, 2] * (M // 3)])
  arch = dense.Architecture.make((4, 5, 3), hidden="relu", output="softmax")
  params = initializers.course_initialize(1, arch.layer_dims, "normal", scale=1.0)
  return arch, params, X, labels


PUBLIC_WITH_Y = {
    "autodiff": lambda p, X, Y, a: dense.cost_and_grads(p, X, Y, a, method="autodiff"),
    "manual": lambda p, X, Y, a: dense.cost_and_grads(p, X, Y, a),
    "accuracy": lambda p, X, Y, a: dense.accuracy(p, X, Y, a),
}


# --- transposed, 1-D and mismatched Y ---------------------------------------------------

@pytest.mark.parametrize("call", PUBLIC_WITH_Y)
def test_transposed_y_is_refused(binary, call):
  # Before: autodiff J = 41.52 instead of 0.737 (planar flower, m = 50), accuracy 0.0
  # instead of 0.64, manual a dot_general TypeError.
  arch, params, X, Y = binary
  with pytest.raises(ShapeError, match=r"got shape \(12, 1\) \(it looks transposed: use Y.T\)"):
    PUBLIC_WITH_Y[call](params, X, Y.T, arch)


@pytest.mark.parametrize("call", PUBLIC_WITH_Y)
def test_one_dimensional_y_is_refused(binary, call):
  arch, params, X, Y = binary
  with pytest.raises(ShapeError, match=r"got shape \(12,\) \(a 1-D Y: use Y.reshape"):
    PUBLIC_WITH_Y[call](params, X, Y[0], arch)


def test_y_with_other_m_is_refused(binary):
  arch, params, X, Y = binary
  with pytest.raises(ShapeError, match="Y has 11 examples but X has 12"):
    dense.cost_and_grads(params, X, Y[:, :-1], arch)


def test_good_shapes_still_give_the_course_cost(binary):
  """The checks change no number: J is the BCE written out in NumPy."""
  arch, params, X, Y = binary
  p = {k: np.asarray(v) for k, v in params.items()}
  A = 1 / (1 + np.exp(-(p["W2"] @ np.tanh(p["W1"] @ X + p["b1"]) + p["b2"])))
  expected = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
  for method in ("manual", "autodiff"):
    J, _ = dense.cost_and_grads(params, X, Y, arch, method=method)
    np.testing.assert_allclose(float(J), expected, rtol=1e-12)
  np.testing.assert_allclose(float(dense.accuracy(params, X, Y, arch)),
                             np.mean((A > 0.5) == Y), rtol=1e-15)


# --- X and params -------------------------------------------------------------------------

def test_wrong_n_x_is_refused_by_predict_and_cost(binary):
  arch, params, X, Y = binary
  bad = np.ones((3, M))
  with pytest.raises(ShapeError, match=r"layer_dims\[0\] = 2 but X has n_x = 3 features"):
    dense.predict(params, bad, arch)
  with pytest.raises(ShapeError, match=r"layer_dims\[0\] = 2 but X has n_x = 3"):
    dense.cost_and_grads(params, bad, Y, arch)
  with pytest.raises(ShapeError, match=r"use X.T"):
    dense.predict(params, X.T, arch)
  with pytest.raises(ShapeError, match=r"expected X of shape \(n_x, m\) = \(2, m\)"):
    dense.predict(params, X[0], arch)


def test_missing_misshapen_and_extra_params_are_refused(binary):
  arch, params, X, Y = binary
  no_b2 = {k: v for k, v in params.items() if k != "b2"}
  with pytest.raises(ShapeError, match=r"params lack \['b2'\] for layer_dims \(2, 4, 1\)"):
    dense.cost_and_grads(no_b2, X, Y, arch)  # before: KeyError: 'b2'
  with pytest.raises(ShapeError, match=r"W1 has shape \(2, 4\), expected \(4, 2\)"):
    dense.predict(dict(params, W1=params["W1"].T), X, arch)
  with pytest.raises(ShapeError, match=r"b1 has shape \(4,\), expected \(4, 1\)"):
    dense.accuracy(dict(params, b1=params["b1"][:, 0]), X, Y, arch)
  with pytest.raises(ShapeError, match=r"unexpected \['W3'\]"):
    dense.predict(dict(params, W3=params["W2"]), X, arch)


# --- softmax labels and the output layer ----------------------------------------------------

def test_softmax_row_labels_are_refused_not_broadcast(softmax3):
  # Before: J = 4.90 from the broadcast row instead of 3.63 with one-hot labels.
  arch, params, X, labels = softmax3
  message = r"row of class labels: encode it with dlcourse.data.one_hot\(Y, 3\)"
  for method in ("manual", "autodiff"):
    with pytest.raises(ShapeError, match=message):
      dense.cost_and_grads(params, X, labels, arch, method=method)
  with pytest.raises(ShapeError, match=message):
    dense.accuracy(params, X, labels, arch)
  with pytest.raises(ShapeError, match=message):
    dense.check_data(X, labels, arch)


def test_softmax_one_hot_cost_is_the_cross_entropy(softmax3):
  arch, params, X, labels = softmax3
  Y = data.one_hot(labels, 3)
  dense.check_data(X, Y, arch)
  p = {k: np.asarray(v) for k, v in params.items()}
  Z = p["W2"] @ np.maximum(p["W1"] @ X + p["b1"], 0) + p["b2"]
  log_softmax = Z - Z.max(0) - np.log(np.exp(Z - Z.max(0)).sum(0))
  J, _ = dense.cost_and_grads(params, X, Y, arch)
  np.testing.assert_allclose(float(J), -np.sum(Y * log_softmax) / M, rtol=1e-12)


def test_two_unit_softmax_takes_two_row_one_hot():
  # Before, check_data sent K = 2 to check_xy, which only knew (1, m) rows for 2 classes.
  arch = dense.Architecture.make((2, 2), output="softmax")
  dense.check_data(np.ones((2, 3)), data.one_hot(np.array([[0, 1, 1]]), 2), arch)


def test_one_hot_values_are_still_checked_on_the_host(softmax3):
  arch, _, X, labels = softmax3
  Y = data.one_hot(labels, 3)
  Y[:, 0] = 1.0
  with pytest.raises(DataError, match="exactly one 1 per column"):
    dense.check_data(X, Y, arch)


def test_output_layer_is_checked_against_y(binary):
  # Defect 4: c2w1_regularization with layer_dims (2, 20, 3, 2) trained on (1, m)
  # labels (the last layer was compared with itself) and died in the plot.
  _, _, X, Y = binary
  arch = dense.Architecture.make((2, 20, 3, 2))
  params = initializers.course_initialize(3, arch.layer_dims, "he")
  message = (r"a sigmoid output takes \(1, m\) labels, so layer_dims must end in 1, but "
             r"layer_dims\[-1\] = 2 in \(2, 20, 3, 2\) \(Y has shape \(1, 12\)\)")
  with pytest.raises(ShapeError, match=message):
    dense.check_data(X, Y, arch)
  with pytest.raises(ShapeError, match=message):
    dense.cost_and_grads(params, X, Y, arch)


def test_linear_output_targets_must_match_the_output_layer():
  arch = dense.Architecture.make((2, 3, 2), output="linear")
  dense.check_data(np.ones((2, 5)), np.zeros((2, 5)), arch)
  with pytest.raises(ShapeError, match=r"\(n_L, m\) = \(2, 5\) \(targets"):
    dense.check_data(np.ones((2, 5)), np.zeros((1, 5)), arch)


# --- trainers: refused before compiling -----------------------------------------------------

def test_train_gd_jit_refuses_a_transposed_y_while_tracing(binary):
  # Before: autodiff trained on the broadcast (m, m) loss without a word.
  arch, params, X, Y = binary
  for method in ("autodiff", "manual"):
    with pytest.raises(ShapeError, match="looks transposed"):
      train.train_gd_jit(params, X, Y.T, 0.1, arch=arch, num_iterations=2, record_every=1,
                         method=method)


def test_minibatch_trainer_refuses_a_transposed_y(binary):
  arch, params, X, Y = binary
  with pytest.raises(ShapeError):
    minibatch.train(params, X, Y.T, arch=arch, optimizer=optax.sgd(0.1), batch_size=4,
                    num_epochs=1, key=jax.random.key(0))


# --- tracers: shapes checked, values skipped ------------------------------------------------

def test_checks_run_on_tracers_under_jit_and_vmap(binary):
  arch, params, X, Y = binary
  cost = jax.jit(lambda p, X, Y: dense.cost_and_grads(p, X, Y, arch)[0])
  np.testing.assert_allclose(float(cost(params, X, Y)),
                             float(dense.cost_and_grads(params, X, Y, arch)[0]), rtol=1e-12)
  with pytest.raises(ShapeError, match="looks transposed"):
    cost(params, X, Y.T)
  stacked = jax.tree.map(lambda p: jnp.stack([p, 2 * p]), params)  # a sweep of 2 nets
  accuracies = jax.vmap(lambda p: dense.accuracy(p, X, Y, arch))(stacked)
  assert accuracies.shape == (2,)
  with pytest.raises(ShapeError, match=r"W1 has shape \(2, 4\)"):
    jax.vmap(lambda p: dense.predict(dict(p, W1=p["W1"].T), X, arch))(stacked)


def test_check_data_on_tracers_checks_shapes_and_skips_values(binary):
  arch, _, X, Y = binary
  bad_labels = Y.copy()
  bad_labels[0, 0] = 2.0  # a value error only the host can see
  with pytest.raises(DataError):
    dense.check_data(X, bad_labels, arch)
  traced = jax.jit(lambda X, Y: dense.check_data(X, Y, arch)[1].sum())
  assert float(traced(X, bad_labels)) == bad_labels.sum()  # values unknowable: skipped
  with pytest.raises(ShapeError, match="looks transposed"):
    traced(X, Y.T)


def test_softmax_with_too_few_one_hot_rows_names_both_counts(softmax3):
  arch, params, X, labels = softmax3
  with pytest.raises(ShapeError, match=r"layer_dims\[-1\] = 3 units but Y has 2 rows"):
    dense.cost_and_grads(params, X, data.one_hot(labels % 2, 2), arch)


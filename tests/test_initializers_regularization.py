"""Initializers (JAX keys and the course's NumPy stream), L2 and dropout pieces."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import draws, initializers
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError


def test_course_initialize_refuses_silent_float32():
  with jax.enable_x64(False):
    with pytest.raises(ConfigError, match="jax_enable_x64"):
      initializers.course_initialize(1, (3, 1), "he")


@pytest.mark.usefixtures("x64")
def test_course_initialize_matches_the_notebook_stream():
  # What dnn_app_utils' initialize_parameters_deep does (np.random.seed(1), randn/sqrt(n)).
  dims = (6, 4, 3, 1)
  state = np.random.get_state()
  try:
    np.random.seed(1)
    expected = [np.random.randn(dims[l], dims[l - 1]) / np.sqrt(dims[l - 1]) for l in range(1, 4)]
  finally:
    np.random.set_state(state)
  params = initializers.course_initialize(1, dims, "xavier")
  for l in range(1, 4):
    np.testing.assert_array_equal(params[f"W{l}"], expected[l - 1])
    np.testing.assert_array_equal(params[f"b{l}"], np.zeros((dims[l], 1)))


@pytest.mark.parametrize("scheme,std", [("he", lambda n, k: np.sqrt(2 / n)),
                                         ("xavier", lambda n, k: np.sqrt(1 / n)),
                                         ("glorot", lambda n, k: np.sqrt(2 / (n + k))),
                                         ("normal", lambda n, k: 10.0)])
def test_jax_initializers_have_the_scheme_std(scheme, std):
  dims = (400, 300)
  params = initializers.initialize(jax.random.key(0), dims, scheme, scale=10.0)
  np.testing.assert_allclose(np.std(params["W1"]), std(400, 300), rtol=0.02)
  assert params["W1"].shape == (300, 400) and params["b1"].shape == (300, 1)
  assert params["W1"].dtype == jnp.float32


def _normal_per_layer(key, dims, scheme, scale, dtype):
  """One jax.random.normal per layer, scaled as the notebooks write it: what
  ``initialize`` drew before its draws were hashed together (draws.stacked)."""
  keys = jax.random.split(key, len(dims) - 1)
  out = {}
  for l in range(1, len(dims)):
    draw = jax.random.normal(keys[l - 1], (dims[l], dims[l - 1]), dtype)
    factor = {"normal": scale, "he": np.sqrt(2.0 / dims[l - 1]),
              "glorot": np.sqrt(2.0 / (dims[l - 1] + dims[l]))}.get(scheme)
    out[f"W{l}"] = (draw / np.sqrt(dims[l - 1]) if scheme == "xavier"
                    else draw * factor).astype(dtype)
  return out


@pytest.mark.parametrize("scheme,x64", [("he", False), ("xavier", False), ("glorot", False),
                                        ("normal", False), ("he", True)])
def test_initialize_draws_the_bits_of_one_normal_per_layer(monkeypatch, scheme, x64):
  # SMALL = 60: W1 (8 x 10) is drawn alone, W2 and W3 together. A traced rescale after
  # the draw (MNIST-1D's masked nets) must round as it did after one draw per layer.
  monkeypatch.setattr(draws, "SMALL", 60)
  dims = (10, 8, 7, 1) if x64 else (10, 8, 6, 1)   # distinct shapes: no cached trace
  dtypes = (jnp.float32, jnp.float64) if x64 else (jnp.float32,)
  with jax.enable_x64(x64):
    for dtype in dtypes:
      keys = jax.random.split(jax.random.key(3), 3)
      factors = jnp.array([1.0, 1.4142135, 2.0], dtype)
      ours = jax.jit(jax.vmap(lambda k, f: jax.tree.map(lambda w: w * f, initializers.initialize(
          k, dims, scheme, scale=0.7, dtype=dtype))))(keys, factors)
      reference = jax.jit(jax.vmap(lambda k, f: jax.tree.map(lambda w: w * f, _normal_per_layer(
          k, dims, scheme, 0.7, dtype))))(keys, factors)
      for l in range(1, len(dims)):
        assert ours[f"W{l}"].dtype == dtype
        np.testing.assert_array_equal(ours[f"W{l}"], reference[f"W{l}"])
        np.testing.assert_array_equal(ours[f"b{l}"], 0)
  if scheme == "he" and not x64:   # and without a vmap around it
    one = initializers.initialize(jax.random.key(5), dims, scheme, dtype=jnp.float32)
    alone = jax.jit(lambda k: _normal_per_layer(k, dims, scheme, 0.7, jnp.float32))(
        jax.random.key(5))
    for l in range(1, len(dims)):
      np.testing.assert_array_equal(one[f"W{l}"], alone[f"W{l}"])


def test_zeros_and_explicit_keys():
  z = initializers.initialize(jax.random.key(0), (3, 2, 1), "zeros")
  assert all(float(jnp.abs(v).sum()) == 0 for v in z.values())
  a = initializers.initialize(jax.random.key(0), (3, 2, 1))
  b = initializers.initialize(jax.random.key(1), (3, 2, 1))
  assert not np.allclose(a["W1"], b["W1"])
  with pytest.raises(ConfigError, match="unknown initialization 'lecun'"):
    initializers.initialize(jax.random.key(0), (3, 1), "lecun")


def test_l2_pieces():
  params = {"W1": jnp.array([[1.0, 2.0]]), "b1": jnp.array([[100.0]]), "W2": jnp.array([[3.0]])}
  # (lambda / 2m) * (1 + 4 + 9); biases excluded.
  np.testing.assert_allclose(reg.l2_cost(params, 0.5, 2), 0.5 * 14 / 4)
  np.testing.assert_allclose(reg.l2_backward(params["W2"], 0.5, 2), [[0.75]])
  grad = jax.grad(lambda p: reg.l2_cost(p, 0.5, 2))(params)
  np.testing.assert_allclose(grad["W1"], reg.l2_backward(params["W1"], 0.5, 2))
  assert float(grad["b1"][0, 0]) == 0.0


def test_course_dropout_masks_match_the_notebook():
  state = np.random.get_state()
  try:
    np.random.seed(1)
    D1 = np.random.rand(20, 7) < 0.86
    D2 = np.random.rand(3, 7) < 0.86
  finally:
    np.random.set_state(state)
  masks = reg.course_dropout_masks((2, 20, 3, 1), (1, 2), 0.86, 7)
  np.testing.assert_array_equal(masks[1], D1)
  np.testing.assert_array_equal(masks[2], D2)


def test_fresh_masks_keep_about_keep_prob():
  masks = reg.dropout_masks(jax.random.key(0), (2, 200, 100, 1), (1, 2), 0.8, 500)
  assert masks[1].shape == (200, 500) and masks[2].shape == (100, 500)
  np.testing.assert_allclose(np.mean(masks[1]), 0.8, atol=0.01)
  other = reg.dropout_masks(jax.random.key(1), (2, 200, 100, 1), (1, 2), 0.8, 500)
  assert not np.array_equal(masks[1], other[1])


def test_fresh_masks_are_one_uniform_draw_per_layer():
  # The layers' draws are hashed together (draws.stacked); the bits are those of one
  # draw per layer with the layer's subkey, for a traced keep_prob too.
  dims, layers, m = (3, 9, 4, 6, 1), (1, 3, 2), 5
  def reference(key, keep_prob):
    keys = jax.random.split(key, len(layers))
    return {l: jax.random.uniform(k, (dims[l], m)) < keep_prob
            for k, l in zip(keys, sorted(layers))}
  keys, keep = jax.random.split(jax.random.key(2), 4), jnp.array([0.2, 0.5, 0.7, 0.95])
  ours = jax.jit(jax.vmap(lambda k, p: reg.dropout_masks(k, dims, layers, p, m)))(keys, keep)
  want = jax.jit(jax.vmap(reference))(keys, keep)
  assert sorted(ours) == [1, 2, 3]
  for l in layers:
    np.testing.assert_array_equal(ours[l], want[l])
  assert reg.dropout_masks(jax.random.key(0), dims, (), 0.5, m) == {}


def test_inverted_dropout_preserves_expectation():
  A = jnp.ones((1000, 100))
  D = jax.random.uniform(jax.random.key(0), A.shape) < 0.7
  np.testing.assert_allclose(np.mean(reg.dropout_forward(A, D, 0.7)), 1.0, atol=0.01)


@pytest.mark.parametrize("keep_prob", [0.0, -0.1, 1.5])
def test_bad_keep_prob(keep_prob):
  with pytest.raises(ConfigError, match=r"keep_prob must be in \(0, 1\]"):
    reg.check_dropout(keep_prob, (1,), 3)


def test_bad_dropout_layer_and_lambda():
  with pytest.raises(ConfigError, match=r"dropout layer 3 does not exist.*\(1, 2\)"):
    reg.check_dropout(0.8, (1, 3), 3)
  with pytest.raises(ConfigError, match="lambda must be a finite number >= 0"):
    reg.check_lambd(-0.1)


def test_layer_dims_and_seeds_use_the_shared_checks():
  # Before, int(2.7) silently made a 2-unit layer.
  with pytest.raises(ConfigError, match=r"layer_dims\[1\] = 2.7 .* not a positive integer"):
    initializers.initialize(jax.random.key(0), (3, 2.7, 1))
  with pytest.raises(ConfigError, match=r"seed must be in \[0, 4294967295\].*RandomState"):
    initializers.course_initialize(2**32, (3, 1), dtype=np.float32)
  with pytest.raises(ConfigError, match=r"seed must be an integer .*\(a float\)"):
    reg.course_dropout_masks((3, 2, 1), (1,), 0.8, 4, seed=1e20)


def test_bad_lambda_and_layer_types_are_config_errors():
  with pytest.raises(ConfigError, match="L2 lambda must be a real"):
    reg.check_lambd("a lot")
  with pytest.raises(ConfigError, match="L2 lambda must be a finite number >= 0"):
    reg.check_lambd(float("nan"))
  with pytest.raises(ConfigError, match="dropout layer 1.5 does not exist"):
    reg.check_dropout(0.8, (1.5,), 3)
  with pytest.raises(ConfigError, match="keep_prob must be in"):
    reg.check_dropout(float("nan"), (1,), 3)


"""Hyperparameter sweeps (``dlcourse.sweep``) and the random-search experiment."""
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import data, initializers, plots, sweep, train
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import dense
from experiments.runner.env import Env

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
ARCH = dense.Architecture.make((5, 4, 3, 1))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _problem(m=48, seed=0):
  """X (5, m), Y (1, m): a noisy XOR of the first two features (not linearly separable)."""
  rng = np.random.RandomState(seed)
  X = rng.randn(ARCH.layer_dims[0], m)
  Y = ((X[0] * X[1] + 0.3 * rng.randn(m)) > 0).astype(np.float64).reshape(1, m)
  return X, Y


def _numpy(tree):
  # Slicing model k out of NumPy copies: eager jax indexing would compile per shape.
  return jax.tree.map(np.asarray, tree)


def _assert_model_equals(stacked, k, expected, what):
  for name, value in expected.items():
    np.testing.assert_allclose(stacked[name][k], np.asarray(value), rtol=1e-10,
                               atol=1e-13, err_msg=f"{what}: model {k} {name}")


# --- the k-th model of a sweep is the model trained alone --------------------------

@pytest.mark.parametrize("method, first_layer", [
    ("manual", "primal"), ("autodiff", "primal"), ("manual", "gram"), ("autodiff", "gram")])
def test_each_model_equals_training_it_alone(x64, method, first_layer):
  """Model k of a sweep = ``train.train_gd`` of configuration k alone, for the vmapped
  trainer and for the Gram form of the first layer (same iterates, other arithmetic)."""
  X, Y = _problem()
  hypers = sweep.grid(learning_rate=(0.05, 0.4), lambd=(0.0, 0.7), seed=(0, 1))
  assert hypers.num_models == 8
  params = sweep.init_models(hypers.seed, ARCH.layer_dims, "he", dtype=jnp.float64)
  kwargs = dict(arch=ARCH, num_iterations=60, record_every=20, method=method)
  result = sweep.train_models_jit(params, X, Y, hypers.learning_rate, lambd=hypers.lambd,
                                  first_layer=first_layer, **kwargs)
  assert result.costs.shape == (8, 3)
  params, trained, costs = _numpy(params), _numpy(result.params), np.asarray(result.costs)
  for k in range(hypers.num_models):
    alone = initializers.initialize(jax.random.key(int(hypers.seed[k])), ARCH.layer_dims,
                                    "he", dtype=jnp.float64)
    _assert_model_equals(params, k, alone, "init")
    expected = train.train_gd_jit(alone, X, Y, float(hypers.learning_rate[k]),
                                  lambd=float(hypers.lambd[k]), **kwargs)
    _assert_model_equals(trained, k, expected.params, "trained")
    np.testing.assert_allclose(costs[k], expected.costs, rtol=1e-10)
  # The configurations really differ (so the comparison is not vacuous).
  assert len({round(float(c), 6) for c in costs[:, -1]}) == 8


def test_dropout_sweep_equals_training_alone(x64):
  X, Y = _problem()
  key = jax.random.key(7)
  keep_probs = np.array([0.6, 0.9])
  params = sweep.init_models(np.zeros(2, int), ARCH.layer_dims, "he", dtype=jnp.float64)
  kwargs = dict(arch=ARCH, num_iterations=30, record_every=10, dropout_layers=(1, 2),
                key=key)
  # The learning rate is one shared scalar here (vmap axis None), keep_prob per model.
  result = sweep.train_models_jit(params, X, Y, 0.3, keep_prob=keep_probs, **kwargs)
  assert result.params["W1"].shape == (2, 4, 5) and result.costs.shape == (2, 3)
  params, trained = _numpy(params), _numpy(result.params)
  for k, keep_prob in enumerate(keep_probs):
    expected = train.train_gd_jit(sweep.model(params, k), X, Y, 0.3,
                                  keep_prob=float(keep_prob), **kwargs)
    _assert_model_equals(trained, k, expected.params, f"keep_prob {keep_prob}")


def test_adam_sweep_equals_training_alone_and_takes_adam_steps(x64):
  X, Y = _problem()
  lrs = np.array([0.01, 0.05])
  params = sweep.init_models(np.array([0, 1]), ARCH.layer_dims, "he", dtype=jnp.float64)
  kwargs = dict(arch=ARCH, num_iterations=20, record_every=5, optimizer="adam")
  result = sweep.train_models_jit(params, X, Y, lrs, **kwargs)
  single = jax.jit(sweep.train_optax, static_argnames=(
      "arch", "optimizer", "num_iterations", "record_every"))
  params, trained = _numpy(params), _numpy(result.params)
  for k, lr in enumerate(lrs):
    expected = single(sweep.model(params, k), X, Y, float(lr), **kwargs)
    _assert_model_equals(trained, k, expected.params, "adam")
  # Adam's first bias-corrected step is lr * g / (|g| + eps) ~ lr * sign(g).
  one = sweep.train_models_jit(params, X, Y, lrs, arch=ARCH, num_iterations=1,
                               record_every=1, optimizer="adam")
  _, grads = dense.cost_and_grads(sweep.model(params, 0), X, Y, ARCH)
  step = params["W1"][0] - np.asarray(one.params["W1"])[0]
  np.testing.assert_allclose(step, 0.01 * np.sign(grads["W1"]), atol=1e-7)


# --- the first layer is one large product ------------------------------------------

def _sweep_hlo(K, layer_dims, m, method):
  arch = dense.Architecture.make(layer_dims)
  shapes = jax.eval_shape(lambda: sweep.init_models(np.arange(K), layer_dims, "xavier"))
  X = jax.ShapeDtypeStruct((layer_dims[0], m), jnp.float32)
  Y = jax.ShapeDtypeStruct((1, m), jnp.float32)
  lr = jax.ShapeDtypeStruct((K,), jnp.float32)
  lowered = sweep.train_models_jit.lower(shapes, X, Y, lr, arch=arch, num_iterations=10,
                                         record_every=5, method=method)
  return lowered.compile().as_text()


@pytest.mark.parametrize("method", ["manual", "autodiff"])
def test_first_layer_is_one_matrix_product_per_direction(method):
  """On the cat net's shapes: W1 X is one (K n_1, n_x) x (n_x, m) dot and dW1 = dZ1 X^T
  one (K n_1, m) x (m, n_x) dot, never a batch of K small products."""
  K, n_x, n_1, m = 8, 12288, 20, 209
  hlo = _sweep_hlo(K, (n_x, n_1, 7, 5, 1), m, method)
  forward, backward = sweep.first_layer_products(hlo, K, n_1, n_x, m)
  assert forward and backward, hlo[:2000]
  for dot in forward:
    assert not dot.batched and dot.lhs == (K * n_1, n_x) and dot.out == (K * n_1, m), dot
  for dot in backward:
    assert not dot.batched and dot.out == (K * n_1, n_x), dot
    assert set([dot.lhs, dot.rhs]) in ({(K * n_1, m), (n_x, m)}, {(K * n_1, m), (m, n_x)}), dot
  # No batched dot anywhere touches the n_x axis (W1, X or dW1); the deeper layers'
  # small products may stay batched.
  assert not [d for d in sweep.hlo_dots(hlo) if d.batched and n_x in d.lhs + d.rhs + d.out]


def test_hlo_dots_sees_a_batch_of_small_products():
  """The check above can fail: with X batched too, XLA emits a batched dot."""
  K, n_1, n_x, m = 4, 3, 50, 7
  f = jax.jit(jax.vmap(lambda W, X: W @ X))
  hlo = f.lower(jnp.ones((K, n_1, n_x)), jnp.ones((K, n_x, m))).compile().as_text()
  dots = sweep.hlo_dots(hlo)
  assert any(d.batched and d.out == (K, n_1, m) for d in dots), dots


# --- configurations ----------------------------------------------------------------

def test_random_search_samples_the_learning_rate_on_a_log_scale():
  hypers = sweep.random_search(4000, seed=3, learning_rate_log10=(-4, 0))
  lr = hypers.learning_rate
  assert lr.min() >= 1e-4 and lr.max() <= 1.0
  per_decade = np.histogram(np.log10(lr), bins=[-4, -3, -2, -1, 0])[0] / lr.size
  np.testing.assert_allclose(per_decade, 0.25, atol=0.03)
  assert np.all(hypers.lambd == 0) and np.all(hypers.keep_prob == 1)
  assert np.all(hypers.seed == 0)
  again = sweep.random_search(4000, seed=3, learning_rate_log10=(-4, 0))
  np.testing.assert_array_equal(again.learning_rate, lr)


def test_random_search_lambda_keep_prob_and_seeds():
  hypers = sweep.random_search(500, seed=0, lambd_log10=(-3, 1), keep_prob_range=(0.5, 1),
                               init_seed=10, vary_init_seed=True)
  assert 1e-3 <= hypers.lambd.min() and hypers.lambd.max() <= 10
  assert np.median(np.log10(hypers.lambd)) == pytest.approx(-1, abs=0.3)
  assert 0.5 <= hypers.keep_prob.min() and hypers.keep_prob.max() <= 1
  np.testing.assert_array_equal(hypers.seed, 10 + np.arange(500))


def test_grid_is_the_cartesian_product():
  hypers = sweep.grid(learning_rate=(0.1, 0.01), lambd=(0.0, 1.0, 2.0), seed=(5,))
  assert hypers.num_models == 6
  assert hypers.learning_rate.tolist() == [0.1] * 3 + [0.01] * 3
  assert hypers.lambd.tolist() == [0.0, 1.0, 2.0] * 2
  assert hypers.row(4) == {"learning_rate": 0.01, "lambd": 1.0, "keep_prob": 1.0, "seed": 5}


@pytest.mark.parametrize("field, values", [
    ("learning_rate", [0.1, 0.0]), ("learning_rate", [np.nan, 0.1]), ("lambd", [-1.0, 0.0]),
    ("keep_prob", [1.5, 1.0]), ("keep_prob", [0.0, 1.0])])
def test_bad_hyperparameters_are_config_errors(field, values):
  fields = dict(learning_rate=[0.1, 0.1], lambd=[0.0, 0.0], keep_prob=[1.0, 1.0], seed=[0, 0])
  fields[field] = values
  with pytest.raises(ConfigError, match=field.replace("learning_rate", "learning rate")):
    sweep.check_hypers(sweep.Hypers(**fields))


def test_mismatched_hyperparameter_lengths_are_shape_errors():
  with pytest.raises(ShapeError, match="same K"):
    sweep.Hypers([0.1, 0.2], [0.0], [1.0, 1.0], [0, 0])


def test_unknown_optimizer_or_first_layer_is_a_config_error():
  X, Y = _problem()
  params = sweep.init_models(np.array([0]), ARCH.layer_dims, "he")
  kwargs = dict(arch=ARCH, num_iterations=1)
  with pytest.raises(ConfigError, match="optimizer"):
    sweep.train_models(params, X, Y, 0.1, optimizer="sgd", **kwargs)
  with pytest.raises(ConfigError, match="first_layer"):
    sweep.train_models(params, X, Y, 0.1, first_layer="dual", **kwargs)
  with pytest.raises(ConfigError, match="Gram"):
    sweep.train_models(params, X, Y, 0.1, first_layer="gram", optimizer="adam", **kwargs)


def test_auto_picks_the_gram_form_only_where_valid_and_cheaper():
  choose = sweep.choose_first_layer
  assert choose("auto", (12288, 209), "gd", (), None) == "gram"
  assert choose("auto", (2, 300), "gd", (), None) == "primal"          # m > n_x / 4
  assert choose("auto", (12288, 209), "adam", (), None) == "primal"
  assert choose("auto", (12288, 209), "gd", (1,), None) == "primal"    # dropout

  class DataMesh:
    axis_names, shape = ("data",), {"data": 2}
  assert choose("auto", (12288, 208), "gd", (), DataMesh()) == "primal"
  assert choose("primal", (12288, 209), "gd", (), None) == "primal"


def test_models_must_split_evenly_over_the_models_axis():
  class ModelsMesh:
    axis_names, shape = ("models", "data"), {"models": 4, "data": 1}
  X, Y = _problem()
  params = {"W1": np.zeros((6, 4, 5))}
  with pytest.raises(ConfigError, match="6 models .* 4 devices"):
    sweep._on_mesh(ModelsMesh(), np.float32, X, Y, X, Y, params, None, {})


# --- ranking and the whole sweep ---------------------------------------------------

def test_ranked_table_orders_by_dev_then_train_then_cost():
  hypers = sweep.grid(learning_rate=(1.0, 0.1, 0.01, 0.001, 0.0001))
  table = sweep.ranked_table(hypers, final_cost=[np.nan, 0.3, 0.2, 0.5, 0.1],
                             train_accuracy=[0.5, 0.9, 0.9, 0.95, 0.9],
                             dev_accuracy=[0.8, 0.8, 0.8, 0.7, 0.8])
  # dev 0.8 first (models 0, 1, 2, 4); among them train 0.9 beats 0.5; among 1, 2, 4
  # (train 0.9) the lower cost wins: 4 (0.1), 2 (0.2), 1 (0.3); then 0; model 3 last.
  assert [row["model"] for row in table] == [4, 2, 1, 0, 3]
  assert [row["rank"] for row in table] == [1, 2, 3, 4, 5]
  assert table[3]["final_cost"] is None  # NaN (a diverged run) is reported as null


def test_run_sweep_ranks_models_on_the_dev_set():
  X, Y = data.moons()
  X_dev, Y_dev = data.moons(seed=4)
  arch = dense.Architecture.make((2, 5, 2, 1))
  hypers = sweep.grid(learning_rate=(0.0003, 0.03, 0.3))
  result = sweep.run_sweep(arch, hypers, X, Y, X_dev, Y_dev, num_iterations=500)
  dev = [row["dev_accuracy"] for row in result.table]
  assert dev == sorted(dev, reverse=True)
  assert result.table[0]["learning_rate"] != 0.0003  # 500 tiny steps barely move
  for acc, m in ((result.train_accuracy, 300), (result.dev_accuracy, 300)):
    np.testing.assert_array_equal(acc * m, np.round(acc * m))  # exact fractions
  assert result.costs.shape == (3, 5) and result.compile_s > 0 and result.train_s > 0
  png = plots.accuracy_vs_learning_rate(result.table, title="moons")
  assert png.startswith(PNG_SIGNATURE)
  assert "rank" in sweep.format_table(result.table)


# --- the experiment ----------------------------------------------------------------

def _experiment_config(**overrides):
  from experiments.configs import random_search as config_module
  config = config_module.get_config()
  config.update(overrides)
  return config


def test_random_search_experiment_moons():
  from experiments import random_search
  config = _experiment_config(problem="moons", num_points=4, record_every=50)
  config.moons.num_iterations = 200
  record, figures = random_search.run(config, Env.plain())
  metrics = record["metrics"]
  assert len(metrics["table"]) == 4 and metrics["best"] == metrics["table"][0]
  assert metrics["problem"]["dev_examples"] == 300 and "fresh" in metrics["problem"]["dev_set"]
  assert record["dev_accuracy"] == metrics["best"]["dev_accuracy"]
  assert [c[0] for c in record["costs"]] == [0, 50, 100, 150]
  assert set(figures) == {"accuracy_vs_lr.png", "best_cost.png"}
  assert all(png.startswith(PNG_SIGNATURE) for png in figures.values())


def test_random_search_experiment_cats(data_dir):
  from experiments import random_search
  config = _experiment_config(problem="cats", num_points=2, record_every=2)
  config.cats.num_iterations = 4
  record, _ = random_search.run(config, Env.plain(data_dir=data_dir))
  assert record["metrics"]["problem"]["layer_dims"] == [12288, 20, 7, 5, 1]
  assert record["metrics"]["problem"]["dev_examples"] == 50


def test_random_search_experiment_rejects_bad_settings():
  from experiments import random_search
  with pytest.raises(ConfigError, match="problem"):
    random_search.run(_experiment_config(problem="digits"), Env.plain())
  config = _experiment_config(problem="moons")
  config.moons.dev_seed = 3
  with pytest.raises(ConfigError, match="dev_seed"):
    random_search.run(config, Env.plain())


# --- the benchmark -------------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get("DLCOURSE_BENCHMARK_SMOKE"),
                    reason="benchmarks/benchmark.py --quick takes ~20 s (about ten cold "
                    "compiles and a child process); set DLCOURSE_BENCHMARK_SMOKE=1 to run it")
def test_benchmark_quick_runs(tmp_path):
  results = tmp_path / "RESULTS.md"
  done = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "benchmark.py"),
                         "--quick", "--results", str(results)], cwd=REPO_ROOT,
                        capture_output=True, text=True, timeout=240)
  assert done.returncode == 0, done.stderr[-3000:]
  text = results.read_text()
  for heading in ("### Training speed", "### Course-compatible runs", "### Compile times",
                  "### Scaling"):
    assert heading in text
  assert "FLOP floor" in text and "bytes floor" in text and "model-it/s" in text
  assert "(the listing)" in text and "import jax' (ml_dtypes" in text

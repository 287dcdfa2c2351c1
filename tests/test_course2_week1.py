"""Course 2, week 1: the published table reproduced; gradient checking; early stopping; digits."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import early_stopping, initializers, train
from dlcourse.errors import ConfigError, ShapeError
from dlcourse.models import dense
from experiments import (c2w1_digits, c2w1_gradient_checking, c2w1_initialization,
                         c2w1_regularization)
from experiments.configs import c2w1_digits as digits_config
from experiments.configs import c2w1_gradient_checking as gradcheck_config
from experiments.configs import c2w1_initialization as init_config
from experiments.configs import c2w1_regularization as reg_config
from experiments.runner.env import Env


def percent(x):
  return round(100 * x, 2)


@pytest.mark.parametrize("initialization,course_train,course_test,tolerance", [
    ("zeros", 50.0, 50.0, 0), ("random", 83.0, 86.0, 1.0), ("he", 99.33, 96.0, 0)])
def test_initialization_table(initialization, course_train, course_test, tolerance):
  config = init_config.get_config()
  config.update(course_compat=True, initialization=initialization)
  record, figures = c2w1_initialization.run(config, Env.plain())
  assert abs(percent(record["train_accuracy"]) - course_train) <= tolerance
  assert abs(percent(record["test_accuracy"]) - course_test) <= tolerance
  assert set(figures) == {"cost.png", "decision_boundary.png"}
  if initialization == "zeros":  # symmetric: nothing is learned, the cost stays at log 2
    assert all(abs(c - np.log(2)) < 1e-9 for _, c in record["costs"])
  if initialization == "random":  # the course prints inf; the logit form stays finite
    assert np.isfinite(record["costs"][0][1]) and record["costs"][0][1] > 100


@pytest.mark.parametrize("regularization,course_train,course_test", [
    ("none", 94.79, 91.5), ("l2", 93.84, 93.0), ("dropout", 92.89, 95.0)])
def test_regularization_table(data_dir, regularization, course_train, course_test):
  config = reg_config.get_config()
  config.update(course_compat=True, regularization=regularization)
  record, _ = c2w1_regularization.run(config, Env.plain(data_dir))
  assert percent(record["train_accuracy"]) == course_train
  assert percent(record["test_accuracy"]) == course_test


def test_regularization_with_jax_keys_runs_fresh_masks(data_dir):
  config = reg_config.get_config()
  config.update(regularization="dropout", num_iterations=2000)
  record, _ = c2w1_regularization.run(config, Env.plain(data_dir))
  assert record["config"]["course_compat"] is False
  assert record["costs"][-1][1] < record["costs"][0][1]


@pytest.mark.parametrize("field,value,message", [
    ("keep_prob", 0.0, r"keep_prob must be in \(0, 1\]"),
    ("keep_prob", 1.2, r"keep_prob must be in \(0, 1\]"),
    ("dropout_layers", (1, 3), "dropout layer 3 does not exist"),
    ("regularization", "l1", "regularization must be one of")])
def test_regularization_bad_input(data_dir, field, value, message):
  config = reg_config.get_config()
  config.update(regularization="dropout")
  config[field] = value
  with pytest.raises(ConfigError, match=message):
    c2w1_regularization.run(config, Env.plain(data_dir))


def test_negative_lambda(data_dir):
  config = reg_config.get_config()
  config.update(regularization="l2", lambd=-0.7)
  with pytest.raises(ConfigError, match="lambda must be a finite number >= 0"):
    c2w1_regularization.run(config, Env.plain(data_dir))


def test_gradient_checking_experiment_reproduces_the_course():
  record, figures = c2w1_gradient_checking.run(gradcheck_config.get_config(), Env.plain())
  assert record["metrics"]["one_dimensional_difference"] < 1e-7
  correct, buggy = record["metrics"]["checks"]["correct backward"], record["metrics"]["checks"]["planted bug"]
  assert correct["passed"] and correct["manual_vs_numeric"]["overall"] < 1e-7
  assert correct["manual_vs_autodiff"]["overall"] < 1e-12
  assert not buggy["passed"] and buggy["disagreeing"] == ["W2", "b1"]
  # The notebook prints 0.2850931567761624 (its finite differences, its rounding).
  assert abs(buggy["manual_vs_numeric"]["overall"] - 0.2850931567761624) < 1e-7
  assert figures["gradient_check.png"].startswith(b"\x89PNG")


def test_gradient_checking_experiment_checks_batch_norm_and_names_the_planted_bug():
  config = gradcheck_config.get_config()
  config.case = "batchnorm"
  record, figures = c2w1_gradient_checking.run(config, Env.plain())
  correct, buggy = (record["metrics"]["checks"][k] for k in ("correct backward",
                                                            "planted bug"))
  assert correct["passed"] and correct["manual_vs_numeric"]["overall"] < 1e-7
  assert correct["manual_vs_autodiff"]["overall"] < 1e-12
  # Without dZ's path through sigma^2, layer 2's W and all of layer 1 are wrong; the
  # last hidden layer's gamma and beta (from its correct dZ_tilde) and the output pass.
  assert buggy["disagreeing"] == ["W1", "W2", "beta1", "gamma1"]
  assert set(buggy["manual_vs_numeric"]["per_param"]) == {
      "W1", "W2", "W3", "b3", "gamma1", "beta1", "gamma2", "beta2"}
  assert figures["gradient_check.png"].startswith(b"\x89PNG")


@pytest.mark.usefixtures("x64")
def test_early_stopping_returns_the_best_params_and_stops():
  rng = np.random.RandomState(0)
  # Few noisy training examples and a big net: the dev cost turns up (overfitting).
  X, X_dev = jnp.asarray(rng.randn(5, 12)), jnp.asarray(rng.randn(5, 200))
  Y = jnp.asarray(rng.randint(0, 2, (1, 12)), jnp.float64)
  Y_dev = jnp.asarray((np.asarray(X_dev[:1]) > 0).astype(float))
  arch = dense.Architecture.make((5, 30, 1))
  params = initializers.initialize(jax.random.key(0), arch.layer_dims, "he", dtype=jnp.float64)
  result = early_stopping.train_early_stopping_jit(
      params, X, Y, X_dev, Y_dev, 0.5, arch=arch, max_iterations=4000, eval_every=20,
      patience=5)
  best, stopped = int(result.best_iteration), int(result.stopped_iteration)
  assert stopped == best + 5 * 20 < 4000
  dev = np.asarray(result.dev_costs)
  assert np.nanargmin(dev) == best // 20 - 1 and np.all(np.isnan(dev[stopped // 20:]))
  replay = train.train_gd(params, X, Y, 0.5, arch=arch, num_iterations=best, record_every=best)
  for name in params:
    np.testing.assert_allclose(result.params[name], replay.params[name], rtol=1e-12)


def test_early_stopping_bad_input():
  X = jnp.ones((5, 4))
  with pytest.raises(ShapeError, match="5.*3|3.*5"):
    early_stopping.check_early_stopping(X, jnp.ones((3, 4)), 100, 10, 2)
  with pytest.raises(ConfigError, match="patience >= 1"):
    early_stopping.check_early_stopping(X, X, 100, 10, 0)


def test_digits_softmax_with_early_stopping():
  record, _ = c2w1_digits.run(digits_config.get_config(), Env.plain())
  assert record["test_accuracy"] > 0.95 and record["train_accuracy"] > 0.99
  assert record["metrics"]["stopped_iteration"] < record["config"]["max_iterations"]
  assert set(record["timings"]) == {"compile_s", "train_s"}  # the program's compile apart
  assert min(record["timings"].values()) >= 0


def test_gradient_checking_any_model_and_batch_cats(data_dir):
  config = gradcheck_config.get_config()
  config.update(case="cats", batch_size=4, max_coordinates=4)
  record, _ = c2w1_gradient_checking.run(config, Env.plain(data_dir))
  correct, buggy = record["metrics"]["checks"]["correct backward"], record["metrics"]["checks"]["planted bug"]
  assert correct["passed"], record["metrics"]["tables"]["correct backward"]
  assert set(correct["manual_vs_numeric"]["per_param"]) == {f"{p}{l}" for p in "Wb" for l in range(1, 5)}
  assert all(0 < d < 1e-7 for d in correct["manual_vs_numeric"]["per_param"].values())
  assert buggy["disagreeing"] == ["W2", "b1"]

"""10-class softmax net on the 8x8 digits, with normalization, splits and early stopping."""

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays, data, early_stopping, plots, validation
from dlcourse.models import dense
from experiments import runner

NAME = "c2w1_digits"
NUM_CLASSES = 10


def prepare(config, cache_dir=None, warn=None):
  """Split, then standardize every split with the training split's statistics
  (``cache_dir``: where scikit-learn's digits are cached, ``runner.sklearn_set``)."""
  X, labels = runner.sklearn_set(cache_dir, data.digits, warn)
  (X_train, y_train), (X_dev, y_dev), (X_test, y_test) = data.split_train_dev_test(
      X, labels, tuple(config.split), config.split_seed)
  mu, sigma = data.standardize_fit(X_train)
  splits = {}
  for name, (x, y) in {"train": (X_train, y_train), "dev": (X_dev, y_dev),
                       "test": (X_test, y_test)}.items():
    splits[name] = (data.standardize_apply(x, mu, sigma), data.one_hot(y, NUM_CLASSES))
  return splits


def run(config, env):
  splits = prepare(config, env.cache_dir, env.warn)  # bundled with scikit-learn
  with runner.precision(config):
    validation.learning_rate(config.learning_rate)
    dtype = runner.float_dtype(config)
    (X, Y), (X_dev, Y_dev), (X_test, Y_test) = (
        tuple(arrays.device_array(a, dtype) for a in splits[k]) for k in ("train", "dev", "test"))
    arch = dense.Architecture.make((X.shape[0],) + tuple(config.hidden_dims) + (NUM_CLASSES,),
                                   output="softmax")
    params = runner.init_params(config, arch.layer_dims, config.initialization)
    # block_until_ready: the call returns before the program has run.
    result, compile_s, train_s = runner.timed_stage(
        lambda: jax.block_until_ready(early_stopping.train_early_stopping_jit(
            params, X, Y, X_dev, Y_dev, config.learning_rate, arch=arch,
            max_iterations=config.max_iterations, eval_every=config.eval_every,
            patience=config.patience, lambd=config.lambd, method=config.method)))
    evaluated = int(result.stopped_iteration) // config.eval_every
    its = config.eval_every * np.arange(1, evaluated + 1)
    costs = [[int(i), float(c)] for i, c in zip(its, np.asarray(result.train_costs)[:evaluated])]
    dev_costs = [[int(i), float(c)] for i, c in zip(its, np.asarray(result.dev_costs)[:evaluated])]
    train_acc, dev_acc, test_acc = (float(a) for a in dense.accuracies(
        result.params, ((X, Y), (X_dev, Y_dev), (X_test, Y_test)), arch))
    best_iteration = int(result.best_iteration)
    record = runner.result(
        config, costs=costs, train_accuracy=train_acc, dev_accuracy=dev_acc,
        test_accuracy=test_acc,
        timings={"compile_s": compile_s, "train_s": train_s},
        metrics={"dev_costs": dev_costs, "best_iteration": best_iteration,
                 "stopped_iteration": int(result.stopped_iteration)})
  figures = {"cost.png": plots.cost_curve(
      costs, title=f"Digits, early stopping at {best_iteration}",
      learning_rate=config.learning_rate, series={"train": costs, "dev": dev_costs})}
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)

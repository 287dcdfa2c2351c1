"""10-class softmax net on the 8x8 digits, with normalization, splits and early stopping."""
import time

import jax.numpy as jnp
import numpy as np

from dlcourse import data, early_stopping, experiment, plots
from dlcourse.models import dense
from experiments import common

NAME = "c2w1_digits"
NUM_CLASSES = 10


def prepare(config):
  """Split, then standardize every split with the training split's statistics."""
  X, labels = data.digits()
  (X_train, y_train), (X_dev, y_dev), (X_test, y_test) = data.split_train_dev_test(
      X, labels, tuple(config.split), config.split_seed)
  mu, sigma = data.standardize_fit(X_train)
  splits = {}
  for name, (x, y) in {"train": (X_train, y_train), "dev": (X_dev, y_dev),
                       "test": (X_test, y_test)}.items():
    splits[name] = (data.standardize_apply(x, mu, sigma), data.one_hot(y, NUM_CLASSES))
  return splits


def run(config, data_dir):
  del data_dir  # bundled with scikit-learn
  splits = prepare(config)
  with experiment.precision(config):
    experiment.check_learning_rate(config.learning_rate)
    dtype = experiment.float_dtype(config)
    (X, Y), (X_dev, Y_dev), (X_test, Y_test) = (
        tuple(jnp.asarray(a, dtype) for a in splits[k]) for k in ("train", "dev", "test"))
    arch = dense.Architecture.make((X.shape[0],) + tuple(config.hidden_dims) + (NUM_CLASSES,),
                                   output="softmax")
    params = experiment.init_params(config, arch.layer_dims, config.initialization)
    start = time.perf_counter()
    result = early_stopping.train_early_stopping_jit(
        params, X, Y, X_dev, Y_dev, config.learning_rate, arch=arch,
        max_iterations=config.max_iterations, eval_every=config.eval_every,
        patience=config.patience, lambd=config.lambd, method=config.method)
    train_s = time.perf_counter() - start
    evaluated = int(result.stopped_iteration) // config.eval_every
    its = config.eval_every * np.arange(1, evaluated + 1)
    costs = [[int(i), float(c)] for i, c in zip(its, result.train_costs[:evaluated])]
    dev_costs = [[int(i), float(c)] for i, c in zip(its, result.dev_costs[:evaluated])]
    accuracy = lambda X_, Y_: float(dense.accuracy(result.params, X_, Y_, arch))
    record = {
        "config": config.to_dict(), "costs": costs, "dev_costs": dev_costs,
        "train_accuracy": accuracy(X, Y), "dev_accuracy": accuracy(X_dev, Y_dev),
        "test_accuracy": accuracy(X_test, Y_test),
        "best_iteration": int(result.best_iteration),
        "stopped_iteration": int(result.stopped_iteration),
        "timings": {"train_s": round(train_s, 4)},  # compile included: one while_loop program
    }
  figures = {"cost.png": plots.cost_curve(
      costs, title=f"Digits, early stopping at {record['best_iteration']}",
      learning_rate=config.learning_rate, series={"train": costs, "dev": dev_costs})}
  return record, figures


if __name__ == "__main__":
  common.launch(run, NAME)

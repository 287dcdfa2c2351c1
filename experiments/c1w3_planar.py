"""Course 1, week 3: classify the planar flower with logistic regression or a tanh net."""
import time

import numpy as np

from dlcourse import data, plots
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner
from experiments.figures import two_d_figures

NAME = "c1w3_planar"


def run_logistic_baseline(config, X, Y):
  """The notebook's sklearn LogisticRegressionCV on X^T: a linear boundary, ~47 %."""
  from sklearn.linear_model import LogisticRegressionCV  # pylint: disable=import-outside-toplevel
  start = time.perf_counter()
  clf = LogisticRegressionCV().fit(X.T, Y.ravel())
  train_s = time.perf_counter() - start
  record = runner.result(config, train_accuracy=float(np.mean(clf.predict(X.T) == Y.ravel())),
                         timings={"compile_s": 0.0, "train_s": train_s})
  predict = lambda grid: clf.predict(grid.T)
  return record, {"decision_boundary.png": plots.decision_boundary(
      predict, X, Y, title="Logistic regression (sklearn), planar data")}


def run(config, env):
  X, Y = data.planar_flower()
  if config.model == "logistic":
    return run_logistic_baseline(config, X, Y)
  if config.model != "shallow":
    raise ConfigError(f"model must be 'shallow' or 'logistic', got {config.model!r}")
  with runner.precision(config):
    arch = dense.Architecture((X.shape[0], config.n_h, 1), ("tanh", "sigmoid"))
    params = runner.init_params(config, arch.layer_dims, "normal", config.init_scale)
    fit = env.fit_gd(config, arch, params, X, Y)
    record = runner.fit_result(config, fit, arch, X, Y)
    figures = two_d_figures(fit, arch, X, Y, title=f"Tanh net, n_h = {config.n_h}, planar data",
                            learning_rate=config.learning_rate)
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)

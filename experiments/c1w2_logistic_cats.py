"""Course 1, week 2: logistic regression (a one-layer sigmoid net) on cat / non-cat."""
import functools

from dlcourse import data, plots
from dlcourse.models import logistic
from experiments import runner

NAME = "c1w2_logistic_cats"


def run(config, env):
  train_x, train_y, test_x, test_y = data.load_cats(env.data_dir)
  with runner.precision(config):
    arch = logistic.architecture(train_x.shape[0])
    params = logistic.initialize_zeros(train_x.shape[0], runner.float_dtype(config))
    fit = env.fit_gd(config, arch, params, train_x, train_y)
    record = runner.fit_result(config, fit, arch, train_x, train_y, test_x, test_y)
  figures = {"cost.png": functools.partial(  # drawn when written (runner.draw_figures)
      plots.cost_curve, fit.costs, title="Logistic regression, cats",
      learning_rate=config.learning_rate)}
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)

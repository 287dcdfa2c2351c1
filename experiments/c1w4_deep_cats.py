"""Course 1, week 4: deep ReLU nets on cat / non-cat (the "application" notebook)."""
import functools

from dlcourse import data, plots
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner

NAME = "c1w4_deep_cats"


def architecture_and_init(config, n_x):
  """(Architecture, init scheme, scale): the notebook's two models."""
  if config.model == "two_layer":
    return dense.Architecture.make((n_x, config.n_h, 1)), "normal", 0.01
  if config.model == "l_layer":
    return dense.Architecture.make((n_x,) + tuple(config.hidden_dims) + (1,)), "xavier", None
  raise ConfigError(f"model must be 'two_layer' or 'l_layer', got {config.model!r}")


def run(config, env):
  train_x, train_y, test_x, test_y = data.load_cats(env.data_dir)
  with runner.precision(config):
    arch, scheme, scale = architecture_and_init(config, train_x.shape[0])
    params = runner.init_params(config, arch.layer_dims, scheme, scale)
    fit = env.fit_gd(config, arch, params, train_x, train_y)
    record = runner.fit_result(config, fit, arch, train_x, train_y, test_x, test_y)
  figures = {"cost.png": functools.partial(  # drawn when written (runner.draw_figures)
      plots.cost_curve, fit.costs, title=f"{config.model} net {list(arch.layer_dims)}, cats",
      learning_rate=config.learning_rate)}
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)

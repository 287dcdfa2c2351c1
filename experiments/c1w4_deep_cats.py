"""Course 1, week 4: deep ReLU nets on cat / non-cat (the "application" notebook)."""
from dlcourse import data, experiment, plots
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import common

NAME = "c1w4_deep_cats"


def architecture_and_init(config, n_x):
  """(Architecture, init scheme, scale): the notebook's two models."""
  if config.model == "two_layer":
    return dense.Architecture.make((n_x, config.n_h, 1)), "normal", 0.01
  if config.model == "l_layer":
    return dense.Architecture.make((n_x,) + tuple(config.hidden_dims) + (1,)), "xavier", None
  raise ConfigError(f"model must be 'two_layer' or 'l_layer', got {config.model!r}")


def run(config, data_dir):
  train_x, train_y, test_x, test_y = data.load_cats(data_dir)
  with experiment.precision(config):
    arch, scheme, scale = architecture_and_init(config, train_x.shape[0])
    params = experiment.init_params(config, arch.layer_dims, scheme, scale)
    fit = experiment.fit_gd(config, arch, params, train_x, train_y)
    record = experiment.train_test_record(config, fit, arch, train_x, train_y, test_x, test_y)
  figures = {"cost.png": plots.cost_curve(
      fit.costs, title=f"{config.model} net {list(arch.layer_dims)}, cats",
      learning_rate=config.learning_rate)}
  return record, figures


if __name__ == "__main__":
  common.launch(run, NAME)

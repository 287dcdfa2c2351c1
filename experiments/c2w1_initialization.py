"""Course 2, week 1: zeros vs large random vs He initialization on the circles data."""
from dlcourse import data
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner
from experiments.figures import two_d_figures

NAME = "c2w1_initialization"

# config name -> (initializers scheme, scale)
SCHEMES = {"zeros": ("zeros", None), "random": ("normal", "random_scale"), "he": ("he", None)}


def run(config, env):
  if config.initialization not in SCHEMES:
    raise ConfigError(f"initialization must be one of {tuple(SCHEMES)}, "
                      f"got {config.initialization!r}")
  train_x, train_y, test_x, test_y = runner.sklearn_set(env.cache_dir, data.circles, env.warn)
  scheme, scale_field = SCHEMES[config.initialization]
  scale = config[scale_field] if scale_field else None
  with runner.precision(config):
    arch = dense.Architecture.make(tuple(config.layer_dims))
    params = runner.init_params(config, arch.layer_dims, scheme, scale)
    fit = env.fit_gd(config, arch, params, train_x, train_y)
    record = runner.fit_result(config, fit, arch, train_x, train_y, test_x, test_y)
    figures = two_d_figures(fit, arch, train_x, train_y,
                            title=f"{config.initialization} initialization, circles",
                            learning_rate=config.learning_rate)
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)

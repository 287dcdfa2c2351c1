"""Course 2, week 1: L2 regularization and inverted dropout on the football data."""
import jax

from dlcourse import data
from dlcourse import regularization as reg
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner
from experiments.figures import two_d_figures

NAME = "c2w1_regularization"
SETTINGS = ("none", "l2", "dropout")


def regularizer_kwargs(config, arch, m):
  """The fit_gd keyword arguments of the chosen regularization (validated)."""
  if config.regularization not in SETTINGS:
    raise ConfigError(f"regularization must be one of {SETTINGS}, got {config.regularization!r}")
  if config.regularization == "l2":
    reg.check_lambd(config.lambd)
    return {"lambd": config.lambd}
  if config.regularization == "dropout":
    layers = tuple(config.dropout_layers)
    reg.check_dropout(config.keep_prob, layers, arch.num_layers)
    if config.course_compat:
      masks = reg.course_dropout_masks(arch.layer_dims, layers, config.keep_prob, m)
      return {"dropout_layers": layers, "keep_prob": config.keep_prob, "fixed_masks": masks}
    return {"dropout_layers": layers, "keep_prob": config.keep_prob,
            "key": jax.random.key(config.seed)}
  return {}


def run(config, env):
  train_x, train_y, test_x, test_y = data.load_football(env.data_dir)
  with runner.precision(config):
    arch = dense.Architecture.make(tuple(config.layer_dims))
    kwargs = regularizer_kwargs(config, arch, train_x.shape[1])
    params = runner.init_params(config, arch.layer_dims, "xavier")
    fit = env.fit_gd(config, arch, params, train_x, train_y, **kwargs)
    record = runner.fit_result(config, fit, arch, train_x, train_y, test_x, test_y)
    figures = two_d_figures(fit, arch, train_x, train_y,
                            title=f"Regularization: {config.regularization}, football",
                            learning_rate=config.learning_rate)
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)

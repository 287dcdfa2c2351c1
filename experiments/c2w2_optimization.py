"""Course 2, week 2: optimization methods on the moons (one optimizer / decay per run).

The notebook's ``model``: a [2, 5, 2, 1] ReLU/ReLU/sigmoid net, He init, mini-batches of
64 reshuffled every epoch, 5000 epochs of gd / momentum / RMSprop / Adam, optionally with
the learning rate decayed after every epoch (inverse time) or every ``time_interval``
epochs (fixed interval). The whole run is one compiled program (``dlcourse.minibatch``).
"""

import jax
import optax

from dlcourse import arrays, data, minibatch, optim, schedules, validation
from dlcourse.errors import ConfigError
from dlcourse.models import dense
from experiments import runner
from experiments.figures import two_d_figures

NAME = "c2w2_optimization"

OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")
LR_DECAYS = ("none", "inverse_time", "fixed_interval")


def update_rule(config, lr):
  """The course's update rule named by ``config.optimizer`` at learning rate ``lr`` (a
  number or a schedule); checks its hyperparameters."""
  if config.optimizer == "gd":
    return optim.gd(lr)
  if config.optimizer == "momentum":
    return optim.momentum(lr, beta=config.beta)
  if config.optimizer == "rmsprop":
    return optim.rmsprop(lr, beta2=config.beta2, epsilon=config.epsilon)
  if config.optimizer == "adam":
    return optim.adam(lr, beta1=config.beta1, beta2=config.beta2, epsilon=config.epsilon)
  raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {config.optimizer!r}")


def decay_numbers(config):
  """(learning_rate0, decay_rate, time_interval) of ``schedules.course_decay`` for the
  config's lr_decay, checked: no decay is decay_rate 0, inverse time is time_interval 1."""
  if config.lr_decay not in LR_DECAYS:
    raise ConfigError(f"lr_decay must be one of {LR_DECAYS}, got {config.lr_decay!r}")
  lr0 = validation.learning_rate(config.learning_rate)
  validation.flag("course_lr_timing", config.course_lr_timing)
  if config.lr_decay == "none":
    return lr0, 0.0, 1
  decay_rate = validation.non_negative_real("decay_rate", config.decay_rate)
  if config.lr_decay == "inverse_time":
    return lr0, decay_rate, 1
  validation.positive_real("time_interval", config.time_interval)
  return lr0, decay_rate, config.time_interval


def make_optimizer(config, steps_per_epoch):
  """The config's update rule and decay (both checked here, before anything compiles),
  with the learning rate, the decay rate and the interval in the optimizer's state
  (``optax.inject_hyperparams``): the rows that differ only in those numbers (GD with
  no decay, inverse-time and fixed-interval decay; each optimizer with and without decay)
  share one compiled program, where constants would compile one each (~0.3 s)."""
  lr0, rate, interval = decay_numbers(config)
  update_rule(config, lr0)   # its checks, before anything is traced
  timing = dict(steps_per_epoch=steps_per_epoch, course_timing=config.course_lr_timing)

  def rule(learning_rate0, decay_rate, time_interval):
    return update_rule(config, schedules.course_decay(learning_rate0, decay_rate,
                                                      time_interval, **timing))

  return optax.inject_hyperparams(rule)(learning_rate0=lr0, decay_rate=rate,
                                        time_interval=interval)


def shuffling(config, m):
  """(permutations, key): the notebook's seeded shuffles, or a JAX key."""
  if config.get("course_compat", False):
    table = minibatch.course_permutations(m, int(config.num_epochs), seed=config.shuffle_seed)
    return arrays.device_array(table, table.dtype), None
  return None, jax.random.key(config.shuffle_seed)


def check_config(config, m):
  """Everything ``fit_minibatch`` can check before compiling; returns the optimizer."""
  minibatch.check_batch_size(config.batch_size, m)
  minibatch.check_num_epochs(config.num_epochs)
  if config.method not in ("manual", "autodiff"):
    raise ConfigError(f"method must be 'manual' or 'autodiff', got {config.method!r}")
  validation.positive_int("record_every", config.record_every)
  return make_optimizer(config, minibatch.num_batches(m, config.batch_size))


def fit_minibatch(env, config, arch, params, X, Y, optimizer):
  """``env.fit_minibatch`` with this config's shuffles (checkpointed under the CLI)."""
  permutations, key = shuffling(config, X.shape[1])
  return env.fit_minibatch(config, arch, params, X, Y, optimizer,
                           permutations=permutations, key=key)


def title(config):
  """Plot title naming the run's optimizer, decay and batch size."""
  decay = "" if config.lr_decay == "none" else f", {config.lr_decay} decay"
  return f"{config.optimizer}{decay}, batch {config.batch_size}, moons"


def run(config, env):
  """(result record, {filename: PNG bytes}) of one training run; writes nothing."""
  X, Y = runner.sklearn_set(env.cache_dir, data.moons, env.warn)
  with runner.precision(config):
    # Every hyperparameter is checked here, before anything is initialized or compiled.
    optimizer = check_config(config, X.shape[1])
    arch = dense.Architecture.make((X.shape[0],) + tuple(config.hidden_dims) + (1,))
    params = runner.init_params(config, arch.layer_dims, "he")
    fit = fit_minibatch(env, config, arch, params, X, Y, optimizer)
    record = runner.fit_result(
        config, fit, arch, X, Y, cost_unit="epoch",
        metrics={"steps_per_epoch": minibatch.num_batches(X.shape[1], config.batch_size)})
    figures = two_d_figures(fit, arch, X, Y, title=title(config),
                            learning_rate=config.learning_rate, xlabel="epoch")
  return record, figures


if __name__ == "__main__":
  runner.launch(NAME, run)

"""Early stopping on a dev set (Course 2, week 1), compiled as one ``lax.while_loop``.

Every ``eval_every`` gradient-descent iterations the dev cost J_dev is computed; the
parameters with the lowest J_dev so far are kept, and training stops once J_dev has not
improved for ``patience`` consecutive evaluations (or after ``max_iterations``).
The returned params are the best ones, not the last ones.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp

from dlcourse import loop, optim, validation
from dlcourse.errors import ConfigError
from dlcourse.models import dense


class EarlyStoppingResult(NamedTuple):
  params: dict             # the best params (lowest dev cost)
  best_iteration: jax.Array
  stopped_iteration: jax.Array
  dev_costs: jax.Array     # (max_iterations // eval_every,), NaN after the stop
  train_costs: jax.Array   # the same evaluations' training cost (regularized), NaN after


class _State(NamedTuple):
  train: loop.TrainState   # the GD loop's state; train.step is the iteration
  best_params: dict
  best_cost: jax.Array
  best_iteration: jax.Array
  evals_since_best: jax.Array
  dev_costs: jax.Array
  train_costs: jax.Array


def check_early_stopping(X, X_dev, max_iterations, eval_every, patience):
  """ShapeError / ConfigError before anything is compiled: same n_x for train and dev,
  eval_every, patience and max_iterations positive integers, max_iterations >= eval_every."""
  validation.check_same_features(X, X_dev, names=("train", "dev"))
  try:
    validation.num_steps("max_iterations", max_iterations)
    validation.positive_int("eval_every", eval_every)
    validation.positive_int("patience", patience)
  except ConfigError as error:
    raise ConfigError(f"need eval_every >= 1, patience >= 1 and max_iterations >= "
                      f"eval_every; {error}") from None
  if max_iterations < eval_every:
    raise ConfigError(f"need eval_every >= 1, patience >= 1 and max_iterations >= eval_every; "
                      f"got {eval_every}, {patience}, {max_iterations}")


def train_early_stopping(params, X, Y, X_dev, Y_dev, learning_rate, *, arch, max_iterations,
                         eval_every, patience, lambd=0.0, method="manual"):
  """Full-batch GD with early stopping on (X_dev, Y_dev); see the module docstring.

  Each evaluation runs ``eval_every`` iterations of the one training loop
  (``loop.run`` with ``optim.gd``) inside a ``lax.while_loop``. The dev cost is the
  unregularized cost (what we want to be low on new data).
  """
  check_early_stopping(X, X_dev, max_iterations, eval_every, patience)
  num_evals = max_iterations // eval_every
  grad_fn = loop.dense_grad_fn(arch, method=method, lambd=lambd)
  optimizer = optim.gd(learning_rate)

  def keep_going(state):
    return (state.train.step < num_evals * eval_every) & (state.evals_since_best < patience)

  def body(state):
    train, _ = loop.run(state.train, X, Y, grad_fn=grad_fn, optimizer=optimizer,
                        num_iterations=eval_every, record_every=eval_every)
    params, iteration = train.params, train.step
    J_dev = dense.cost(params, X_dev, Y_dev, arch)
    improved = J_dev < state.best_cost
    pick = lambda new, old: jax.tree.map(lambda a, b: jnp.where(improved, a, b), new, old)
    return _State(
        train=train,
        best_params=pick(params, state.best_params),
        best_cost=jnp.where(improved, J_dev, state.best_cost),
        best_iteration=jnp.where(improved, iteration, state.best_iteration),
        evals_since_best=jnp.where(improved, 0, state.evals_since_best + 1),
        dev_costs=state.dev_costs.at[iteration // eval_every - 1].set(J_dev),
        train_costs=state.train_costs.at[iteration // eval_every - 1].set(
            dense.cost(params, X, Y, arch, lambd)))

  dtype = jax.tree.leaves(params)[0].dtype
  initial = _State(loop.init_state(params, optimizer), params, jnp.asarray(jnp.inf, dtype),
                   jnp.asarray(0, jnp.int32), jnp.asarray(0), jnp.full((num_evals,), jnp.nan, dtype),
                   jnp.full((num_evals,), jnp.nan, dtype))
  final = jax.lax.while_loop(keep_going, body, initial)
  return EarlyStoppingResult(final.best_params, final.best_iteration, final.train.step,
                             final.dev_costs, final.train_costs)


def check_train_early_stopping(params, X, Y, X_dev, Y_dev, learning_rate, *, arch,
                               max_iterations, eval_every, patience, **unused):
  """Host-side checks of ``train_early_stopping_jit``'s inputs, before compiling."""
  del unused
  check_early_stopping(X, X_dev, max_iterations, eval_every, patience)
  dense.check_data(X, Y, arch, name="train")
  dense.check_data(X_dev, Y_dev, arch, name="dev")
  dense.check_params(params, arch)
  if not isinstance(learning_rate, jax.core.Tracer):
    validation.learning_rate(learning_rate)


train_early_stopping_jit = loop.Program(
    train_early_stopping,
    static_argnames=("arch", "max_iterations", "eval_every", "patience", "method"),
    check=check_train_early_stopping)

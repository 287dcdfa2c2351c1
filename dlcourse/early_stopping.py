"""Early stopping on a dev set (Course 2, week 1), compiled as one ``lax.while_loop``.

Every ``eval_every`` gradient-descent iterations the dev cost J_dev is computed; the
parameters with the lowest J_dev so far are kept, and training stops once J_dev has not
improved for ``patience`` consecutive evaluations (or after ``max_iterations``).
The returned params are the best ones, not the last ones.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp

from dlcourse import train, validation
from dlcourse.errors import ConfigError
from dlcourse.models import dense


class EarlyStoppingResult(NamedTuple):
  params: dict             # the best params (lowest dev cost)
  best_iteration: jax.Array
  stopped_iteration: jax.Array
  dev_costs: jax.Array     # (max_iterations // eval_every,), NaN after the stop
  train_costs: jax.Array   # the same evaluations' training cost (regularized), NaN after


class _State(NamedTuple):
  params: dict
  best_params: dict
  best_cost: jax.Array
  best_iteration: jax.Array
  evals_since_best: jax.Array
  iteration: jax.Array
  dev_costs: jax.Array
  train_costs: jax.Array


def check_early_stopping(X, X_dev, max_iterations, eval_every, patience):
  validation.check_same_features(X, X_dev, names=("train", "dev"))
  if eval_every < 1 or patience < 1 or max_iterations < eval_every:
    raise ConfigError(f"need eval_every >= 1, patience >= 1 and max_iterations >= eval_every; "
                      f"got {eval_every}, {patience}, {max_iterations}")


def train_early_stopping(params, X, Y, X_dev, Y_dev, learning_rate, *, arch, max_iterations,
                         eval_every, patience, lambd=0.0, method="manual"):
  """Full-batch GD with early stopping on (X_dev, Y_dev); see the module docstring.

  The dev cost is the unregularized cost (what we want to be low on new data).
  """
  check_early_stopping(X, X_dev, max_iterations, eval_every, patience)
  num_evals = max_iterations // eval_every

  def gd_steps(params):
    def step(_, p):
      _, grads = dense.cost_and_grads(p, X, Y, arch, lambd, None, method)
      return train.gd_update(p, grads, learning_rate)
    return jax.lax.fori_loop(0, eval_every, step, params)

  def keep_going(state):
    return (state.iteration < num_evals * eval_every) & (state.evals_since_best < patience)

  def body(state):
    params = gd_steps(state.params)
    J_dev = dense.cost(params, X_dev, Y_dev, arch)
    iteration = state.iteration + eval_every
    improved = J_dev < state.best_cost
    pick = lambda new, old: jax.tree.map(lambda a, b: jnp.where(improved, a, b), new, old)
    return _State(
        params=params,
        best_params=pick(params, state.best_params),
        best_cost=jnp.where(improved, J_dev, state.best_cost),
        best_iteration=jnp.where(improved, iteration, state.best_iteration),
        evals_since_best=jnp.where(improved, 0, state.evals_since_best + 1),
        iteration=iteration,
        dev_costs=state.dev_costs.at[iteration // eval_every - 1].set(J_dev),
        train_costs=state.train_costs.at[iteration // eval_every - 1].set(
            dense.cost(params, X, Y, arch, lambd)))

  dtype = jax.tree.leaves(params)[0].dtype
  initial = _State(params, params, jnp.asarray(jnp.inf, dtype), jnp.asarray(0),
                   jnp.asarray(0), jnp.asarray(0), jnp.full((num_evals,), jnp.nan, dtype),
                   jnp.full((num_evals,), jnp.nan, dtype))
  final = jax.lax.while_loop(keep_going, body, initial)
  return EarlyStoppingResult(final.best_params, final.best_iteration, final.iteration,
                             final.dev_costs, final.train_costs)


train_early_stopping_jit = jax.jit(
    train_early_stopping,
    static_argnames=("arch", "max_iterations", "eval_every", "patience", "method"))

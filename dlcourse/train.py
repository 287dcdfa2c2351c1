"""Full-batch gradient descent, compiled as one program (Course 1; C2W1's regularized runs).

    W^[l] := W^[l] - alpha dW^[l],   b^[l] := b^[l] - alpha db^[l]

The gradients come from the hand-derived backward (``method="manual"``) or from
``jax.grad`` (``method="autodiff"``). The whole loop is a ``lax.scan`` over blocks of
``record_every`` iterations: the cost of each block's first iteration (computed from the
same forward pass as its gradients, before the update, as the notebooks print it) is
recorded; XLA removes the cost computation from the other iterations.

Learning rate, lambda and keep_prob are traced arguments, so one compiled program
serves every value and ``jax.vmap`` can sweep them.
"""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import regularization as reg
from dlcourse.models import dense


class TrainResult(NamedTuple):
  params: dict
  costs: jax.Array        # (num_records,): J at iterations 0, N, 2N, ...


def recorded_iterations(num_iterations, record_every):
  """The iteration numbers whose cost ``train_gd`` records: 0, N, 2N, ... < num_iterations."""
  return np.arange(0, num_iterations, record_every)


def gd_update(params, grads, learning_rate):
  """theta := theta - alpha * dtheta for every leaf."""
  return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)


def _dropout_for_step(step, *, arch, m, dropout_layers, keep_prob, key, fixed_masks):
  if not dropout_layers:
    return None
  if fixed_masks is not None:
    return reg.Dropout(fixed_masks, keep_prob)
  masks = reg.dropout_masks(jax.random.fold_in(key, step), arch.layer_dims,
                            dropout_layers, keep_prob, m)
  return reg.Dropout(masks, keep_prob)


@functools.partial(jax.jit, static_argnames=("arch", "method", "dropout_layers"))
def gd_step(params, X, Y, learning_rate, *, arch, method="manual", lambd=0.0,
            dropout_layers=(), keep_prob=1.0, key=None, fixed_masks=None, step=0):
  """One jitted gradient-descent step; returns (new params, cost before the step)."""
  dropout = _dropout_for_step(step, arch=arch, m=X.shape[1], dropout_layers=dropout_layers,
                              keep_prob=keep_prob, key=key, fixed_masks=fixed_masks)
  J, grads = dense.cost_and_grads(params, X, Y, arch, lambd, dropout, method)
  return gd_update(params, grads, learning_rate), J


def run_blocks(step, carry, num_iterations, record_every, start_step=0):
  """``carry = step(carry, i)[0]`` for the iterations i in [start_step, start_step + n),
  returning (carry, J) with J recorded at the first iteration of each ``record_every``.

  A scan over blocks: each block's first step keeps its cost, the other steps run in a
  ``fori_loop`` that drops it (XLA then removes its computation). ``step(carry, i)``
  returns (carry, J); ``i`` is the absolute iteration (dropout masks depend on it).
  """
  def block(carry, start):
    carry, J = step(carry, start)
    carry = jax.lax.fori_loop(start + 1, start + record_every,
                              lambda i, c: step(c, i)[0], carry)
    return carry, J

  num_blocks, rest = divmod(num_iterations, record_every)
  carry, costs = jax.lax.scan(block, carry, start_step + jnp.arange(num_blocks) * record_every)
  if rest:
    start = start_step + num_blocks * record_every
    carry, J = step(carry, start)
    carry = jax.lax.fori_loop(start + 1, start_step + num_iterations,
                              lambda i, c: step(c, i)[0], carry)
    costs = jnp.concatenate([costs, J[None]])
  return carry, costs


def train_gd(params, X, Y, learning_rate, *, arch, num_iterations, record_every=100,
             method="manual", lambd=0.0, dropout_layers=(), keep_prob=1.0, key=None,
             fixed_masks=None, start_step=0):
  """Runs ``num_iterations`` full-batch GD steps in one compiled program.

  Dropout on ``dropout_layers`` uses ``fixed_masks`` at every step when given (the
  course-compatible mode) and otherwise fresh masks from ``fold_in(key, step)``.
  ``start_step`` (traced; a multiple of ``record_every``) makes this the iterations
  [start_step, start_step + num_iterations) of a longer run: the masks depend on the
  absolute step, so running in chunks reproduces the one-program run bit for bit and
  one compiled program serves every chunk (checkpointed runs).
  Not jitted itself so that it can be vmapped or wrapped; see ``train_gd_jit``.
  """
  if dropout_layers and fixed_masks is None and key is None:
    raise ValueError("dropout with fresh masks needs an explicit PRNG key")
  dropout_for = functools.partial(
      _dropout_for_step, arch=arch, m=X.shape[1], dropout_layers=tuple(dropout_layers),
      keep_prob=keep_prob, key=key, fixed_masks=fixed_masks)

  def step(params, i):
    J, grads = dense.cost_and_grads(params, X, Y, arch, lambd, dropout_for(i), method)
    return gd_update(params, grads, learning_rate), J

  params, costs = run_blocks(step, params, num_iterations, record_every, start_step)
  return TrainResult(params, costs)


train_gd_jit = jax.jit(
    train_gd, static_argnames=("arch", "num_iterations", "record_every", "method",
                               "dropout_layers"))

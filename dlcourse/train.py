"""Full-batch gradient descent, compiled as one program (Course 1; C2W1's regularized runs).

    W^[l] := W^[l] - alpha dW^[l],   b^[l] := b^[l] - alpha db^[l]

A use of the one training loop (``dlcourse.loop``): ``loop.run`` with
``optim.gd(alpha)``, the dense net's ``grad_fn`` (gradients from the hand-derived
backward, ``method="manual"``, or ``jax.grad``, ``method="autodiff"``) and full batches.
The cost of iterations 0, N, 2N, ... (N = ``record_every``) is recorded, computed from
the same forward pass as that iteration's gradients, before the update, as the notebooks
print it.

Learning rate, lambda and keep_prob are traced arguments, so one compiled program
serves every value and ``jax.vmap`` can sweep them.
"""
import collections.abc
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import loop, optim, validation
from dlcourse.errors import ConfigError
from dlcourse.models import dense

# The loop's block runner, under the name the Gram-form sweep and older code use.
run_blocks = loop.run_blocks


class TrainResult(NamedTuple):
  params: dict
  costs: jax.Array        # (num_records,): J at iterations 0, N, 2N, ...


def recorded_iterations(num_iterations, record_every):
  """The iteration numbers whose cost ``train_gd`` records: 0, N, 2N, ... < num_iterations."""
  return np.arange(0, num_iterations, record_every)


def gd_update(params, grads, learning_rate):
  """theta := theta - alpha * dtheta for every leaf (the reference form of ``optim.gd``)."""
  return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)


def gd_state(params, start_step=0, key=None) -> loop.TrainState:
  """The loop state of plain GD at ``start_step``: no optimizer or model state."""
  return loop.TrainState(params, optim.gd(1.0).init(params), None,
                         jnp.asarray(start_step, jnp.int32), key)


def gd_chunk(state, X, Y, learning_rate, *, arch, num_iterations, record_every=100,
             method="manual", lambd=0.0, dropout_layers=(), keep_prob=1.0, fixed_masks=None,
             first_layer_blocks=True, noise=None):
  """Iterations [state.step, state.step + num_iterations) of full-batch GD.

  Returns (state, costs): the whole ``loop.TrainState`` (what a checkpoint holds) and
  J at iterations state.step, state.step + N, ... The optimizer and the grad_fn are
  built here from the (traced) learning rate, lambda and keep_prob.
  ``first_layer_blocks``: see ``loop.DenseGradFn`` (False: W1 stays whole in the loop,
  as a sweep wants it).
  """
  grad_fn = loop.dense_grad_fn(arch, method=method, lambd=lambd,
                               dropout_layers=tuple(dropout_layers), keep_prob=keep_prob,
                               fixed_masks=fixed_masks, first_layer_blocks=first_layer_blocks)
  return loop.run(state, X, Y, grad_fn=grad_fn, optimizer=optim.gd(learning_rate),
                  num_iterations=num_iterations, record_every=record_every, noise=noise)


def dropout_masks_ahead(key, start_step, keep_prob, *, arch, num_iterations,
                        dropout_layers, m):
  """The fresh dropout masks of iterations [start_step, start_step + num_iterations) of
  ``train_gd``, drawn before its loop (``loop.draw_ahead``): {l: D^[l] of shape
  (num_iterations, n_l, m)}, row i the masks ``train_gd`` draws itself at iteration
  start_step + i from ``fold_in(key, start_step + i)``. Pass them as its ``noise``."""
  grad_fn = loop.dense_grad_fn(arch, dropout_layers=tuple(dropout_layers),
                               keep_prob=keep_prob)
  return loop.draw_ahead(grad_fn, key, jnp.asarray(start_step, jnp.int32),
                         num_iterations, m)


# ``dropout_masks_ahead`` jitted: on the CPU a program of its own, which then compiles
# quickly with the hash unrolled (``experiments.runner.long_runs.compile_hashing``).
dropout_masks_ahead_jit = jax.jit(
    dropout_masks_ahead, static_argnames=("arch", "num_iterations", "dropout_layers", "m"))


_STATIC = ("arch", "num_iterations", "record_every", "method", "dropout_layers",
           "first_layer_blocks")

# ``gd_chunk`` jitted (no input checks: see ``check_gd``). The program to lower once per
# chunk length: the start is the traced ``state.step``.
gd_chunk_jit = loop.Program(gd_chunk, static_argnames=_STATIC)


def gd_step(params, X, Y, learning_rate, *, arch, method="manual", lambd=0.0,
            dropout_layers=(), keep_prob=1.0, key=None, fixed_masks=None, step=0):
  """One jitted gradient-descent step; returns (new params, cost before the step)."""
  state, costs = gd_chunk_jit(gd_state(params, step, key), X, Y, learning_rate, arch=arch,
                              num_iterations=1, record_every=1, method=method, lambd=lambd,
                              dropout_layers=tuple(dropout_layers), keep_prob=keep_prob,
                              fixed_masks=fixed_masks)
  return state.params, costs[0]


def train_gd(params, X, Y, learning_rate, *, arch, num_iterations, record_every=100,
             method="manual", lambd=0.0, dropout_layers=(), keep_prob=1.0, key=None,
             fixed_masks=None, start_step=0, first_layer_blocks=True, noise=None):
  """Runs ``num_iterations`` full-batch GD steps in one compiled program.

  Dropout on ``dropout_layers`` uses ``fixed_masks`` at every step when given (the
  course-compatible mode) and otherwise fresh masks from ``fold_in(key, step)``.
  ``start_step`` (traced; a multiple of ``record_every``) makes this the iterations
  [start_step, start_step + num_iterations) of a longer run: the masks depend on the
  absolute step, so running in chunks reproduces the one-program run bit for bit and
  one compiled program serves every chunk (checkpointed runs).
  ``first_layer_blocks``: carry W1 in two column blocks inside the loop where that is
  faster (float32, a large X, two or more cores; ``dense.ColumnBlocks``); the result's
  params are in the course's shapes either way. A sweep passes False.
  ``noise``: the fresh masks of these iterations drawn before the loop
  (``dropout_masks_ahead`` for the same key, start and length): the same masks, the
  loop then draws none itself.
  Not jitted itself so that it can be vmapped or wrapped; see ``train_gd_jit``.
  """
  if dropout_layers and fixed_masks is None and key is None and noise is None:
    raise ValueError("dropout with fresh masks needs an explicit PRNG key")
  state, costs = gd_chunk(
      gd_state(params, start_step, key), X, Y, learning_rate, arch=arch,
      num_iterations=num_iterations, record_every=record_every, method=method, lambd=lambd,
      dropout_layers=dropout_layers, keep_prob=keep_prob, fixed_masks=fixed_masks,
      first_layer_blocks=first_layer_blocks, noise=noise)
  return TrainResult(state.params, costs)


def _is_traced(value):
  return isinstance(value, jax.core.Tracer)


def check_gd(params, X, Y, learning_rate, *, arch, num_iterations, record_every=100,
             dropout_layers=(), keep_prob=1.0, key=None, fixed_masks=None, noise=None,
             **unused):
  """Host-side checks of a full-batch GD call, before anything is compiled.

  Shapes and values of X, Y and params against ``arch`` (``dense.check_data``,
  ``dense.check_params``: ShapeError / DataError), the counts and the cost record's
  length, the learning rate, and a key for fresh dropout masks (ConfigError).
  """
  del unused
  dense.check_data(X, Y, arch)
  dense.check_params(params, arch)
  validation.record_length(num_iterations, record_every)
  if not _is_traced(learning_rate):
    validation.learning_rate(learning_rate)
  if noise is not None:
    _check_noise(noise, arch, num_iterations, dropout_layers, fixed_masks, X.shape[1])
  elif dropout_layers and fixed_masks is None and key is None:
    raise ConfigError("dropout with fresh masks needs an explicit PRNG key")


def _check_noise(noise, arch, num_iterations, dropout_layers, fixed_masks, m):
  """ConfigError unless ``noise`` is {l: (num_iterations, n_l, m)} for exactly the fresh
  dropout layers (``dropout_masks_ahead``'s shapes)."""
  if not dropout_layers or fixed_masks is not None:
    raise ConfigError("noise (masks drawn ahead) is only for dropout with fresh masks")
  expected = {int(l): (num_iterations, arch.layer_dims[l], m) for l in dropout_layers}
  got = ({l: tuple(np.shape(D)) for l, D in noise.items()}
         if isinstance(noise, collections.abc.Mapping) else type(noise).__name__)
  if got != expected:
    raise ConfigError(f"noise must hold the masks {{layer: (iterations, n_l, m)}} "
                      f"{expected}, got {got}")


# ``train_gd`` jitted, after ``check_gd`` on the host (calls and ``.lower`` alike);
# ``train_gd_jit.unchecked`` skips the checks.
train_gd_jit = loop.Program(train_gd, static_argnames=_STATIC, check=check_gd)

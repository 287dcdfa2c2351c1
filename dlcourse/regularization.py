"""L2 regularization and inverted dropout (Course 2, week 1), forward and backward.

L2:       J_reg = J + (lambda / (2m)) * sum_l ||W^[l]||_F^2       (weights only, never b)
          dW^[l] += (lambda / m) * W^[l]
Dropout:  D^[l] = (U < keep_prob), U ~ Uniform[0, 1) of shape (n_l, m)
          A^[l] <- A^[l] * D^[l] / keep_prob            (forward; "inverted" scaling)
          dA^[l] <- dA^[l] * D^[l] / keep_prob          (backward, the same mask)
Dropout applies to hidden layers only and never at prediction time.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays, draws, validation
from dlcourse.errors import ConfigError


class Dropout(NamedTuple):
  """The masks of one forward pass, keyed by (1-based) layer index, and keep_prob.

  A NamedTuple so that it is a pytree: masks travel through jit, and keep_prob may be
  a traced value (a vmapped sweep over keep_probs).
  """
  masks: dict
  keep_prob: object


def check_lambd(lambd):
  """The L2 strength lambda: a finite real >= 0 (0 turns the term off). Returns it."""
  return validation.non_negative_real("L2 lambda", lambd)


def check_dropout(keep_prob, layers, num_layers):
  """keep_prob in (0, 1]; layers are hidden-layer indices 1..L-1 (the output never drops)."""
  if not 0.0 < validation.real_scalar("keep_prob", keep_prob) <= 1.0:  # NaN fails too
    raise ConfigError(f"keep_prob must be in (0, 1], got {keep_prob}")
  hidden = tuple(range(1, num_layers))
  for l in layers:
    if validation.as_integer(l) not in hidden:  # 1.5 or True is no layer index
      raise ConfigError(f"dropout layer {l} does not exist: the hidden layers of this "
                        f"{num_layers}-layer net are {hidden}")


def l2_cost(params, lambd, m):
  """(lambda / (2m)) * sum_l ||W^[l]||_F^2 over the weight matrices only (a W held in
  blocks, ``dense.ColumnBlocks``, summed block by block)."""
  total = sum(jnp.sum(w**2) for name, W in params.items() if name.startswith("W")
              for w in jax.tree.leaves(W))
  return lambd * total / (2 * m)


def l2_backward(W, lambd, m):
  """d/dW of the L2 term: (lambda / m) * W (block by block for a W in blocks)."""
  return jax.tree.map(lambda w: (lambd / m) * w, W)


def dropout_forward(A, D, keep_prob):
  """A * D / keep_prob: zero the dropped units, rescale the rest to keep E[A]."""
  return A * D / keep_prob


def dropout_backward(dA, D, keep_prob):
  """dA * D / keep_prob: the gradient flows only through the kept units."""
  return dA * D / keep_prob


def dropout_masks(key, layer_dims, layers, keep_prob, m):
  """Fresh masks D^[l] = U < keep_prob from an explicit key, one subkey per layer."""
  layers = sorted(int(l) for l in layers)
  keys = jax.random.split(key, max(len(layers), 1))[:len(layers)]
  # One hash for the layers' draws (``draws.stacked``), the same bits as one per layer.
  masks = draws.stacked(lambda k, shape: jax.random.uniform(k, shape) < keep_prob, keys,
                        [(layer_dims[l], m) for l in layers])
  return dict(zip(layers, masks))


def course_dropout_masks(layer_dims, layers, keep_prob, m, seed=1):
  """The notebook's masks: ``np.random.seed(1)`` then ``rand(n_l, m) < keep_prob`` per layer.

  The notebook re-seeds at every forward pass, so these masks are the same at every
  iteration; reproducing its numbers needs exactly that.
  """
  rng = np.random.RandomState(validation.seed(seed, course_compat=True))
  return {int(l): arrays.device_array(rng.rand(layer_dims[l], m) < keep_prob, bool)
          for l in sorted(layers)}

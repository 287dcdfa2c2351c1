"""Costs J(Z^[L], Y) computed from the output layer's logits, each with its dJ/dZ^[L].

The cost is averaged over the ``m`` columns (examples). Following the course, the
output-layer gradient returned by ``dZ`` is the *per-example* ``A^[L] - Y``; the
``1/m`` of the average is applied once, in ``linear_backward``. Each loss is paired with
its canonical output activation, which is what makes ``dZ = A - Y`` exact:

| loss | output g | J | dZ^[L] |
| --- | --- | --- | --- |
| binary cross-entropy | sigmoid | -1/m sum [Y log A + (1-Y) log(1-A)] | A - Y |
| softmax cross-entropy | softmax | -1/m sum_i sum_k Y_ki log A_ki | A - Y |
| quadratic | linear | 1/(2m) sum (A - Y)^2 | A - Y |

``mask`` ((m,) bool, optional): the columns that are examples. A mini-batch padded to a
fixed width (``dlcourse.loop``: the partial last batch of an epoch) masks its padding
out: the sums run over the kept columns only, m is their count, and their dZ is 0.
"""
from typing import Callable, NamedTuple, Optional

import jax.numpy as jnp
from jax.scipy.special import logsumexp


def kept_count(mask, dtype):
  """m of a masked batch: the number of kept columns, as a ``dtype`` scalar."""
  return jnp.sum(mask).astype(dtype)


def _average(per_example, mask: Optional[jnp.ndarray]):
  """(1/m) sum of ``per_example`` (entries (..., m)); with ``mask``, over the kept
  columns only and m their count."""
  if mask is None:
    return jnp.sum(per_example) / per_example.shape[-1]
  kept = jnp.where(mask, per_example, 0)
  return jnp.sum(kept) / kept_count(mask, per_example.dtype)


def binary_cross_entropy(ZL, Y, mask=None):
  """BCE from logits: 1/m sum [log(1 + exp(Z)) - Z Y].

  Algebraically equal to the course's -1/m sum [Y log sigma(Z) + (1-Y) log(1-sigma(Z))]
  but never evaluates log(sigma(Z)), which is -inf in float32 once sigma(Z) rounds to 0
  (Z < -104) or 1 - sigma(Z) rounds to 0 (Z > 17). log(1 + exp(Z)) is
  ``logaddexp(Z, 0)``, evaluated as max(Z, 0) + log(1 + exp(-|Z|)); it is used rather
  than that expression itself because its derivative is exact everywhere: jax.grad of
  max(Z, 0) + log1p(exp(-|Z|)) takes the one-sided slopes 1/2 and -1/2 at Z = 0 and
  returns -Y there instead of sigma(0) - Y = 1/2 - Y, and Z^[L] = b^[L] = 0 exactly
  happens (an example whose last hidden layer is all dead ReLUs, with b initialized to
  0). Shapes: ZL, Y (1, m).
  """
  return _average(jnp.logaddexp(ZL, 0) - ZL * Y, mask)


def softmax_cross_entropy(ZL, Y, mask=None):
  """Softmax CE from logits: 1/m sum_i [logsumexp(Z_:i) - sum_k Y_ki Z_ki].

  Y is one-hot (K, m); equal to -1/m sum Y log softmax(Z) without forming log(0).
  """
  return _average(logsumexp(ZL, axis=0) - jnp.sum(Y * ZL, axis=0), mask)


def quadratic(ZL, Y, mask=None):
  """Quadratic loss with the identity output: 1/(2m) sum (Z - Y)^2."""
  # (S / 2) / m is S / (2m) to the bit: halving is exact.
  return _average((ZL - Y) ** 2 / 2, mask)


def output_dZ(AL, Y, mask=None):
  """m * dJ/dZ^[L] = A^[L] - Y for every (loss, canonical output) pair above (0 in the
  columns ``mask`` drops)."""
  if mask is None:
    return AL - Y
  return jnp.where(mask, AL - Y, 0)


class Loss(NamedTuple):
  cost: Callable
  output_activation: str


LOSSES = {
    "binary_cross_entropy": Loss(binary_cross_entropy, "sigmoid"),
    "softmax_cross_entropy": Loss(softmax_cross_entropy, "softmax"),
    "quadratic": Loss(quadratic, "linear"),
}

# The loss is fixed by the output activation: the pairing is what makes dZ = A - Y.
LOSS_FOR_OUTPUT = {loss.output_activation: name for name, loss in LOSSES.items()}

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
"""
from typing import Callable, NamedTuple

import jax.numpy as jnp
from jax.scipy.special import logsumexp


def binary_cross_entropy(ZL, Y):
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
  m = ZL.shape[-1]
  per_example = jnp.logaddexp(ZL, 0) - ZL * Y
  return jnp.sum(per_example) / m


def softmax_cross_entropy(ZL, Y):
  """Softmax CE from logits: 1/m sum_i [logsumexp(Z_:i) - sum_k Y_ki Z_ki].

  Y is one-hot (K, m); equal to -1/m sum Y log softmax(Z) without forming log(0).
  """
  m = ZL.shape[-1]
  return jnp.sum(logsumexp(ZL, axis=0) - jnp.sum(Y * ZL, axis=0)) / m


def quadratic(ZL, Y):
  """Quadratic loss with the identity output: 1/(2m) sum (Z - Y)^2."""
  m = ZL.shape[-1]
  return jnp.sum((ZL - Y) ** 2) / (2 * m)


def output_dZ(AL, Y):
  """m * dJ/dZ^[L] = A^[L] - Y for every (loss, canonical output) pair above."""
  return AL - Y


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

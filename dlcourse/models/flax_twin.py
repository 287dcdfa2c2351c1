"""A flax.linen twin of the dense net, used only as an independent cross-check.

flax's ``nn.Dense`` computes x @ kernel + bias on row-major examples (m, n_{l-1}), so
with kernel = W^[l]^T (n_{l-1}, n_l) and bias = b^[l][:, 0] the twin's output is the
transpose of ``dense.forward``'s A^[L]. ``jax.grad`` through the twin, mapped back to
course shapes, must equal the hand-derived backward.
"""
from typing import Sequence

import flax.linen as nn

from dlcourse.activations import ACTIVATIONS
from dlcourse.losses import LOSSES


class DenseNetLinen(nn.Module):
  layer_dims: Sequence[int]
  activations: Sequence[str]

  @nn.compact
  def __call__(self, x):
    """x: (m, n_x) -> (logits Z^[L], output A^[L]) both (m, n_L)."""
    z = x
    for l, name in enumerate(self.activations, start=1):
      z = nn.Dense(self.layer_dims[l], name=f"layer{l}")(x)
      x = ACTIVATIONS[name].forward(z.T).T
    return z, x


def to_flax_variables(params):
  """{"W1", "b1", ...} -> linen variables {"params": {"layer1": {"kernel", "bias"}, ...}}."""
  L = len(params) // 2
  return {"params": {f"layer{l}": {"kernel": params[f"W{l}"].T, "bias": params[f"b{l}"][:, 0]}
                     for l in range(1, L + 1)}}


def from_flax_variables(variables):
  """Inverse of ``to_flax_variables``: back to course shapes."""
  out = {}
  for name, leaf in variables["params"].items():
    l = int(name.removeprefix("layer"))
    out[f"W{l}"] = leaf["kernel"].T
    out[f"b{l}"] = leaf["bias"][:, None]
  return out


def twin_cost(variables, X, Y, arch):
  """The same cost as ``dense.cost``, computed through the linen module."""
  model = DenseNetLinen(arch.layer_dims, arch.activations)
  z, _ = model.apply(variables, X.T)
  return LOSSES[arch.loss_name].cost(z.T, Y)

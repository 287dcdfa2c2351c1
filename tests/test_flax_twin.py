"""The flax.linen twin gives the same outputs and jax.grad through it equals the manual backward."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import initializers
from dlcourse.models import dense, flax_twin

pytestmark = pytest.mark.usefixtures("x64")


@pytest.mark.parametrize("acts", [("tanh", "sigmoid"), ("relu", "leaky_relu", "relu", "softmax"),
                                  ("sigmoid", "linear")])
def test_twin_agrees_with_hand_written_net(acts):
  dims = (5,) + (4,) * (len(acts) - 1) + ((3,) if acts[-1] == "softmax" else (1,))
  arch = dense.Architecture(dims, acts)
  params = initializers.initialize(jax.random.key(1), dims, "glorot", dtype=jnp.float64)
  params = jax.tree.map(lambda p: p + 0.05, params)
  rng = np.random.RandomState(0)
  X = jnp.asarray(rng.randn(5, 6))
  if acts[-1] == "softmax":
    Y = jax.nn.one_hot(rng.randint(0, 3, 6), 3, dtype=jnp.float64).T
  else:
    Y = jnp.asarray(rng.randint(0, 2, (1, 6)), jnp.float64)

  variables = flax_twin.to_flax_variables(params)
  # The twin initialized by flax itself has the same structure we map into.
  own = flax_twin.DenseNetLinen(dims, acts).init(jax.random.key(2), X.T)
  assert jax.tree.structure(own) == jax.tree.structure(variables)

  _, A_twin = flax_twin.DenseNetLinen(dims, acts).apply(variables, X.T)
  AL, _ = dense.forward(params, X, arch)
  np.testing.assert_allclose(A_twin.T, AL, rtol=1e-12)

  twin_grads = flax_twin.from_flax_variables(jax.grad(flax_twin.twin_cost)(variables, X, Y, arch))
  _, manual = dense.cost_and_grads(params, X, Y, arch)
  for name in params:
    np.testing.assert_allclose(manual[name], twin_grads[name], rtol=1e-9, atol=1e-13)
  np.testing.assert_allclose(flax_twin.twin_cost(variables, X, Y, arch), dense.cost(params, X, Y, arch),
                             rtol=1e-12)

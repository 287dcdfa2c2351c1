"""The same two training loops as ``numpy_reference`` in PyTorch eager mode (CPU), with
the same hand-written backward (no autograd tape), for ``benchmarks/benchmark.py``.

PyTorch is optional: ``available()`` says whether it can be imported, and nothing in
the project needs it. Install the CPU wheel only (``pip install torch==2.13.0`` from the
CPU index); the default wheel pulls gigabytes of CUDA libraries.
"""
import numpy as np


def available():
  try:
    import torch  # noqa: F401
  except ImportError:
    return False
  return True


def version():
  import torch
  return torch.__version__


def L_layer_model(X, Y, layer_dims, learning_rate=0.0075, num_iterations=2500, seed=1,
                  print_every=100):
  """Deep ReLU net, sigmoid output, float32; returns (params as NumPy, costs)."""
  import torch
  from benchmarks import numpy_reference
  with torch.inference_mode():
    X, Y = torch.from_numpy(np.asarray(X, np.float32)), torch.from_numpy(
        np.asarray(Y, np.float32))
    init = numpy_reference.initialize_parameters_deep(layer_dims, seed, np.float32)
    params = {k: torch.from_numpy(v) for k, v in init.items()}
    L, m = len(layer_dims) - 1, X.shape[1]
    costs = []
    for i in range(num_iterations):
      A, caches = X, []
      for l in range(1, L + 1):
        Z = torch.addmm(params[f"b{l}"], params[f"W{l}"], A)
        caches.append((A, Z))
        A = torch.sigmoid(Z) if l == L else torch.relu(Z)
      # J from the logits (binary_cross_entropy_with_logits is the stable form).
      cost = torch.nn.functional.binary_cross_entropy_with_logits(caches[-1][1], Y)
      if i % print_every == 0:
        costs.append(float(cost))
      dZ = A - Y
      for l in range(L, 0, -1):
        A_prev, _ = caches[l - 1]
        dW = dZ @ A_prev.T / m
        db = dZ.sum(dim=1, keepdim=True) / m
        if l > 1:
          dZ = (params[f"W{l}"].T @ dZ) * (caches[l - 2][1] > 0)
        params[f"W{l}"] = params[f"W{l}"] - learning_rate * dW
        params[f"b{l}"] = params[f"b{l}"] - learning_rate * db
    return {k: v.numpy() for k, v in params.items()}, costs


def logistic_model(X, Y, num_iterations=2000, learning_rate=0.005, print_every=100):
  """Week 2's logistic regression from zeros, float32; returns (w, b, costs)."""
  import torch
  with torch.inference_mode():
    X, Y = torch.from_numpy(np.asarray(X, np.float32)), torch.from_numpy(
        np.asarray(Y, np.float32))
    m = X.shape[1]
    w, b = torch.zeros((X.shape[0], 1)), torch.zeros(())
    costs = []
    for i in range(num_iterations):
      Z = w.T @ X + b
      A = torch.sigmoid(Z)
      cost = torch.nn.functional.binary_cross_entropy_with_logits(Z, Y)
      dw = X @ (A - Y).T / m
      db = (A - Y).sum() / m
      w, b = w - learning_rate * dw, b - learning_rate * db
      if i % print_every == 0:
        costs.append(float(cost))
    return w.numpy(), b.numpy(), costs

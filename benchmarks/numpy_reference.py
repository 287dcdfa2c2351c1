"""Plain NumPy training loops written the way the course's notebooks write them: a
dict of parameters, a list of caches, one Python loop over iterations and layers.

They are the baseline of ``benchmarks/benchmark.py`` (float64 as in the course, or
float32 for the memory-bound comparison) and use the same maths as ``dlcourse``:

    Z^[l] = W^[l] A^[l-1] + b^[l],  A^[l] = relu(Z^[l]) (l < L), sigmoid(Z^[L])
    dZ^[L] = A^[L] - Y,  dW^[l] = dZ^[l] A^[l-1]^T / m,  db^[l] = sum_cols dZ^[l] / m
    dA^[l-1] = W^[l]^T dZ^[l],  dZ^[l-1] = dA^[l-1] * (Z^[l-1] > 0)
    W := W - alpha dW,  b := b - alpha db
"""
import numpy as np


def sigmoid(Z):
  return 1.0 / (1.0 + np.exp(-Z))


def relu(Z):
  return np.maximum(0, Z)


def initialize_parameters_deep(layer_dims, seed=1, dtype=np.float64):
  """W^[l] = randn(n_l, n_{l-1}) / sqrt(n_{l-1}) (the deep notebook's scale), b^[l] = 0."""
  rng = np.random.RandomState(seed)
  parameters = {}
  for l in range(1, len(layer_dims)):
    parameters["W" + str(l)] = (rng.randn(layer_dims[l], layer_dims[l - 1])
                                / np.sqrt(layer_dims[l - 1])).astype(dtype)
    parameters["b" + str(l)] = np.zeros((layer_dims[l], 1), dtype)
  return parameters


def L_model_forward(X, parameters):
  """(AL, caches); caches[l-1] = (A_prev, W, Z) of layer l."""
  caches = []
  A = X
  L = len(parameters) // 2
  for l in range(1, L + 1):
    W, b = parameters["W" + str(l)], parameters["b" + str(l)]
    Z = W @ A + b
    caches.append((A, W, Z))
    A = sigmoid(Z) if l == L else relu(Z)
  return A, caches


def compute_cost(AL, Y):
  """Cross-entropy J = -1/m sum [Y log AL + (1 - Y) log(1 - AL)]."""
  m = Y.shape[1]
  return float(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m)


def L_model_backward(AL, Y, caches):
  grads = {}
  L = len(caches)
  m = Y.shape[1]
  dZ = AL - Y
  for l in range(L, 0, -1):
    A_prev, W, Z = caches[l - 1]
    grads["dW" + str(l)] = dZ @ A_prev.T / m
    grads["db" + str(l)] = np.sum(dZ, axis=1, keepdims=True) / m
    if l > 1:  # the input layer's dA is never used
      dA_prev = W.T @ dZ
      dZ = dA_prev * (caches[l - 2][2] > 0)
  return grads


def update_parameters(parameters, grads, learning_rate):
  for key in list(parameters):
    parameters[key] = parameters[key] - learning_rate * grads["d" + key]
  return parameters


def L_layer_model(X, Y, layer_dims, learning_rate=0.0075, num_iterations=2500, seed=1,
                  dtype=np.float64, print_every=100):
  """The deep notebook's training loop; returns (parameters, costs every print_every)."""
  X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
  parameters = initialize_parameters_deep(layer_dims, seed, dtype)
  costs = []
  for i in range(num_iterations):
    AL, caches = L_model_forward(X, parameters)
    cost = compute_cost(AL, Y)  # every iteration, as the notebook does (O(m): cheap)
    if i % print_every == 0:
      costs.append(cost)
    grads = L_model_backward(AL, Y, caches)
    parameters = update_parameters(parameters, grads, learning_rate)
  return parameters, costs


def propagate(w, b, X, Y):
  """Logistic regression (week 2): A = sigmoid(w^T X + b); dw = X (A - Y)^T / m."""
  m = X.shape[1]
  A = sigmoid(w.T @ X + b)
  cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
  dw = X @ (A - Y).T / m
  db = np.sum(A - Y) / m
  return dw, db, cost


def logistic_model(X, Y, num_iterations=2000, learning_rate=0.005, dtype=np.float64,
                   print_every=100):
  """Week 2's optimize() from zeros; returns (w, b, costs every print_every)."""
  X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
  w, b = np.zeros((X.shape[0], 1), dtype), dtype(0)
  costs = []
  for i in range(num_iterations):
    dw, db, cost = propagate(w, b, X, Y)
    w = w - dtype(learning_rate) * dw
    b = b - dtype(learning_rate) * db
    if i % print_every == 0:
      costs.append(float(cost))
  return w, b, costs

"""Course 1, week 1: a house's price from its size with one ReLU neuron, then a small net.

One neuron: price = max(a * size + b, 0), fit by gradient descent on the quadratic loss
J = 1/(2m) sum (max(a x_i + b, 0) - y_i)^2 with its hand-derived backward
(``dlcourse.intro.neuron_grads``: dz_i = (h_i - y_i) 1[z_i > 0], the convention
g'(0) = 0 at the kink), checked against ``jax.grad``. The size is standardized for the
fit, x = (size - mu) / sigma, and (a, b) are converted back to k$ per m^2 and k$.
Then the lecture's picture: size, bedrooms, zip code and wealth into a [4, 3, 1] net
(ReLU hidden units standing for family size, walkability and school quality; a linear
output with the quadratic loss) trained by full-batch gradient descent.
The houses are generated (``dlcourse.intro.houses``; its docstring gives the formula).
"""
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays, data, initializers, intro, plots
from dlcourse.models import dense
from experiments import runner

NAME = "c1w1_relu_neuron"
FEATURES = ("size", "bedrooms", "zip", "wealth")
PRICE_UNIT = 100.0   # the net fits price / 100 (in $100k) so its targets are O(1)


@jax.jit
def _relative_difference(p, x, y):
  """max |hand-derived - jax.grad| / (1 + |jax.grad|) at p (one compiled program)."""
  manual, auto = intro.neuron_grads(p, x, y), jax.grad(intro.neuron_cost)(p, x, y)
  return jnp.max(jnp.abs(manual - auto) / (1.0 + jnp.abs(auto)))


def gradient_check(p_fit, x, y):
  """Largest relative |hand-derived - jax.grad| at the start, the fit, and a point whose
  first example sits exactly on the kink z = 0 (where both use g'(0) = 0). The points
  are made on the host: each eager operation on the device would compile on its own."""
  x0 = float(np.asarray(x)[0, 0])
  points = ([1.0, 1.0], np.asarray(p_fit, np.float64), [1.3, -1.3 * x0])
  return max(float(_relative_difference(arrays.device_array(p, x.dtype), x, y))
             for p in points)


def rmse(pred, y):
  return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(y)) ** 2)))


def fit_neuron(config, size, price):
  mu, sigma = float(np.mean(size)), float(np.std(size))
  z = (size - mu) / sigma
  x = arrays.device_array(z, z.dtype)
  descent = intro.descend(intro.neuron_cost, intro.neuron_grads,
                          arrays.device_array(tuple(config.init), x.dtype),
                          config.learning_rate, config.num_iterations,
                          (x, arrays.device_array(price, price.dtype)))
  a, b = intro.neuron_in_units(descent.params[-1], mu, sigma)
  return descent, a, b, x


def fit_net(config, env, X, price, X_test):
  """The [4, n_h, 1] net on standardized features; (predict_train, predict_test, fit)."""
  mu, sigma = data.standardize_fit(X)
  Xs, Xs_test = data.standardize_apply(X, mu, sigma), data.standardize_apply(X_test, mu, sigma)
  arch = dense.Architecture((len(FEATURES), config.net.n_h, 1), ("relu", "linear"))
  params = initializers.initialize(jax.random.key(config.net.seed), arch.layer_dims, "he",
                                   dtype=runner.float_dtype(config.net))
  fit = env.fit_gd(config.net, arch, params, Xs, price / PRICE_UNIT)
  # Train and test columns in one call: one compiled program, not one per shape.
  both = np.concatenate([Xs, Xs_test], axis=1)
  out = PRICE_UNIT * np.asarray(dense.output(fit.params, arrays.device_array(both, both.dtype),
                                             arch))
  return out[:, :Xs.shape[1]], out[:, Xs.shape[1]:], fit


def run(config, env):
  features, price = intro.houses(config.seed, config.num_houses)
  test_features, test_price = intro.houses(config.seed + 1, config.num_test_houses)
  X = np.concatenate([features[k] for k in FEATURES])
  X_test = np.concatenate([test_features[k] for k in FEATURES])
  with runner.precision(config):
    (descent, a, b, x), neuron_compile_s, neuron_train_s = runner.timed_stage(
        fit_neuron, config, features["size"], price)
    check = gradient_check(descent.params[-1], x, arrays.device_array(price, price.dtype))
    neuron = lambda size: np.maximum(a * size + b, 0.0)
    net_train, net_test, net_fit = fit_net(config, env, X, price, X_test)
  every = max(1, int(config.record_every))
  costs = [[k, float(J)] for k, J in enumerate(descent.costs) if k % every == 0]
  metrics = {
      "a": a, "b": b, "kink_size": -b / a if a > 0 else None,
      "neuron_diverged": descent.diverged, "neuron_final_cost": float(descent.costs[-1]),
      "gradient_check_max_rel_diff": check,
      "relu_derivative_at_0": 0.0,
      "neuron_train_rmse": rmse(neuron(features["size"]), price),
      "neuron_test_rmse": rmse(neuron(test_features["size"]), test_price),
      "net_layer_dims": [len(FEATURES), int(config.net.n_h), 1],
      "net_train_rmse": rmse(net_train, price), "net_test_rmse": rmse(net_test, test_price),
      "net_costs": net_fit.costs, "net_cost_unit": f"J of price / {PRICE_UNIT:g}",
      "noise_std": 15.0, "price_unit": "k$", "size_unit": "m^2",
      "m_train": int(X.shape[1]), "m_test": int(X_test.shape[1]),
  }
  metrics["headline"] = (f"price = max({a:.3f} size + {b:.2f}, 0) k$; test RMSE "
                         f"{metrics['neuron_test_rmse']:.1f} k$ (one neuron), "
                         f"{metrics['net_test_rmse']:.1f} k$ (the {list(metrics['net_layer_dims'])} net)")
  # Two models train here: the neuron (its descent, a program of its own) and the net.
  timings = runner.stage_timings({"neuron": (neuron_compile_s, neuron_train_s),
                                  **runner.fit_stages(net_fit, "net")})
  record = runner.result(config, costs=costs, cost_unit="iteration", metrics=metrics,
                         timings=timings)
  figures = {
      "fit.png": plots.relu_fit(features["size"], price, a, b, xlabel="size (m^2)",
                                ylabel="price (k$)",
                                title=f"One ReLU neuron: price = max(a size + b, 0), "
                                      f"{X.shape[1]} houses"),
      "net.png": plots.predicted_vs_actual(
          {f"one neuron, size only (RMSE {metrics['neuron_test_rmse']:.0f})":
               (test_price, neuron(test_features["size"])),
           f"[4, {config.net.n_h}, 1] net, 4 features (RMSE {metrics['net_test_rmse']:.0f})":
               (test_price, net_test)},
          unit="k$", title=f"Test houses ({X_test.shape[1]}): neuron vs net"),
      "cost.png": plots.cost_curve(costs, title="One neuron: J during gradient descent",
                                   learning_rate=config.learning_rate),
  }
  return record, figures


def report_markdown(record):
  m = record["metrics"]
  return "\n".join([
      f"Neuron: price = max({m['a']:.3f} size + ({m['b']:.2f}), 0) k$ (kink at "
      f"{m['kink_size']:.1f} m^2); hand-derived vs jax.grad: {m['gradient_check_max_rel_diff']:.1e}"
      " (g'(0) = 0 in both).", "",
      "| model | train RMSE (k$) | test RMSE (k$) |", "| --- | --- | --- |",
      f"| one neuron, size | {m['neuron_train_rmse']:.1f} | {m['neuron_test_rmse']:.1f} |",
      f"| {m['net_layer_dims']} net, size + bedrooms + zip + wealth | {m['net_train_rmse']:.1f} "
      f"| {m['net_test_rmse']:.1f} |", "",
      f"The generated prices carry noise of std {m['noise_std']:g} k$ (clipped at 0): "
      "about the best RMSE any model can reach."])


if __name__ == "__main__":
  runner.launch(NAME, run)

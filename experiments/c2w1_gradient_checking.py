"""Course 2, week 1: gradient checking in 1-D and on the course's 4-5-3-1 ReLU net.

``case="cats"`` checks the L-layer cat net on a batch of pictures (sampled coordinates);
``case="batchnorm"`` checks a small batch-norm net (``dlcourse.models.bn_dense``: W, gamma,
beta per hidden layer; its planted bug drops the path of dZ through sigma^2).

The N-D case uses the notebook's test case (np.random.seed(1): x = randn(4, 3),
y = [1, 1, 0], then W1 randn(5, 4), b1 randn(5, 1), W2 randn(3, 5), b2 randn(3, 1),
W3 randn(1, 3), b3 randn(1, 1)) and its planted bug: dW2 doubled, db1 scaled by 4.
"""
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import arrays, data, gradcheck, initializers, plots
from dlcourse.errors import ConfigError
from dlcourse.models import bn_dense, dense
from experiments import runner

NAME = "c2w1_gradient_checking"
ARCH = dense.Architecture((4, 5, 3, 1), ("relu", "relu", "sigmoid"))


def course_test_case(seed):
  """(params, X, Y) of the notebook's gradient_check_n_test_case, in float64."""
  rng = np.random.RandomState(seed)
  X = rng.randn(4, 3)
  Y = np.array([[1.0, 1.0, 0.0]])
  params = {}
  for l in range(1, 4):
    params[f"W{l}"] = rng.randn(ARCH.layer_dims[l], ARCH.layer_dims[l - 1])
    params[f"b{l}"] = rng.randn(ARCH.layer_dims[l], 1)
  as_jax = lambda a: jnp.asarray(a, jnp.float64)
  return jax.tree.map(as_jax, params), as_jax(X), as_jax(Y)


def planted_bug(grads):
  """The notebook's deliberate mistakes in backward_propagation_n."""
  return {**grads, "W2": grads["W2"] * 2, "b1": grads["b1"] * 4}


def one_dimensional(config):
  """dJ/dtheta of J = theta * x is x; the two-sided difference should agree to ~1e-10."""
  cost = lambda p: p["theta"] * config.x
  params = {"theta": arrays.device_array(config.theta, jnp.float64)}
  # One program: op by op, the differences compiled ~15 programs of their own.
  approx = jax.jit(lambda p: gradcheck.finite_difference_gradient(cost, p, config.epsilon))(
      params)
  return float(gradcheck.relative_difference(approx, {"theta": np.asarray(config.x)}))


def cats_case(config, data_dir):
  """(arch, params, X, Y): the configured net on the first ``batch_size`` cat pictures."""
  train_x, train_y, _, _ = data.load_cats(data_dir)
  X = jnp.asarray(train_x[:, :config.batch_size])
  Y = jnp.asarray(train_y[:, :config.batch_size], jnp.float64)
  arch = dense.Architecture.make(tuple(config.layer_dims))
  params = initializers.initialize(jax.random.key(config.data_seed), arch.layer_dims, "xavier",
                                   dtype=jnp.float64)
  return arch, params, X, Y


def n_dimensional(config, plant_bug, case):
  arch, params, X, Y = case
  manual = lambda p: dense.cost_and_grads(p, X, Y, arch)[1]
  grad_fn = (lambda p: planted_bug(manual(p))) if plant_bug else manual
  sampled = config.case != "course"
  return gradcheck.check_gradients(
      lambda p: dense.cost(p, X, Y, arch), grad_fn, params,
      epsilon=config.cats_epsilon if sampled else config.epsilon,
      threshold=config.threshold, max_coordinates=config.max_coordinates if sampled else None,
      key=jax.random.key(config.data_seed))


def _comparison_record(report):
  return {name: {"overall": c.overall, "per_param": c.per_param} for name, c in
          [("manual_vs_autodiff", report.manual_vs_autodiff),
           ("manual_vs_numeric", report.manual_vs_numeric),
           ("autodiff_vs_numeric", report.autodiff_vs_numeric)]}


CASES = ("course", "cats", "batchnorm")


def batchnorm_reports(config):
  """{label: GradCheckReport} of the batch-norm net, correct and with the planted bug."""
  kwargs = dict(layer_dims=tuple(config.bn_layer_dims), m=int(config.bn_batch_size),
                epsilon=config.epsilon, threshold=config.threshold)
  reports = {"correct backward": bn_dense.batchnorm_gradcheck(config.data_seed, **kwargs)}
  if config.plant_bug:
    reports["planted bug"] = bn_dense.batchnorm_gradcheck(config.data_seed, plant_bug=True,
                                                          **kwargs)
  return reports


def run(config, env):
  if config.case not in CASES:
    raise ConfigError(f"case must be one of {CASES}, got {config.case!r}")
  with jax.enable_x64(True):  # a gradient check is only meaningful in float64
    if config.case == "batchnorm":
      difference_1d = one_dimensional(config)
      reports = batchnorm_reports(config)
      dims = tuple(config.bn_layer_dims)
    elif config.case == "course":
      case = (ARCH,) + course_test_case(config.data_seed)
    else:
      case = cats_case(config, env.data_dir)
    if config.case != "batchnorm":
      dims = case[0].layer_dims
      difference_1d = one_dimensional(config)
      reports = {"correct backward": n_dimensional(config, plant_bug=False, case=case)}
      if config.plant_bug:
        reports["planted bug"] = n_dimensional(config, plant_bug=True, case=case)
  correct = reports["correct backward"]
  headline = (f"correct backward {'passed' if correct.passed else 'FAILED'} (manual vs "
              f"numeric {correct.manual_vs_numeric.overall:.3g})")
  if "planted bug" in reports:
    bug = reports["planted bug"]
    headline += (f"; planted bug: difference {bug.manual_vs_numeric.overall:.10f}, flags "
                 f"{bug.disagreeing}")
  record = runner.result(config, metrics={
      "headline": headline,
      "one_dimensional_difference": difference_1d,
      "checks": {label: {"passed": r.passed, "disagreeing": r.disagreeing,
                         **_comparison_record(r)} for label, r in reports.items()},
      "tables": {label: r.table() for label, r in reports.items()}})
  per_param = {label: r.manual_vs_numeric.per_param for label, r in reports.items()}
  return record, {"gradient_check.png": plots.gradient_check_bars(
      per_param, config.threshold,
      title=f"Gradient check, {'-'.join(map(str, dims))} "
      f"{'batch-norm ' if config.case == 'batchnorm' else ''}net")}


if __name__ == "__main__":
  runner.launch(NAME, run)

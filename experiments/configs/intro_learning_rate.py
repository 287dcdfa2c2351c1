"""The learning rate too small / right / too large: GD paths on a quadratic and on the circles.

Commands:
  python -m experiments intro_learning_rate
  python -m experiments intro_learning_rate --config.bowl_rates="(0.05, 0.3, 1.1)"
  python experiments/intro_learning_rate.py --config=experiments/configs/intro_learning_rate.py \\
      --workdir runs/lr
Expected result: on J(w) = (w - 2)^2 + 1 (c = 2) from w = -2 with alpha = 0.05 / 0.3 / 1.1,
and on the circle table (c = 34004) from theta = 0 with alpha = 2e-6 / 2e-5 / 6.5e-5,
each step is |1 - alpha c| times the previous one: 0.9 / 0.4 / 1.2 on the bowl,
0.932 / 0.320 / 1.21 on the circles. The two "too large" runs diverge (reported, no NaN).

Why do the steps get shorter with a moderate rate, and longer and longer with a rate
that is too large? From the recorded step lengths (metrics.bowl.runs[*].step_lengths):
with alpha = 0.3 the steps are 2.4, 0.96, 0.384, 0.154, ... (each 0.4 times the last),
because a step is alpha times the gradient, and the gradient c (w - w*) shrinks as w
nears the minimum; the rate itself never changes. With alpha = 1.1 (alpha c = 2.2 > 2)
they are 8.8, 10.6, 12.7, 15.2, ... (each 1.2 times the last): every step jumps past the
minimum to a point farther away on the other side, where the slope is steeper, so the
next step is longer still: w - w* is multiplied by 1 - alpha c = -1.2 per step. Too
small (alpha = 0.05): 0.4, 0.36, 0.324, ... (0.9), still far from w* = 2 after 12 steps.
The circle problem's steps behave the same: 2.14, 0.683, 0.219, ... at 2e-5 (0.32) and
6.94, 8.40, 10.2, ... at 6.5e-5 (1.21).
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ()
REPORT = (
    Row("intro_learning_rate", "Intro: learning rate too small / right / too large",
        Course(), note="step ratios |1 - alpha c|; the too-large runs diverge"),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.bowl = ml_collections.ConfigDict()
  config.bowl.curvature = 2.0    # J(w) = c/2 (w - w*)^2 + J_min
  config.bowl.w_star = 2.0
  config.bowl.j_min = 1.0
  config.bowl.start = -2.0
  config.bowl_rates = (0.05, 0.3, 1.1)          # too small, right, too large (c = 2)
  config.circle_rates = (2e-6, 2e-5, 6.5e-5)    # the same for c = 34004 (limit 5.9e-5)
  config.circle_start = 0.0
  config.num_steps = 12
  config.dtype = "float64"
  config.seed = 0                # unused (nothing random); kept for the runner
  return config

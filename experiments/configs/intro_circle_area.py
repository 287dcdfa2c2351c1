"""Learning pi from circles: area = theta * r^2 fit by gradient descent on the quadratic loss.

Commands:
  python -m experiments intro_circle_area
  python -m experiments intro_circle_area --config.scaling=standardize --config.learning_rate=0.5
  python -m experiments intro_circle_area --config.data=generated
  python experiments/intro_circle_area.py --config=experiments/configs/intro_circle_area.py \\
      --workdir runs/circle
The lesson's table (radius -> area): 1 -> 3.14, 1.4 -> 6.15, 2 -> 12.56, 10 -> 314,
20 -> 1256. Model h = theta x with x = r^2, J = 1/(2m) sum (h - y)^2,
dJ/dtheta = 1/m sum (theta x - y) x (checked against jax.grad in the record).
Expected result: theta = 3.14 (the least-squares optimum of the table is 3.1400;
the table's areas are pi r^2 rounded, so theta comes out 3.14, not 3.14159...). On 1000
generated circles with 2 % noise: theta = 3.1425 standardized (intercept b = -0.22),
3.1416 with the rms scaling.
Scale: x = r^2 spans 1 to 400, so the curvature of J is c = mean(x^2) = 34004 and gradient
descent converges only for learning_rate < 2 / c = 5.9e-5; at 0.5 it diverges. Scaling the
feature to z = x / rms(x) (``rms``) or standardizing it, z = (x - mean) / std with an
intercept (``standardize``), makes c = 1: any rate below 2 converges, 1 in one step.
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ()
REPORT = (
    Row("intro_circle_area", "Intro: circle area, theta learned from the lesson's 5 circles",
        Course(), note="theta should be 3.14"),
    Row("intro_circle_area_generated",
        "Intro: circle area, 1000 noisy generated circles, standardized feature",
        Course(), overrides={"data": "generated", "scaling": "standardize",
                             "learning_rate": 0.5},
        note="theta should be near pi"),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.data = "table"          # "table": the lesson's 5 circles; "generated": noisy ones
  config.num_generated = 1000    # generated circles (r ~ U(0.5, 20))
  config.noise = 0.02            # relative measuring noise of the generated areas
  config.scaling = "none"        # "none" (x = r^2), "rms" (x / rms) or "standardize"
  config.learning_rate = 2.5e-5  # raw feature: must stay below 2 / 34004 = 5.9e-5
  config.num_iterations = 100
  config.record_every = 1
  config.compare_rate = 0.5      # one rate run on every scaling, for the comparison
  config.dtype = "float64"
  config.seed = 0
  return config

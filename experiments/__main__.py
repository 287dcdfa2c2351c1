"""One entry point for every experiment: ``python -m experiments <name> [flags]``.

    python -m experiments                      # list the experiments
    python -m experiments c1w3_planar --config.course_compat=True
    python -m experiments c1w3_planar --help   # its config fields and the flags
    python -m experiments report [--data_dir DIR] [--workdir DIR]

``EXPERIMENTS`` is an explicit registry (name -> app module and config module): adding
an experiment means adding one line here; ``tests/test_platform.py`` fails for a config
file that is not registered.
"""
import difflib
import sys
from typing import NamedTuple

from dlcourse import data
from experiments import (c1w2_logistic_cats, c1w3_planar, c1w4_deep_cats, c2w1_digits,
                         c2w1_gradient_checking, c2w1_initialization, c2w1_regularization,
                         c2w2_optimization, common, random_search)
from experiments.configs import c1w2_logistic_cats as c1w2_logistic_cats_config
from experiments.configs import c1w3_planar as c1w3_planar_config
from experiments.configs import c1w4_deep_cats as c1w4_deep_cats_config
from experiments.configs import c2w1_digits as c2w1_digits_config
from experiments.configs import c2w1_gradient_checking as c2w1_gradient_checking_config
from experiments.configs import c2w1_initialization as c2w1_initialization_config
from experiments.configs import c2w1_regularization as c2w1_regularization_config
from experiments.configs import c2w2_optimization as c2w2_optimization_config
from experiments.configs import random_search as random_search_config

CATS = (data.CAT_TRAIN_FILE, data.CAT_TEST_FILE)
FOOTBALL = (data.FOOTBALL_FILE,)


class Experiment(NamedTuple):
  app: object              # module with run(config, data_dir) -> (record, figures), NAME
  config: object           # module with get_config() and a docstring (line 1: summary)
  # The course files it reads, checked against their SHA-256 before anything runs: a
  # tuple, or a function of the config for experiments whose data depends on it.
  data_files: object = ()

  def files_for(self, config):
    return tuple(self.data_files(config) if callable(self.data_files) else self.data_files)

  @property
  def summary(self):
    """The first sentence of the config docstring's first paragraph."""
    paragraph = (self.config.__doc__ or "").strip().split("\n\n")[0]
    text = " ".join(paragraph.split())
    return text.split(". ")[0].rstrip(".") + "."


def _register(*experiments):
  return {e.app.NAME: e for e in experiments}


EXPERIMENTS = _register(
    Experiment(c1w2_logistic_cats, c1w2_logistic_cats_config, CATS),
    Experiment(c1w3_planar, c1w3_planar_config),
    Experiment(c1w4_deep_cats, c1w4_deep_cats_config, CATS),
    Experiment(c2w1_initialization, c2w1_initialization_config),
    Experiment(c2w1_regularization, c2w1_regularization_config, FOOTBALL),
    Experiment(c2w1_gradient_checking, c2w1_gradient_checking_config,
               lambda config: CATS if config.get("case") == "cats" else ()),
    Experiment(c2w1_digits, c2w1_digits_config),
    Experiment(c2w2_optimization, c2w2_optimization_config),
    Experiment(random_search, random_search_config,
               lambda config: CATS if config.get("problem") == "cats" else ()),
)

COMMANDS = {"report": "The reproduction report: course numbers vs ours, gradient checks, "
                      "timings (report.md + PNGs)."}


def listing(registry=None):
  """The usage text: one line per experiment, from its config's docstring."""
  registry = EXPERIMENTS if registry is None else registry
  width = max(len(n) for n in list(registry) + list(COMMANDS))
  lines = ["usage: python -m experiments <name> [--config.<field>=<value> ...] [flags]",
           "       python -m experiments <name> --help   (its config fields and flags)", "",
           "experiments:"]
  lines += [f"  {name:<{width}}  {e.summary}" for name, e in sorted(registry.items())]
  lines += ["", "commands:"]
  lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
  return "\n".join(lines)


def main(argv=None, registry=None):
  """Dispatches ``argv[1]``; returns the exit status (the CLI's one-line errors)."""
  argv = list(sys.argv if argv is None else argv)
  registry = EXPERIMENTS if registry is None else registry
  if len(argv) < 2 or argv[1] in ("-h", "--help", "help", "list"):
    print(listing(registry))
    return 0
  name, rest = argv[1], argv[2:]
  if name == "report":
    from experiments import report
    return report.main([f"{argv[0]} report"] + rest)
  if name not in registry:
    close = difflib.get_close_matches(name, list(registry) + list(COMMANDS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    print(f"error: unknown experiment {name!r}{hint} (run `python -m experiments` for the "
          "list)", file=sys.stderr)
    return common.EXIT_BAD_INPUT
  entry = registry[name]
  return common.launch(entry.app.run, name, entry.config.get_config,
                       argv=[f"python -m experiments {name}"] + rest, doc=entry.config.__doc__,
                       data_files=entry.files_for)


if __name__ == "__main__":
  sys.exit(main())

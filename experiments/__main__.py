"""``python -m experiments [<name> | report] [flags]``: see ``experiments.runner.cli``."""
import sys

from experiments.runner import cli

if __name__ == "__main__":
  sys.exit(cli.main())

"""benchmarks/benchmark.py's RESULTS.md: one section per machine kind, and a run replaces
only its own kind's section (the others' figures are never lost)."""
import numpy as np

from benchmarks import benchmark, course_runs


OLD = """# Benchmark results

Written by hand long ago.

## AMD EPYC, Zen 4 (AVX-512)

* date: 2026-11-21
### Targets
| a | 1 |

## Intel Xeon (AVX-512)

* date: 2026-12-01
| b | 2 |
"""


def test_a_run_replaces_its_own_section_and_keeps_the_others():
  merged = benchmark.merge_results(OLD, "Intel Xeon (AVX-512)",
                                   "## Intel Xeon (AVX-512)\n\n* date: 2026-12-04\n| c | 3 |\n")
  assert merged.startswith(benchmark.RESULTS_HEADER)
  assert "| c | 3 |" in merged and "| b | 2 |" not in merged
  assert "## AMD EPYC, Zen 4 (AVX-512)\n\n* date: 2026-11-21\n### Targets\n| a | 1 |" in merged
  assert merged.index("## Intel Xeon") < merged.index("## AMD EPYC")  # newest first
  assert merged.count("## Intel Xeon") == 1


def test_a_new_kind_is_added_and_a_quick_run_replaces_its_kind():
  merged = benchmark.merge_results(OLD, "AMD EPYC, Zen 3 (AVX2, no AVX-512)",
                                   "## AMD EPYC, Zen 3 (AVX2, no AVX-512)\n| z | 9 |\n")
  assert all(t in merged for t in ("| a | 1 |", "| b | 2 |", "| z | 9 |"))
  quick = benchmark.merge_results(merged, "Intel Xeon (AVX-512)",
                                  "## Intel Xeon (AVX-512) (--quick: tiny sizes)\n| q | 0 |\n")
  assert "| q | 0 |" in quick and "| b | 2 |" not in quick and "| z | 9 |" in quick


def test_targets_say_met_or_missed():
  assert course_runs.at_most("x", "", 1.4, 1.5).met
  assert not course_runs.at_most("x", "", 1.6, 1.5).met
  assert course_runs.at_least("x", "", 2.0, 2).met and course_runs.at_least("x", "", 2.0, 2).target == ">= 2"
  kind = course_runs.cpu_kind()
  assert kind["isa"] in ("AVX-512", "AVX2, no AVX-512", "no AVX2")
  assert kind["model"] in course_runs.kind_name(kind)


def test_the_report_rows_work_sums_their_core_seconds_and_halves_them():
  summary = {"rows": [{"wall_s": 10.0, "train_s": 8.0, "compile_s": 1.0},
                      {"wall_s": 4.0, "train_s": None, "compile_s": None}]}
  row = course_runs._work_row("course rows", summary)
  assert row.value == "14.0 core-s: 8.0 training, 1.0 compiling"
  assert row.ratio == 7.0 and row.met is None


def test_a_rows_compile_target_is_its_longest_program():
  row = {"id": "intro_letters", "mode": "default", "error": None, "compile_s": 1.3,
         "compile_parts_s": {"softmax": 0.8, "quadratic": 0.5}}
  single = dict(row, id="c2w2_adam", compile_s=0.4, compile_parts_s={})
  targets = course_runs.compile_targets({"generated": {"rows": [row, single]}})
  staged, plain = targets
  assert staged.ratio == 0.8 and staged.met and "(softmax)" in staged.name
  assert plain.ratio == 0.4 and not plain.met  # a small net: under 0.3 s


def test_every_2d_net_is_held_to_the_small_net_compile_target():
  rows = [{"id": rid, "mode": "jax", "error": None, "compile_s": 0.4, "compile_parts_s": {}}
          for rid in ("c1w3_shallow", "c2w1_init_he", "c2w1_reg_dropout", "c2w2_adam",
                      "c1w4_l_layer", "c2w1_digits")]
  met = [t.met for t in course_runs.compile_targets({"generated": {"rows": rows}})]
  assert met == [False, False, False, False, True, True]   # 0.3 s for the 2-D sets, else 1 s


def test_the_l_layer_floor_reads_the_peak_of_its_own_rounds():
  """The 2048^2 floor uses the square product timed in the L-layer's race (square_s),
  not the run's best peak, which a drifting host may have reached in a faster spell."""
  machine = benchmark.Machine(1)
  m = 209
  machine.products[(benchmark.CAT_NET[1], benchmark.CAT_NET[0], m)] = [1e-3, 1e-3]
  square_s = 0.08                        # 2 * 2048^3 / 0.08 s = 214.7 GFLOP/s
  r = {"iterations": 2500, "manual_s": 3.0, "autodiff_s": 3.0, "numpy64_s": 12.0,
       "numpy32_s": 6.0, "gram_s": 0.2, "torch_s": None, "square_s": square_s}
  rows = {row.name: row for row in benchmark.l_layer_rows(r, machine, m, run_peak=3.2e11)}
  ratio = next(row for name, row in rows.items() if "/ FLOP floor at the 2048^2" in name)
  floor = benchmark.net_flops(benchmark.CAT_NET, m) * 2500 * square_s / (2.0 * 2048 ** 3)
  assert abs(ratio.ratio - 3.0 / floor) < 1e-9
  shown = next(row for name, row in rows.items() if "floor at the 2048^2 matmul" in name)
  assert "214.7 GFLOP/s" in shown.value and "320.0 GFLOP/s" in shown.value


def test_the_split_sweeps_child_runs_with_or_without_the_projects_xla_options():
  ours = "--xla_dump_to=/tmp/x --xla_cpu_use_fusion_emitters=false"
  environ = {"XLA_FLAGS": ours, "PATH": "/bin"}
  cli_env = benchmark.child_env(environ, 2, True, "--xla_dump_to=/tmp/x")
  assert cli_env["XLA_FLAGS"] == ours and cli_env["JAX_NUM_CPU_DEVICES"] == "2"
  own = benchmark.child_env(environ, 2, False, "--xla_dump_to=/tmp/x")
  assert own["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"   # the user's flags, not ours
  assert own["DLCOURSE_XLA_DEFAULTS"] == "0" and own["PATH"] == "/bin"
  assert "XLA_FLAGS" not in benchmark.child_env(environ, 2, False, None)
  assert environ["XLA_FLAGS"] == ours                 # the parent's is left alone


def test_the_split_sweep_rows_say_the_target_and_the_xla_own_ratio():
  s = {"models": 64,
       "logistic": {"sequential_s": 4.0, "primal_s": 1.0, "gram_s": 0.1, "iterations": 300},
       "moons": {"sequential_s": 0.6, "primal_s": 0.4, "iterations": 2000},
       "l_layer": {"primal_s": 2.0, "gram_s": 1.0, "iterations": 30, "gram_iterations": 300}}
  cores = {"devices": 2, "iterations": 2000, "sequential_s": 0.64, "split_s": 0.16,
           "xla_own": {"iterations": 2000, "sequential_s": 0.62, "split_s": 0.124}}
  machine = benchmark.Machine(1)
  machine.products[(64 * benchmark.CAT_NET[1], benchmark.CAT_NET[0], 209)] = [1e-3, 1e-3]
  rows = {row.name: row for row in benchmark.sweep_rows(s, cores, machine, 209)}
  target = rows["moons sweep, models split over 2 cores / sequential"]
  assert target.ratio == 4.0 and target.met
  own = next(row for name, row in rows.items() if "XLA's own fusion emitters" in name)
  assert abs(own.ratio - 5.0) < 1e-12 and own.met is None
  del cores["xla_own"]
  assert not any("XLA's own" in row.name
                 for row in benchmark.sweep_rows(s, cores, machine, 209))


def test_the_course_compatible_rows_show_the_float64_peak_floor():
  """Every FLOP of the float64 run at the 2048^2 float64 peak of its own rounds: NumPy's
  time over that floor is the most its ratio to ours could read."""
  from experiments.runner.rows import Course   # pylint: disable=import-outside-toplevel
  dims, m, iterations = (12288, 20, 7, 5, 1), 209, 2500
  flops = course_runs.net_flops(dims, m) * iterations
  run = {"train_s": 8.0, "numpy64_s": 12.0, "dims": dims, "m": m, "iterations": iterations,
         "peak64": flops / 5.0,     # a floor of 5 s
         "course": Course(98.56, 80.0), "record": {"costs": [], "train_accuracy": 0.9856,
                                                   "test_accuracy": 0.8}}
  rows = {row.name: row for row in course_runs.course_compat_targets({"l_layer": run})}
  floor = next(row for name, row in rows.items() if "FLOP floor at the 2048^2 float64" in name)
  assert floor.value.startswith("5.000 s") and floor.met is None
  ours = next(row for name, row in rows.items() if "ours / that floor" in name)
  most = next(row for name, row in rows.items() if "NumPy float64 / that floor" in name)
  assert abs(ours.ratio - 1.6) < 1e-12 and abs(most.ratio - 2.4) < 1e-12
  assert most.met is None and ours.met is None
  del run["peak64"]   # no peak measured: no floor rows
  assert not any("floor" in row.name
                 for row in course_runs.course_compat_targets({"l_layer": run}))


def test_the_bytes_floors_blocked_read_covers_every_feature_once():
  """The blocked read behind the logistic rows' bytes floor: contiguous blocks of at most
  READ_BLOCK_FEATURES features, covering all n of them, and a bandwidth that counts
  X's bytes once per pass."""
  for n in (1, 767, 768, 769, 12288):
    cuts = benchmark.read_block_cuts(n)
    widths = np.diff(cuts)
    assert cuts[0] == 0 and cuts[-1] == n
    assert widths.min() >= 1 and widths.max() <= benchmark.READ_BLOCK_FEATURES
  assert len(benchmark.read_block_cuts(12288)) - 1 == 16
  X = np.random.default_rng(0).random((1600, 40), dtype=np.float32)
  rate = benchmark.Machine(1).read_bandwidth(X, inner=2)
  assert np.isfinite(rate) and rate > 0


def _missed_rows(text):
  """The first cell of every row of RESULTS.md whose verdict cell reads MISSED."""
  return [line.split("|")[1].strip() for line in text.splitlines()
          if line.startswith("|") and line.rstrip().rstrip("|").rstrip().endswith("MISSED")]


def test_every_miss_in_results_has_what_the_profiles_say():
  """A target that RESULTS.md records as missed, on any machine kind, has its
  explanation in benchmark.MISSED_WHY (a new kind of miss fails here until profiled)."""
  misses = _missed_rows(benchmark.RESULTS.read_text())
  assert len(misses) >= 10          # the file's recorded misses are read at all
  unexplained = sorted({name for name in misses if benchmark.why_missed(name) is None})
  assert unexplained == []


def test_the_missed_table_groups_misses_by_their_explanation():
  misses = [("compile: report row c2w2_adam [course]", "0.50, target <= 0.3"),
            ("logistic regression, 2000 it: NumPy float32 / ours", "0.96, target >= 1"),
            ("compile: report row c2w1_reg_none [jax]", "0.40, target <= 0.3"),
            ("compile: a new program", "1.200 s, target < 1 s")]
  table = benchmark.missed_table(misses).splitlines()
  assert table[0] == "### Missed targets, and what the profiles say"
  rows = [line for line in table if line.startswith("| ") and "---" not in line][1:]
  assert len(rows) == 3             # the two small-net compiles share one explanation
  assert rows[0].startswith("| compile: report row c2w2_adam [course] (0.50, target <= 0.3); "
                            "compile: report row c2w1_reg_none [jax] (0.40, target <= 0.3) |")
  assert "OpenBLAS" in rows[1]
  assert rows[2].endswith(f"| {benchmark.NO_PROFILE} |")
  assert benchmark.missed_table([]) == "Missed: none."
  assert benchmark.why_missed("L-layer [12288, 20, 7, 5, 1], 2500 it: manual / jax.grad") is None

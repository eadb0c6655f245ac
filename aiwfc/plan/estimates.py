"""Every number the planner assumes when the workflow does not say, in one place.

The planner and the cost model need figures a workflow rarely declares: how long an
item takes when there is no `runtime ~`, how big an output file is, how many items a
run-time list will hold. Each is a named constant here with the reason for its value,
so `--explain`, spec/plan.md and a reviewer can see what a figure rests on. None of
them changes what runs; they change only walltimes (with a margin) and cost figures.
"""

from __future__ import annotations

# ---------------------------------------------------------------- runtimes and walltimes

#: Per-item runtime when a phase declares neither `runtime ~` nor a resource walltime.
DEFAULT_RUNTIME_S = 600
#: A job's walltime is its runtime estimate times this margin (estimates are optimistic).
WALLTIME_MARGIN = 1.5
#: Walltimes are rounded up to whole minutes, and are never below one minute.
WALLTIME_QUANTUM_S = 60

# ---------------------------------------------------------------- item counts

#: Items assumed for a `foreach` whose list is only known at run time (another phase's
#: list output, or a dataset without `files`). A loop-carried scatter instead assumes
#: every iteration has as many items as the first.
DYNAMIC_ITEMS = 100

# ---------------------------------------------------------------- data

#: Passes over a `read_many` dataset a task makes when it reads it from the shared file
#: system (say, training epochs); once staged, it is read from node-local scratch.
READ_MANY_PASSES = 10
#: Bytes assumed for one output of each type (ports declare no size).
FILE_OUTPUT_BYTES = 16 * 2**20
DIR_OUTPUT_BYTES = 256 * 2**20
VALUE_OUTPUT_BYTES = 4 * 2**10
#: Files assumed in a `dir` output (one metadata operation each when read or written).
DIR_OUTPUT_FILES = 16
#: Shared-file-system files every scheduler task creates: its stdout and stderr logs.
LOG_FILES_PER_TASK = 2
#: Throughput of the archive step of an aggregated dataset (read files, write one archive).
ARCHIVE_BYTES_PER_S = 200 * 10**6
#: Per-file cost of the archive step (metadata-bound on a parallel file system).
ARCHIVE_S_PER_FILE = 0.002

# ---------------------------------------------------------------- scheduling

#: Delay between a job becoming eligible and its tasks starting, per wave of tasks
#: (what clustering amortises; Pegasus reports tens of seconds on busy clusters).
DISPATCH_LATENCY_S = 30
#: Walltime of the job that deletes an aggregated dataset's archive after its readers.
CLEANUP_WALLTIME_S = 300
#: Minimum walltime of the job that builds an aggregated dataset's archive.
ARCHIVE_MIN_WALLTIME_S = 600

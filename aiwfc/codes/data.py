"""AIWF5xx: data gravity and I/O."""

from aiwfc.codes.registry import define
from aiwfc.diagnostics import Severity as S

SMALL_FILES = define(
    "AIWF501", "small-files", S.WARNING,
    "dataset `{dataset}` holds {files} files of about {avg} each and is read without aggregation",
    summary="Many small files (average under 1 MiB, more than 1,000 of them) read straight from the shared file system.",
    why="Metadata operations on parallel file systems are the bottleneck, not bytes: aggregate small files "
        "into one container (HDF5, tar) or let the planner stage them as one archive.",
    example='dataset frames { path = "data/frames" files = 100000 size = 2GiB }',
    instead='dataset frames { path = "data/frames" files = 100000 size = 2GiB  stage = aggregate }')

READ_MANY_ON_SHARED = define(
    "AIWF502", "read-many-on-shared", S.WARNING,
    "dataset `{dataset}` is read many times (`access = read_many`) from the shared file system",
    summary="A dataset read repeatedly (epochs) that stays on the shared tier and is not staged.",
    why="Design for data gravity: copy it once to node-local scratch and read it there.",
    example='dataset train { path = "data/train" access = read_many }',
    instead='dataset train { path = "data/train" access = read_many  stage = scratch }')

HUGE_FOREACH = define(
    "AIWF503", "huge-foreach", S.WARNING,
    "`foreach` in `{phase}` fans out to {count} tasks without `batch`",
    summary="A scatter over more than 10,000 items without a batch size.",
    why="Very large task counts overwhelm schedulers; batch items into array tasks deliberately.",
    example='simulation md { foreach i in range(100000) ... }',
    instead='simulation md { foreach i in range(100000) batch = 100 ... }')

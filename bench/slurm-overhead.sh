#!/bin/sh
# bench/slurm-overhead.sh BUILD_DIR [N]: the cost of gridrun_spank.so per srun
# (BENCHMARKS.md): tests/slurm.t's one-node cluster, N (20) interleaved pairs
# of plain `srun true` and `srun --gridrun true` (a pool user, root's gridrun).
BUILD=$(cd "${1:?usage: bench/slurm-overhead.sh BUILD_DIR [N]}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
GRIDRUN_SLURM_BENCH=${2:-20} GRIDRUN=$BUILD/gridrun GRIDRUN_BUILD=$BUILD GRIDRUN_SRC=$SRC \
	exec "$SRC/tests/slurm.t"

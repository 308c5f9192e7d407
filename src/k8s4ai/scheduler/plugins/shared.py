"""Scales the published GPU-sharing policies normalise by: the largest node shape in the
Alibaba cluster (128 CPU cores, 8 GPUs), so scores mean the same on every cluster."""

MAX_NODE_CPU_MILLI = 128_000
MAX_NODE_GPU_MILLI = 8_000

"""GPU memory as a resource: MIG layouts (`mig`), fractional GPUs packed by memory (`packing`),
model weights resident on GPUs (`residency`), what an inference replica needs (`sizing`), and
the placers that put replicas on GPUs whole, as MIG instances or by memory (`placers`,
`vram_placer`). Everything here is pure: time comes in as an argument."""

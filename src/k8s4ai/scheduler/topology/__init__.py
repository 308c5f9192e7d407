"""Topology-aware gang placement: the cluster as a tree of domains with bandwidth per level
(`tree`), the smallest domain that fits a gang (`placement`), and the gang placer that puts
it on a snapshot (`placer`)."""

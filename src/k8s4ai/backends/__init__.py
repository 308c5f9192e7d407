"""Backends turn scheduler decisions into reality: the simulated cluster and Kubernetes."""

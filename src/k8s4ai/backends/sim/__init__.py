"""The simulated cluster: a deterministic discrete-event kernel and the scenarios on it."""

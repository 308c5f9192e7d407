"""The scheduler core: pure functions of a cluster snapshot and pending work, returning
decisions with the reason for every pod it did not place. Policies are plugins."""

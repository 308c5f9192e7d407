"""Job-level admission: queues with quotas in cohorts, gangs admitted all-or-nothing, fair
share, preemption priced by lost work, and a reason for every job left waiting."""

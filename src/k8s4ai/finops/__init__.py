"""FinOps: what GPU, CPU, memory and storage cost, per team, experiment, model or any label.

A pure core (pricing, ledger, allocation) that controllers, the server and the CLI feed with
intervals and prices; it does no I/O beyond the explicit price-file importer.
"""

"""Batch scoring: records in force, points, grades, lists, ranks, decisions, snapshots.

``run_scoring`` reads the ledger as recorded by a moment, scores every registered
subject as of a date under the effective policies, and publishes a snapshot
atomically; ``explain`` decomposes one subject's score into its records; a
:class:`Snapshot` answers look-ups and checks. The CLI and API are thin callers.
"""

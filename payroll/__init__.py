"""The monthly cycle: calculate, approve, export, reconcile, report, audit. Joins engine, formats, ledgers, files."""

"""The tabular world: Arrow schemas, validated readers, rule catalogues, Arrow <-> engine arrays, generator."""

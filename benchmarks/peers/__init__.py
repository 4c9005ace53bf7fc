"""Adapters for the tools a user would pick instead of isplata, each doing the comparison's work the way that
tool's users do it: OpenFisca-core for the means-tested rules, sepaxml for pain.001, a row-wise psycopg COPY with a
Python hash chain for the ledger. OpenFisca and sepaxml come from the optional `bench` extra."""

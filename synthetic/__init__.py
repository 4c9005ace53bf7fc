"""Synthetic data for the demo, the tests and the benchmarks: registers (people, rights, payees and orders, the
next month), payment tables for the file writers, and the files a bank sends back. Nothing here is used to pay a
real register; payroll and cli call it, formats, ledgers and bank_exports never do."""

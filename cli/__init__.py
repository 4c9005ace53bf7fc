"""click commands: parse options, call one payroll/ or ledgers/ function, print. No business logic."""

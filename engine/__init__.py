"""Pure computation over numpy arrays: entitlements, arrears, deductions, netting (Numba kernels)."""

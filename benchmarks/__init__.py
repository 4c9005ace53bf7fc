"""Benchmarks of isplata: pytest-benchmark suites (`bench_<area>.py`), the side-by-side comparison with the tools
a user would pick instead (`python -m benchmarks.compare`, peers in `benchmarks/peers/`) and the national-scale
run (`benchmarks/national_scale.py`)."""

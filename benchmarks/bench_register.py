"""Register validation and conversion (formats.register.read_register, formats.convert.register_arrays): read
five Parquet files, conform them to the schemas, check every rule, then build the engine's arrays, as calculate
does before any computation. Goals: 1,000,000 rights <= 4 s, 10,000,000 rights <= 40 s for validate + convert.
The normal test run uses a tiny size, once:

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_register.py --benchmark-enable
    .venv/bin/python -m benchmarks.bench_register --data /work/data/reg1m --repeat 3   # fresh processes:
        wall, CPU and peak RSS of each stage (10M rights: wrap in `flock /tmp/bigrun.lock`)

Each fresh-process run measures one read + validate + convert in a new interpreter (kernels from the disk
cache), so the peak RSS is that of a calculate run up to its conversion.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from formats.register import read_register
from synthetic.register import generate_register

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
SIZES = [100_000, 1_000_000] if FULL else [2_000]


@pytest.fixture(scope="module", params=SIZES)
def register_folder(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"register{request.param}")
    generate_register(folder, request.param, 7, "2025-11", "me")
    return folder, request.param


def test_read_register(benchmark, register_folder):
    folder, n_rights = register_folder
    catalogue = load_catalogue()
    register = benchmark.pedantic(read_register, args=(folder, catalogue), rounds=5 if FULL else 1,
                                  iterations=1, warmup_rounds=1 if FULL else 0)
    assert len(register["rights"].column("right_id").unique()) == n_rights


def test_register_arrays(benchmark, register_folder):
    folder, n_rights = register_folder
    catalogue = load_catalogue()
    register = read_register(folder, catalogue)
    arrays = benchmark.pedantic(register_arrays, args=(register, catalogue), rounds=5 if FULL else 1,
                                iterations=1, warmup_rounds=1 if FULL else 0)
    assert arrays.n_rights == n_rights


def test_fresh_process_stages(register_folder):
    folder, n_rights = register_folder
    stages = fresh_run(folder)
    assert [stage["stage"] for stage in stages] == ["validate", "convert"]
    assert stages[-1]["rights"] == n_rights


# ---- fresh process ------------------------------------------------------------------------------------------

STAGE_SCRIPT = r"""
import json, sys, time
from formats.catalogue import load_catalogue
from formats.convert import register_arrays
from formats.register import read_register

def peak_gib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 2**20

catalogue = load_catalogue()
import engine.entitlement  # imports and kernel loading are not the register's work
stages = []
wall, cpu = time.perf_counter(), time.process_time()
register = read_register(sys.argv[1], catalogue)
stages.append(dict(stage="validate", wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu,
                   peak_gib=peak_gib()))
wall, cpu = time.perf_counter(), time.process_time()
arrays = register_arrays(register, catalogue)
stages.append(dict(stage="convert", wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu,
                   peak_gib=peak_gib(), rights=int(arrays.n_rights)))
print(json.dumps(stages))
"""


def fresh_run(folder) -> list[dict]:
    """Stages of one read + validate + convert in a new interpreter: wall, CPU (all threads), peak RSS."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", STAGE_SCRIPT, str(folder)], check=True, capture_output=True,
                          text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="register folder (e.g. from isplata generate)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [fresh_run(args.data) for _ in range(args.repeat)]
    for position, name in enumerate(("validate", "convert")):
        stage = [run[position] for run in runs]
        print(f"{name:9} median wall {statistics.median(s['wall_s'] for s in stage):6.2f} s, "
              f"CPU {statistics.median(s['cpu_s'] for s in stage):6.2f} s, "
              f"peak RSS {max(s['peak_gib'] for s in stage):5.2f} GiB")
    total = [sum(s["wall_s"] for s in run) for run in runs]
    cpu = [sum(s["cpu_s"] for s in run) for run in runs]
    print(f"validate + convert, {runs[0][-1]['rights']:,} rights: median wall {statistics.median(total):.2f} s, "
          f"CPU {statistics.median(cpu):.2f} s (runs {[round(t, 2) for t in total]})")


if __name__ == "__main__":
    main()

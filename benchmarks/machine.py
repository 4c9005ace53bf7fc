"""A description of the machine and software a measurement ran on, so that a figure in README can be judged:
CPU model, cores, memory, OS, Python, the versions of the packages that do the work, PostgreSQL's version."""
import datetime as dt
import importlib.metadata
import os
import platform

PACKAGES = ("numpy", "numba", "pyarrow", "lxml", "psycopg", "SQLAlchemy", "openfisca-core",
            "openfisca-country-template", "sepaxml", "xmlschema")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2 ** 20, 1)
    except OSError:
        pass
    return None


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


PG_SETTINGS = ("shared_buffers", "wal_buffers", "max_wal_size")


def postgres_version(url: str | None) -> str | None:
    if not url:
        return None
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            # the settings a bulk ledger write depends on most (README: PostgreSQL for a national payroll)
            settings = [f"{name} {conn.execute(f'SHOW {name}').fetchone()[0]}" for name in PG_SETTINGS]
            return f"{version}; {', '.join(settings)}"
    except Exception as exc:  # unreachable: say so instead of failing the description
        return f"unreachable ({type(exc).__name__})"


def describe(pg_url: str | None = None) -> dict:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {
        "measured_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(), "cores": cores, "usable_cores": usable, "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "packages": {name: package_version(name) for name in PACKAGES},
        "postgresql": postgres_version(pg_url),
    }


def one_line(machine: dict) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    return (f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['memory_gib']} GiB RAM, "
            f"{machine['os']}, Python {machine['python']}, PostgreSQL {machine['postgresql']}; {packages}")

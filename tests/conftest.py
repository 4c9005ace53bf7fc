"""Shared fixtures. PostgreSQL tests run against ISPLATA_TEST_PG; in CI (CI set) an unreachable server fails the run."""
import os
from pathlib import Path

import pytest

PG_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
# tests read English unless they ask for a language (--lang uk): also in module- and session-scoped fixtures, which
# run before the per-test fixture below
os.environ["ISPLATA_LANG"] = "en"


def pg_url() -> str:
    return os.environ.get("ISPLATA_TEST_PG", PG_URL_DEFAULT)


def _pg_reachable(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return None
    except Exception as exc:  # any failure means unreachable; the reason is shown
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL test database (psycopg 3 DSN form)."""
    url = pg_url()
    reason = _pg_reachable(url)
    if reason is not None:
        message = f"PostgreSQL unreachable at {url} ({reason})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires it", pytrace=False)
        pytest.skip(message + "; set ISPLATA_TEST_PG or start the server")
    return url


@pytest.fixture(scope="session")
def postgres_sqlalchemy_url(postgres_url) -> str:
    """The same database as a SQLAlchemy URL (postgresql+psycopg://)."""
    return postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)


def pytest_sessionstart(session):
    # fail fast in CI: a run that cannot reach PostgreSQL must not pass by skipping
    if os.environ.get("CI") and _pg_reachable(pg_url()) is not None:
        raise pytest.UsageError(f"CI requires PostgreSQL at {pg_url()}: {_pg_reachable(pg_url())}")


@pytest.fixture
def pg_schema_url(postgres_url):
    """A SQLAlchemy URL whose connections see only a fresh, private schema (dropped afterwards).

    Tests of several packages (and several test processes) share one database; a schema each keeps them apart.
    """
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    base = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote('-csearch_path=' + schema)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"drop schema {schema} cascade")


@pytest.fixture(autouse=True)
def _no_background_compile_state(monkeypatch):
    """Each test starts as a process that started no background compile (payroll.warmup), and leaves none behind:
    a command run in-process (CLI tests) leaves the state enabled, and later tests' calculations would then start
    real background processes that outlive the test."""
    from payroll import warmup

    for name in ("_started", "_enabled", "_waiting", "_due_started"):
        monkeypatch.setattr(warmup, name, [])
    monkeypatch.setattr(warmup.jit, "compiling_elsewhere", warmup.jit.compiling_elsewhere)
    yield
    # a command run in-process that started the entitlement kernel's process and never gave it its gates: its pipe
    # closed here (the process reads nothing and ends), not left to the collector as an unclosed file, whose
    # ResourceWarning would fail whichever later test the collection happened in
    for process in warmup._waiting:
        if getattr(process, "stdin", None) is not None:
            process.stdin.close()


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path, monkeypatch):
    """Every test runs in its own temporary working directory: commands that write to the working directory by
    default (reconcile's per-file outputs) never write into the repository or next to an input file. The
    repository stays importable for the child processes tests start (`python -m benchmarks.compare`, scripts).
    Messages are in English (ISPLATA_LANG=en) unless a test asks for another language."""
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("ISPLATA_LANG", "en")  # tests read English unless they ask for a language (--lang uk)
    monkeypatch.setenv("ISPLATA_CACHE", str(tmp_path / ".cache"))  # catalogues compiled on first use go here
    from formats import i18n

    i18n.reset()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    monkeypatch.chdir(tmp_path)

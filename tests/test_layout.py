"""Project hygiene: the import direction of DESIGN.md, read from the source with ast, and a documented CLI
(every command and group has help text with an example, every option says what it does)."""
import ast
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("engine", "formats", "ledgers", "bank_exports", "synthetic", "payroll", "cli", "rules", "benchmarks",
           "tests")

# package -> (project packages it may import, third-party distributions it may import; None = any)
ALLOWED = {
    "engine": ({"engine"}, {"numpy", "numba"}),
    "formats": ({"formats", "engine"}, None),
    "ledgers": ({"ledgers", "engine", "formats"}, None),
    "bank_exports": ({"bank_exports", "engine", "formats"}, None),
    "synthetic": ({"synthetic", "engine", "formats", "bank_exports"}, None),
    "payroll": ({"payroll", "engine", "formats", "ledgers", "bank_exports", "synthetic", "rules"}, None),
    "cli": ({"cli", "payroll", "ledgers", "synthetic"}, {"click", "rich"}),
}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module imported anywhere in the file (also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: stays inside the file's own package
                names.add(path.relative_to(ROOT).parts[0])
            elif node.module:
                names.add(node.module.split(".")[0])
    return names


def import_violations(package: str) -> list[str]:
    allowed_project, allowed_external = ALLOWED[package]
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            if name in PROJECT:
                ok = name in allowed_project
            elif name in sys.stdlib_module_names or name == "__future__":
                ok = True
            else:
                ok = allowed_external is None or name in allowed_external
            if not ok:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_import_direction(package):
    assert (ROOT / package / "__init__.py").is_file()
    assert import_violations(package) == []


def test_import_check_catches_a_wrong_import(tmp_path, monkeypatch):
    """The checker itself: a formats module importing payroll, and cli importing pyarrow, are found."""
    for package, source in (("formats", "from payroll import cycle\n"), ("cli", "def f():\n    import pyarrow\n")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "bad.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert import_violations("formats") == [str(Path("formats/bad.py")) + " imports payroll"]
    assert import_violations("cli") == [str(Path("cli/bad.py")) + " imports pyarrow"]


# ---- the command line documents itself ------------------------------------------------------------------------

def all_commands():
    from cli.main import main

    found = []

    def walk(command, path):
        found.append((" ".join(path), command))
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                walk(sub, path + [name])

    walk(main, ["isplata"])
    return found


def test_cli_has_the_commands_of_design():
    names = {path for path, _ in all_commands()}
    for expected in ("isplata generate", "isplata validate"):
        assert expected in names


def test_every_command_has_help_with_an_example():
    missing = []
    for path, command in all_commands():
        text = (command.help or "").strip()
        if not text:
            missing.append(f"{path}: no help text")
        elif "Example" not in text or "isplata" not in text.split("Example", 1)[1]:
            missing.append(f"{path}: help has no 'Example' with an isplata command line")
    assert missing == []


def test_every_option_has_help():
    missing = [f"{path} {param.opts[0]}" for path, command in all_commands() for param in command.params
               if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
               and param.name not in ("help", "version")]
    assert missing == []


def test_every_help_page_renders():
    from click.testing import CliRunner

    from cli.main import main

    for path, _ in all_commands():
        result = CliRunner().invoke(main, path.split()[1:] + ["--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output

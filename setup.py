"""Build hook: compile the gettext catalogues (formats/locale/*/LC_MESSAGES/isplata.po) into .mo files, into the
wheel for a normal install and beside the .po for an editable one (`pip install -e .`). Everything else is in
pyproject.toml. formats.i18n compiles a missing or stale .mo on first use, so a source checkout works too."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path("formats") / "locale"


def compile_catalogues(target_root: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_file in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo_file = target_root / po_file.with_suffix(".mo")
        mo_file.parent.mkdir(parents=True, exist_ok=True)
        with open(po_file, "rb") as source:
            catalog = read_po(source)
        with open(mo_file, "wb") as target:
            write_mo(target, catalog)


class BuildWithCatalogues(build_py):
    def run(self):
        super().run()
        editable = getattr(self, "editable_mode", False)
        compile_catalogues(Path(".") if editable else Path(self.build_lib))


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import compile_catalogues
    setup(cmdclass={"build_py": BuildWithCatalogues})

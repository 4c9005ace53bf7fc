"""Rule catalogues as data: montenegro.toml (default), serbia.toml, ukraine.toml."""

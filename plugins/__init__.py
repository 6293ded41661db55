"""Built-in jurisdiction plugins, one package per jurisdiction (data in TOML beside each)."""

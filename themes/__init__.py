"""Built-in themes (TOML) and the app stylesheet, shipped as package data."""

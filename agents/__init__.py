"""Built-in agent definitions (Markdown with YAML front matter), shipped as package data."""

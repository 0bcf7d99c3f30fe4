"""The built-in offline model: a litellm custom provider that plays scripted, deterministic sessions."""

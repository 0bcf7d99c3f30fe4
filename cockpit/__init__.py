"""cockpit: a terminal cockpit for directing a team of AI agents."""

__version__ = "0.1.0"

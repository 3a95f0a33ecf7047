"""hex-action: run published Hex projects from CI (trigger, wait, cancel, report)."""

__version__ = "0.1.0"

"""hex-action: run published Hex projects from CI (trigger, wait, cancel, report)."""

__version__ = "1.0.0"

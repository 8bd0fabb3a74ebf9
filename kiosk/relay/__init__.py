"""Part of the hall service."""

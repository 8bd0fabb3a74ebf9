"""Backups of a hall: one file with a manifest and checksums, restore, and the daily automatic copy."""

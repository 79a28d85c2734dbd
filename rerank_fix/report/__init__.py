"""Reports a person can read: markdown / JSON / HTML tables and matplotlib plots."""

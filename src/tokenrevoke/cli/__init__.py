"""The `tokenrevoke` command line."""

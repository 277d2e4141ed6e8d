"""Security tests: secrets, files and folders (docs/security.md)."""

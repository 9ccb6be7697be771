"""Helpers shared by the test folders (importable as `support.*`: tests/conftest.py puts tests/ on sys.path)."""

"""Shared by every test folder. pytest puts the folder of this rootdir conftest (tests/) on sys.path,
so the helpers in tests/support/ import as `support.*` from any test folder."""

"""Browser tests of the web console (see conftest.py)."""

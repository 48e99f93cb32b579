"""Tools around the app, not part of it: the benchmark (`python -m tools.bench`), the load test, and
the browser helpers they share with the tests. They need requirements-dev.txt (Playwright, Chromium)."""

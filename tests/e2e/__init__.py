"""End-to-end tests: `scr dashboard` in a real headless Chromium."""

"""Local run of the whole system: migrations as their own step, then the process supervisor."""

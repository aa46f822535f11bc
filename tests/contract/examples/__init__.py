"""One module per publishing service: ``EXAMPLES``, an instance of every message it publishes,
with realistic values. The catalogue test reads each through every consumer's reader."""

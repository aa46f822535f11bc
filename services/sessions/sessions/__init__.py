"""Merchants, chargers, exclusive sessions, billing events, offer codes."""

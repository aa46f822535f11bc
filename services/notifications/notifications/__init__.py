"""Merchant SMS, inbound SMS, delivery status, analytics events."""

"""Machinery both fakes share: fault book, call counters, clock, background tasks, admin routes.

A fake provider (``tests.fakes.twilio``, ``tests.fakes.stripe``) builds an aiohttp application with
:func:`tests.fakes.core.app.new_app`, registers its provider routes through
:meth:`tests.fakes.core.state.FakeCore.endpoint` (which counts the call, applies the injected
faults and records the request) and gets the generic admin API of
:mod:`tests.fakes.core.admin` for free.
"""

"""OTP verify end to end on one uvicorn worker: fake Twilio, Redis, Postgres, EdDSA signing."""

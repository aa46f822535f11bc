"""Phone OTP sign-in, users and roles, refresh-token sessions, consent, JWKS."""

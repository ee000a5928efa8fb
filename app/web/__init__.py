"""The HTTP edge every request and answer passes: security headers and input guards."""

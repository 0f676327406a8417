"""HTTP: parse requests, call the protocol services, render responses. No business rules."""

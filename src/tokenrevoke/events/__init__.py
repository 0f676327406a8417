"""Revocation events leave the server: Security Event Tokens pushed to receivers
(RFC 8417, RFC 8935), a Server-Sent Events stream, and Redis pub/sub. Every one of them
reads the store's outbox, which each revocation writes in its own transaction."""

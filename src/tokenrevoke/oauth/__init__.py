"""Protocol logic, framework-free: client authentication, grants, revocation, introspection,
discovery. Services take parsed requests and return results or raise OAuthError."""

"""Client authentication, shared by the token, revocation and introspection endpoints.

Supported: client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt
(RFC 7523, replayed `jti` rejected), tls_client_auth and self_signed_tls_client_auth
(RFC 8705), `none` for public clients, and, where the endpoint allows it (Janssen's
/revoke), a Bearer access token owned by the client. A client may only use the method it
is registered for.

One module per job, as Authlib splits its RFCs: which method a request presents and the
shared secrets (authenticator.py), JWT assertions with their JWKS cache (assertion.py),
mutual TLS (mtls.py), the subject DN parser (dn.py), and the answers (outcome.py).
"""

from tokenrevoke.oauth.client_auth.authenticator import ClientAuthenticator
from tokenrevoke.oauth.client_auth.mtls import cert_thumbprint, jwks_certificates
from tokenrevoke.oauth.client_auth.outcome import (
    AuthenticatedClient,
    UnauthenticatedClientId,
    challenge_headers,
    holds_scope,
    require_client,
    require_confidential_client,
    unauthenticated,
)
from tokenrevoke.oauth.errors import OAuthError

__all__ = [
    "AuthenticatedClient",
    "ClientAuthenticator",
    "OAuthError",
    "UnauthenticatedClientId",
    "cert_thumbprint",
    "challenge_headers",
    "holds_scope",
    "jwks_certificates",
    "require_client",
    "require_confidential_client",
    "unauthenticated",
]

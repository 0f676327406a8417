"""The server's URL path prefixes, Janssen's (a Janssen client finds everything where it
would on Janssen). One place for the routes, the OpenAPI documents, the discovery
defaults, and the clients of this package (CLI, TUI, benchmarks) that call them."""

AUTH = "/jans-auth/restv1"
GLOBAL_TOKEN_REVOCATION_PATH = f"{AUTH}/global-token-revocation"
END_SESSION_PATH = f"{AUTH}/end_session"
REVOKE_SESSION_PATH = f"{AUTH}/revoke_session"
CONFIG_API = "/jans-config-api"
CONFIG_API_VERSION = "/api/v1"  # the config API's operations, under CONFIG_API
CONFIG_API_V1 = f"{CONFIG_API}{CONFIG_API_VERSION}"

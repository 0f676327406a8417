"""Administrative resources (tokens, clients, scopes, properties, feature flags, scripts)
and their scope checks, framework-free. Used by the config API's
HTTP side (web/configapi_app.py, web/configapi_handlers.py) and the CLI."""

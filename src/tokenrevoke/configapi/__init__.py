"""Administrative resources (tokens, clients, scopes, properties, feature flags, scripts)
and their scope checks, framework-free. Used by the config API routes and the CLI."""

"""Administrative operations on the store (clients, users, properties, feature flags,
scripts). One implementation, used by the local CLI commands and by the config API."""

# The server has one configuration: any id imports it.
terraform import jans_app_configuration.this global

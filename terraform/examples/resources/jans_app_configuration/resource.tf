# Manage the revocation-related settings of the auth server. Attributes left out are not
# managed: Terraform reads them, and never changes them.
resource "jans_app_configuration" "this" {
  feature_flags = ["REVOKE_TOKEN", "INTROSPECTION", "GLOBAL_TOKEN_REVOCATION"]

  allow_all_value_for_revoke_endpoint = true
  allow_revoke_for_other_clients      = false
  error_reason_enabled                = true

  introspection_restrict_basic_authn_to_own_tokens = true

  access_token_lifetime  = 300
  refresh_token_lifetime = 86400
}

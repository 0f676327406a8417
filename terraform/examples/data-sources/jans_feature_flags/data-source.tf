data "jans_feature_flags" "current" {}

output "revocation_enabled" {
  # An empty list means every feature is enabled.
  value = (length(data.jans_feature_flags.current.flags) == 0
  || contains(data.jans_feature_flags.current.flags, "REVOKE_TOKEN"))
}

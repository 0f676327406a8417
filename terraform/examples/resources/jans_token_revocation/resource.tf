variable "token_to_revoke" {
  type      = string
  sensitive = true
}

variable "compromised_token" {
  type      = string
  sensitive = true
}

variable "security_alert_id" {
  type = string
}

# Revoke a specific token
resource "jans_token_revocation" "revoke_token" {
  token_code = var.token_to_revoke
}

# Emergency revocation with triggers
resource "jans_token_revocation" "emergency" {
  token_code = var.compromised_token

  triggers = {
    alert_id  = var.security_alert_id
    timestamp = timestamp()
  }
}

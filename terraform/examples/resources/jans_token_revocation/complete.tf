terraform {
  required_providers {
    jans = {
      source = "jans/jans"
    }
  }
}

provider "jans" {
  url           = "https://your-janssen-server.example.com"
  client_id     = var.client_id
  client_secret = var.client_secret
}

# Revoke on client deactivation
resource "jans_token_revocation" "revoke_on_client_removal" {
  # Terraform refuses sensitive values as for_each keys (they would appear in every
  # resource address): each token is keyed by its SHA-256, Janssen's tknCde, instead.
  # token_code is sensitive in the provider's schema, so plans still show
  # "(sensitive value)" for it.
  for_each = nonsensitive({ for token in var.tokens_to_revoke : sha256(token) => token })

  token_code = each.value

  triggers = {
    client_id = var.deactivated_client_id
  }
}

variable "tokens_to_revoke" {
  description = "List of token codes to revoke"
  type        = list(string)
  sensitive   = true
  default     = []
}

variable "deactivated_client_id" {
  description = "Client ID being deactivated"
  type        = string
}

variable "client_id" {
  description = "Janssen client the provider authenticates as (scope token.delete)"
  type        = string
}

variable "client_secret" {
  type      = string
  sensitive = true
}

# The access tokens of one client, 20 at a time
data "jans_tokens" "client_tokens" {
  client_id   = var.client_id_to_audit
  pattern     = "access_token"
  limit       = 20
  start_index = 0
}

output "client_token_count" {
  value = data.jans_tokens.client_tokens.total_entries
}

# Revoke every token the search found (token_code is the tknCde, which the provider
# accepts as well as the raw token)
resource "jans_token_revocation" "client_tokens" {
  for_each = { for t in data.jans_tokens.client_tokens.tokens : t.token_code => t }

  token_code = each.value.token_code
}

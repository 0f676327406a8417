# Revoke old tokens when client secret is rotated
resource "jans_token_revocation" "rotate_tokens" {
  count = length(var.old_tokens)

  token_code = var.old_tokens[count.index]

  triggers = {
    client_secret_version = var.client_secret_version
  }
}

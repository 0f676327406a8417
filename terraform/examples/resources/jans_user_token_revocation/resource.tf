# Log a user out everywhere: every token of every client, and their sessions
resource "jans_user_token_revocation" "offboarded" {
  user_id = "jdoe" # the user's uid (login name) or inum
}

# Incident response: revoke again whenever a new alert names the user
resource "jans_user_token_revocation" "compromised" {
  user_id = var.compromised_user

  triggers = {
    alert_id = var.security_alert_id
  }
}

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

  # Optional:
  # ca_certificate  = "/etc/ssl/janssen-ca.pem" # a private CA
  # request_timeout = 30                         # seconds per HTTP request
  # max_retries     = 4                          # on connection errors, 5xx and 429
}

variable "client_id" {
  type = string
}

variable "client_secret" {
  type      = string
  sensitive = true
}

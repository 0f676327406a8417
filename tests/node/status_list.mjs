// An independent reading of our Token Status List: @sd-jwt/jwt-status-list decodes the
// Status List Token and the access tokens' `status` claims; Node's own crypto checks the
// token's RS256 signature against our JWKS. Run by tests/integration/test_status_list_node.py
// with one JSON argument: {"list_jwt", "jwks", "access_tokens": [...]}. Prints one JSON line:
// {"verified", "typ", "sub", "bits", "statuses": [every entry], "tokens": [{idx, uri, status}]}.
import { createPublicKey, verify } from 'node:crypto'
import { getListFromStatusListJWT, getStatusListFromJWT } from '@sd-jwt/jwt-status-list'

const plan = JSON.parse(process.argv[2])
const [headerPart, payloadPart, signaturePart] = plan.list_jwt.split('.')
const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString())
const payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString())
const jwk = plan.jwks.keys.find((k) => k.kid === header.kid)
const verified = header.alg === 'RS256' && jwk !== undefined && verify(
  'RSA-SHA256',
  Buffer.from(`${headerPart}.${payloadPart}`),
  createPublicKey({ key: jwk, format: 'jwk' }),
  Buffer.from(signaturePart, 'base64url'),
)
const list = getListFromStatusListJWT(plan.list_jwt)
const statuses = []
for (let i = 0; i < list.statusList.length; i++) statuses.push(list.getStatus(i))
const tokens = plan.access_tokens.map((token) => {
  const entry = getStatusListFromJWT(token)
  return { idx: entry.idx, uri: entry.uri, status: list.getStatus(entry.idx) }
})
console.log(JSON.stringify({
  verified, typ: header.typ, sub: payload.sub, bits: list.getBitsPerStatus(), statuses, tokens,
}))

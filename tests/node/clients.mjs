// Strict third-party clients against a running tokenrevoke server: openid-client (v6) and
// oauth4webapi (v3), as an application would use them. Run by
// tests/integration/test_node_clients.py with one JSON argument:
//   {"url", "username", "password", "clients": {"<method>": {"id", "secret"}}, "public": id,
//    "app": {"id", "secret", "redirect", "logout"}}  (a web app: authorization code flow)
// Every step is checked (a revoked token must introspect inactive, a revoked refresh token
// must be refused); the report is one JSON line on stdout: [{lib, step, ok, detail}].
import * as client from 'openid-client'
import * as oauth from 'oauth4webapi'

const plan = JSON.parse(process.argv[2])
const issuer = new URL(plan.url)
const HINTS = [null, 'access_token', 'refresh_token', 'tx_token']
const report = []

async function step(lib, name, fn) {
  try {
    const detail = await fn()
    report.push({ lib, step: name, ok: true, detail: detail ?? null })
  } catch (err) {
    const detail = `${err?.constructor?.name}: ${err?.message}` +
      (err?.error ? ` (error=${err.error})` : '') + (err?.cause ? ` cause=${JSON.stringify(err.cause)}` : '')
    report.push({ lib, step: name, ok: false, detail })
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

// -- openid-client -------------------------------------------------------------------------
const OPENID_AUTH = {
  client_secret_basic: (secret) => client.ClientSecretBasic(secret),
  client_secret_post: (secret) => client.ClientSecretPost(secret),
  client_secret_jwt: (secret) => client.ClientSecretJwt(secret),
}

async function openidConfig(algorithm, method, creds) {
  return client.discovery(issuer, creds.id, creds.secret, OPENID_AUTH[method](creds.secret), {
    algorithm,
    execute: [client.allowInsecureRequests], // the test server speaks plain HTTP
  })
}

async function openidClient() {
  const lib = 'openid-client'
  for (const algorithm of ['oidc', 'oauth2']) {
    await step(lib, `discovery ${algorithm}`, async () => {
      const config = await openidConfig(algorithm, 'client_secret_basic', plan.clients.client_secret_basic)
      const meta = config.serverMetadata()
      expect(meta.issuer === plan.url, `issuer ${meta.issuer}`)
      expect(meta.revocation_endpoint && meta.introspection_endpoint, 'endpoints missing')
    })
  }
  for (const [method, creds] of Object.entries(plan.clients)) {
    // ('oidc': each step below fails on its own, whatever the discovery steps found)
    let config
    await step(lib, `${method} configuration`, async () => {
      config = await openidConfig('oidc', method, creds)
    })
    if (!config) continue
    const introspect = async (token) => client.tokenIntrospection(config, token)
    await step(lib, `${method} client_credentials, introspect, revoke`, async () => {
      const tokens = await client.clientCredentialsGrant(config, { scope: 'openid' })
      expect(tokens.token_type.toLowerCase() === 'bearer', `token_type ${tokens.token_type}`)
      expect((await introspect(tokens.access_token)).active === true, 'not active')
      await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' })
      expect((await introspect(tokens.access_token)).active === false, 'still active after revocation')
    })
    for (const kind of ['access_token', 'refresh_token']) {
      for (const hint of HINTS) {
        await step(lib, `${method} password+refresh, revoke ${kind} hint=${hint}`, async () => {
          const first = await client.genericGrantRequest(config, 'password', {
            username: plan.username, password: plan.password, scope: 'openid',
          })
          const tokens = await client.refreshTokenGrant(config, first.refresh_token)
          const before = await introspect(tokens.refresh_token)
          expect(before.active === true, 'refresh token not active')
          expect(before.token_type === undefined, `refresh token_type ${before.token_type}`)
          expect((await introspect(tokens.access_token)).token_type === 'Bearer', 'access token_type')
          await client.tokenRevocation(config, tokens[kind], hint ? { token_type_hint: hint } : {})
          for (const token of [tokens.access_token, tokens.refresh_token]) {
            expect((await introspect(token)).active === false, 'still active after revocation')
          }
          try {
            await client.refreshTokenGrant(config, tokens.refresh_token)
          } catch (err) {
            expect(err.error === 'invalid_grant', `refresh after revocation: ${err.error}`)
            return
          }
          throw new Error('a revoked refresh token still refreshed')
        })
      }
    }
  }
  await step(lib, 'wrong client_secret_post is invalid_client', async () => {
    const creds = { ...plan.clients.client_secret_post, secret: 'wrong-secret' }
    const config = await openidConfig('oidc', 'client_secret_post', creds)
    try {
      await client.clientCredentialsGrant(config)
    } catch (err) {
      expect(err instanceof client.ResponseBodyError, `${err.constructor.name}: ${err.message}`)
      expect(err.error === 'invalid_client', err.error)
      return
    }
    throw new Error('a wrong secret was accepted')
  })
  await step(lib, 'public client password grant and revocation', async () => {
    const config = await client.discovery(issuer, plan.public, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    })
    const tokens = await client.genericGrantRequest(config, 'password', {
      username: plan.username, password: plan.password, scope: 'openid',
    })
    await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' })
    const admin = await openidConfig('oidc', 'client_secret_basic', plan.clients.client_secret_basic)
    expect((await client.tokenIntrospection(admin, tokens.access_token)).active === false, 'alive')
  })
}

// -- the authorization code flow, with a browser made of fetch ------------------------------
// It keeps cookies, fills in the sign-in form (its hidden CSRF token and sealed request)
// and posts it, as a person without JavaScript would; redirects are read, not followed.
const jar = new Map()

async function browse(url, init = {}) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  const response = await fetch(url, {
    ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), ...(cookie ? { cookie } : {}) },
  })
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';')
    const [name, ...value] = pair.split('=')
    const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
    if (gone) jar.delete(name.trim())
    else jar.set(name.trim(), value.join('='))
  }
  return response
}

function signInForm(page) {
  const action = page.match(/<form method="post" action="([^"]+)"/)[1]
  const fields = {}
  for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[name] = value.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x27;', "'")
      .replaceAll('&lt;', '<').replaceAll('&gt;', '>')
  }
  return { action, fields }
}

async function codeFlow() {
  const lib = 'openid-client'
  const app = plan.app
  let config
  let tokens
  // Sign in (the page, unless the browser's session is live) and exchange the code.
  const signIn = async () => {
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: app.redirect, scope: 'openid profile', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    })
    let back = await browse(url)
    if (back.status === 200) {
      const form = signInForm(await back.text())
      const body = new URLSearchParams({ ...form.fields, username: plan.username,
        password: plan.password, action: 'signin' })
      back = await browse(new URL(form.action, issuer), { method: 'POST', body })
    }
    expect(back.status === 303, `sign-in: ${back.status}`)
    return client.authorizationCodeGrant(config, new URL(back.headers.get('location')), {
      pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
    })
  }
  await step(lib, 'authorization code with PKCE through the sign-in page', async () => {
    config = await openidConfig('oidc', 'client_secret_basic', app)
    tokens = await signIn()
    const claims = tokens.claims()
    expect(claims.sid, 'no sid in the id_token')
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    expect(info.preferred_username === plan.username, `userinfo ${JSON.stringify(info)}`)
  })
  if (!tokens) return
  await step(lib, 'code flow: refresh, revoke, end_session', async () => {
    const introspect = async (token) => (await client.tokenIntrospection(config, token)).active
    const renewed = await client.refreshTokenGrant(config, tokens.refresh_token)
    expect(await introspect(renewed.access_token), 'refreshed token not active')
    expect(!(await introspect(tokens.refresh_token)), 'the rotated refresh token is still active')
    await client.tokenRevocation(config, renewed.access_token, { token_type_hint: 'access_token' })
    expect(!(await introspect(renewed.access_token)), 'still active after revocation')
    expect(!(await introspect(renewed.refresh_token)), 'its grant\'s refresh token lives on')
    // The session lives on: signing in again takes no password; then the app logs out.
    const again = await signIn()
    expect(again.claims().sid === tokens.claims().sid, 'another session')
    const state = client.randomState()
    const bye = await browse(client.buildEndSessionUrl(config, {
      id_token_hint: again.id_token, post_logout_redirect_uri: app.logout, state,
    }))
    expect(bye.status === 302, `end_session: ${bye.status}`)
    expect(bye.headers.get('location') === `${app.logout}?state=${state}`, bye.headers.get('location'))
    expect(!jar.has('session_id'), 'the session cookie is still set')
    for (const token of [again.access_token, again.refresh_token]) {
      expect(!(await introspect(token)), 'a token of the ended session is still active')
    }
  })
}

// -- oauth4webapi --------------------------------------------------------------------------
const OAUTH_AUTH = {
  client_secret_basic: (secret) => oauth.ClientSecretBasic(secret),
  client_secret_post: (secret) => oauth.ClientSecretPost(secret),
  client_secret_jwt: (secret) => oauth.ClientSecretJwt(secret),
}
const INSECURE = { [oauth.allowInsecureRequests]: true }

async function discover(algorithm) {
  const response = await oauth.discoveryRequest(issuer, { algorithm, ...INSECURE })
  return oauth.processDiscoveryResponse(issuer, response)
}

async function oauth4webapi() {
  const lib = 'oauth4webapi'
  let as
  for (const algorithm of ['oauth2', 'oidc']) {
    await step(lib, `discovery ${algorithm}`, async () => {
      const found = await discover(algorithm)
      expect(found.issuer === plan.url, `issuer ${found.issuer}`)
      as ??= found
    })
  }
  if (!as) return
  for (const [method, creds] of Object.entries(plan.clients)) {
    const c = { client_id: creds.id }
    const auth = () => OAUTH_AUTH[method](creds.secret) // a fresh assertion every call
    const introspect = async (token) => oauth.processIntrospectionResponse(
      as, c, await oauth.introspectionRequest(as, c, auth(), token, INSECURE))
    const revoke = async (token, hint) => oauth.processRevocationResponse(
      await oauth.revocationRequest(as, c, auth(), token, {
        ...INSECURE, additionalParameters: hint ? { token_type_hint: hint } : {},
      }))
    const password = async () => oauth.processGenericTokenEndpointResponse(as, c,
      await oauth.genericTokenEndpointRequest(as, c, auth(), 'password', {
        username: plan.username, password: plan.password, scope: 'openid',
      }, INSECURE))
    const refresh = async (token) => oauth.processRefreshTokenResponse(as, c,
      await oauth.refreshTokenGrantRequest(as, c, auth(), token, INSECURE))
    await step(lib, `${method} client_credentials, introspect, revoke`, async () => {
      const tokens = await oauth.processClientCredentialsResponse(as, c,
        await oauth.clientCredentialsGrantRequest(as, c, auth(), { scope: 'openid' }, INSECURE))
      expect((await introspect(tokens.access_token)).active === true, 'not active')
      await revoke(tokens.access_token, 'access_token')
      expect((await introspect(tokens.access_token)).active === false, 'still active after revocation')
    })
    for (const kind of ['access_token', 'refresh_token']) {
      for (const hint of HINTS) {
        await step(lib, `${method} password+refresh, revoke ${kind} hint=${hint}`, async () => {
          const tokens = await refresh((await password()).refresh_token)
          expect((await introspect(tokens.refresh_token)).active === true, 'refresh not active')
          await revoke(tokens[kind], hint)
          for (const token of [tokens.access_token, tokens.refresh_token]) {
            expect((await introspect(token)).active === false, 'still active after revocation')
          }
          try {
            await refresh(tokens.refresh_token)
          } catch (err) {
            expect(err instanceof oauth.ResponseBodyError, `${err.constructor.name}: ${err.message}`)
            expect(err.error === 'invalid_grant', `refresh after revocation: ${err.error}`)
            return
          }
          throw new Error('a revoked refresh token still refreshed')
        })
      }
    }
  }
  await step(lib, 'wrong client_secret_post is invalid_client', async () => {
    const c = { client_id: plan.clients.client_secret_post.id }
    try {
      await oauth.processRevocationResponse(await oauth.revocationRequest(
        as, c, oauth.ClientSecretPost('wrong-secret'), 'some-token', INSECURE))
    } catch (err) {
      expect(err instanceof oauth.ResponseBodyError, `${err.constructor.name}: ${err.message}`)
      expect(err.error === 'invalid_client', err.error)
      return
    }
    throw new Error('a wrong secret was accepted')
  })
}

await openidClient()
await codeFlow()
await oauth4webapi()
process.stdout.write(JSON.stringify(report) + '\n')

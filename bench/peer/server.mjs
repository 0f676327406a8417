// The benchmark peer: node's oidc-provider, one process, on loopback only.
//
// Configured to do the same work as tokenrevoke: confidential clients with
// client_secret_basic, the client_credentials grant, introspection and revocation, opaque
// access tokens, and revocation of an access token revokes its whole grant (as Janssen
// does). Storage is oidc-provider's own MemoryAdapter over its own LRU, sized so that it
// never evicts: its default store holds 1,000 entries and would then do less work.
//
// Usage: node server.mjs PLAN.json
// PLAN.json (written by bench/peer.py): port, client ids/secrets, the token population
// and where to write the sample token files. Prints one line `READY {json}` when it
// listens.

import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const HOST = '127.0.0.1';
const DAY = 24 * 60 * 60;

// One LRU for every model, as the default adapter has, but one that never evicts.
const storage = new LRU({ maxSize: Number.MAX_SAFE_INTEGER });
const adapter = (model) => new MemoryAdapter(model, storage, 0);

const confidential = (clientId, secret) => ({
  client_id: clientId,
  client_secret: secret,
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: ['https://bench.invalid/callback'],
  scope: 'openid profile',
});

const provider = new Provider(`http://${HOST}:${plan.port}`, {
  adapter,
  clients: [confidential(plan.client_id, plan.client_secret)],
  cookies: { keys: ['tokenrevoke-bench-peer-cookie-key'] },
  features: {
    clientCredentials: { enabled: true },
    // tokenrevoke's rules: any authenticated confidential client may introspect; a client
    // may revoke only its own tokens.
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    devInteractions: { enabled: false },
  },
  // Janssen (and tokenrevoke) revoke the whole grant when one of its tokens is revoked.
  revokeGrantPolicy: () => true,
  ttl: {
    ClientCredentials: 300,
    AccessToken: DAY,
    RefreshToken: 30 * DAY,
    Grant: 30 * DAY,
  },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  scopes: ['openid', 'profile', 'offline_access'],
});
provider.on('server_error', (ctx, error) => {
  process.stderr.write(`server_error: ${error?.stack ?? error}\n`);
});

// -- the token population ------------------------------------------------------------
// Grant i holds one refresh token and one or two access tokens (2 to 3 tokens), as in
// tokenrevoke's population. Revoked grants are seeded and then revoked, so introspection
// of their tokens finds nothing (oidc-provider deletes what it revokes).
async function seedGrant(client, i, accessTokens) {
  const accountId = `user-${i % 10000}`;
  const grant = new provider.Grant({ clientId: client.clientId, accountId });
  grant.addOIDCScope('openid profile');
  const grantId = await grant.save();
  const common = { accountId, client, grantId, gty: 'authorization_code', scope: 'openid profile' };
  const values = [];
  for (let n = 0; n < accessTokens; n += 1) {
    values.push(await new provider.AccessToken(common).save());
  }
  await new provider.RefreshToken(common).save();
  return { grantId, access: values };
}

async function seed() {
  const started = Date.now();
  const client = await provider.Client.find(plan.client_id);
  const samples = Object.fromEntries(plan.samples.map((s) => [s.name, []]));
  let tokens = 0;
  const total = plan.live_grants + plan.revoked_grants;
  for (let i = 0; i < total; i += 1) {
    const accessTokens = i % 2 === 0 ? 1 : 2;
    const { grantId, access } = await seedGrant(client, i, accessTokens);
    tokens += accessTokens + 1;
    for (const sample of plan.samples) {
      if (i >= sample.start && i < sample.stop) samples[sample.name].push(access[0]);
    }
    if (i >= plan.live_grants) {
      await provider.AccessToken.revokeByGrantId(grantId);
      await provider.RefreshToken.revokeByGrantId(grantId);
      await provider.Grant.adapter.destroy(grantId);
    }
  }
  for (const sample of plan.samples) {
    writeFileSync(sample.path, samples[sample.name].join('\n') + '\n');
  }
  return { tokens, seconds: (Date.now() - started) / 1000 };
}

const seeded = await seed();
const server = provider.listen(plan.port, HOST, () => {
  process.stdout.write(`READY ${JSON.stringify({ pid: process.pid, ...seeded })}\n`);
});
server.keepAliveTimeout = 75_000;

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Never outlive the harness: it closes our stdin when it goes (also if it is killed).
process.stdin.on('end', stop);
process.stdin.resume();
// And never run longer than the harness allows.
setTimeout(() => process.exit(3), plan.max_seconds * 1000).unref();

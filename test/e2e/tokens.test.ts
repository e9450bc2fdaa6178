import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { join } from 'node:path';
import { startCluster, waitFor, type Cluster, type KubectlResult } from '../helpers/cluster.js';
import { apiClient } from '../helpers/api.js';

// Service-account tokens through the real kubectl: `kubectl create token`, the token used as a bearer
// credential (what a pod's client does with its projected token), bound tokens, and the issuer's keys.

let c: Cluster;

before(async () => {
  c = await startCluster();
  await waitFor('the default ServiceAccount', async () => (await c.kubectl(['get', 'serviceaccount', 'default'])).code === 0);
});

after(async () => {
  await c?.stop();
});

interface Claims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string }; pod?: { name: string; uid: string } };
}

function claimsOf(token: string): Claims {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Claims;
}

/** kubectl with nothing but the server, its CA and this token: no admin certificate. */
function asToken(token: string, ...args: string[]): Promise<KubectlResult> {
  return c.kubectl(['--kubeconfig=/dev/null', `--server=${c.url}`, `--certificate-authority=${join(c.dataDir, 'server', 'tls', 'ca.crt')}`, `--token=${token}`, ...args]);
}

async function createToken(...args: string[]): Promise<string> {
  return (await c.k('create', 'token', ...args)).trim();
}

test('kubectl create token prints a service-account JWT the API server accepts', async () => {
  const token = await createToken('default');
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const claims = claimsOf(token);
  const sa = JSON.parse(await c.k('get', 'serviceaccount', 'default', '-o', 'json')) as { metadata: { uid: string } };
  assert.equal(claims.iss, 'https://kubernetes.default.svc.cluster.local');
  assert.equal(claims.sub, 'system:serviceaccount:default:default');
  assert.deepEqual(claims.aud, ['https://kubernetes.default.svc.cluster.local']);
  assert.equal(claims.exp - claims.iat, 3600);
  assert.deepEqual(claims['kubernetes.io'], { namespace: 'default', serviceaccount: { name: 'default', uid: sa.metadata.uid } });

  const r = await asToken(token, 'get', 'serviceaccounts', '-n', 'default', '-o', 'name');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^serviceaccount\/default$/m);
  const bad = await asToken(`${token.slice(0, -4)}AAAA`, 'get', 'serviceaccounts');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /You must be logged in to the server \(Unauthorized\)/);
});

test('a token for another audience is not a credential for this API server', async () => {
  const token = await createToken('default', '--audience', 'vault');
  assert.deepEqual(claimsOf(token).aud, ['vault']);
  const r = await asToken(token, 'get', 'pods');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Unauthorized/);
});

test('TokenRequest validation and errors as kubectl prints them', async () => {
  const short = await c.kubectl(['create', 'token', 'default', '--duration', '5m']);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /failed to create token: TokenRequest\.authentication\.k8s\.io "default" is invalid: spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/);
  const missing = await c.kubectl(['create', 'token', 'nobody']);
  assert.match(missing.stderr, /failed to create token: serviceaccounts "nobody" not found/);
  const long = claimsOf(await createToken('default', '--duration', '2h'));
  assert.equal(long.exp - long.iat, 7200);

  // The raw API: 201 with the defaulted request and its status; other verbs are not allowed.
  const api = apiClient(c);
  const res = await api.call('POST', '/api/v1/namespaces/default/serviceaccounts/default/token', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }));
  assert.equal(res.status, 201, res.body);
  const tr = res.json<{ kind: string; spec: { audiences: string[]; expirationSeconds: number }; status: { token: string; expirationTimestamp: string } }>();
  assert.equal(tr.kind, 'TokenRequest');
  assert.deepEqual(tr.spec.audiences, ['https://kubernetes.default.svc.cluster.local']);
  assert.equal(tr.spec.expirationSeconds, 3600);
  assert.equal(Date.parse(tr.status.expirationTimestamp) / 1000, claimsOf(tr.status.token).exp);
  assert.equal((await api.call('GET', '/api/v1/namespaces/default/serviceaccounts/default/token')).status, 405);
  api.agent.destroy();
});

test('a pod-bound token names the pod, refuses another account, and stops working when the pod is gone', async () => {
  await c.k('run', 'bound', '--image=busybox', '--restart=Never');
  const pod = JSON.parse(await c.k('get', 'pod', 'bound', '-o', 'json')) as { metadata: { uid: string } };
  const token = await createToken('default', '--bound-object-kind', 'Pod', '--bound-object-name', 'bound');
  assert.deepEqual(claimsOf(token)['kubernetes.io'].pod, { name: 'bound', uid: pod.metadata.uid });
  assert.equal((await asToken(token, 'get', 'pod', 'bound')).code, 0);

  await c.k('create', 'serviceaccount', 'other');
  const wrong = await c.kubectl(['create', 'token', 'other', '--bound-object-kind', 'Pod', '--bound-object-name', 'bound']);
  assert.match(wrong.stderr, /cannot bind token for serviceaccount "other" to pod running with different serviceaccount name/);
  const stale = await c.kubectl(['create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'bound', '--bound-object-uid', 'not-the-uid']);
  assert.match(stale.stderr, /the UID in the bound object reference \(not-the-uid\) does not match the UID in record/);

  await c.k('delete', 'pod', 'bound', '--grace-period=0', '--force');
  await waitFor('the bound token to stop working', async () => /Unauthorized/.test((await asToken(token, 'get', 'pods')).stderr), 30_000, 500);
});

test('tokens verify against /openid/v1/jwks and keep working after a restart', async () => {
  const token = await createToken('default');
  const config = JSON.parse(await c.k('get', '--raw', '/.well-known/openid-configuration')) as { issuer: string; jwks_uri: string };
  assert.equal(config.issuer, 'https://kubernetes.default.svc.cluster.local');
  assert.equal(config.jwks_uri, 'https://kubernetes.default.svc.cluster.local/openid/v1/jwks');
  const jwks = JSON.parse(await c.k('get', '--raw', '/openid/v1/jwks')) as { keys: JsonWebKey[] };
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as { kid: string };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, 'the token names a published key');
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url')));

  await c.restart();
  const r = await asToken(token, 'get', 'serviceaccounts', '-o', 'name');
  assert.equal(r.code, 0, r.stderr);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../../src/api/object.js';
import { DEFAULT_ISSUER, ServiceAccountTokens, WARN_ONLY_EXPIRATION_SECONDS } from '../../src/apiserver/authtokens.js';
import { Authenticator, userOf, type BoundResource } from '../../src/apiserver/authn.js';

// Service-account tokens as a pod or `kubectl create token` gets them, and what the API server makes of
// them when they come back as bearer credentials.

const key = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const tokens = new ServiceAccountTokens(key());
const SA = { name: 'builder', uid: 'sa-uid' };

function decode(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>, claims: JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown> };
}

test('a token carries the claims of a Kubernetes bound token and verifies with the published JWKS', () => {
  const now = 1_800_000_000;
  const { token } = tokens.issue({ namespace: 'ci', serviceAccount: SA, audiences: [DEFAULT_ISSUER], expirationSeconds: 3600, pod: { name: 'p', uid: 'pod-uid' }, node: { name: 'n1', uid: 'node-uid' }, now });
  const { header, claims } = decode(token);
  assert.deepEqual(header, { alg: 'ES256', kid: tokens.kid });
  assert.equal(claims.iss, 'https://kubernetes.default.svc.cluster.local');
  assert.equal(claims.sub, 'system:serviceaccount:ci:builder');
  assert.deepEqual(claims.aud, [DEFAULT_ISSUER]);
  assert.equal(claims.iat, now);
  assert.equal(claims.nbf, now);
  assert.equal(claims.exp, now + 3600);
  assert.match(String(claims.jti), /^[0-9a-f-]{36}$/);
  assert.deepEqual(claims['kubernetes.io'], { namespace: 'ci', serviceaccount: SA, pod: { name: 'p', uid: 'pod-uid' }, node: { name: 'n1', uid: 'node-uid' } });

  // Anyone holding /openid/v1/jwks can check the signature.
  const jwk = tokens.jwks().keys[0]!;
  assert.equal(jwk.kid, tokens.kid);
  assert.equal(jwk.alg, 'ES256');
  const pub = createPublicKey({ key: jwk, format: 'jwk' });
  const [h, p, s] = token.split('.');
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url')));
  assert.equal(tokens.openidConfiguration().jwks_uri, `${DEFAULT_ISSUER}/openid/v1/jwks`);
});

test('the kubelet\'s 3607-second pod token lives a year, with warnafter at the nominal expiry', () => {
  const now = 1_800_000_000;
  const bound = tokens.claims({ namespace: 'ci', serviceAccount: SA, audiences: [DEFAULT_ISSUER], expirationSeconds: WARN_ONLY_EXPIRATION_SECONDS, pod: { name: 'p', uid: 'u' }, now });
  assert.equal(bound.exp, now + 365 * 24 * 3600);
  assert.equal(bound['kubernetes.io'].warnafter, now + 3607);
  // Not for unbound tokens, nor for tokens meant for someone else.
  assert.equal(tokens.claims({ namespace: 'ci', serviceAccount: SA, audiences: [DEFAULT_ISSUER], expirationSeconds: 3607, now }).exp, now + 3607);
  assert.equal(tokens.claims({ namespace: 'ci', serviceAccount: SA, audiences: ['vault'], expirationSeconds: 3607, pod: { name: 'p', uid: 'u' }, now }).exp, now + 3607);
});

test('verify accepts only this server\'s live tokens for its own audience', () => {
  const now = 1_800_000_000;
  const good = tokens.issue({ namespace: 'ci', serviceAccount: SA, audiences: [DEFAULT_ISSUER], expirationSeconds: 600, now }).token;
  assert.equal(tokens.verify(good, now + 10)?.sub, 'system:serviceaccount:ci:builder');
  assert.equal(tokens.verify(good, now + 600 + 61), undefined, 'expired (beyond the 60 s leeway)');
  assert.equal(tokens.verify(good, now - 120), undefined, 'not yet valid');
  const other = tokens.issue({ namespace: 'ci', serviceAccount: SA, audiences: ['vault'], expirationSeconds: 600, now }).token;
  assert.equal(tokens.verify(other, now), undefined, 'another audience');
  const [h, p, s] = good.split('.');
  const forged = Buffer.from(JSON.stringify({ ...decode(good).claims, sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
  assert.equal(tokens.verify(`${h}.${forged}.${s}`, now), undefined, 'claims changed after signing');
  const stranger = new ServiceAccountTokens(key());
  assert.equal(stranger.verify(good, now), undefined, 'signed by another key');
  assert.equal(tokens.verify(`${h}.${p}`, now), undefined);
  assert.equal(tokens.verify('not-a-jwt', now), undefined);
});

test('a signing key that is not P-256 is refused with what to do', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.throws(() => new ServiceAccountTokens(rsa), /ECDSA P-256 key \(ES256\); delete it/);
});

function fakeRequest(authorization?: string): IncomingMessage {
  return { socket: { authorized: false }, headers: authorization ? { authorization } : {} } as unknown as IncomingMessage;
}

test('the authenticator: admin token, service-account tokens while their objects live, nothing else', async () => {
  const objects = new Map<string, KubeObject>();
  const put = (resource: BoundResource, ns: string | undefined, name: string, uid: string) => objects.set(`${resource}/${ns ?? ''}/${name}`, { metadata: { name, namespace: ns, uid } } as KubeObject);
  put('serviceaccounts', 'ci', 'builder', 'sa-uid');
  put('pods', 'ci', 'p', 'pod-uid');
  const authn = new Authenticator({ adminToken: 'admin-secret', tokens, lookup: async (r, ns, name) => objects.get(`${r}/${ns ?? ''}/${name}`) });

  const admin = fakeRequest('Bearer admin-secret');
  assert.equal((await authn.authenticate(admin))?.username, 'system:admin');
  assert.equal(userOf(admin)?.username, 'system:admin');
  assert.equal(await authn.authenticate(fakeRequest()), undefined);
  assert.equal(await authn.authenticate(fakeRequest('Bearer admin-secreX')), undefined);

  const podToken = tokens.issue({ namespace: 'ci', serviceAccount: SA, audiences: [DEFAULT_ISSUER], expirationSeconds: 3600, pod: { name: 'p', uid: 'pod-uid' } }).token;
  const user = await authn.authenticate(fakeRequest(`Bearer ${podToken}`));
  assert.equal(user?.username, 'system:serviceaccount:ci:builder');
  assert.equal(user?.uid, 'sa-uid');
  assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']);
  assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-name'], ['p']);
  assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-uid'], ['pod-uid']);

  // A pod recreated under the same name is another pod: the old pod's token no longer works.
  const fresh = new Authenticator({ adminToken: 'admin-secret', tokens, lookup: async (r, ns, name) => objects.get(`${r}/${ns ?? ''}/${name}`) });
  put('pods', 'ci', 'p', 'another-uid');
  assert.equal(await fresh.authenticate(fakeRequest(`Bearer ${podToken}`)), undefined);
  // So does deleting the service account.
  const unbound = tokens.issue({ namespace: 'ci', serviceAccount: SA, audiences: [DEFAULT_ISSUER], expirationSeconds: 3600 }).token;
  assert.equal((await fresh.authenticate(fakeRequest(`Bearer ${unbound}`)))?.username, 'system:serviceaccount:ci:builder');
  objects.delete('serviceaccounts/ci/builder');
  const later = new Authenticator({ adminToken: 'admin-secret', tokens, lookup: async (r, ns, name) => objects.get(`${r}/${ns ?? ''}/${name}`) });
  assert.equal(await later.authenticate(fakeRequest(`Bearer ${unbound}`)), undefined);
});

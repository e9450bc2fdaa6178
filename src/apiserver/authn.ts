import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../api/object.js';
import { serviceAccountUsername, type ServiceAccountTokens, type TokenClaims } from './authtokens.js';

// Authentication, in kube-apiserver's order: a client certificate signed by the cluster CA, the static
// admin bearer token, then service-account tokens. Who the caller is gets recorded per request (userOf);
// authorization is still allow-all, so any authenticated user may do anything.

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type BoundResource = 'serviceaccounts' | 'pods' | 'secrets' | 'nodes';

/** Reads an object the way the authenticator must see it: current storage, undefined when absent. */
export type ObjectLookup = (resource: BoundResource, namespace: string | undefined, name: string) => Promise<KubeObject | undefined>;

export interface AuthenticatorOptions {
  /** The bearer token accepted as cluster admin (--token). */
  adminToken: string;
  /** Verifies service-account tokens; without it only certificates and the admin token work. */
  tokens?: ServiceAccountTokens;
  lookup?: ObjectLookup;
}

const ADMIN_TOKEN_USER: UserInfo = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
// A pod's client sends its token on every request; re-reading the bound objects each time would put several
// storage reads on each of them. kube-apiserver caches token results for 10 s as well.
const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 4096;
// A pod that is being deleted keeps a working token this long past its deletionTimestamp (as kube-apiserver).
const DELETED_POD_GRACE_MS = 60_000;

const users = new WeakMap<IncomingMessage, UserInfo>();
// A connection's client certificate is fixed once its handshake is done (the server refuses renegotiation), and
// decoding it costs more than the rest of authentication: it is read once per connection, not per request.
const certificateUsers = new WeakMap<TLSSocket, UserInfo>();

/** The user a request authenticated as, once Authenticator.authenticate accepted it. */
export function userOf(req: IncomingMessage): UserInfo | undefined {
  return users.get(req);
}

export class Authenticator {
  private readonly adminToken: Buffer;
  private readonly cache = new Map<string, { user: UserInfo; until: number }>();

  constructor(private readonly opts: AuthenticatorOptions) {
    this.adminToken = Buffer.from(opts.adminToken);
  }

  /** The caller's identity, or undefined when no credential was presented or none was valid (answer 401). */
  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const user = await this.identify(req);
    if (user) users.set(req, user);
    return user;
  }

  private async identify(req: IncomingMessage): Promise<UserInfo | undefined> {
    const sock = req.socket as TLSSocket;
    if (sock.authorized) {
      let user = certificateUsers.get(sock);
      if (!user) certificateUsers.set(sock, (user = certificateUser(sock)));
      return user;
    }
    const h = req.headers.authorization;
    if (!h || !/^bearer /i.test(h)) return undefined;
    const token = h.slice(7).trim();
    const given = Buffer.from(token);
    if (given.length === this.adminToken.length && timingSafeEqual(given, this.adminToken)) return ADMIN_TOKEN_USER;
    return this.serviceAccountUser(token);
  }

  private async serviceAccountUser(token: string): Promise<UserInfo | undefined> {
    const { tokens, lookup } = this.opts;
    if (!tokens || !lookup) return undefined;
    const hit = this.cache.get(token);
    if (hit && hit.until > Date.now()) return hit.user;
    const claims = tokens.verify(token);
    if (!claims || !(await this.stillBound(claims, lookup))) return undefined;
    const user = userForClaims(claims);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, { user, until: Math.min(Date.now() + CACHE_TTL_MS, claims.exp * 1000) });
    return user;
  }

  /** A bound token dies with what it is bound to: the service account, and its pod, secret or node. */
  private async stillBound(claims: TokenClaims, lookup: ObjectLookup): Promise<boolean> {
    const k = claims['kubernetes.io'];
    const same = (o: KubeObject | undefined, uid: string | undefined) => o !== undefined && (!uid || o.metadata.uid === uid);
    if (!same(await lookup('serviceaccounts', k.namespace, k.serviceaccount.name), k.serviceaccount.uid)) return false;
    if (k.pod) {
      const pod = await lookup('pods', k.namespace, k.pod.name);
      if (!same(pod, k.pod.uid)) return false;
      const dt = pod!.metadata.deletionTimestamp;
      if (dt && Date.parse(dt) < Date.now() - DELETED_POD_GRACE_MS) return false;
    }
    if (k.secret && !same(await lookup('secrets', k.namespace, k.secret.name), k.secret.uid)) return false;
    // A pod-bound token names the pod's node for information only; a node-bound one dies with the node.
    if (k.node && !k.pod && !same(await lookup('nodes', undefined, k.node.name), k.node.uid)) return false;
    return true;
  }
}

function certificateUser(sock: TLSSocket): UserInfo {
  const subject = sock.getPeerCertificate().subject ?? {};
  const cn = (subject as { CN?: string | string[] }).CN;
  const o = (subject as { O?: string | string[] }).O;
  const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { username: (Array.isArray(cn) ? cn[0] : cn) ?? '', groups: [...orgs, 'system:authenticated'] };
}

/** The user a service-account token stands for, with the extra attributes kube-apiserver attaches. */
export function userForClaims(c: TokenClaims): UserInfo {
  const k = c['kubernetes.io'];
  const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${c.jti}`] };
  if (k.pod) {
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
  }
  if (k.node) {
    extra['authentication.kubernetes.io/node-name'] = [k.node.name];
    extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
  }
  return {
    username: serviceAccountUsername(k.namespace, k.serviceaccount.name),
    uid: k.serviceaccount.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
    extra,
  };
}

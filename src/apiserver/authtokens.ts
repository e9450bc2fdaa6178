import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

// Service-account tokens: the JWTs the TokenRequest API issues and the API server accepts as bearer
// credentials, shaped like kube-apiserver's bound tokens (issuer, audiences, expiry, and the
// `kubernetes.io` claim naming the namespace, service account and the object the token is bound to).
// Signed ES256 with the key made once in the server's TLS dir (see pki.ts), so tokens outlive restarts.

/** kube-apiserver's --service-account-issuer as kubeadm and k3s set it. */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** The kubelet asks for exactly this lifetime for kube-api-access volumes: such a pod-bound token is made to
 *  live a year (`warnafter` marks the nominal expiry), so old client libraries that never re-read the file
 *  keep working (kube-apiserver --service-account-extend-token-expiration, on by default). */
export const WARN_ONLY_EXPIRATION_SECONDS = 3607;
const EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 3600;
/** Clock skew tolerated on exp and nbf, as go-jose's default leeway. */
const LEEWAY_SECONDS = 60;

export interface ObjectRef {
  name: string;
  uid: string;
}

/** The `kubernetes.io` private claim. */
export interface KubernetesClaim {
  namespace: string;
  serviceaccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
  warnafter?: number;
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': KubernetesClaim;
}

export interface IssueRequest {
  namespace: string;
  serviceAccount: ObjectRef;
  audiences: string[];
  expirationSeconds: number;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
  /** Seconds since the epoch (tests pin it). */
  now?: number;
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A key ID as kube-apiserver derives it: the unpadded base64url SHA-256 of the public key's DER (SPKI). */
function keyId(pub: KeyObject): string {
  return b64url(createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest());
}

export class ServiceAccountTokens {
  readonly issuer: string;
  /** Audiences the API server itself accepts; also what a TokenRequest without audiences gets. */
  readonly apiAudiences: string[];
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly kid: string;

  constructor(signingKeyPem: string, opts: { issuer?: string; apiAudiences?: string[] } = {}) {
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
    this.apiAudiences = opts.apiAudiences?.length ? [...opts.apiAudiences] : [this.issuer];
    this.privateKey = createPrivateKey(signingKeyPem);
    if (this.privateKey.asymmetricKeyType !== 'ec' || this.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the service-account signing key must be an ECDSA P-256 key (ES256); delete it to have a new one generated');
    }
    this.publicKey = createPublicKey(this.privateKey);
    this.kid = keyId(this.publicKey);
  }

  /** Claims for a token, with the lifetime extension kube-apiserver applies to the kubelet's pod tokens. */
  claims(r: IssueRequest): TokenClaims {
    const now = r.now ?? Math.floor(Date.now() / 1000);
    const kube: KubernetesClaim = { namespace: r.namespace, serviceaccount: { ...r.serviceAccount } };
    if (r.pod) kube.pod = { ...r.pod };
    if (r.secret) kube.secret = { ...r.secret };
    if (r.node) kube.node = { ...r.node };
    let lifetime = r.expirationSeconds;
    if (r.pod && r.expirationSeconds === WARN_ONLY_EXPIRATION_SECONDS && this.isApiAudience(r.audiences)) {
      kube.warnafter = now + r.expirationSeconds;
      lifetime = EXTENDED_EXPIRATION_SECONDS;
    }
    return {
      aud: [...r.audiences],
      exp: now + lifetime,
      iat: now,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': kube,
      nbf: now,
      sub: serviceAccountUsername(r.namespace, r.serviceAccount.name),
    };
  }

  issue(r: IssueRequest): { token: string; claims: TokenClaims } {
    const claims = this.claims(r);
    return { token: this.sign(claims), claims };
  }

  sign(claims: object): string {
    const input = `${b64url(JSON.stringify({ alg: 'ES256', kid: this.kid }))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  }

  /**
   * The claims of a token this server signed for one of its own audiences, still within its lifetime; undefined
   * for anything else (another issuer, a bad signature, expired, meant for another audience). Whether the
   * objects it names still exist is the authenticator's question.
   */
  verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: unknown; kid?: unknown };
    let claims: Partial<TokenClaims>;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Partial<TokenClaims>;
    } catch {
      return undefined;
    }
    if (header.alg !== 'ES256' || (header.kid !== undefined && header.kid !== this.kid)) return undefined;
    const sig = Buffer.from(s, 'base64url');
    if (sig.length !== 64 || !verify('sha256', Buffer.from(`${h}.${p}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, sig)) return undefined;
    if (claims.iss !== this.issuer) return undefined;
    const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    if (!this.isApiAudience(aud)) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp + LEEWAY_SECONDS < nowSeconds) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf - LEEWAY_SECONDS > nowSeconds) return undefined;
    const kube = claims['kubernetes.io'];
    if (!kube || typeof kube.namespace !== 'string' || typeof kube.serviceaccount?.name !== 'string') return undefined;
    if (claims.sub !== serviceAccountUsername(kube.namespace, kube.serviceaccount.name)) return undefined;
    return { ...claims, aud } as TokenClaims;
  }

  private isApiAudience(aud: string[]): boolean {
    return aud.some((a) => this.apiAudiences.includes(a));
  }

  /** GET /openid/v1/jwks: the public key, for anyone verifying these tokens outside the cluster. */
  jwks(): { keys: JsonWebKey[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ use: 'sig', kty: jwk.kty, kid: this.kid, crv: jwk.crv, alg: 'ES256', x: jwk.x, y: jwk.y }] };
  }

  /** GET /.well-known/openid-configuration (ServiceAccountIssuerDiscovery). */
  openidConfiguration(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    };
  }
}

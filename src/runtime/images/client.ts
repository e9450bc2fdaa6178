import { request as httpRequest, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { RegistryAuth } from '../interface.js';
import type { Endpoint } from './registries.js';

// An OCI distribution API client for one repository on one endpoint: anonymous, Basic and Bearer-token auth
// (answering the registry's Www-Authenticate challenge), redirects (blob storage often lives elsewhere), and
// errors that name the registry and the next step.

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The first distribution error code ("MANIFEST_UNKNOWN"), if the registry sent one. */
    readonly code?: string,
    /** The registry could not be reached at all (connection refused, DNS, TLS, timeout). */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A factory, so the body can be sent again after an auth challenge. */
  body?: () => Readable | Buffer;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1].toLowerCase(), params };
}

function basicCredentials(a: RegistryAuth | undefined): string | undefined {
  if (!a) return undefined;
  if (a.username !== undefined && a.password !== undefined) return Buffer.from(`${a.username}:${a.password}`).toString('base64');
  if (a.auth) return a.auth;
  return undefined;
}

export async function readBody(res: { body: IncomingMessage }, limit = 8 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** "MANIFEST_UNKNOWN: manifest unknown" from a distribution error body, or the HTTP status text. */
async function errorDetail(res: RegistryResponse): Promise<{ text: string; code?: string }> {
  const body = await readBody(res, 64 << 10).catch(() => Buffer.alloc(0));
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    if (e?.code) return { text: `${e.code}: ${e.message ?? ''}`.trim(), code: e.code };
  } catch {
    // not JSON: fall through
  }
  const text = body.toString('utf8').trim().slice(0, 200);
  return { text: `HTTP ${res.status}${text ? ` ${text}` : ''}` };
}

export class RegistryClient {
  private authorization?: string;

  constructor(
    readonly endpoint: Endpoint,
    readonly repository: string,
    /** "pull" or "pull,push": the scope asked of a token server. */
    private readonly actions: string,
    private readonly credentials?: RegistryAuth,
    private readonly timeoutMs = 30_000,
  ) {}

  get host(): string {
    return this.endpoint.host;
  }

  /** A path under /v2/<repository>/, or an absolute URL (upload locations). */
  url(pathOrUrl: string): URL {
    if (/^https?:\/\//.test(pathOrUrl)) return new URL(pathOrUrl);
    if (pathOrUrl.startsWith('/')) return new URL(pathOrUrl, this.endpoint.url);
    const base = this.endpoint.url.href.replace(/\/$/, '');
    return new URL(`${base}/v2/${this.repository}/${pathOrUrl}`);
  }

  /** Sends a request, answering one auth challenge; the caller reads or discards the body. */
  async request(method: string, pathOrUrl: string, opts: RequestOptions = {}): Promise<RegistryResponse> {
    const url = this.url(pathOrUrl);
    let res = await this.send(method, url, opts);
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers['www-authenticate']);
      res.body.resume();
      if (!(await this.authenticate(challenge))) throw await this.unauthorized(res, 'authentication required');
      res = await this.send(method, url, opts);
    }
    return res;
  }

  /** A request that must succeed with one of the given statuses; otherwise a RegistryError. */
  async expect(method: string, pathOrUrl: string, ok: number[], opts: RequestOptions = {}, what = `${method} ${pathOrUrl}`): Promise<RegistryResponse> {
    const res = await this.request(method, pathOrUrl, opts);
    if (ok.includes(res.status)) return res;
    if (res.status === 401 || res.status === 403) throw await this.unauthorized(res, res.status === 403 ? 'access denied' : 'credentials rejected');
    const { text, code } = await errorDetail(res);
    throw new RegistryError(`registry ${this.host} answered ${what} with ${text}`, res.status, code);
  }

  private async unauthorized(res: RegistryResponse, why: string): Promise<RegistryError> {
    const { text, code } = res.body.readableEnded || res.body.destroyed ? { text: `HTTP ${res.status}`, code: undefined } : await errorDetail(res);
    const have = this.credentials ? 'the credentials given were not accepted; check the username and password' : 'no credentials were given; add an imagePullSecret (or --creds, or an auth entry in the registries file)';
    return new RegistryError(`registry ${this.host} refused access to ${this.repository} (${why}, ${text}): ${have}`, res.status, code);
  }

  /** Answers a Www-Authenticate challenge; false when there is nothing more to try. */
  private async authenticate(ch: Challenge | undefined): Promise<boolean> {
    if (!ch) return false;
    if (ch.scheme === 'basic') {
      const basic = basicCredentials(this.credentials);
      if (!basic || this.authorization === `Basic ${basic}`) return false;
      this.authorization = `Basic ${basic}`;
      return true;
    }
    if (ch.scheme === 'bearer') {
      if (this.credentials?.registrytoken && this.authorization !== `Bearer ${this.credentials.registrytoken}`) {
        this.authorization = `Bearer ${this.credentials.registrytoken}`;
        return true;
      }
      this.authorization = `Bearer ${await this.fetchToken(ch.params)}`;
      return true;
    }
    return false;
  }

  private async fetchToken(params: Record<string, string>): Promise<string> {
    const realm = params.realm;
    if (!realm) throw new RegistryError(`registry ${this.host} asked for a token but named no realm`, 401);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`registry ${this.host} named an invalid token realm "${realm}"`, 401);
    }
    const scope = params.scope ?? `repository:${this.repository}:${this.actions}`;
    const headers: Record<string, string> = {};
    let method = 'GET';
    let body: Buffer | undefined;
    if (this.credentials?.identitytoken) {
      // OAuth2 refresh-token grant (docker login with an identity token).
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.credentials.identitytoken, client_id: 'kite', scope });
      if (params.service) form.set('service', params.service);
      body = Buffer.from(form.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (params.service) url.searchParams.set('service', params.service);
      url.searchParams.set('scope', scope);
      if (this.credentials?.username) url.searchParams.set('account', this.credentials.username);
      const basic = basicCredentials(this.credentials);
      if (basic) headers.authorization = `Basic ${basic}`;
    }
    const res = await this.send(method, url, { headers, body: body ? () => body : undefined }, false);
    if (res.status === 401 || res.status === 403) {
      res.body.resume();
      throw new RegistryError(
        `token server ${url.host} refused access to ${this.repository} on ${this.host}: ${this.credentials ? 'check the username and password' : 'the repository needs credentials; add an imagePullSecret (or --creds)'}`,
        res.status,
      );
    }
    if (res.status !== 200) {
      const { text } = await errorDetail(res);
      throw new RegistryError(`token server ${url.host} answered ${text}`, res.status);
    }
    const doc = JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new RegistryError(`token server ${url.host} sent no token`, 401);
    return token;
  }

  /** One HTTP exchange, following redirects; credentials go only to the endpoint's own host. */
  private async send(method: string, start: URL, opts: RequestOptions, withAuth = true): Promise<RegistryResponse> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'kite/0.1', ...opts.headers };
      if (withAuth && this.authorization && url.host === this.endpoint.url.host) headers.authorization = this.authorization;
      const res = await this.exchange(method, url, headers, opts.body);
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(res.status) && location && (method === 'GET' || method === 'HEAD')) {
        res.body.resume();
        if (hop >= 5) throw new RegistryError(`registry ${this.host}: too many redirects for ${start.pathname}`, res.status);
        url = new URL(location, url);
        continue;
      }
      return { ...res, url };
    }
  }

  private exchange(method: string, url: URL, headers: Record<string, string>, body?: () => Readable | Buffer): Promise<RegistryResponse> {
    return new Promise((resolve, reject) => {
      const payload = body?.();
      if (Buffer.isBuffer(payload)) headers['content-length'] = String(payload.length);
      const tls = url.protocol === 'https:';
      const options = {
        method,
        headers,
        timeout: this.timeoutMs,
        ...(tls ? { rejectUnauthorized: !this.endpoint.insecureSkipVerify, ca: this.endpoint.ca } : {}),
      };
      const req = (tls ? httpsRequest : httpRequest)(url, options, (res) => {
        res.setTimeout(this.timeoutMs, () => res.destroy(new Error(`no data for ${this.timeoutMs / 1000}s`)));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000}s`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        const hint = e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'check the registry address, or configure a mirror in the registries file' : 'check the network and the registry';
        reject(new RegistryError(`cannot reach registry ${url.host} (${url.protocol.replace(':', '')}): ${e.code ?? e.message}; ${hint}`, 0, e.code, true));
      });
      if (payload === undefined) req.end();
      else if (Buffer.isBuffer(payload)) req.end(payload);
      else {
        payload.on('error', (e) => req.destroy(e));
        payload.pipe(req);
      }
    });
  }
}

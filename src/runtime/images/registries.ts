import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { RegistryAuth } from '../interface.js';
import { isLoopbackHost, registryApiHost } from './reference.js';

// The registries file, shaped like k3s' registries.yaml:
//   mirrors: { "docker.io": { endpoint: ["http://127.0.0.1:5000"] } }
//   configs: { "127.0.0.1:5000": { auth: { username, password }, tls: { insecure_skip_verify: true, ca_file } } }
// It is re-read for every pull, so edits apply without restarting the agent.

export interface RegistryHostConfig {
  auth?: RegistryAuth;
  insecureSkipVerify?: boolean;
  caFile?: string;
}

export interface RegistriesConfig {
  mirrors: Record<string, string[]>;
  configs: Record<string, RegistryHostConfig>;
}

/** Where to reach a registry: a base URL (scheme, host, optional path prefix) and how to talk to it. */
export interface Endpoint {
  url: URL;
  /** "host:port" as written in configs and dockerconfigjson. */
  host: string;
  insecureSkipVerify: boolean;
  ca?: Buffer;
  /** Credentials from the registries file (take precedence over imagePullSecrets). */
  auth?: RegistryAuth;
  mirror: boolean;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function parseRegistriesConfig(text: string, source = 'registries file'): RegistriesConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${source}: not valid YAML: ${(e as Error).message}`);
  }
  const out: RegistriesConfig = { mirrors: {}, configs: {} };
  for (const [host, m] of Object.entries(record(record(doc).mirrors))) {
    const endpoints = record(m).endpoint;
    if (!Array.isArray(endpoints)) throw new Error(`${source}: mirrors."${host}".endpoint must be a list of URLs`);
    out.mirrors[host] = endpoints.filter((e): e is string => typeof e === 'string');
  }
  for (const [host, c] of Object.entries(record(record(doc).configs))) {
    const auth = record(record(c).auth);
    const tls = record(record(c).tls);
    out.configs[host] = {
      auth: Object.keys(auth).length
        ? { username: str(auth.username), password: str(auth.password), auth: str(auth.auth), identitytoken: str(auth.identity_token ?? auth.identitytoken) }
        : undefined,
      insecureSkipVerify: tls.insecure_skip_verify === true,
      caFile: str(tls.ca_file),
    };
  }
  return out;
}

export function loadRegistriesConfig(path: string | undefined): RegistriesConfig {
  if (!path) return { mirrors: {}, configs: {} };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { mirrors: {}, configs: {} };
    throw new Error(`cannot read the registries file ${path}: ${(e as Error).message}`);
  }
  return parseRegistriesConfig(text, path);
}

function endpoint(raw: string, cfg: RegistriesConfig, mirror: boolean): Endpoint {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `${isLoopbackHost(raw.split('/')[0]) ? 'http' : 'https'}://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`registry endpoint "${raw}" is not a URL; write it like "https://registry.example.com" or "http://127.0.0.1:5000"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`registry endpoint "${raw}": only http and https are supported`);
  // A path like "/v2" or "/v2/" names the API root itself; kite adds /v2/ to every request.
  url.pathname = url.pathname.replace(/\/v2\/?$/, '').replace(/\/$/, '');
  const host = url.host;
  const c = cfg.configs[host] ?? {};
  let ca: Buffer | undefined;
  if (c.caFile) {
    try {
      ca = readFileSync(c.caFile);
    } catch (e) {
      throw new Error(`registry ${host}: cannot read tls.ca_file ${c.caFile}: ${(e as Error).message}`);
    }
  }
  return { url, host, insecureSkipVerify: c.insecureSkipVerify ?? false, ca, auth: c.auth, mirror };
}

/** Mirrors first (in the order given), then the registry itself. "*" mirrors every registry without its own entry. */
export function endpointsFor(registry: string, cfg: RegistriesConfig): Endpoint[] {
  const mirrors = cfg.mirrors[registry] ?? cfg.mirrors['*'] ?? [];
  const out = mirrors.map((m) => endpoint(m, cfg, true));
  const upstream = endpoint(registryApiHost(registry), cfg, false);
  // configs are keyed by the name users write ("docker.io"), not only by the API host.
  const named = cfg.configs[registry];
  if (named) {
    upstream.auth ??= named.auth;
    upstream.insecureSkipVerify ||= named.insecureSkipVerify ?? false;
  }
  if (!out.some((e) => e.url.href === upstream.url.href)) out.push(upstream);
  return out;
}

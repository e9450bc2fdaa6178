// Kubernetes' Ingress matching rules, expressed so that nginx's own location and server_name selection
// reproduces them exactly (see render.ts). Pure functions; no nginx or API knowledge beyond the rules.

export type PathType = 'Exact' | 'Prefix';

/**
 * The key a path is matched by: Exact paths as written; Prefix (and ImplementationSpecific, which kite
 * treats as Prefix) without trailing slashes, because Kubernetes matches prefixes element by element and
 * `/foo/` and `/foo` therefore mean the same thing. An empty path is the root prefix.
 */
export function normalizePath(path: string | undefined, type: PathType): string {
  const p = path || '/';
  if (type === 'Exact') return p;
  const trimmed = p.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

export function pathTypeOf(t: string | undefined): PathType {
  // ImplementationSpecific (and an unset type, which validation refuses anyway) match as Prefix.
  return t === 'Exact' ? 'Exact' : 'Prefix';
}

// nginx matches locations against the decoded, normalised URI, so a percent-encoded path would never match
// as written. Such paths, and characters that would need escaping in nginx's configuration language
// (quotes, braces, semicolons, `$`, `\`, whitespace), are refused: a path can never change the meaning of
// the configuration around it.
const SAFE_PATH = /^\/[A-Za-z0-9\-._~!*'()@&=+,:/]*$/;

export function isRenderablePath(path: string): boolean {
  return SAFE_PATH.test(path);
}

/** Does the request path match the rule, by Kubernetes' definition? (For tests and documentation.) */
export function pathMatches(rulePath: string, type: PathType, requestPath: string): boolean {
  if (type === 'Exact') return requestPath === rulePath;
  if (rulePath === '/') return true;
  return requestPath === rulePath || requestPath.startsWith(`${rulePath}/`);
}

/** A wildcard host (`*.example.com`) matches exactly one extra leading DNS label, as Kubernetes defines it. */
export function isWildcardHost(host: string): boolean {
  return host.startsWith('*.');
}

export function hostMatches(ruleHost: string, requestHost: string): boolean {
  if (!isWildcardHost(ruleHost)) return ruleHost === requestHost;
  const suffix = ruleHost.slice(1); // ".example.com"
  if (!requestHost.endsWith(suffix)) return false;
  const label = requestHost.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

/**
 * The nginx server_name for a host. nginx's own `*.example.com` form would also match `a.b.example.com`,
 * so wildcard hosts become an anchored regular expression allowing exactly one label. nginx tries exact
 * names before regular expressions, which gives Kubernetes' "an exact host beats a wildcard" for free.
 */
export function serverName(host: string): string {
  if (!isWildcardHost(host)) return host;
  const rest = host.slice(2).replace(/\./g, '\\.');
  return `~^[^.]+\\.${rest}$`;
}

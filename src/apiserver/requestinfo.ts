import { findResource, type ResourceInfo } from '../api/resources.js';

// Turns a URL path and method into what is being asked, the way kube-apiserver's RequestInfoFactory does:
// /api/v1/namespaces/{ns}/{resource}/{name}/{subresource} and /apis/{group}/{version}/...

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  group: string;
  version: string;
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  verb: Verb;
}

export type ParsedPath =
  | { type: 'resource'; req: ResourceRequest }
  | { type: 'unknown-resource'; group: string; version: string; resource: string }
  | { type: 'group-version'; group: string; version: string }
  | { type: 'group'; group: string }
  | { type: 'root'; prefix: 'api' | 'apis' }
  | { type: 'other' };

function verbFor(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

export function parsePath(method: string, pathname: string, query: URLSearchParams): ParsedPath {
  const parts = pathname.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { type: 'root', prefix: 'api' };
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { type: 'root', prefix: 'apis' };
    if (parts.length === 2) return { type: 'group', group: parts[1]! };
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return { type: 'other' };
  }
  if (rest.length === 0) return { type: 'group-version', group, version };

  // Legacy watch paths (/api/v1/watch/...) are still served by kube-apiserver.
  let watch = query.get('watch') === 'true' || query.get('watch') === '1';
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }

  let namespace: string | undefined;
  // /namespaces/{ns}/{resource}... unless the path is the namespace object itself or its subresource.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const candidate = findResource(group, version, rest[2]!);
    if (candidate?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const resource = rest[0]!;
  const info = findResource(group, version, resource);
  if (!info || rest.length > 3) return { type: 'unknown-resource', group, version, resource };
  const name = rest[1];
  const subresource = rest[2];
  const verb = verbFor(method, name !== undefined, watch && subresource === undefined);
  if (!verb) return { type: 'unknown-resource', group, version, resource };
  return { type: 'resource', req: { group, version, info, namespace, name, subresource, verb } };
}

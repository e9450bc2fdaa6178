import type { ResourceInfo } from '../../api/resources.js';

// Storage keys follow kube-apiserver's etcd layout, with "core" standing for the legacy group so that
// every resource sits at the same depth: /registry/<group>/<resource>/[<namespace>/]<name>.

export function resourcePrefix(info: ResourceInfo): string {
  return `/registry/${info.group || 'core'}/${info.resource}/`;
}

/** Prefix of a list: the whole resource, or one namespace of it. */
export function listPrefix(info: ResourceInfo, namespace?: string): string {
  return info.namespaced && namespace ? `${resourcePrefix(info)}${namespace}/` : resourcePrefix(info);
}

export function objectKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${resourcePrefix(info)}${namespace}/${name}` : `${resourcePrefix(info)}${name}`;
}

import { normalizeImageRef } from '../interface.js';

// Image references split into the parts the distribution API needs. Names are always normalised first
// ("busybox" → docker.io/library/busybox:latest), so the store and the CLI agree on one spelling.

export interface ImageReference {
  /** "docker.io", "127.0.0.1:5000". */
  registry: string;
  /** "library/busybox". */
  repository: string;
  tag?: string;
  /** "sha256:<hex>", when the reference pins a manifest. */
  digest?: string;
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function parseImageRef(ref: string): ImageReference {
  const trimmed = ref.trim();
  if (!trimmed) throw new Error('empty image reference');
  const normalized = normalizeImageRef(trimmed);
  let name = normalized;
  let digest: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    if (!DIGEST.test(digest)) throw new Error(`invalid image reference "${ref}": the digest must be sha256:<64 hex digits>`);
  }
  const slash = name.indexOf('/');
  const registry = name.slice(0, slash);
  let repository = name.slice(slash + 1);
  let tag: string | undefined;
  const lastSlash = repository.lastIndexOf('/');
  const colon = repository.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
    if (!TAG.test(tag)) throw new Error(`invalid image reference "${ref}": bad tag "${tag}"`);
  }
  if (!REPOSITORY.test(repository)) {
    throw new Error(`invalid image reference "${ref}": repository names are lowercase letters, digits and separators (. _ -), like "library/busybox"`);
  }
  return { registry, repository, tag, digest };
}

/** "docker.io/library/busybox". */
export function repoName(r: ImageReference): string {
  return `${r.registry}/${r.repository}`;
}

/** The normalised reference: name:tag, or name@digest when pinned. */
export function formatRef(r: ImageReference): string {
  if (r.digest) return `${repoName(r)}@${r.digest}`;
  return `${repoName(r)}:${r.tag ?? 'latest'}`;
}

/** Docker Hub's API does not live at docker.io. */
export function registryApiHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

/** Loopback registries speak plain HTTP (a local registry or a port-forward), everything else HTTPS. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Splits a stored "repo:tag" into crictl's IMAGE and TAG columns. */
export function splitRepoTag(repoTag: string): { repo: string; tag: string } {
  const lastSlash = repoTag.lastIndexOf('/');
  const colon = repoTag.lastIndexOf(':');
  if (colon > lastSlash) return { repo: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) };
  return { repo: repoTag, tag: '<none>' };
}

import { labelSelectorString, matchesLabels, type LabelSelector } from '../api/selectors.js';
import type { NodeInfo } from './nodeinfo.js';
import type { PodInfo } from './podinfo.js';

// Matching-pod counts per topology domain, kept up to date as pods come and go, for topology spreading.
// kube-scheduler recounts every node's pods in every cycle; with thousands of nodes that is most of a
// cycle, and every replica of a workload asks the same question (same namespace, same selector). A counter
// is built by one full scan the first time it is asked for, then follows pod changes; node changes (labels)
// drop all counters. Only the least recently used few hundred are kept.

const MAX_COUNTERS = 256;

interface Counter {
  namespace: string;
  selector: LabelSelector;
  topologyKey: string;
  requiredKeys: readonly string[];
  counts: Map<string, number>;
}

export class SpreadIndex {
  // A Map iterates in insertion order: re-inserting on use makes the first entry the least recently used.
  private readonly counters = new Map<string, Counter>();
  private readonly selectorIds = new WeakMap<LabelSelector, string>();

  constructor(private readonly nodes: () => Iterable<NodeInfo>) {}

  get size(): number {
    return this.counters.size;
  }

  /**
   * Non-terminating pods of `namespace` matched by `selector`, per value of `topologyKey`, over the nodes
   * that carry that key and every one of `requiredKeys`.
   */
  counts(namespace: string, selector: LabelSelector, topologyKey: string, requiredKeys: readonly string[]): ReadonlyMap<string, number> {
    let sel = this.selectorIds.get(selector);
    if (sel === undefined) this.selectorIds.set(selector, (sel = labelSelectorString(selector)));
    const id = `${namespace}\0${sel}\0${topologyKey}\0${requiredKeys.join(',')}`;
    let c = this.counters.get(id);
    if (c) {
      this.counters.delete(id);
      this.counters.set(id, c);
      return c.counts;
    }
    c = { namespace, selector, topologyKey, requiredKeys, counts: new Map() };
    for (const node of this.nodes()) {
      if (!eligible(c, node)) continue;
      for (const p of node.pods) if (matches(c, p)) bump(c, node, 1);
    }
    this.counters.set(id, c);
    if (this.counters.size > MAX_COUNTERS) this.counters.delete(this.counters.keys().next().value!);
    return c.counts;
  }

  podAdded(p: PodInfo, node: NodeInfo): void {
    this.update(p, node, 1);
  }

  podRemoved(p: PodInfo, node: NodeInfo): void {
    this.update(p, node, -1);
  }

  /** Node labels changed, or nodes came or went: counts are rebuilt when next asked for. */
  nodesChanged(): void {
    this.counters.clear();
  }

  private update(p: PodInfo, node: NodeInfo, by: number): void {
    if (this.counters.size === 0 || p.terminating || !node.node) return;
    for (const c of this.counters.values()) if (matches(c, p) && eligible(c, node)) bump(c, node, by);
  }
}

function eligible(c: Counter, node: NodeInfo): boolean {
  if (!node.node || node.labels[c.topologyKey] === undefined) return false;
  for (const k of c.requiredKeys) if (node.labels[k] === undefined) return false;
  return true;
}

function matches(c: Counter, p: PodInfo): boolean {
  return p.namespace === c.namespace && !p.terminating && matchesLabels(c.selector, p.labels);
}

function bump(c: Counter, node: NodeInfo, by: number): void {
  const v = node.labels[c.topologyKey];
  const n = (c.counts.get(v) ?? 0) + by;
  if (n === 0) c.counts.delete(v);
  else c.counts.set(v, n);
}

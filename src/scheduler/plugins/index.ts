import type { FilterPlugin, ScorePlugin } from '../framework.js';
import type { NamespaceLabels, PodInfo } from '../podinfo.js';
import type { NodeInfo } from '../nodeinfo.js';
import type { ClusterTraits } from '../cache.js';
import type { LabelSelector } from '../../api/selectors.js';
import { nodeUnschedulable } from './nodeunschedulable.js';
import { nodeName } from './nodename.js';
import { taintTolerationFilter, taintTolerationScore } from './tainttoleration.js';
import { nodeAffinityFilter, nodeAffinityScore } from './nodeaffinity.js';
import { nodePorts } from './nodeports.js';
import { nodeResourcesFitFilter, nodeResourcesFitScore, nodeResourcesBalancedAllocation } from './noderesources.js';
import { podTopologySpreadFilter, podTopologySpreadScore } from './podtopologyspread.js';
import { interPodAffinityFilter, interPodAffinityScore } from './interpodaffinity.js';

// kube-scheduler's default profile: filters in its order (the first failing one names the reason a node
// was rejected), scores with its default weights.

export interface ProfileOptions {
  namespaceLabels?: NamespaceLabels;
  nodesWithAffinityPods?: () => readonly NodeInfo[];
  nodesWithRequiredAntiAffinityPods?: () => readonly NodeInfo[];
  /** Cluster-wide counts that let filters skip work no node calls for. */
  traits?: () => ClusterTraits;
  defaultSpreadSelector?: (pod: PodInfo) => LabelSelector | undefined;
  spreadCounts?: (namespace: string, selector: LabelSelector, topologyKey: string, requiredKeys: readonly string[]) => ReadonlyMap<string, number>;
}

export interface Profile {
  filters: FilterPlugin[];
  scores: ScorePlugin[];
}

export function defaultProfile(opts: ProfileOptions = {}): Profile {
  const ipa = { namespaceLabels: opts.namespaceLabels, nodesWithAffinityPods: opts.nodesWithAffinityPods, nodesWithRequiredAntiAffinityPods: opts.nodesWithRequiredAntiAffinityPods };
  const pts = { defaultSelector: opts.defaultSpreadSelector, spreadCounts: opts.spreadCounts };
  const traits = opts.traits;
  return {
    filters: [nodeUnschedulable(traits && (() => traits().unschedulableNodes > 0)), nodeName, taintTolerationFilter(traits && (() => traits().hardTaintedNodes > 0)), nodeAffinityFilter, nodePorts, nodeResourcesFitFilter, podTopologySpreadFilter(pts), interPodAffinityFilter(ipa)],
    scores: [taintTolerationScore(traits && (() => traits().preferNoScheduleNodes > 0)), nodeAffinityScore, nodeResourcesFitScore, podTopologySpreadScore(pts), interPodAffinityScore(ipa), nodeResourcesBalancedAllocation],
  };
}

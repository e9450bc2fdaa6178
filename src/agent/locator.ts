import type { RuntimeService } from '../runtime/interface.js';
import type { ContainerLocator } from './streaming/server.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from './meta.js';

// Answers the streaming server's questions (which runtime container is "nginx" of pod default/web?) from the
// runtime itself, whose labels name pod and container: always current, also right after an agent restart.

export function createLocator(runtime: RuntimeService, podUid: (namespace: string, name: string) => string | undefined): ContainerLocator {
  const sandboxesOf = async (namespace: string, pod: string) => {
    const uid = podUid(namespace, pod);
    return (await runtime.listPodSandboxes()).filter((s) => (uid ? s.podUid === uid : s.namespace === namespace && s.name === pod)).sort((a, b) => b.createdAt - a.createdAt);
  };
  return {
    async container(namespace, pod, container) {
      const sbs = await sandboxesOf(namespace, pod);
      if (sbs.length === 0) return undefined;
      const all = [];
      for (const sb of sbs) all.push(...(await runtime.listContainers({ sandboxId: sb.id })));
      const mine = all.filter((c) => (c.labels[LABEL_CONTAINER_NAME] ?? c.name) === container).sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
      if (mine.length === 0) return undefined;
      const [cur, prev] = mine;
      return {
        current: { id: cur!.id, logPath: cur!.logPath, running: cur!.state === 'Running' },
        ...(prev ? { previous: { id: prev.id, logPath: prev.logPath } } : {}),
      };
    },
    async sandbox(namespace, pod) {
      const sb = (await sandboxesOf(namespace, pod)).find((s) => s.state === 'Ready');
      return sb ? { id: sb.id } : undefined;
    },
    async pods() {
      const out = new Map<string, { namespace: string; name: string; uid: string; containers: Array<{ name: string; id: string }> }>();
      for (const c of await runtime.listContainers()) {
        if (c.state !== 'Running') continue;
        const uid = c.labels[LABEL_POD_UID];
        if (!uid) continue;
        let p = out.get(uid);
        if (!p) out.set(uid, (p = { namespace: c.labels[LABEL_POD_NAMESPACE] ?? '', name: c.labels[LABEL_POD_NAME] ?? '', uid, containers: [] }));
        p.containers.push({ name: c.labels[LABEL_CONTAINER_NAME] ?? c.name, id: c.id });
      }
      return [...out.values()];
    },
  };
}

import type { Container, LifecycleHandler, Pod } from 'kubernetes-types/core/v1.js';
import type { RuntimeService } from '../runtime/interface.js';
import { execAction, httpGet, type ActionResult } from './probe.js';
import { podDesc } from './meta.js';

// postStart and preStop hooks: exec in the container, httpGet against the pod, or sleep.

export async function runHook(runtime: RuntimeService, h: LifecycleHandler, pod: Pod, c: Container, containerId: string, podIP: string | undefined, timeoutMs: number): Promise<ActionResult> {
  const t = { containerId, container: c, podIP };
  if (h.exec) {
    const cmd = h.exec.command ?? [];
    const r = await execAction(runtime, cmd, t, timeoutMs);
    if (r.ok) return r;
    return { ok: false, output: `Exec lifecycle hook (${JSON.stringify(cmd)}) for Container "${c.name}" in Pod "${podDesc(pod)}" failed - error: ${r.output.trim()}` };
  }
  if (h.httpGet) {
    const r = await httpGet(h.httpGet, t, Math.min(timeoutMs, 10_000));
    if (r.ok) return r;
    return { ok: false, output: `HTTP lifecycle hook (${h.httpGet.path ?? '/'}) for Container "${c.name}" in Pod "${podDesc(pod)}" failed - error: ${r.output}` };
  }
  if (h.sleep) {
    await new Promise((r) => setTimeout(r, Math.min(h.sleep!.seconds * 1000, timeoutMs)));
    return { ok: true, output: '' };
  }
  return { ok: true, output: '' };
}

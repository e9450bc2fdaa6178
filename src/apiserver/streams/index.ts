import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { StatusError, badRequest, methodNotAllowed } from '../../api/errors.js';
import type { Ctx } from '../handler.js';
import type { Registries } from '../registries.js';
import type { ResourceRequest } from '../requestinfo.js';
import { proxyGet, proxyUpgrade } from './proxy.js';
import { checkLogs, checkPodRunning, checkRunning, chooseContainer, getPod, podNode } from './target.js';

// pods/log, pods/exec, pods/attach and pods/portforward: checked here, served by the pod's node agent.

const UPGRADED = new Set(['exec', 'attach', 'portforward']);

/** Query parameters passed on to the agent, per subresource. */
const LOG_PARAMS = ['follow', 'previous', 'tailLines', 'sinceSeconds', 'sinceTime', 'timestamps', 'limitBytes'];
const STREAM_PARAMS = ['command', 'stdin', 'stdout', 'stderr', 'tty'];

function passOn(q: URLSearchParams, names: string[]): string {
  const out = new URLSearchParams();
  for (const n of names) for (const v of q.getAll(n)) out.append(n, v);
  const s = out.toString();
  return s ? `?${s}` : '';
}

const seg = (s: string) => encodeURIComponent(s);

export class PodStreams {
  constructor(
    private readonly registries: Registries,
    /** The API server's credential towards node agents. */
    private readonly token: string,
  ) {}

  /** Whether an upgrade request is one of ours. */
  static isUpgradeable(rr: ResourceRequest): boolean {
    return rr.group === '' && rr.info.resource === 'pods' && !!rr.name && !!rr.namespace && UPGRADED.has(rr.subresource ?? '');
  }

  /** Plain (non-upgrade) requests for a pod's streaming subresources. */
  async serve(ctx: Ctx, sub: string): Promise<void> {
    const { rr, url } = ctx;
    if (rr.group !== '' || rr.info.resource !== 'pods' || !rr.namespace) throw new StatusError(404, 'NotFound', `the server could not find the requested resource (${rr.info.resource}/${sub} is not served)`);
    if (sub === 'log') {
      if (rr.verb !== 'get') throw methodNotAllowed();
      const pod = await getPod(this.registries, rr.namespace, rr.name!);
      const container = chooseContainer(pod, url.searchParams.get('container'));
      const node = await podNode(this.registries, pod);
      checkLogs(pod, container, url.searchParams.get('previous') === 'true');
      const path = `/containerLogs/${seg(rr.namespace)}/${seg(rr.name!)}/${seg(container)}${passOn(url.searchParams, LOG_PARAMS)}`;
      return proxyGet(ctx.req, ctx.res, node, path, this.token);
    }
    if (UPGRADED.has(sub)) throw badRequest(`Upgrade request required: ${sub} speaks WebSocket (GET) or SPDY/3.1 (POST) only`);
    throw new StatusError(404, 'NotFound', `the server could not find the requested resource (pods/${sub} is not served)`);
  }

  /** exec, attach and portforward: the same checks for the WebSocket attempt and kubectl's SPDY retry. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, rr: ResourceRequest, url: URL): Promise<void> {
    const sub = rr.subresource!;
    if (rr.verb !== 'get' && rr.verb !== 'create') throw methodNotAllowed();
    const ns = rr.namespace!;
    const name = rr.name!;
    const pod = await getPod(this.registries, ns, name);
    let path: string;
    if (sub === 'portforward') {
      checkPodRunning(pod);
      path = `/portForward/${seg(ns)}/${seg(name)}`;
    } else {
      const container = chooseContainer(pod, url.searchParams.get('container'));
      if (sub === 'exec' && url.searchParams.getAll('command').length === 0) throw badRequest('you must specify at least one command for the container');
      checkRunning(pod, container, sub === 'exec' ? 'exec' : 'attach');
      path = `/${sub}/${seg(ns)}/${seg(name)}/${seg(container)}${passOn(url.searchParams, STREAM_PARAMS)}`;
    }
    const node = await podNode(this.registries, pod);
    await proxyUpgrade(req, socket, head, node, path, this.token);
  }
}

import { spawn } from 'node:child_process';
import { join } from 'node:path';

// One CNI plugin invocation (the part of libcni the node needs): the network config on stdin, the request in
// CNI_* environment variables, a JSON result or a JSON error on stdout.

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export interface CniRequest {
  containerId: string;
  /** Path of the network namespace (an nsfs bind mount). */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs (K8S_POD_NAME etc.). */
  args: Record<string, string>;
}

export interface CniIp {
  address: string; // "10.88.1.2/24"
  gateway?: string;
  interface?: number;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

/** A plugin's own error ({code, msg, details}), or a failure to run it. */
export class CniError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export async function invokePlugin(pluginDir: string, command: CniCommand, netconf: Record<string, unknown>, req: CniRequest): Promise<CniResult | undefined> {
  const type = String(netconf.type);
  if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new CniError(`invalid CNI plugin type "${type}"`);
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: req.containerId,
    CNI_NETNS: req.netns,
    CNI_IFNAME: req.ifName,
    CNI_PATH: pluginDir,
    CNI_ARGS: Object.entries({ IgnoreUnknown: '1', ...req.args }).map(([k, v]) => `${k}=${v}`).join(';'),
  };
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(join(pluginDir, type), [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e) => reject(new CniError(`cannot run CNI plugin ${type} from ${pluginDir}: ${e.message}; install the CNI plugins there`)));
    // Plugins exit promptly and start nothing that keeps stdout, so waiting for 'close' is safe here.
    child.on('close', (c) => resolve({ code: c ?? 1, stdout: out, stderr: err }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(netconf));
  });
  if (code !== 0) {
    let msg = stderr.trim() || stdout.trim();
    let errCode: number | undefined;
    try {
      const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
      msg = [e.msg, e.details].filter(Boolean).join(': ') || msg;
      errCode = e.code;
    } catch {
      // not JSON: keep the raw text
    }
    throw new CniError(`CNI plugin ${type} ${command} failed: ${msg}`, errCode);
  }
  if (command !== 'ADD' || !stdout.trim()) return undefined;
  return JSON.parse(stdout) as CniResult;
}

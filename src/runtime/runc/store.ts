import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig, PodSandboxConfig } from '../interface.js';

// What the runtime knows about its sandboxes and containers, one JSON file each under the data directory, so a
// restarted agent finds (and keeps managing) everything the previous one started.

export interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  state: 'Ready' | 'NotReady';
  createdAt: number;
  ip?: string;
  hostVeth?: string;
  /** Namespace files (nsfs bind mounts); net/uts absent with hostNetwork, pid only with shareProcessNamespace. */
  ns: { net?: string; ipc: string; uts?: string; pid?: string };
  /** The pause process (catatonit -P) holding the shared PID namespace, and its start time to detect pid reuse. */
  pause?: { pid: number; startTime: string };
  cgroupPath: string;
  dir: string;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** Set when the container's fate could not be learned (conmon gone without an exit file). */
  lostReason?: string;
  pid?: number;
  conmonPid?: number;
  cgroupPath: string;
  bundle: string;
  removed?: boolean;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 1));
  await rename(tmp, path);
}

async function readJsonDir<T>(dir: string, file: string): Promise<T[]> {
  const out: T[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    try {
      out.push(JSON.parse(await readFile(join(dir, name, file), 'utf8')) as T);
    } catch {
      // a directory whose record was never completed (crash during create): nothing to adopt
    }
  }
  return out;
}

export class Store {
  readonly sandboxesDir: string;
  readonly containersDir: string;

  constructor(dataDir: string) {
    this.sandboxesDir = join(dataDir, 'sandboxes');
    this.containersDir = join(dataDir, 'containers');
  }

  async init(): Promise<void> {
    await mkdir(this.sandboxesDir, { recursive: true });
    await mkdir(this.containersDir, { recursive: true });
  }

  sandboxDir(id: string): string {
    return join(this.sandboxesDir, id);
  }

  containerDir(id: string): string {
    return join(this.containersDir, id);
  }

  saveSandbox(r: SandboxRecord): Promise<void> {
    return writeJson(join(this.sandboxDir(r.id), 'sandbox.json'), r);
  }

  saveContainer(r: ContainerRecord): Promise<void> {
    return writeJson(join(this.containerDir(r.id), 'container.json'), r);
  }

  loadSandboxes(): Promise<SandboxRecord[]> {
    return readJsonDir<SandboxRecord>(this.sandboxesDir, 'sandbox.json');
  }

  loadContainers(): Promise<ContainerRecord[]> {
    return readJsonDir<ContainerRecord>(this.containersDir, 'container.json');
  }
}

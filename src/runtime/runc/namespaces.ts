import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountPoints, unmountPaths } from './mounts.js';
import { minimalEnv, runOk } from './proc.js';

// A pod sandbox is a set of persistent namespaces rather than a pause container: each namespace is pinned by an
// nsfs bind mount in the runtime's private directory, and containers join them by path. Only a shared PID
// namespace needs a process to stay alive (a PID namespace dies with its init): catatonit -P, which also reaps
// orphans of every container in the pod.

export interface PodNamespaces {
  net?: string;
  ipc: string;
  uts?: string;
}

/**
 * Creates the pod's ipc namespace, and net + uts (with the pod's hostname) unless the pod uses the host network.
 * One process does all of it, because each process the agent spawns blocks its event loop for a few ms (fork):
 * unshare binds the new namespaces onto the files, then a shell inside them sets the hostname, brings the
 * loopback interface up (what the CNI loopback plugin does) and mounts the pod's /dev/shm tmpfs (unshare makes no
 * mount namespace, so that mount is the host's, as a separate `mount` would make it).
 */
export async function createPodNamespaces(
  nsDir: string,
  id: string,
  opts: { hostNetwork: boolean; hostname: string; shm?: { path: string; options: string } },
): Promise<PodNamespaces> {
  const files: PodNamespaces = { ipc: join(nsDir, `${id}-ipc`) };
  if (!opts.hostNetwork) {
    files.net = join(nsDir, `${id}-net`);
    files.uts = join(nsDir, `${id}-uts`);
  }
  const args: string[] = [];
  const creating: Promise<void>[] = [];
  for (const [kind, path] of [['net', files.net], ['ipc', files.ipc], ['uts', files.uts]] as const) {
    if (!path) continue;
    creating.push(writeFile(path, ''));
    args.push(`--${kind}=${path}`);
  }
  await Promise.all(creating);
  const shm = opts.shm && !(await mountPoints()).includes(opts.shm.path) ? opts.shm : undefined;
  const script = [
    'set -e',
    'if [ -n "$1" ]; then hostname "$1"; fi',
    'if [ -n "$2" ]; then ip link set lo up; fi',
    'if [ -n "$3" ]; then mount -t tmpfs -o "$4" tmpfs "$3"; fi',
  ].join('\n');
  await runOk('unshare', [...args, '/bin/sh', '-c', script, 'pod-namespaces', files.uts ? opts.hostname : '', files.net ? 'lo' : '', shm?.path ?? '', shm?.options ?? '']);
  return files;
}

/** Unmounts and deletes namespace files. A namespace is freed once no mount and no process pins it. */
export async function removeNamespaceFiles(paths: Array<string | undefined>): Promise<void> {
  const files = paths.filter((p): p is string => !!p);
  await unmountPaths(files);
  await Promise.all(files.map((p) => rm(p, { force: true })));
}

export interface PauseProcess {
  pid: number;
  startTime: string;
}

/**
 * Starts the pod's PID-namespace holder: `unshare --pid=<file> --fork --kill-child catatonit -P`, entered into the
 * pod's other namespaces and cgroups first. Killing the recorded unshare process kills catatonit (parent-death
 * signal), which ends the PID namespace and every process left in it.
 */
export async function startPause(pidNsFile: string, ns: PodNamespaces, cgroupProcs: string[], catatonit: string): Promise<PauseProcess> {
  await writeFile(pidNsFile, '');
  const enter = [ns.net ? `--net=${ns.net}` : '', `--ipc=${ns.ipc}`, ns.uts ? `--uts=${ns.uts}` : ''].filter(Boolean);
  // The shell joins the pod cgroups before exec, so unshare and catatonit are born inside them.
  const script = 'for f in "$@"; do case "$f" in --) break;; esac; echo $$ > "$f" 2>/dev/null; shift; done; shift; exec "$@"';
  const child = spawn('/bin/sh', ['-c', script, 'pause', ...cgroupProcs, '--', 'nsenter', ...enter, '--', 'unshare', `--pid=${pidNsFile}`, '--fork', '--kill-child', catatonit, '-P'], {
    env: minimalEnv(),
    stdio: 'ignore',
    detached: true,
  });
  const pid = child.pid;
  child.unref();
  if (!pid) throw new Error('cannot start the pod pause process (catatonit): is it installed?');
  // The namespace file is bound by unshare after its fork; wait for it so containers can join.
  const deadline = Date.now() + 10_000;
  while (!(await mountPoints()).includes(pidNsFile)) {
    if (Date.now() > deadline || !(await processStartTime(pid))) throw new Error('the pod pause process (catatonit) did not start; check that catatonit and unshare are installed');
    await new Promise((r) => setTimeout(r, 10));
  }
  return { pid, startTime: (await processStartTime(pid)) ?? '' };
}

export async function stopPause(p: PauseProcess): Promise<void> {
  if ((await processStartTime(p.pid)) !== p.startTime) return; // gone, or the pid was reused
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + 5000;
  while ((await processStartTime(p.pid)) === p.startTime && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** The process's start time (field 22 of /proc/<pid>/stat), or undefined if it does not exist or is a zombie. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

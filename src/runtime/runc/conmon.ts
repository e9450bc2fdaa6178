import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { minimalEnv } from './proc.js';

// conmon supervises each container: it runs `runc create`, stays the parent (and subreaper) of the container's
// init, writes stdout/stderr to a CRI-format log, and records the exit code and an OOM kill in files. A detached
// runc container would otherwise be reaped by the host's PID 1 and its exit status lost.

export interface ConmonOptions {
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  logSizeMax: number;
  tty: boolean;
  runc: string;
  runcRoot: string;
  exitDir: string;
  persistDir: string;
  socketDir: string;
}

export interface ConmonStarted {
  /** The container's init pid (host view). */
  pid: number;
  conmonPid: number;
}

const SYNC_TIMEOUT_MS = 60_000;

/** Starts conmon, which creates the container (state "created"), and waits for it to report the init pid. */
export async function startConmon(o: ConmonOptions): Promise<ConmonStarted> {
  const args = [
    '--api-version', '1',
    '-c', o.id, '-u', o.id, '-n', o.name,
    '-r', o.runc, '--runtime-arg', `--root=${o.runcRoot}`,
    '-b', o.bundle,
    '-p', join(o.bundle, 'pidfile'),
    '--conmon-pidfile', join(o.bundle, 'conmon.pid'),
    '-l', `k8s-file:${o.logPath}`,
    '--log-size-max', String(o.logSizeMax),
    '--exit-dir', o.exitDir,
    '--persist-dir', o.persistDir,
    '--socket-dir-path', o.socketDir,
    '--syslog=false',
    ...(o.tty ? ['-t'] : []),
  ];
  const diag = join(o.bundle, 'conmon.log');
  const diagFd = openSync(diag, 'a');
  try {
    const child = spawn('conmon', args, {
      // cwd = bundle: conmon writes its "oom" marker into its working directory.
      cwd: o.bundle,
      env: minimalEnv({ _OCI_SYNCPIPE: '3' }),
      stdio: ['ignore', diagFd, diagFd, 'pipe'],
      detached: true,
    });
    const sync = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => finish(new Error('conmon did not report the container within 60s')), SYNC_TIMEOUT_MS);
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        sync.destroy();
        if (err) reject(err);
        else resolve(text);
      };
      child.on('error', (e) => finish(new Error(`cannot run conmon: ${e.message}; install conmon`)));
      sync.on('data', (b: Buffer) => {
        text += b.toString();
        if (/\}\s*$/.test(text)) finish();
      });
      sync.on('end', () => finish());
      sync.on('error', () => finish());
    });
    child.unref();
    let parsed: { data?: number; message?: string } = {};
    try {
      parsed = JSON.parse(reply) as { data?: number; message?: string };
    } catch {
      const log = await readFile(diag, 'utf8').catch(() => '');
      throw new Error(`conmon failed to create the container: ${log.trim().slice(-2000) || 'no output'}`);
    }
    if (!parsed.data || parsed.data < 0) {
      throw new Error(`runc could not create the container: ${(parsed.message ?? 'unknown error').trim()}`);
    }
    const conmonPid = Number((await readFile(join(o.bundle, 'conmon.pid'), 'utf8').catch(() => '0')).trim());
    return { pid: parsed.data, conmonPid };
  } finally {
    closeSync(diagFd);
  }
}

export interface ExitInfo {
  exitCode: number;
  oomKilled: boolean;
  finishedAt: number;
}

/** The container's exit as conmon recorded it, or undefined while it is still running. */
export async function readExit(exitDir: string, persistDir: string, bundle: string, id: string): Promise<ExitInfo | undefined> {
  const file = join(exitDir, id);
  let text: string;
  let st;
  try {
    text = await readFile(file, 'utf8');
    st = await stat(file);
  } catch {
    return undefined;
  }
  // conmon writes the file in one go, but we may catch it between create and write.
  if (!text.trim()) return undefined;
  const exitCode = Number(text.trim());
  const oom = (await exists(join(persistDir, 'oom'))) || (await exists(join(bundle, 'oom')));
  return { exitCode: Number.isFinite(exitCode) ? exitCode : 255, oomKilled: oom, finishedAt: Math.floor(st.mtimeMs) };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

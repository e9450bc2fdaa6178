import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { once } from 'node:events';

// GNU tar, spawned: extraction of layers and archives, creation of build layers.

export interface TarProcess {
  /** Feeds a chunk; resolves when tar can take more. Chunks after tar stopped reading are dropped. */
  write(chunk: Buffer): Promise<void>;
  /** Ends the input and waits for tar; rejects with tar's stderr on failure. */
  finish(): Promise<void>;
}

/** `tar -x` into dir reading stdin. tar stops reading at the end-of-archive blocks, so a closed stdin is not an error. */
export function spawnExtract(dir: string, extraArgs: string[] = []): TarProcess {
  const child = spawn('tar', ['-x', '--numeric-owner', '-p', '-f', '-', '-C', dir, ...extraArgs], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let open = true;
  child.stdin.on('error', () => (open = false));
  child.stdin.on('close', () => (open = false));
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  return {
    async write(chunk) {
      if (!open) return;
      if (!child.stdin.write(chunk)) await Promise.race([once(child.stdin, 'drain'), once(child.stdin, 'close'), exited]).catch(() => undefined);
    },
    async finish() {
      if (open) child.stdin.end();
      const code = await exited.catch((e: Error) => {
        throw new Error(`cannot run tar: ${e.message}; install GNU tar`);
      });
      if (code !== 0) throw new Error(`tar failed (exit ${code}): ${stderr.trim() || 'no message'}`);
    },
  };
}

export async function extractBuffer(dir: string, data: Buffer, extraArgs: string[] = []): Promise<void> {
  const t = spawnExtract(dir, extraArgs);
  await t.write(data);
  await t.finish();
}

export async function extractFile(file: string, dir: string): Promise<void> {
  const child = spawn('tar', ['-x', '--no-same-owner', '-f', file, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`cannot read archive ${file}: ${stderr.trim() || `tar exit ${code}`}`);
}

/** `tar -c` of the given top-level names in dir, everything owned by root (numeric 0), names sorted. */
export function spawnCreate(dir: string, names: string[]): { stdout: Readable; done: Promise<void> } {
  const args = ['-c', '-f', '-', '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--xattrs', '-C', dir];
  const child = spawn('tar', names.length ? [...args, '--', ...names] : [...args, '--files-from=/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot run tar: ${e.message}`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar failed to read ${dir}: ${stderr.trim()}`))));
  });
  return { stdout: child.stdout, done };
}

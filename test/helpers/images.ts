import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO, run } from './cluster.js';

// Test images without a network: a busybox-static root filesystem, built into the node's store by the real CLI.

const KITE = process.env.KITE_BIN ?? join(REPO, 'bin', 'kite');

/** Fills dir with a minimal root filesystem: /bin/busybox and its applet links, /etc/passwd and /etc/group (root, nobody), /tmp, /www. */
export function busyboxRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync('/usr/bin/busybox', join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync('/usr/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(dir, 'bin', a));
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  mkdirSync(join(dir, 'www'), { recursive: true });
  mkdirSync(join(dir, 'root'), { recursive: true });
}

/**
 * Builds `tag` into the store of dataDir with `kite image build` (honours KITE_BIN): a busybox rootfs plus
 * `files` (path inside the image → content; written 0755 when under bin/). Throws with the CLI's output on failure.
 */
export async function buildImage(
  dataDir: string,
  tag: string,
  opts: { files?: Record<string, string>; entrypoint?: string[]; cmd?: string[]; env?: string[]; port?: string } = {},
): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), 'kite-build-'));
  try {
    busyboxRootfs(ctx);
    for (const [path, content] of Object.entries(opts.files ?? {})) {
      const file = join(ctx, path.replace(/^\/+/, ''));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, { mode: /^\/?(usr\/)?s?bin\//.test(path) ? 0o755 : 0o644 });
    }
    const args = [KITE, 'image', 'build', ctx, '-t', tag, '--data-dir', dataDir];
    for (const e of opts.entrypoint ?? []) args.push('--entrypoint', e);
    for (const c of opts.cmd ?? []) args.push('--cmd', c);
    for (const e of opts.env ?? []) args.push('--env', e);
    if (opts.port) args.push('--port', opts.port);
    const r = await run(process.execPath, args, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kite image build ${tag} failed (${r.code}): ${r.stderr}${r.stdout}`);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

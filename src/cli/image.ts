import { join, resolve } from 'node:path';
import { openImageStore, type ImageStore } from '../runtime/images/store.js';
import { splitRepoTag } from '../runtime/images/reference.js';
import type { RegistryAuth } from '../runtime/interface.js';

// `kite image`: manage the node's image store (the one the agent uses, at <data-dir>/agent/images) from a shell:
// import archives, build from a directory, list, remove, pull and push. Safe to run while the agent is running.

const USAGE = `Usage: kite image <command> [flags]

Commands:
  ls                         List images (IMAGE, TAG, IMAGE ID, SIZE)
  pull REF                   Pull an image from a registry
  push REF [--to REF]        Push an image to a registry [--format oci|docker]
  import FILE.tar            Import a docker save or OCI archive
  build DIR -t NAME:TAG      Build an image from a directory (one layer, owned by root)
        [--from BASE] [--entrypoint ARG]... [--cmd ARG]... [--env K=V]... [--workdir DIR] [--port 8080/tcp] [--user U]
  rm REF...                  Remove images (by name, name@digest or IMAGE ID)

Flags:
  --data-dir DIR       kite data directory (default /var/lib/kite)
  --registries FILE    registries file (mirrors, auth, TLS), as k3s' registries.yaml
  --creds USER:PASS    credentials for pull and push`;

interface Parsed {
  positional: string[];
  flags: Map<string, string[]>;
}

const VALUE_FLAGS = new Set(['data-dir', 'registries', 'creds', 'to', 'format', 't', 'tag', 'from', 'entrypoint', 'cmd', 'env', 'workdir', 'port', 'user']);

function parseArgs(argv: string[]): Parsed {
  const out: Parsed = { positional: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--?([\w-]+)(?:=(.*))?$/s.exec(a);
    if (!m || a === '-') {
      out.positional.push(a);
      continue;
    }
    const name = m[1];
    if (name === 'help' || name === 'h') {
      out.flags.set('help', ['']);
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new Error(`unknown flag ${a}\n\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`flag ${a} needs a value`);
    out.flags.set(name, [...(out.flags.get(name) ?? []), value]);
  }
  return out;
}

function one(p: Parsed, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = p.flags.get(n);
    if (v?.length) return v[v.length - 1];
  }
  return undefined;
}

function creds(p: Parsed): ((host: string) => RegistryAuth | undefined) | undefined {
  const c = one(p, 'creds');
  if (!c) return undefined;
  const colon = c.indexOf(':');
  if (colon < 0) throw new Error('--creds must look like USER:PASSWORD');
  const auth = { username: c.slice(0, colon), password: c.slice(colon + 1) };
  return () => auth;
}

/** crictl's human sizes: 3 significant digits, decimal units. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

async function list(store: ImageStore): Promise<string> {
  const rows: string[][] = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
  for (const img of await store.listImages()) {
    const id = img.id.replace(/^sha256:/, '').slice(0, 13);
    const size = humanSize(img.size);
    const names = img.repoTags.length ? img.repoTags.map(splitRepoTag) : [{ repo: img.repoDigests[0]?.split('@')[0] ?? '<none>', tag: '<none>' }];
    for (const n of names) rows.push([n.repo, n.tag, id, size]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('   ')).join('\n');
}

export async function runImage(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgs(argv);
  } catch (e) {
    console.error(`kite image: ${(e as Error).message}`);
    return 2;
  }
  const [cmd, ...args] = p.positional;
  if (!cmd || p.flags.has('help')) {
    console.log(USAGE);
    return cmd || p.flags.has('help') ? 0 : 2;
  }
  const dataDir = resolve(one(p, 'data-dir') ?? '/var/lib/kite');
  const registries = one(p, 'registries');
  try {
    const store = await openImageStore({ dir: join(dataDir, 'agent', 'images'), registriesConfigPath: registries && resolve(registries) });
    const progress = (m: string) => console.log(m);
    const need = (what: string) => {
      if (!args.length) throw new UsageError(`kite image ${cmd} needs ${what}`);
      return args;
    };
    switch (cmd) {
      case 'ls':
      case 'list':
        console.log(await list(store));
        return 0;
      case 'pull':
        for (const ref of need('an image reference')) {
          const img = await store.pullImage(ref, { credentials: creds(p), onProgress: progress });
          console.log(`Image is up to date for ${img.repoDigests[0] ?? ref} (${img.id})`);
        }
        return 0;
      case 'push': {
        const [ref] = need('an image reference');
        const f = one(p, 'format');
        if (f && f !== 'oci' && f !== 'docker') throw new UsageError('--format is oci or docker');
        const format = f as 'oci' | 'docker' | undefined;
        await store.push(ref, { to: one(p, 'to'), format, credentials: creds(p), onProgress: progress });
        return 0;
      }
      case 'import':
        for (const file of need('an archive file')) {
          for (const img of await store.importArchive(resolve(file))) console.log(`Imported ${img.repoTags.join(', ') || '<none>'} (${img.id})`);
        }
        return 0;
      case 'build': {
        const [dir] = need('a directory');
        const tag = one(p, 't', 'tag');
        if (!tag) throw new UsageError('kite image build needs -t NAME:TAG');
        const img = await store.build({
          contextDir: resolve(dir),
          tag,
          from: one(p, 'from'),
          entrypoint: p.flags.get('entrypoint'),
          cmd: p.flags.get('cmd'),
          env: p.flags.get('env'),
          workingDir: one(p, 'workdir'),
          exposedPorts: p.flags.get('port'),
          user: one(p, 'user'),
        });
        console.log(`Built ${img.repoTags[0]} (${img.id})`);
        return 0;
      }
      case 'rm':
      case 'rmi':
        for (const ref of need('an image reference')) {
          await store.removeImage(ref);
          console.log(`Deleted: ${ref}`);
        }
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
    }
  } catch (e) {
    console.error(`kite image: ${(e as Error).message}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

class UsageError extends Error {}

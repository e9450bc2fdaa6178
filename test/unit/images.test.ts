import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { normalizeImageRef } from '../../src/runtime/interface.js';
import { parseImageRef, registryApiHost, formatRef } from '../../src/runtime/images/reference.js';
import { endpointsFor, parseRegistriesConfig } from '../../src/runtime/images/registries.js';
import { parseChallenge } from '../../src/runtime/images/client.js';
import { openImageStore, type ImageStore } from '../../src/runtime/images/store.js';
import { busyboxRootfs } from '../helpers/images.js';

// The image store without a registry: references, layer unpacking with whiteouts, archive import, build,
// removal, GC and two processes' worth of store instances sharing one directory.

function tempDir(t: { after(fn: () => void): void }, prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An uncompressed tar of dir's contents, root-owned. */
function tarOf(dir: string): Buffer {
  return execFileSync('tar', ['-c', '-f', '-', '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-C', dir, ...readdirSync(dir).sort()], { maxBuffer: 64 << 20 });
}

function write(dir: string, files: Record<string, string>): string {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

function configJson(diffIds: string[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'], ...extra }, rootfs: { type: 'layers', diff_ids: diffIds } }));
}

test('image references normalise as the kubelet does', () => {
  assert.equal(normalizeImageRef('busybox'), 'docker.io/library/busybox:latest');
  assert.deepEqual(parseImageRef('busybox:1.35'), { registry: 'docker.io', repository: 'library/busybox', tag: '1.35', digest: undefined });
  assert.deepEqual(parseImageRef('127.0.0.1:5000/example/busybox'), { registry: '127.0.0.1:5000', repository: 'example/busybox', tag: 'latest', digest: undefined });
  const d = `sha256:${'a'.repeat(64)}`;
  assert.equal(formatRef(parseImageRef(`user/app@${d}`)), `docker.io/user/app@${d}`);
  assert.equal(formatRef(parseImageRef('localhost/app')), 'localhost/app:latest');
  assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
  assert.throws(() => parseImageRef('Busybox'), /lowercase/);
  assert.throws(() => parseImageRef('busybox@sha256:123'), /digest/);
});

test('registries file: mirrors come first, loopback speaks HTTP, Docker Hub goes to its API host', () => {
  const cfg = parseRegistriesConfig(`
mirrors:
  docker.io:
    endpoint: ["http://127.0.0.1:5000", "mirror.example.com"]
configs:
  "127.0.0.1:5000":
    auth: { username: u, password: p }
  mirror.example.com:
    tls: { insecure_skip_verify: true }
`);
  const eps = endpointsFor('docker.io', cfg);
  assert.deepEqual(
    eps.map((e) => [e.url.href, e.mirror, e.insecureSkipVerify]),
    [
      ['http://127.0.0.1:5000/', true, false],
      ['https://mirror.example.com/', true, true],
      ['https://registry-1.docker.io/', false, false],
    ],
  );
  assert.equal(eps[0].auth?.username, 'u');
  assert.equal(endpointsFor('localhost:5001', cfg)[0].url.protocol, 'http:');
  assert.deepEqual(parseChallenge('Bearer realm="http://127.0.0.1:5001/token",service="reg",scope="repository:a/b:pull,push"'), {
    scheme: 'bearer',
    params: { realm: 'http://127.0.0.1:5001/token', service: 'reg', scope: 'repository:a/b:pull,push' },
  });
});

test('whiteouts become overlay whiteouts: an overlay of the layers hides deleted files and opaque directories', async (t) => {
  const work = tempDir(t, 'kite-img-wh-');
  const lower = write(join(work, 'l1'), { 'etc/keep': 'keep', 'etc/gone': 'gone', 'data/old1': '1', 'data/old2': '2' });
  const upper = write(join(work, 'l2'), { 'etc/.wh.gone': '', 'data/.wh..wh..opq': '', 'data/new': 'new' });
  const t1 = tarOf(lower);
  const t2 = tarOf(upper);
  const archive = join(work, 'archive');
  const c = configJson([`sha256:${sha(t1)}`, `sha256:${sha(t2)}`]);
  write(archive, { 'manifest.json': JSON.stringify([{ Config: 'config.json', RepoTags: ['wh:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]) });
  writeFileSync(join(archive, 'config.json'), c);
  mkdirSync(join(archive, 'l1'));
  mkdirSync(join(archive, 'l2'));
  writeFileSync(join(archive, 'l1', 'layer.tar'), t1);
  writeFileSync(join(archive, 'l2', 'layer.tar'), gzipSync(t2)); // compressed and uncompressed layers both work
  execFileSync('tar', ['-c', '-f', join(work, 'wh.tar'), '-C', archive, '.']);

  const store = await openImageStore({ dir: join(work, 'store') });
  const [img] = await store.importArchive(join(work, 'wh.tar'));
  assert.deepEqual(img.repoTags, ['docker.io/library/wh:1']);
  const dirs = store.layerDirs(img);
  assert.equal(dirs.length, 2);
  const wh = lstatSync(join(dirs[0], 'etc', 'gone'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'the whiteout is a 0/0 character device');
  assert.ok(!existsSync(join(dirs[0], 'etc', '.wh.gone')));
  assert.ok(!existsSync(join(dirs[0], 'data', '.wh..wh..opq')));

  const mnt = join(work, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${dirs.join(':')}`, mnt]);
  try {
    assert.deepEqual(readdirSync(join(mnt, 'etc')), ['keep']);
    assert.deepEqual(readdirSync(join(mnt, 'data')), ['new']);
    assert.equal(readFileSync(join(mnt, 'data', 'new'), 'utf8'), 'new');
    await assert.rejects(store.removeImage('wh:1'), /in use by a running container/);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('a layer whose content does not match its diff ID is refused', async (t) => {
  const work = tempDir(t, 'kite-img-bad-');
  const layer = tarOf(write(join(work, 'l'), { a: 'a' }));
  const archive = write(join(work, 'archive'), { 'manifest.json': JSON.stringify([{ Config: 'c.json', RepoTags: ['bad:1'], Layers: ['layer.tar'] }]) });
  writeFileSync(join(archive, 'c.json'), configJson([`sha256:${'0'.repeat(64)}`]));
  writeFileSync(join(archive, 'layer.tar'), layer);
  execFileSync('tar', ['-c', '-f', join(work, 'bad.tar'), '-C', archive, '.']);
  const store = await openImageStore({ dir: join(work, 'store') });
  await assert.rejects(store.importArchive(join(work, 'bad.tar')), /diff_ids/);
  assert.deepEqual(await store.listImages(), []);
  await assert.rejects(store.importArchive(join(work, 'missing.tar')), /no such file/);
});

test('OCI archives import through their index, named by annotation', async (t) => {
  const work = tempDir(t, 'kite-img-oci-');
  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(blobs, sha(b)), b);
    return { digest: `sha256:${sha(b)}`, size: b.length };
  };
  const tar = tarOf(write(join(work, 'l'), { 'hello.txt': 'hi from oci' }));
  const layer = put(gzipSync(tar));
  const config = put(configJson([`sha256:${sha(tar)}`], { Entrypoint: ['/bin/echo'], ExposedPorts: { '8080/tcp': {} } }));
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    ),
  );
  const index = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 10, platform: { os: 'linux', architecture: 'arm64' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: { 'io.containerd.image.name': 'example.com/team/app:2', 'org.opencontainers.image.ref.name': '2' } }],
    }),
  );
  execFileSync('tar', ['-c', '-f', join(work, 'oci.tar'), '-C', layout, '.']);
  const store = await openImageStore({ dir: join(work, 'store') });
  const [img] = await store.importArchive(join(work, 'oci.tar'));
  assert.equal(img.id, config.digest);
  assert.deepEqual(img.repoTags, ['example.com/team/app:2']);
  assert.deepEqual(img.config.entrypoint, ['/bin/echo']);
  assert.deepEqual(img.config.exposedPorts, ['8080/tcp']);
  assert.equal(readFileSync(join(store.layerDirs(img)[0], 'hello.txt'), 'utf8'), 'hi from oci');
  assert.equal((await store.imageStatus('example.com/team/app:2'))?.id, img.id);
  assert.equal((await store.imageStatus(img.id.slice(7, 20)))?.id, img.id, 'found by IMAGE ID prefix');
});

async function buildFrom(store: ImageStore, work: string, tag: string, files: Record<string, string>, extra: Partial<Parameters<ImageStore['build']>[0]> = {}) {
  const ctx = mkdtempSync(join(work, 'ctx-'));
  write(ctx, files);
  return store.build({ contextDir: ctx, tag, ...extra });
}

test('build stacks a directory on a base image, inherits its config, and rm frees unshared content', async (t) => {
  const work = tempDir(t, 'kite-img-build-');
  const store = await openImageStore({ dir: join(work, 'store') });
  const baseCtx = join(work, 'base');
  busyboxRootfs(baseCtx);
  const base = await store.build({ contextDir: baseCtx, tag: 'base:1', entrypoint: ['/bin/sh'], env: ['A=1', 'B=2'], workingDir: '/www' });
  assert.deepEqual(base.repoTags, ['docker.io/library/base:1']);
  assert.equal(lstatSync(join(store.layerDirs(base)[0], 'bin', 'busybox')).uid, 0);
  const app = await buildFrom(store, work, 'web:v1', { 'www/index.html': 'hello' }, { from: 'base:1', env: ['B=3'], exposedPorts: ['8080/tcp'], cmd: ['-c', 'httpd'] });
  assert.equal(app.layers.length, 2);
  assert.deepEqual(app.layers[0], base.layers[0]);
  assert.deepEqual(app.config.entrypoint, ['/bin/sh']);
  assert.deepEqual(app.config.cmd, ['-c', 'httpd']);
  assert.deepEqual(app.config.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=3']);
  assert.equal(app.config.workingDir, '/www');
  const dirs = store.layerDirs(app);
  assert.equal(readFileSync(join(dirs[0], 'www', 'index.html'), 'utf8'), 'hello', 'top layer first');
  assert.ok(existsSync(join(dirs[1], 'bin', 'busybox')));
  assert.deepEqual((await store.listImages()).map((i) => i.repoTags[0]).sort(), ['docker.io/library/base:1', 'docker.io/library/web:v1']);

  await store.removeImage('web:v1');
  assert.ok(!existsSync(dirs[0]), "the app's own layer is gone");
  assert.ok(existsSync(dirs[1]), 'the base layer stays while base:1 uses it');
  assert.equal(await store.imageStatus('web:v1'), undefined);
  await store.removeImage('docker.io/library/base:1');
  assert.ok(!existsSync(dirs[1]));
  assert.deepEqual(readdirSync(join(work, 'store', 'blobs', 'sha256')), []);
  await assert.rejects(store.removeImage('nothing:1'), /no image nothing:1/);
  await assert.rejects(store.build({ contextDir: baseCtx, tag: 'x:1', from: 'missing:1' }), /not on this node/);
});

test('image GC removes least recently used images that are not in use, down to the low threshold', async (t) => {
  const work = tempDir(t, 'kite-img-gc-');
  let capacity = 0;
  let used = 0;
  const store = await openImageStore({ dir: join(work, 'store'), statfs: async () => ({ capacityBytes: capacity, availableBytes: capacity - used }) });
  const imgs = [];
  for (const name of ['a', 'b', 'c', 'd']) imgs.push(await buildFrom(store, work, `${name}:1`, { [`${name}.bin`]: name.repeat(20_000) }));
  await store.pullImage('a:1'); // built locally: found without a registry, and now the most recently used
  const { usedBytes } = await store.usage();
  assert.ok(usedBytes > 0);
  capacity = usedBytes * 2;
  used = usedBytes;
  assert.deepEqual(await store.gc({ highThresholdPercent: 60, lowThresholdPercent: 10, inUse: new Set() }), [], '50% used is under the high threshold');
  // 50% used, low threshold 30%: about 40% of the store must go; "c" is in use and "a" was used last.
  const removed = await store.gc({ highThresholdPercent: 40, lowThresholdPercent: 30, inUse: new Set(['docker.io/library/c:1']) });
  assert.deepEqual(removed, ['docker.io/library/b:1', 'docker.io/library/d:1']);
  assert.deepEqual((await store.listImages()).map((i) => i.repoTags[0]).sort(), ['docker.io/library/a:1', 'docker.io/library/c:1']);
  assert.ok(!existsSync(store.layerDirs(imgs[1])[0]));
});

test('two store instances (agent and CLI) share one index and lock', async (t) => {
  const work = tempDir(t, 'kite-img-shared-');
  const dir = join(work, 'store');
  const agent = await openImageStore({ dir });
  const cli = await openImageStore({ dir });
  const built = await Promise.all(Array.from({ length: 6 }, (_, i) => buildFrom(i % 2 ? agent : cli, work, `img${i}:1`, { f: String(i) })));
  assert.equal((await agent.listImages()).length, 6);
  assert.equal((await cli.imageStatus('img3:1'))?.id, built[3].id);
  await cli.removeImage('img3:1');
  assert.equal(await agent.imageStatus('img3:1'), undefined);
  // Retagging moves the name, as docker tag does.
  await buildFrom(agent, work, 'img0:1', { f: 'new' });
  assert.equal((await cli.listImages()).filter((i) => i.repoTags.includes('docker.io/library/img0:1')).length, 1);
  assert.ok(!existsSync(join(dir, 'lock')));
});

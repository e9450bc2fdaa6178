import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, run } from '../helpers/cluster.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildImage } from '../helpers/images.js';
import { openImageStore } from '../../src/runtime/images/store.js';
import { PullError } from '../../src/runtime/interface.js';

// `kite image` against a real registry (distribution 2.8): build, push, pull back in every manifest flavour,
// with Basic and Bearer auth, through a mirror, and a corrupted blob.

const KITE = process.env.KITE_BIN ?? join(REPO, 'bin', 'kite');
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json';

function tempDir(t: { after(fn: () => void): void }, prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function kite(dataDir: string, ...args: string[]) {
  return run(process.execPath, [KITE, 'image', ...args, '--data-dir', dataDir], { timeoutMs: 120_000 });
}

async function ok(dataDir: string, ...args: string[]): Promise<string> {
  const r = await kite(dataDir, ...args);
  assert.equal(r.code, 0, `kite image ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function registry(t: { after(fn: () => Promise<void>): void }, opts?: Parameters<typeof startRegistry>[0]): Promise<TestRegistry> {
  const r = await startRegistry(opts);
  t.after(() => r.stop());
  return r;
}

/** The manifest a registry serves for a tag: its Content-Type and digest. */
async function manifestOf(host: string, repo: string, ref: string): Promise<{ type: string; digest: string; body: string }> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT } });
  assert.equal(res.status, 200);
  return { type: res.headers.get('content-type') ?? '', digest: res.headers.get('docker-content-digest') ?? '', body: await res.text() };
}

test('build, push and pull back by OCI manifest, Docker v2s2 and an image index; ls and rm', async (t) => {
  const reg = await registry(t);
  const src = tempDir(t, 'kite-img-src-');
  const dst = tempDir(t, 'kite-img-dst-');
  await buildImage(src, 'web:v1', { files: { 'www/index.html': '<h1>hello</h1>' }, entrypoint: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'], env: ['GREETING=hi'], port: '8080/tcp' });
  const ls = await ok(src, 'ls');
  assert.match(ls, /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE\n/);
  assert.match(ls, /docker\.io\/library\/web\s+v1\s+[0-9a-f]{13}\s+1\.\d+MB/);

  const pushed = await ok(src, 'push', 'web:v1', '--to', `${reg.host}/test/web:v1`);
  assert.match(pushed, new RegExp(`Pushed ${reg.host}/test/web:v1@sha256:[0-9a-f]{64}`));
  await ok(src, 'push', 'web:v1', '--to', `${reg.host}/test/web:v2s2`, '--format', 'docker');

  const oci = await manifestOf(reg.host, 'test/web', 'v1');
  assert.equal(oci.type, 'application/vnd.oci.image.manifest.v1+json');
  const docker = await manifestOf(reg.host, 'test/web', 'v2s2');
  assert.equal(docker.type, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(JSON.parse(docker.body).config.mediaType, 'application/vnd.docker.container.image.v1+json');

  // A multi-platform index: kite must pick linux/amd64.
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: oci.digest, size: Buffer.byteLength(oci.body), platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: oci.digest, size: Buffer.byteLength(oci.body), platform: { os: 'linux', architecture: 'amd64' } },
    ],
  };
  const put = await fetch(`http://${reg.host}/v2/test/web/manifests/multi`, { method: 'PUT', headers: { 'content-type': index.mediaType }, body: JSON.stringify(index) });
  assert.equal(put.status, 201);

  const pulled = await ok(dst, 'pull', `${reg.host}/test/web:v1`);
  assert.match(pulled, new RegExp(`Pulling ${reg.host}/test/web:v1 \\(1 layer, 1\\.\\d MB\\)`));
  assert.match(pulled, new RegExp(`Pulled ${reg.host}/test/web:v1 \\(1\\.\\d MB\\) in \\d+\\.\\ds`));
  await ok(dst, 'pull', `${reg.host}/test/web:v2s2`);
  const multi = await ok(dst, 'pull', `${reg.host}/test/web:multi`);
  assert.match(multi, /up to date/);

  const dstLs = await ok(dst, 'ls');
  const ids = new Set([...dstLs.matchAll(new RegExp(`${reg.host.replace(/\./g, '\\.')}/test/web\\s+(v1|v2s2|multi)\\s+([0-9a-f]{13})`, 'g'))].map((m) => m[2]));
  assert.equal(ids.size, 1, `one image under three tags:\n${dstLs}`);
  assert.equal((dstLs.match(/test\/web/g) ?? []).length, 3);
  const srcId = /web\s+v1\s+([0-9a-f]{13})/.exec(ls)?.[1];
  assert.equal([...ids][0], srcId, 'the image ID (config digest) survives push and pull');

  // The pulled layer is unpacked and complete.
  const layers = join(dst, 'agent', 'images', 'layers');
  const dir = readdirSync(layers).find((n) => !n.endsWith('.size'));
  assert.ok(dir);
  assert.equal(readFileSync(join(layers, dir, 'www', 'index.html'), 'utf8'), '<h1>hello</h1>');
  assert.ok(statSync(join(layers, dir, 'bin', 'busybox')).size > 100_000);

  await ok(dst, 'rm', `${reg.host}/test/web:v2s2`);
  await ok(dst, 'rm', `${reg.host}/test/web:multi`);
  assert.doesNotMatch(await ok(dst, 'ls'), /v2s2|multi/);
  await ok(dst, 'rm', `${reg.host}/test/web:v1`);
  assert.equal((await ok(dst, 'ls')).trim().split('\n').length, 1, 'only the header is left');
  assert.deepEqual(readdirSync(layers), []);

  const missing = await kite(dst, 'pull', `${reg.host}/test/nope:v1`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found.*check the image name and tag/);
  const unknownRm = await kite(dst, 'rm', 'nothing:here');
  assert.match(unknownRm.stderr, /no image nothing:here on this node/);
  const noFile = await kite(dst, 'import', join(dst, 'missing.tar'));
  assert.match(noFile.stderr, /no such file/);
  const down = await kite(dst, 'pull', '127.0.0.1:1/x/y:1');
  assert.match(down.stderr, /cannot reach registry 127\.0\.0\.1:1.*ECONNREFUSED/);
});

for (const auth of ['basic', 'bearer'] as const) {
  test(`${auth} auth: anonymous pulls are refused with a hint, credentials work`, async (t) => {
    const reg = await registry(t, { auth, username: 'alice', password: 's3cret' });
    const src = tempDir(t, 'kite-img-auth-');
    const dst = tempDir(t, 'kite-img-auth2-');
    await buildImage(src, 'app:1', { files: { 'app.txt': auth } });
    const denied = await kite(src, 'push', 'app:1', '--to', `${reg.host}/private/app:1`);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /refused access|needs credentials/);
    await ok(src, 'push', 'app:1', '--to', `${reg.host}/private/app:1`, '--creds', 'alice:s3cret');

    const anon = await kite(dst, 'pull', `${reg.host}/private/app:1`);
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /imagePullSecret/);
    const wrong = await kite(dst, 'pull', `${reg.host}/private/app:1`, '--creds', 'alice:nope');
    assert.match(wrong.stderr, /check the username and password/);
    await ok(dst, 'pull', `${reg.host}/private/app:1`, '--creds', 'alice:s3cret');
    assert.match(await ok(dst, 'ls'), /private\/app\s+1\s/);

    // Credentials from the registries file work too.
    const regFile = join(dst, 'registries.yaml');
    writeFileSync(regFile, `configs:\n  "${reg.host}":\n    auth:\n      username: alice\n      password: s3cret\n`);
    await ok(dst, 'rm', `${reg.host}/private/app:1`);
    await ok(dst, 'pull', `${reg.host}/private/app:1`, '--registries', regFile);

    // The agent's path: imagePullSecret credentials in the dockerconfigjson "auth" shape; two pods asking for
    // the same image at once share one pull.
    const store = await openImageStore({ dir: join(tempDir(t, 'kite-img-agent-'), 'images') });
    const progress: string[] = [];
    const opts = {
      credentials: (host: string) => (host === reg.host ? { auth: Buffer.from('alice:s3cret').toString('base64') } : undefined),
      onProgress: (m: string) => progress.push(m),
    };
    const [a, b] = await Promise.all([store.pullImage(`${reg.host}/private/app:1`, opts), store.pullImage(`${reg.host}/private/app:1`, opts)]);
    assert.equal(a.id, b.id);
    assert.equal(progress.filter((m) => m.startsWith('Pulling ')).length, 1, progress.join('\n'));
    assert.match(a.repoDigests[0], new RegExp(`^${reg.host}/private/app@sha256:[0-9a-f]{64}$`));
    await assert.rejects(store.pullImage(`${reg.host}/private/app:1`), (e: Error) => e instanceof PullError && e.unauthorized);
    await assert.rejects(store.pullImage(`${reg.host}/private/none:1`, opts), (e: Error) => e instanceof PullError && e.notFound);
  });
}

test('a corrupted blob in the registry fails the pull with a digest error and leaves nothing behind', async (t) => {
  const reg = await registry(t);
  const src = tempDir(t, 'kite-img-corrupt-');
  const dst = tempDir(t, 'kite-img-corrupt2-');
  await buildImage(src, 'app:1', { files: { 'data.txt': 'x'.repeat(10_000) } });
  await ok(src, 'push', 'app:1', '--to', `${reg.host}/c/app:1`);
  const m = JSON.parse((await manifestOf(reg.host, 'c/app', '1')).body) as { layers: Array<{ digest: string }> };
  const hex = m.layers[0].digest.slice(7);
  const file = join(reg.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  const data = readFileSync(file);
  data[data.length >> 1] ^= 0xff;
  writeFileSync(file, data);
  const r = await kite(dst, 'pull', `${reg.host}/c/app:1`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`layer sha256:${hex}.*has digest sha256:[0-9a-f]{64}, expected sha256:${hex}`));
  assert.equal((await ok(dst, 'ls')).trim().split('\n').length, 1);
  assert.deepEqual(readdirSync(join(dst, 'agent', 'images', 'layers')), []);
  assert.deepEqual(readdirSync(join(dst, 'agent', 'images', 'tmp')), []);
});

test('a docker.io mirror from the registries file serves Docker Hub names', async (t) => {
  const reg = await registry(t);
  const src = tempDir(t, 'kite-img-mirror-');
  const dst = tempDir(t, 'kite-img-mirror2-');
  await buildImage(src, 'app:1', { files: { 'm.txt': 'mirrored' } });
  await ok(src, 'push', 'app:1', '--to', `${reg.host}/library/mirrored:1`);
  const regFile = join(dst, 'registries.yaml');
  writeFileSync(regFile, `mirrors:\n  docker.io:\n    endpoint:\n      - "http://${reg.host}"\n`);
  await ok(dst, 'pull', 'mirrored:1', '--registries', regFile);
  const ls = await ok(dst, 'ls');
  assert.match(ls, /docker\.io\/library\/mirrored\s+1\s/);
});

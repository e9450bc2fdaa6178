import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { RestClient, resource } from '../../src/client/rest.js';

// How the API client reads response bodies: whole bodies however they are chunked, and an error (never a
// truncated object) when the connection goes away mid-body.

const CONFIGMAPS = resource('', 'v1', 'configmaps');

async function withServer(handler: Parameters<typeof createServer>[1], fn: (client: RestClient) => Promise<void>): Promise<void> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const client = new RestClient({ server: `http://127.0.0.1:${port}`, caPem: '', connect: () => connect(port, '127.0.0.1') });
  try {
    await fn(client);
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

test('a body sent in many chunks arrives whole', async () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data: { big: 'é'.repeat(100_000) } };
  const text = Buffer.from(JSON.stringify(cm));
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // Split inside a two-byte character too: decoding happens once, on the whole body.
      for (let i = 0; i < text.length; i += 1001) res.write(text.subarray(i, i + 1001));
      res.end();
    },
    async (client) => assert.deepEqual(await client.get(CONFIGMAPS, 'ns', 'c'), cm),
  );
});

test('a connection closed mid-body fails the request', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
      res.write('{"apiVersion":"v1",');
      setImmediate(() => res.socket?.destroy());
    },
    async (client) => {
      await assert.rejects(client.get(CONFIGMAPS, 'ns', 'c'));
    },
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { buildModel, endpointsOf, type ModelSource, type TlsCertificate } from '../../src/ingress/model.js';
import { hostMatches, normalizePath, pathMatches, serverName } from '../../src/ingress/paths.js';
import { renderNginxConf, type RenderOptions } from '../../src/ingress/render.js';
import { ClassFilter } from '../../src/ingress/ingressclass.js';
import { publishedAddresses } from '../../src/ingress/status.js';

// The Ingress → model → nginx.conf path without an API server or nginx: Kubernetes' matching rules, the
// precedence between Ingresses, and the text nginx gets.

const OPTS: RenderOptions = { prefix: '/d/nginx', certDir: '/d/nginx/certs', defaultCertificate: '/d/nginx/default-cert.pem', httpPort: 80, httpsPort: 443, bindAddress: '0.0.0.0' };

function svc(name: string, ports: Array<{ name?: string; port: number }> = [{ name: 'http', port: 80 }], ns = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports } };
}

function slice(service: string, ips: string[], port = 8080, portName = 'http', ready: boolean[] = []): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: portName, port, protocol: 'TCP' }],
    endpoints: ips.map((ip, i) => ({ addresses: [ip], conditions: { ready: ready[i] ?? true } })),
  } as KubeObject;
}

function ingress(name: string, spec: Record<string, unknown>, created = '2024-01-01T00:00:00Z', annotations?: Record<string, string>): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', creationTimestamp: created, annotations }, spec };
}

const backend = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
const path = (p: string, pathType: string, svcName: string) => ({ path: p, pathType, backend: backend(svcName) });

function source(ingresses: KubeObject[], extra: { services?: KubeObject[]; slices?: KubeObject[]; certs?: Record<string, TlsCertificate | { error: string }> } = {}): ModelSource {
  const services = extra.services ?? ['a', 'b', 'c'].map((n) => svc(n));
  const slices = extra.slices ?? [slice('a', ['10.0.0.1']), slice('b', ['10.0.0.2']), slice('c', ['10.0.0.3'])];
  return {
    ingresses,
    service: (key) => services.find((s) => `${s.metadata.namespace}/${s.metadata.name}` === key),
    slices: (key) => slices.filter((s) => `${s.metadata.namespace}/${s.metadata.labels?.['kubernetes.io/service-name']}` === key),
    certificate: (key) => extra.certs?.[key] ?? { error: `secret ${key} not found` },
  };
}

test('Kubernetes path semantics: element-wise prefixes, trailing slashes ignored', () => {
  assert.equal(normalizePath('/foo/', 'Prefix'), '/foo');
  assert.equal(normalizePath('/foo/', 'Exact'), '/foo/');
  assert.equal(normalizePath('', 'Prefix'), '/');
  assert.ok(pathMatches('/foo', 'Prefix', '/foo'));
  assert.ok(pathMatches('/foo', 'Prefix', '/foo/bar'));
  assert.ok(!pathMatches('/foo', 'Prefix', '/foobar'));
  assert.ok(pathMatches('/', 'Prefix', '/anything'));
  assert.ok(!pathMatches('/foo', 'Exact', '/foo/'));
});

test('wildcard hosts match exactly one label, in the model and in nginx', () => {
  assert.ok(hostMatches('*.example.com', 'blog.example.com'));
  assert.ok(!hostMatches('*.example.com', 'example.com'));
  assert.ok(!hostMatches('*.example.com', 'a.b.example.com'));
  assert.equal(serverName('*.example.com'), '~^[^.]+\\.example\\.com$');
  assert.equal(serverName('blog.example.com'), 'blog.example.com');
  const re = new RegExp(serverName('*.example.com').slice(1));
  assert.ok(re.test('blog.example.com') && !re.test('a.b.example.com') && !re.test('example.com'));
});

test('Exact beats Prefix; each Prefix becomes an exact and a final prefix location', () => {
  const { model } = buildModel(
    source([
      ingress('one', {
        rules: [{ host: 'x.test', http: { paths: [path('/foo', 'Prefix', 'a'), path('/foo', 'Exact', 'b'), path('/foo/bar/', 'Prefix', 'c'), path('/impl', 'ImplementationSpecific', 'c')] } }],
      }),
    ]),
  );
  const conf = renderNginxConf(model, OPTS);
  const server = conf.slice(conf.indexOf('server_name x.test;'));
  const block = server.slice(0, server.indexOf('\n    }'));
  // Exact /foo goes to b; the Prefix's own exact location is not emitted (it would be a duplicate).
  assert.match(block, /location = \/foo \{[^}]*\n\s+proxy_pass http:\/\/kite_default_b_80;/);
  assert.equal(block.match(/location = \/foo \{/g)?.length, 1);
  assert.match(block, /location \^~ \/foo\/ \{[^}]*\n\s+proxy_pass http:\/\/kite_default_a_80;/);
  // Trailing slash normalised: /foo/bar/ matches /foo/bar and /foo/bar/...
  assert.match(block, /location = \/foo\/bar \{[^}]*\n\s+proxy_pass http:\/\/kite_default_c_80;/);
  assert.match(block, /location \^~ \/foo\/bar\/ \{/);
  assert.match(block, /location \^~ \/impl\/ \{/);
  // Nothing matched and no defaultBackend: 404.
  assert.match(block, /location \/ \{  # no route matched\n\s+return 404;/);
});

test('the older Ingress wins a conflicting path, and the conflict is reported', () => {
  const older = ingress('older', { rules: [{ host: 'x.test', http: { paths: [path('/', 'Prefix', 'a')] } }] }, '2024-01-01T00:00:00Z');
  const newer = ingress('newer', { rules: [{ host: 'x.test', http: { paths: [path('/', 'Prefix', 'b')] } }] }, '2024-02-01T00:00:00Z');
  const { model, warnings } = buildModel(source([newer, older]));
  const x = model.servers.find((s) => s.host === 'x.test')!;
  assert.deepEqual(x.routes.map((r) => [r.path, r.source]), [['/', 'default/older']]);
  assert.ok(warnings.some((w) => /default\/newer.*already defined by ingress default\/older/.test(w)), warnings.join('\n'));
});

test('defaultBackend: the catch-all server and the unmatched paths of the Ingress own hosts', () => {
  const withDefault = ingress('d', { defaultBackend: backend('c'), rules: [{ host: 'x.test', http: { paths: [path('/api', 'Prefix', 'a')] } }] });
  const other = ingress('o', { rules: [{ host: 'y.test', http: { paths: [path('/api', 'Prefix', 'b')] } }] }, '2024-03-01T00:00:00Z');
  const { model } = buildModel(source([withDefault, other]));
  const by = (h: string) => model.servers.find((s) => s.host === h)!;
  assert.deepEqual(by('').fallback, { upstream: 'kite_default_c_80' });
  assert.deepEqual(by('x.test').fallback, { upstream: 'kite_default_c_80' });
  assert.deepEqual(by('y.test').fallback, { status: 404 });
  const conf = renderNginxConf(model, OPTS);
  assert.match(conf, /listen 80 default_server;\n\s+listen 443 ssl http2 default_server;\n\s+server_name _;/);
});

test('upstreams are ready endpoint addresses with the slice port; none ready is a 503', () => {
  const slices = [slice('a', ['10.0.0.9', '10.0.0.1', '10.0.0.5'], 8080, 'http', [true, true, false]), slice('b', ['10.0.0.2'], 9090, 'http', [false])];
  const services = [svc('a'), svc('b')];
  const ing = ingress('u', { rules: [{ host: 'x.test', http: { paths: [path('/a', 'Prefix', 'a'), path('/b', 'Prefix', 'b'), path('/missing', 'Prefix', 'nope')] } }] });
  const { model, warnings } = buildModel(source([ing], { services, slices }));
  assert.deepEqual(model.upstreams, [{ name: 'kite_default_a_80', servers: ['10.0.0.1:8080', '10.0.0.9:8080'] }]);
  const routes = model.servers.find((s) => s.host === 'x.test')!.routes;
  assert.deepEqual(
    routes.map((r) => [r.path, r.target]),
    [
      ['/a', { upstream: 'kite_default_a_80' }],
      ['/b', { status: 503 }],
      ['/missing', { status: 503 }],
    ],
  );
  assert.ok(warnings.some((w) => /service default\/nope not found/.test(w)));
  const conf = renderNginxConf(model, OPTS);
  assert.match(conf, /upstream kite_default_a_80 \{\n\s+server 10\.0\.0\.1:8080;\n\s+server 10\.0\.0\.9:8080;\n\s+keepalive \d+;/);
});

test('service ports are found by name, and endpoints by the service port name', () => {
  const services = [svc('a', [{ name: 'web', port: 8000 }, { name: 'metrics', port: 9000 }])];
  const slices = [slice('a', ['10.0.0.1'], 3000, 'web'), slice('a', ['10.0.0.1'], 3001, 'metrics')];
  const ing = ingress('p', { defaultBackend: backend('a', 'metrics') });
  const { model } = buildModel(source([ing], { services, slices }));
  assert.deepEqual(model.upstreams, [{ name: 'kite_default_a_9000', servers: ['10.0.0.1:3001'] }]);
  assert.deepEqual(endpointsOf(slices, 'web'), ['10.0.0.1:3000']);
});

test('TLS: wildcard section covers a host, redirects with 308, a missing Secret falls back to the default certificate', () => {
  const cert: TlsCertificate = { id: 'default_wild-abc', pem: 'PEM' };
  const ing = ingress('t', {
    tls: [{ hosts: ['*.example.com'], secretName: 'wild' }, { hosts: ['nosecret.test'], secretName: 'gone' }],
    rules: [
      { host: 'blog.example.com', http: { paths: [path('/', 'Prefix', 'a')] } },
      { host: '*.example.com', http: { paths: [path('/', 'Prefix', 'b')] } },
      { host: 'nosecret.test', http: { paths: [path('/', 'Prefix', 'b')] } },
      { host: 'plain.test', http: { paths: [path('/', 'Prefix', 'b')] } },
    ],
  });
  const { model, warnings } = buildModel(source([ing], { certs: { 'default/wild': cert } }));
  const by = (h: string) => model.servers.find((s) => s.host === h)!;
  assert.equal(by('blog.example.com').certificate, cert.id);
  assert.equal(by('*.example.com').certificate, cert.id);
  assert.equal(by('nosecret.test').certificate, undefined);
  assert.equal(by('nosecret.test').sslRedirect, true);
  assert.equal(by('plain.test').sslRedirect, false);
  assert.deepEqual(model.certificates, [cert]);
  assert.ok(warnings.some((w) => /secret default\/gone not found; serving the default certificate/.test(w)));

  const conf = renderNginxConf(model, { ...OPTS, httpsPort: 8443 });
  const blog = conf.slice(conf.indexOf('server_name blog.example.com;'));
  assert.match(blog, /^server_name blog\.example\.com;\n\s+ssl_certificate \/d\/nginx\/certs\/default_wild-abc\.pem;/);
  assert.match(blog, /if \(\$scheme = http\) \{\n\s+return 308 https:\/\/\$host:8443\$request_uri;/);
  assert.match(conf, /server_name ~\^\[\^\.\]\+\\\.example\\\.com\$;\n\s+ssl_certificate \/d\/nginx\/certs\/default_wild-abc\.pem;/);
  const plain = conf.slice(conf.indexOf('server_name plain.test;'));
  assert.match(plain.slice(0, plain.indexOf('location')), /ssl_certificate \/d\/nginx\/default-cert\.pem;/);
  assert.doesNotMatch(plain.slice(0, plain.indexOf('location')), /return 308/);
  // On the standard port the redirect names no port.
  assert.match(renderNginxConf(model, OPTS), /return 308 https:\/\/\$host\$request_uri;/);
});

test('the ssl-redirect annotation opts an Ingress out of the redirect', () => {
  const ing = ingress('t', { tls: [{ hosts: ['x.test'] }], rules: [{ host: 'x.test', http: { paths: [path('/', 'Prefix', 'a')] } }] }, undefined, { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' });
  const { model } = buildModel(source([ing]));
  assert.equal(model.servers.find((s) => s.host === 'x.test')!.sslRedirect, false);
});

test('paths nginx could misread are skipped with a warning', () => {
  const ing = ingress('bad', { rules: [{ host: 'x.test', http: { paths: [path('/a;b', 'ImplementationSpecific', 'a'), path('/{x}', 'ImplementationSpecific', 'a'), path('/ok', 'Prefix', 'a')] } }] });
  const { model, warnings } = buildModel(source([ing]));
  assert.deepEqual(model.servers.find((s) => s.host === 'x.test')!.routes.map((r) => r.path), ['/ok']);
  assert.equal(warnings.filter((w) => /cannot route on/.test(w)).length, 2);
});

test('rendering is deterministic: input order does not change the text', () => {
  const a = ingress('a', { rules: [{ host: 'a.test', http: { paths: [path('/x', 'Prefix', 'a'), path('/', 'Prefix', 'b')] } }] }, '2024-01-01T00:00:00Z');
  const b = ingress('b', { rules: [{ host: 'b.test', http: { paths: [path('/', 'Prefix', 'c')] } }] }, '2024-01-02T00:00:00Z');
  const one = renderNginxConf(buildModel(source([a, b])).model, OPTS);
  const two = renderNginxConf(buildModel(source([b, a])).model, OPTS);
  assert.equal(one, two);
  assert.match(one, /proxy_set_header X-Forwarded-Proto \$scheme;/);
  assert.match(one, /map \$http_upgrade \$kite_connection/);
});

test('class filter: own classes, and no class only when kite is the single default', () => {
  const cls = (name: string, controller: string, isDefault = false): KubeObject => ({
    metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {} },
    spec: { controller },
  });
  const f = new ClassFilter();
  const named = (c?: string) => ingress('i', c ? { ingressClassName: c } : {});
  f.update([cls('kite', 'kite.io/ingress', true), cls('nginx', 'k8s.io/ingress-nginx')]);
  assert.ok(f.serves(named('kite')) && f.serves(named()) && !f.serves(named('nginx')) && !f.serves(named('unknown')));
  f.update([cls('kite', 'kite.io/ingress', true), cls('nginx', 'k8s.io/ingress-nginx', true)]);
  assert.ok(f.serves(named('kite')) && !f.serves(named()));
});

test('published addresses: this node plus the other Ready nodes, sorted', () => {
  const node = (name: string, ip: string, ready: string): KubeObject => ({ metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready }] } });
  assert.deepEqual(publishedAddresses([node('me', '10.1.1.1', 'True'), node('b', '10.0.0.2', 'True'), node('c', '10.0.0.3', 'False')], { nodeName: 'me', nodeIPs: ['192.0.2.9'] }), ['10.0.0.2', '192.0.2.9']);
});

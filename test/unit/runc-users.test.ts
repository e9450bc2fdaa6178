import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveUser } from '../../src/runtime/runc/users.js';

const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n# comment\nnobody:x:65534:65534::/:/bin/false\n';
const group = 'root:x:0:\nstaff:x:50:app,other\napp:x:1001:\nvideo:x:44:app\n';

test('image USER forms: empty, numeric, name, name:group, uid:gid', () => {
  assert.deepEqual(resolveUser({}, passwd, group), { uid: 0, gid: 0, additionalGids: [0] });
  assert.deepEqual(resolveUser({ imageUser: '1000' }, passwd, group), { uid: 1000, gid: 1001, additionalGids: [1001, 50, 44] });
  assert.deepEqual(resolveUser({ imageUser: 'app' }, passwd, group), { uid: 1000, gid: 1001, additionalGids: [1001, 50, 44] });
  assert.deepEqual(resolveUser({ imageUser: 'app:staff' }, passwd, group).gid, 50);
  assert.deepEqual(resolveUser({ imageUser: '4242:4343' }, passwd, group), { uid: 4242, gid: 4343, additionalGids: [4343] });
  assert.throws(() => resolveUser({ imageUser: 'ghost' }, passwd, group), /not in its \/etc\/passwd.*runAsUser/);
  assert.throws(() => resolveUser({ imageUser: 'app:ghosts' }, passwd, group), /not in its \/etc\/group/);
});

test('the pod security context wins over the image user', () => {
  assert.deepEqual(resolveUser({ imageUser: 'app', runAsUser: 65534 }, passwd, group), { uid: 65534, gid: 65534, additionalGids: [65534] });
  assert.deepEqual(resolveUser({ runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000] }, passwd, group), { uid: 1000, gid: 3000, additionalGids: [3000, 50, 44, 4000] });
  assert.deepEqual(resolveUser({ runAsUser: 777 }, '', ''), { uid: 777, gid: 0, additionalGids: [0] });
});

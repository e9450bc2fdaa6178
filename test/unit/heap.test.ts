import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/cli/heap.js';

describe('server heap growth limit', () => {
  it('is set when node was started without one', () => {
    assert.equal(heapGrowthFlag([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    assert.equal(heapGrowthFlag(['--cpu-prof', '--cpu-prof-dir=/tmp/p']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it("leaves an operator's own node flag alone, in either spelling", () => {
    assert.equal(heapGrowthFlag(['--heap-growing-percent=80']), null);
    assert.equal(heapGrowthFlag(['--heap_growing_percent=10']), null);
  });

  it('is not confused by flags that merely start alike', () => {
    assert.notEqual(heapGrowthFlag(['--heap-growing-percentage-of-nothing']), null);
  });
});

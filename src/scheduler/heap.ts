// A binary heap that knows where each item sits, so items can be removed or re-ordered in O(log n).

export class Heap<T> {
  private readonly items: T[] = [];
  private readonly pos = new Map<T, number>();

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  has(x: T): boolean {
    return this.pos.has(x);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(x: T): void {
    if (this.pos.has(x)) return this.fix(x);
    this.items.push(x);
    this.pos.set(x, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top;
  }

  remove(x: T): boolean {
    const i = this.pos.get(x);
    if (i === undefined) return false;
    this.removeAt(i);
    return true;
  }

  /** Restore order after x's key changed. */
  fix(x: T): void {
    const i = this.pos.get(x);
    if (i === undefined) return;
    if (!this.up(i)) this.down(i);
  }

  values(): readonly T[] {
    return this.items;
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    const x = this.items[i];
    this.pos.delete(x);
    if (i !== last) {
      const moved = this.items[last];
      this.items[i] = moved;
      this.pos.set(moved, i);
      this.items.pop();
      if (!this.up(i)) this.down(i);
    } else {
      this.items.pop();
    }
  }

  private swap(i: number, j: number): void {
    const a = this.items[i];
    const b = this.items[j];
    this.items[i] = b;
    this.items[j] = a;
    this.pos.set(b, i);
    this.pos.set(a, j);
  }

  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.items[i], this.items[p])) break;
      this.swap(i, p);
      i = p;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = l;
      if (r < n && this.less(this.items[r], this.items[l])) m = r;
      if (!this.less(this.items[m], this.items[i])) return;
      this.swap(i, m);
      i = m;
    }
  }
}

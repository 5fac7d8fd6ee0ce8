/**
 * A binary min-heap of timers ordered by (due time, creation order): O(log n) per push and pop,
 * so a thousand instances with a timer each cost no more per step than ten.
 */

/** One scheduled callback. `cancelled` timers stay in the heap and are skipped when they surface. */
export interface HeapTimer {
  readonly atMs: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

function before(a: HeapTimer, b: HeapTimer): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/**
 * Min-heap of {@link HeapTimer}s.
 *
 * @example
 * ```ts
 * const heap = new TimerHeap();
 * heap.push({ atMs: 5, seq: 1, callback: () => {}, cancelled: false });
 * heap.pop()?.atMs; // 5
 * ```
 */
export class TimerHeap {
  readonly #items: HeapTimer[] = [];

  /** Timers held, cancelled ones included. */
  get size(): number {
    return this.#items.length;
  }

  /** The earliest timer, without removing it. */
  peek(): HeapTimer | undefined {
    return this.#items[0];
  }

  push(timer: HeapTimer): void {
    const items = this.#items;
    items.push(timer);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentItem = items[parent];
      if (parentItem === undefined || !before(timer, parentItem)) break;
      items[index] = parentItem;
      index = parent;
    }
    items[index] = timer;
  }

  pop(): HeapTimer | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let index = 0;
    const length = items.length;
    // Sift `last` down from the root; the loop runs at most log2(length) times.
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const leftItem = items[left];
      const rightItem = items[right];
      let child = left;
      let childItem = leftItem;
      if (rightItem !== undefined && leftItem !== undefined && before(rightItem, leftItem)) {
        child = right;
        childItem = rightItem;
      }
      if (childItem === undefined || !before(childItem, last)) break;
      items[index] = childItem;
      index = child;
    }
    items[index] = last;
    return top;
  }
}

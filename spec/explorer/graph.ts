/**
 * The explored state graph: states are numbered in discovery (BFS) order; each keeps its parent
 * and the index of the step that led to it, so a trace is rebuilt by replaying steps from a root.
 * Edges are kept in compressed rows for the liveness analysis.
 */

/** A growable Int32 buffer. */
export class IntBuffer {
  #data: Int32Array;
  length = 0;

  constructor(capacity = 1 << 16) {
    this.#data = new Int32Array(capacity);
  }

  push(value: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Int32Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length] = value;
    this.length += 1;
  }

  get(index: number): number {
    return this.#data[index] ?? 0;
  }

  set(index: number, value: number): void {
    this.#data[index] = value;
  }

  /** A view of the filled part. */
  view(): Int32Array {
    return this.#data.subarray(0, this.length);
  }
}

/** Parent pointers, edges and per-state flags of the explored graph. */
export class StateGraph {
  /** Parent state (−1 for a root). */
  readonly parent = new IntBuffer();
  /** Index of the step from the parent (for roots: the root's index). */
  readonly via = new IntBuffer();
  readonly depth = new IntBuffer();
  /** Bit 0: settled; bits 1..: instance i is in `waiting` (bit i + 1). */
  readonly flags = new IntBuffer();
  /** Row starts of the successor lists (one per expanded state, plus the end). */
  readonly rowStart = new IntBuffer();
  readonly targets = new IntBuffer(1 << 18);

  get size(): number {
    return this.parent.length;
  }

  add(parent: number, via: number, depth: number, flags: number): number {
    this.parent.push(parent);
    this.via.push(via);
    this.depth.push(depth);
    this.flags.push(flags);
    return this.parent.length - 1;
  }

  /** Starts the successor row of the next expanded state (states are expanded in id order). */
  beginRow(): void {
    this.rowStart.push(this.targets.length);
  }

  addEdge(target: number): void {
    this.targets.push(target);
  }

  /** Closes the rows: states never expanded get empty rows. */
  finishRows(): void {
    while (this.rowStart.length < this.size) this.rowStart.push(this.targets.length);
    this.rowStart.push(this.targets.length);
  }

  /** Path of state ids from a root to `id`. */
  pathTo(id: number): number[] {
    const path: number[] = [];
    for (let at = id; at >= 0; at = this.parent.get(at)) path.push(at);
    return path.reverse();
  }

  /** Successors of `id` (after {@link finishRows}). */
  successors(id: number): Int32Array {
    return this.targets.view().subarray(this.rowStart.get(id), this.rowStart.get(id + 1));
  }

  #predStart: Int32Array | undefined;
  #preds: Int32Array | undefined;

  /** Predecessor rows, built once after {@link finishRows}. */
  #predecessors(): { predStart: Int32Array; preds: Int32Array } {
    if (this.#predStart !== undefined && this.#preds !== undefined) return { predStart: this.#predStart, preds: this.#preds };
    const n = this.size;
    const targets = this.targets.view();
    const predStart = new Int32Array(n + 1);
    for (const to of targets) predStart[to + 1] = (predStart[to + 1] ?? 0) + 1;
    for (let i = 0; i < n; i += 1) predStart[i + 1] = (predStart[i + 1] ?? 0) + (predStart[i] ?? 0);
    const fill = predStart.slice(0, n);
    const preds = new Int32Array(targets.length);
    for (let from = 0; from < n; from += 1) {
      const end = this.rowStart.get(from + 1);
      for (let e = this.rowStart.get(from); e < end; e += 1) {
        const to = targets[e] ?? 0;
        const slot = fill[to] ?? 0;
        preds[slot] = from;
        fill[to] = slot + 1;
      }
    }
    this.#predStart = predStart;
    this.#preds = preds;
    return { predStart, preds };
  }

  /** States from which some state matching `goal` is reachable (backward search over the edges). */
  canReach(goal: (id: number) => boolean): Uint8Array {
    const { predStart, preds } = this.#predecessors();
    const n = this.size;
    const reach = new Uint8Array(n);
    const queue = new Int32Array(n);
    let head = 0;
    let tail = 0;
    for (let i = 0; i < n; i += 1) {
      if (goal(i)) {
        reach[i] = 1;
        queue[tail] = i;
        tail += 1;
      }
    }
    while (head < tail) {
      const at = queue[head] ?? 0;
      head += 1;
      const end = predStart[at + 1] ?? 0;
      for (let p = predStart[at] ?? 0; p < end; p += 1) {
        const from = preds[p] ?? 0;
        if (reach[from] === 0) {
          reach[from] = 1;
          queue[tail] = from;
          tail += 1;
        }
      }
    }
    return reach;
  }
}

import type { World } from './world.js';

/** One `withToken` call on the virtual-time World, filled in as it settles. */
export interface Call {
  readonly id: string;
  readonly index: number;
  readonly startMs: number;
  endMs: number | undefined;
  ok: boolean | undefined;
  error: unknown;
  readonly done: Promise<void>;
}

/** Starts message `id` on instance `index` now; `done` never rejects (the outcome lands in the call). */
export function call(world: World, index: number, id: string, options: { deadlineMs?: number } = {}): Call {
  const tracked: { -readonly [K in keyof Call]?: Call[K] } = { id, index, startMs: world.time.nowMs, endMs: undefined, ok: undefined, error: undefined };
  tracked.done = world.send(index, id, options).then(
    () => {
      tracked.ok = true;
      tracked.endMs = world.time.nowMs;
    },
    (error: unknown) => {
      tracked.ok = false;
      tracked.error = error;
      tracked.endMs = world.time.nowMs;
    },
  );
  return tracked as Call;
}

/**
 * The identity of a world state: a canonical string, hashed to a 53-bit number.
 *
 * Two worlds get the same key only when they behave the same from here on:
 * - times are written as (epoch rank, offset): every decision compares times only by equality
 *   or against thresholds shorter than a jump, so only the order of the epochs present matters
 *   (the current epoch is rank 0, older ones −1, −2, …);
 * - request and timer ids are written as "current" or "stale" relative to the machine's counters;
 * - what only feeds reports and alarms is left out: failure messages, the decision's details,
 *   publish and lease-acquisition times, `alarmedToken`, the lease holder's name as observed,
 *   how a lease was taken (`takenBy`, `staleHolder`), the observed lease's stated end,
 *   and the machine's `nowMs` (every transition stamps the event's time before anything reads it;
 *   `proactiveHoldUntilMs` only matters for tokens with an expiry, which the model's issuer never gives);
 * - with symmetry on, instances are renamed so that the smallest string over the renamings that
 *   sort instances by their anonymous key wins (instances are interchangeable: ids are only
 *   compared for equality).
 *
 * Instances are immutable and shared between worlds, so each instance's key is cached per
 * (epoch ranks, renaming): a step usually re-serializes only the instance that acted.
 */
import type { TokenRecord, WriteRequest } from '../../src/machine/record.js';
import type { MachineContext } from '../../src/machine/types.js';
import { JUMP_MS, START_MS } from './options.js';
import { INSTANCE_IDS, leaseOwner } from './world.js';
import type { Instance, InFlight, Orphan, Snapshot, World, WriterView } from './world.js';

/** Epoch → rank while a key is built (the current epoch is 0, each older epoch present one less). */
let rank: ReadonlyMap<number, number> = new Map();
/** Instance id → its name in the key being built. */
let rename: ReadonlyMap<string, string> = new Map();

function epochOfTime(timeMs: number): number {
  return Math.floor((timeMs - START_MS) / JUMP_MS);
}

/** A time as `@rank+offset`. */
function t(timeMs: number | undefined): string {
  if (timeMs === undefined) return '-';
  if (timeMs === 0) return '0';
  const epoch = epochOfTime(timeMs);
  return `@${rank.get(epoch) ?? 'x'}+${timeMs - START_MS - epoch * JUMP_MS}`;
}

function rv(revision: number | undefined): string {
  return revision === undefined ? '-' : String(revision);
}

function id(instanceId: string | undefined): string {
  return instanceId === undefined ? '-' : (rename.get(instanceId) ?? instanceId);
}

/** A lease id `<instance>.<nonce>#<n>` with its instance renamed. */
function leaseKey(leaseId: string | undefined): string {
  if (leaseId === undefined) return '-';
  const owner = leaseOwner(leaseId);
  return `${rename.get(owner) ?? owner}${leaseId.slice(owner.length)}`;
}

function recordKey(record: TokenRecord | undefined): string {
  if (record === undefined) return '∅';
  return (
    `{${rv(record.revision)},${record.generation},${record.token ?? '-'},${t(record.tokenExpiresAtMs)},` +
    `${leaseKey(record.leaseId)},${id(record.leaseHolder)},${t(record.leaseExpiresAtMs)},` +
    `${record.failureCode ?? '-'},${record.failureStatus ?? '-'},${record.failureCount ?? '-'},${t(record.backoffUntilMs)},${record.invalidatedGeneration ?? '-'}}`
  );
}

function requestKey(request: WriteRequest): string {
  const c = request.condition;
  const s = request.set;
  return (
    `${request.intent}[${c.exists ? 'E' : 'N'},${c.generation ?? '-'},${c.leaseId === null ? 'null' : leaseKey(c.leaseId)},${rv(c.revision)}]` +
    `(${s.generation ?? '-'},${s.token ?? '-'},${t(s.tokenExpiresAtMs)},${leaseKey(s.leaseId)},` +
    `${id(s.leaseHolder)},${t(s.leaseExpiresAtMs)},${s.failureCode ?? '-'},` +
    `${s.failureStatus ?? '-'},${s.failureCount ?? '-'},${t(s.backoffUntilMs)},${s.invalidatedGeneration ?? '-'})-${request.remove.length}`
  );
}

function writerKey(writer: WriterView): string {
  return `${leaseKey(writer.leaseId)}:${writer.decidedGeneration}:${writer.replaceToken ?? '-'}`;
}

function contextKey(c: MachineContext): string {
  const cached = c.cached === undefined ? '-' : `${c.cached.value}/${c.cached.generation}/${t(c.cached.expiresAtMs)}`;
  const observed = c.observed === undefined ? '-' : `${leaseKey(c.observed.leaseId)}/${rv(c.observed.revision)}/${t(c.observed.sinceMs)}`;
  const lease = c.lease === undefined ? '-' : `${leaseKey(c.lease.id)}/${t(c.lease.startedAtMs)}/${t(c.lease.expiresAtMs)}`;
  const pending = c.pendingLease === undefined ? '-' : `${leaseKey(c.pendingLease.id)}/${t(c.pendingLease.startedAtMs)}/${t(c.pendingLease.expiresAtMs)}`;
  const issued = c.issued === undefined ? '-' : `${c.issued.token}/${t(c.issued.expiresAtMs)}`;
  const heartbeat = `${c.heartbeats}${c.heartbeatLease === undefined ? '' : `/${t(c.heartbeatLease.startedAtMs)}/${t(c.heartbeatLease.expiresAtMs)}`}`;
  return (
    `${cached}|${c.rejectedToken ?? '-'}|${c.replaceToken ?? '-'}|${c.proactive ? 'P' : ''}|${c.rounds}|` +
    `${recordKey(c.record)}|${observed}|${lease}|${pending}|${issued}|${c.issuerAttempts}|${c.ambiguousWrites}|${c.callersGone ? 'G' : ''}|${c.leaseCounter}|` +
    `${c.decision?.kind ?? '-'}|${c.pendingWrite?.intent ?? '-'}|${c.failure?.kind ?? '-'}|${c.budgetRenewals}|${heartbeat}`
  );
}

function inFlightKey(f: InFlight, currentRequestId: number): string {
  const age = f.requestId === currentRequestId ? 'cur' : 'old';
  switch (f.kind) {
    case 'read':
      return `R${age}${f.consistent ? 'C' : 'E'}${f.arrived ? recordKey(f.record) : '…'}`;
    case 'write':
      return `W${f.heartbeat ? 'h' : ''}${age}${requestKey(f.request)}${writerKey(f.writer)}${f.arrived ? `${f.applied ? '+' : '!'}${recordKey(f.record)}` : '…'}`;
    case 'issuer':
      return `I${age}${f.arrived ? f.token : '…'}`;
  }
}

function orphanKey(o: Orphan): string {
  return o.kind === 'issuer' ? 'oI' : `oW${requestKey(o.request)}${writerKey(o.writer)}`;
}

/**
 * Values cached per (signature, object). Few signatures occur, so one map per signature keeps
 * the number of maps small; everything is dropped when the cache grows too big (weak maps with
 * millions of entries make garbage collection dominate the run).
 */
class IdentityCache<K extends object, V> {
  readonly #bySignature = new Map<string, Map<K, V>>();
  #size = 0;

  clear(): void {
    this.#bySignature.clear();
    this.#size = 0;
  }

  get(signature: string, object: K): V | undefined {
    return this.#bySignature.get(signature)?.get(object);
  }

  set(signature: string, object: K, value: V): void {
    if (this.#size >= CACHED_ENTRIES_MAX) {
      this.#bySignature.clear();
      this.#size = 0;
    }
    let map = this.#bySignature.get(signature);
    if (map === undefined) {
      map = new Map();
      this.#bySignature.set(signature, map);
    }
    map.set(object, value);
    this.#size += 1;
  }
}

const CACHED_ENTRIES_MAX = 400_000;

/** Machine snapshots are shared by many instances (the stepper memoizes): their keys are cached per signature. */
const snapshotKeys = new IdentityCache<Snapshot, string>();

function snapshotKey(snapshot: Snapshot, signature: string): string {
  let key = snapshotKeys.get(signature, snapshot);
  if (key === undefined) {
    key = `${String(snapshot.value)}<${contextKey(snapshot.context)}>`;
    snapshotKeys.set(signature, snapshot, key);
  }
  return key;
}

function instanceKey(instance: Instance, signature: string): string {
  if (instance.crashed) return 'X';
  const c = instance.snapshot.context;
  const timer = instance.timer;
  const timerKey = timer === undefined ? '-' : `${timer.timerId === c.timerId ? 'cur' : 'old'}${t(START_MS + timer.armedEpoch * JUMP_MS)}/${timer.armedRejected ?? '-'}/${rv(timer.armedItemRevision)}`;
  const caller = instance.caller;
  const callerKey =
    caller === undefined ? '-' : caller.phase === 'waiting' ? `w${caller.attempt}/${caller.rejectedToken ?? '-'}` : `h${caller.attempt}/${caller.token}/${caller.generation}`;
  const inFlight = instance.inFlight.map((f) => inFlightKey(f, f.kind === 'write' && f.heartbeat ? c.heartbeatId : c.requestId)).join(';');
  return `${snapshotKey(instance.snapshot, signature)}[${inFlight}]T${timerKey}C${instance.callsStarted}${callerKey}`;
}

/** Every time value an instance holds. */
function instanceTimes(instance: Instance): number[] {
  if (instance.crashed) return [];
  const c = instance.snapshot.context;
  const times: (number | undefined)[] = [c.cached?.expiresAtMs, c.observed?.sinceMs, c.issued?.expiresAtMs];
  for (const lease of [c.lease, c.pendingLease, c.heartbeatLease]) if (lease !== undefined) times.push(lease.startedAtMs, lease.expiresAtMs);
  const records: (TokenRecord | undefined)[] = [c.record];
  const requests: WriteRequest[] = [];
  if (c.pendingWrite !== undefined) requests.push(c.pendingWrite);
  for (const f of instance.inFlight) {
    if (f.kind === 'write') requests.push(f.request);
    if ((f.kind === 'read' || f.kind === 'write') && f.arrived) records.push(f.record);
  }
  for (const record of records) if (record !== undefined) pushRecordTimes(times, record);
  for (const request of requests) pushRecordTimes(times, request.set);
  if (instance.timer !== undefined) times.push(START_MS + instance.timer.armedEpoch * JUMP_MS);
  return times.filter((time): time is number => time !== undefined && time !== 0);
}

function pushRecordTimes(times: (number | undefined)[], r: Partial<Pick<TokenRecord, 'tokenExpiresAtMs' | 'leaseExpiresAtMs' | 'backoffUntilMs'>>): void {
  times.push(r.tokenExpiresAtMs, r.leaseExpiresAtMs, r.backoffUntilMs);
}

/** An instance's key and its hash. */
interface Keyed {
  readonly key: string;
  readonly hash: number;
}

interface InstanceCache {
  readonly epochs: readonly number[];
}

/** Instance keys by `<rank signature>|<rename signature>`. */
const instanceKeys = new IdentityCache<Instance, Keyed>();

/**
 * Caches per instance object. A plain map, cleared when it grows too big: weak maps with
 * millions of entries make garbage collection dominate the run.
 */
const caches = new Map<Instance, InstanceCache>();
const CACHED_INSTANCES_MAX = 300_000;

function cacheOf(instance: Instance): InstanceCache {
  let cache = caches.get(instance);
  if (cache === undefined) {
    if (caches.size >= CACHED_INSTANCES_MAX) caches.clear();
    cache = { epochs: [...new Set(instanceTimes(instance).map(epochOfTime))] };
    caches.set(instance, cache);
  }
  return cache;
}

/** The key of `instance` under the current `rank` and `rename`, cached under their signatures. */
function cachedKey(instance: Instance, signature: string): Keyed {

  let keyed = instanceKeys.get(signature, instance);
  if (keyed === undefined) {
    const key = instanceKey(instance, signature);
    keyed = { key, hash: hash53(key) };
    instanceKeys.set(signature, instance, keyed);
  }
  return keyed;
}

/** Items are shared by many worlds: their keys are cached per signature too. */
const recordKeys = new IdentityCache<TokenRecord, Keyed>();
const NO_RECORD: Keyed = { key: '∅', hash: hash53('∅') };

function cachedRecordKey(record: TokenRecord | undefined, signature: string): Keyed {
  if (record === undefined) return NO_RECORD;
  let keyed = recordKeys.get(signature, record);
  if (keyed === undefined) {
    const key = recordKey(record);
    keyed = { key, hash: hash53(key) };
    recordKeys.set(signature, record, keyed);
  }
  return keyed;
}

const ANONYMOUS: ReadonlyMap<string, string> = new Map(INSTANCE_IDS.map((name) => [name, '?']));

/** All orders that keep each group together, groups in sorted order. */
function candidateOrders(groups: readonly (readonly number[])[]): number[][] {
  let orders: number[][] = [[]];
  for (const group of groups) {
    const perms = permutations(group);
    const next: number[][] = [];
    for (const prefix of orders) for (const perm of perms) next.push([...prefix, ...perm]);
    orders = next;
  }
  return orders;
}

function permutations(items: readonly number[]): number[][] {
  if (items.length <= 1) return [items.slice()];
  const out: number[][] = [];
  items.forEach((item, i) => {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) out.push([item, ...rest]);
  });
  return out;
}

/** A rendering of a world: its parts' hashes (header first, then instances in order) and texts. */
interface Rendering {
  readonly hashes: readonly number[];
  readonly texts: readonly string[];
}

const rankMaps = new Map<string, ReadonlyMap<number, number>>();

/** Epoch → rank for epochs sorted newest first (cached: few distinct sets occur). */
function rankFor(sortedEpochs: readonly number[], key: string): ReadonlyMap<number, number> {
  let map = rankMaps.get(key);
  if (map === undefined) {
    if (rankMaps.size > 10_000) rankMaps.clear();
    map = new Map(sortedEpochs.map((epoch, i) => [epoch, -i]));
    rankMaps.set(key, map);
  }
  return map;
}

const renameMaps = new Map<string, ReadonlyMap<string, string>>();

/** Instance id → the id of its position in `order` (cached per order; instance `i` is always `INSTANCE_IDS[i]`). */
function renameFor(instances: readonly Instance[], order: readonly number[], orderKey: string): ReadonlyMap<string, string> {
  let map = renameMaps.get(orderKey);
  if (map === undefined) {
    const names = new Map<string, string>();
    order.forEach((index, position) => {
      const from = instances[index]?.id;
      const to = INSTANCE_IDS[position];
      if (from !== undefined && to !== undefined) names.set(from, to);
    });
    map = names;
    renameMaps.set(orderKey, map);
  }
  return map;
}

function compare(x: Rendering, y: Rendering): number {
  for (let i = 0; i < x.hashes.length; i += 1) {
    const d = (x.hashes[i] ?? 0) - (y.hashes[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function canonicalRendering(world: World, options: { readonly symmetry: boolean; readonly trackPrevious: boolean }): Rendering {
  const instances = world.instances;
  const caches = instances.map(cacheOf);
  // Epoch ranks: the current epoch is 0, each older epoch present one less.
  const epochs = new Set<number>([world.epoch]);
  for (const cache of caches) for (const epoch of cache.epochs) epochs.add(epoch);
  const headerTimes: (number | undefined)[] = [];
  for (const record of [world.item, options.trackPrevious ? world.previous : undefined]) if (record !== undefined) pushRecordTimes(headerTimes, record);
  for (const orphan of world.orphans) if (orphan.kind === 'write') pushRecordTimes(headerTimes, orphan.request.set);
  for (const time of headerTimes) if (time !== undefined && time !== 0) epochs.add(epochOfTime(time));
  const sortedEpochs = [...epochs].sort((x, y) => y - x);
  // Keys cached per instance depend on the absolute epochs present (their ranks), not only on their shape.
  const rankSignature = sortedEpochs.join(',');
  rank = rankFor(sortedEpochs, rankSignature);

  const render = (order: readonly number[]): Rendering => {
    const orderKey = order.join('');
    rename = renameFor(instances, order, orderKey);
    const signature = `${rankSignature}|${orderKey}`;
    const b = world.budget;
    const orphans = world.orphans.length === 0 ? '' : world.orphans.map(orphanKey).sort().join(';');
    const item = cachedRecordKey(world.item, signature);
    const previous = options.trackPrevious ? cachedRecordKey(world.previous, signature) : undefined;
    const rest =
      `|v${world.validToken}m${world.minted}s${world.economySlack}` +
      `|b${b.invalidations}${b.crashes}${b.lostResponses}${b.unknownOutcomes}${b.orphanedIssues}${b.freezes}${b.refusals}${b.faults}${b.probes}|o${orphans}`;
    const hashes = [hash53(`${item.hash},${previous?.hash ?? ''}${rest}`)];
    const texts = [`${item.key}${previous?.key ?? ''}${rest}`];
    for (const index of order) {
      const instance = instances[index];
      if (instance === undefined) continue;
      const keyed = cachedKey(instance, signature);
      hashes.push(keyed.hash);
      texts.push(keyed.key);
    }
    return { hashes, texts };
  };

  const identity = instances.map((_, i) => i);
  if (!options.symmetry || instances.length <= 1) return render(identity);
  rename = ANONYMOUS;
  const anonymous = instances.map((instance) => cachedKey(instance, `${rankSignature}|?`));
  const sorted = identity.slice().sort((x, y) => {
    const kx = anonymous[x]?.key ?? '';
    const ky = anonymous[y]?.key ?? '';
    return kx < ky ? -1 : kx > ky ? 1 : x - y;
  });
  const groups: number[][] = [];
  let previous: string | undefined;
  for (const index of sorted) {
    const key = anonymous[index]?.key;
    if (key === previous) groups[groups.length - 1]?.push(index);
    else groups.push([index]);
    previous = key;
  }
  if (groups.length === sorted.length) return render(sorted);
  let best: Rendering | undefined;
  for (const order of candidateOrders(groups)) {
    const rendering = render(order);
    if (best === undefined || compare(rendering, best) < 0) best = rendering;
  }
  return best ?? render(sorted);
}

/** Forgets every cached key (for tests: a key must not depend on what was cached before). */
export function clearCanonicalCaches(): void {
  snapshotKeys.clear();
  instanceKeys.clear();
  recordKeys.clear();
  caches.clear();
  rankMaps.clear();
  renameMaps.clear();
}

/**
 * The canonical text of a world (for debugging and tests; the explorer uses {@link canonicalHash}).
 *
 * @example
 * ```ts
 * canonicalString(world, { symmetry: true, trackPrevious: false });
 * ```
 */
export function canonicalString(world: World, options: { readonly symmetry: boolean; readonly trackPrevious: boolean }): string {
  return canonicalRendering(world, options).texts.join('\n');
}

/**
 * The 53-bit identity of a world: the hash of its parts' hashes in canonical order. Two distinct
 * states collide with probability about n² / 2⁵⁴ (≈ 5·10⁻⁴ at 3 M states); a collision could
 * only hide states, never invent a violation.
 */
export function canonicalHash(world: World, options: { readonly symmetry: boolean; readonly trackPrevious: boolean }): number {
  return hash53(canonicalRendering(world, options).hashes.join(','));
}

/**
 * 53-bit hash of a string (cyrb53). With a few million states the chance that two distinct
 * states share a hash is about n² / 2⁵⁴ (≈ 5·10⁻⁴ at 3 M states); a collision could only hide
 * states, never invent a violation.
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

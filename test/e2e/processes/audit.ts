/**
 * Checkers over a fleet's recorded history. Each returns the list of violations (empty when the
 * history is sound) plus counts, so a failing test prints exactly what went wrong.
 *
 * The store audit works from what the recording proxy saw on the wire, not from what workers say
 * about themselves: every write to the item, who sent it, its condition, and the item DynamoDB
 * returned. Replaying the applied writes in revision order shows whether any write bypassed the
 * lease (fencing, I2), whether leases changed hands only by claim or take-over (I1), and whether
 * every new token came with exactly one new generation.
 */
import type { FakeChatApi } from '../../../src/fake/chat-api.js';
import type { WriteIntent } from '../../../src/machine/record.js';
import type { RecordedCall, RecordedItem } from './dynamodb-recorder.js';
import type { Fleet, FleetEvent, MessageRecord, RedeliveryPolicy } from './fleet.js';

/** One applied write, as replayed. */
export interface AuditedWrite {
  readonly revision: number;
  readonly lane: string;
  /** What the item's change shows. */
  readonly kind: 'claim' | 'take-over' | 'renew' | 'publish' | 'release-or-failure' | 'unheld';
  /** What the writer's own `store-write` event said (when it could be matched). */
  readonly intent: WriteIntent | undefined;
  readonly generation: number;
  readonly leaseId: string | undefined;
  readonly tokenFingerprint: string | undefined;
}

/** Result of {@link auditStore}. */
export interface StoreAudit {
  readonly violations: string[];
  readonly writes: readonly AuditedWrite[];
  /** Condition-failed writes, by lane and intent (`lane:intent`). */
  readonly refused: readonly string[];
  readonly counts: { readonly claims: number; readonly takeovers: number; readonly publishes: number; readonly renewals: number; readonly releases: number };
  /** Generations the item went through (after the first publish), in order. */
  readonly generations: readonly number[];
}

const ITEM_EXISTENCE_CONDITION = /attribute_(not_)?exists\(#pk\)/;

/**
 * Audits every DynamoDB call on the item against the protocol's write rules.
 *
 * @param calls - The recorder's calls on this item.
 * @param events - The fleet's protocol events (for the writers' own intents and take-over reports).
 * @param killedLanes - Lanes killed during the run (their last write may have no event).
 */
export function auditStore(calls: readonly RecordedCall[], events: readonly FleetEvent[], killedLanes: readonly string[] = []): StoreAudit {
  const violations: string[] = [];

  // 1. Only reads and conditional updates: no PutItem/DeleteItem/batch/transaction on the item.
  for (const call of calls) {
    if (call.operation !== 'GetItem' && call.operation !== 'UpdateItem') violations.push(`#${call.seq} ${call.lane}: ${call.operation} on the item (only GetItem and conditional UpdateItem are allowed)`);
    if (call.operation === 'UpdateItem' && (call.conditionExpression === undefined || !ITEM_EXISTENCE_CONDITION.test(call.conditionExpression))) {
      violations.push(`#${call.seq} ${call.lane}: UpdateItem without a condition stating the item's existence: ${String(call.conditionExpression)}`);
    }
    if (call.outcome === 'error') violations.push(`#${call.seq} ${call.lane}: ${call.operation} failed (${call.status ?? 'no answer'} ${call.errorType ?? ''}); not expected against DynamoDB Local`);
  }

  // 2. Match each lane's wire writes with its own store-write events, in order, to learn intents.
  const intentOf = new Map<number, WriteIntent>();
  const lanes = new Set(calls.map((call) => call.lane));
  for (const lane of lanes) {
    const wire = calls.filter((call) => call.lane === lane && call.operation === 'UpdateItem' && call.outcome !== 'error');
    const reported = events.filter((entry) => entry.lane === lane && entry.event.type === 'store-write' && entry.event.outcome !== 'ambiguous');
    const extraAllowed = killedLanes.includes(lane) ? 1 : 0;
    if (reported.length > wire.length || wire.length > reported.length + extraAllowed) {
      violations.push(`${lane}: ${wire.length} conditional writes on the wire but ${reported.length} store-write events`);
    }
    reported.forEach((entry, index) => {
      const call = wire[index];
      if (call === undefined || entry.event.type !== 'store-write') return;
      const wireOutcome = call.outcome === 'applied' ? 'applied' : 'condition-failed';
      if (wireOutcome !== entry.event.outcome) violations.push(`${lane}: write #${call.seq} was ${wireOutcome} on the wire, but its ${entry.event.intent} event says ${entry.event.outcome}`);
      intentOf.set(call.seq, entry.event.intent);
    });
  }

  // 3. Replay the applied writes in revision order.
  const applied = calls.filter((call) => call.operation === 'UpdateItem' && call.outcome === 'applied');
  const byRevision = [...applied].sort((a, b) => revisionOf(a.item) - revisionOf(b.item));
  byRevision.forEach((call, index) => {
    if (revisionOf(call.item) !== index + 1) violations.push(`applied writes are not revisions 1..${applied.length} in a row: #${call.seq} made revision ${revisionOf(call.item)} (expected ${index + 1}) — a write went around the recorder or was lost`);
  });
  const takeoverReports = events.filter((entry) => entry.event.type === 'takeover');
  const writes: AuditedWrite[] = [];
  let previous: RecordedItem | undefined;
  const counts = { claims: 0, takeovers: 0, publishes: 0, renewals: 0, releases: 0 };
  const generations: number[] = [];
  for (const call of byRevision) {
    const item = call.item ?? {};
    const lane = call.lane;
    const before = { leaseId: str(previous?.['leaseId']), holder: str(previous?.['leaseHolder']), generation: num(previous?.['generation']) ?? 0, token: previous?.tokenFingerprint };
    const after = { leaseId: str(item['leaseId']), holder: str(item['leaseHolder']), generation: num(item['generation']) ?? 0, token: item.tokenFingerprint };
    const label = `revision ${revisionOf(item)} by ${lane} (#${call.seq})`;
    const ownsBefore = before.leaseId !== undefined && before.holder === lane && before.leaseId.startsWith(`${lane}.`);
    let kind: AuditedWrite['kind'];
    if (after.leaseId !== undefined && after.leaseId !== before.leaseId) {
      // A new lease: it must be the writer's own, taken from no lease (claim) or over another (take-over).
      if (after.holder !== lane || !after.leaseId.startsWith(`${lane}.`)) violations.push(`${label}: installed lease ${after.leaseId} held by ${String(after.holder)}, not its own`);
      if (after.generation !== before.generation || after.token !== before.token) violations.push(`${label}: took a lease and changed the token or generation in one write`);
      kind = before.leaseId === undefined ? 'claim' : 'take-over';
      if (kind === 'claim') counts.claims += 1;
      else {
        counts.takeovers += 1;
        if (!takeoverReports.some((entry) => entry.lane === lane && entry.event.type === 'takeover' && entry.event.staleLeaseHolder === before.holder)) {
          violations.push(`${label}: replaced ${before.leaseId} of ${String(before.holder)} without reporting a take-over`);
        }
      }
    } else if (before.leaseId !== undefined) {
      // Everything else needs the lease the item names to be the writer's own (fencing).
      if (!ownsBefore) violations.push(`${label}: wrote while the item named lease ${before.leaseId} of ${String(before.holder)} (fencing bypassed)`);
      if (after.leaseId === before.leaseId) {
        kind = 'renew';
        counts.renewals += 1;
      } else if (after.generation === before.generation + 1) {
        kind = 'publish';
        counts.publishes += 1;
      } else {
        kind = 'release-or-failure';
        counts.releases += 1;
      }
    } else {
      kind = 'unheld';
      violations.push(`${label}: wrote with no lease before or after (only an operator's invalidate may, and none ran)`);
    }
    // A new token always comes with exactly one new generation, and only from a publish.
    const tokenChanged = after.token !== before.token;
    const generationChanged = after.generation !== before.generation;
    if (tokenChanged !== generationChanged) violations.push(`${label}: token changed=${tokenChanged} but generation changed=${generationChanged}`);
    if (generationChanged && (kind !== 'publish' || after.token === undefined)) violations.push(`${label}: generation ${before.generation} → ${after.generation} outside a publish`);
    if (kind === 'publish') generations.push(after.generation);
    const intent = intentOf.get(call.seq);
    if (intent !== undefined && !intentMatches(intent, kind)) violations.push(`${label}: the writer called it ${intent}, the item shows a ${kind}`);
    writes.push({ revision: revisionOf(item), lane, kind, intent, generation: after.generation, leaseId: after.leaseId, tokenFingerprint: after.token });
    previous = item;
  }
  generations.forEach((generation, index) => {
    if (generation !== index + 1) violations.push(`publishes made generations ${generations.join(', ')}, not 1..${generations.length}`);
  });

  // 4. I1: two claims of the same generation need the first lease to end (released) in between.
  const claimsByGeneration = new Map<number, number>();
  let leaseEndedSinceClaim = true;
  for (const write of writes) {
    if (write.kind === 'claim') {
      const seen = claimsByGeneration.get(write.generation) ?? 0;
      if (seen > 0 && !leaseEndedSinceClaim) violations.push(`revision ${write.revision}: a second claim of generation ${write.generation} while the first lease was still stored`);
      claimsByGeneration.set(write.generation, seen + 1);
      leaseEndedSinceClaim = false;
    } else if (write.kind === 'release-or-failure' || write.kind === 'publish') {
      leaseEndedSinceClaim = true;
    }
  }

  // 5. Every applied publish the writers reported matches one on the wire.
  const reportedPublishes = events.filter((entry) => entry.event.type === 'store-write' && entry.event.intent === 'publish' && entry.event.outcome === 'applied').length;
  if (reportedPublishes !== counts.publishes && killedLanes.length === 0) {
    violations.push(`${reportedPublishes} applied publishes reported by workers, ${counts.publishes} on the wire`);
  }

  const refused = calls
    .filter((call) => call.operation === 'UpdateItem' && call.outcome === 'condition-failed')
    .map((call) => `${call.lane}:${intentOf.get(call.seq) ?? 'unknown'}`);
  return { violations, writes, refused, counts, generations };
}

function intentMatches(intent: WriteIntent, kind: AuditedWrite['kind']): boolean {
  switch (intent) {
    case 'claim':
      return kind === 'claim';
    case 'take-over':
      return kind === 'take-over';
    case 'renew':
      return kind === 'renew';
    case 'publish':
      return kind === 'publish';
    case 'release':
    case 'record-failure':
      return kind === 'release-or-failure';
    case 'invalidate':
      return kind === 'unheld';
  }
}

/**
 * No lost message: every webhook ended with a 200, each failed delivery was a clear not-sent
 * answer (503 with a code) or a dead instance (502/504), within the redelivery budget, and the
 * chat API holds every reply exactly once.
 */
export function messageViolations(messages: readonly MessageRecord[], api: FakeChatApi, policy: RedeliveryPolicy): string[] {
  const violations: string[] = [];
  for (const message of messages) {
    const trail = message.attempts.map((attempt) => `${attempt.lane}:${attempt.statusCode}${attempt.code === undefined ? '' : `/${attempt.code}`}`).join(' → ');
    if (!message.delivered) violations.push(`${message.messageId} not delivered after ${message.attempts.length} deliveries: ${trail}`);
    if (message.attempts.length > policy.deliveriesMax) violations.push(`${message.messageId}: ${message.attempts.length} deliveries, more than ${policy.deliveriesMax}`);
    for (const attempt of message.attempts.slice(0, -1)) {
      const clear = (attempt.kind === 'ok' && attempt.statusCode === 503 && attempt.code !== undefined) || attempt.kind === 'crashed' || attempt.kind === 'timeout';
      if (!clear) violations.push(`${message.messageId}: delivery to ${attempt.lane} failed without a clear not-sent answer (${attempt.kind} ${attempt.statusCode})`);
    }
    const deliveries = api.deliveries(message.replyId);
    if (deliveries !== 1) violations.push(`${message.replyId} reached the chat API ${deliveries} times (expected exactly once): ${trail}`);
  }
  if (api.stats().duplicates !== 0) violations.push(`${api.stats().duplicates} duplicate replies at the chat API`);
  return violations;
}

/** `lane: status/code` of every delivery that was not a first-time 200, for exact expectations. */
export function failedDeliveries(messages: readonly MessageRecord[]): string[] {
  return messages.flatMap((message) =>
    message.attempts.filter((attempt) => attempt.statusCode !== 200).map((attempt) => `${attempt.lane}:${attempt.statusCode}${attempt.code === undefined ? '' : `/${attempt.code}`}`),
  );
}

function revisionOf(item: RecordedItem | undefined): number {
  return num(item?.['revision']) ?? Number.NaN;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Result of {@link checkSettlement}. */
export interface Settlement {
  readonly violations: string[];
  /** Fingerprint of the token the chat API accepts. */
  readonly currentFingerprint: string | undefined;
  /** Fingerprint of the token in the item. */
  readonly itemFingerprint: string | undefined;
  /** `POST /auth` calls made while every live worker sent one more message (expected 0). */
  readonly authCallsDuring: number;
}

/**
 * Settlement (I6): once the fleet is at rest, the item holds exactly the token the chat API
 * accepts, with no lease; and every live worker's next message is delivered on the first try
 * with that token, with no new `POST /auth`.
 */
export async function checkSettlement(fleet: Fleet, quietTimeoutMs: number): Promise<Settlement> {
  const violations: string[] = [];
  await fleet.waitUntilQuiet(quietTimeoutMs);
  const current = fleet.chat.api.current();
  const item = await fleet.readItem();
  if (current === undefined || current.expired) violations.push('the chat API has no current unexpired token');
  if (item === undefined) violations.push('the item does not exist');
  if (item?.['leaseId'] !== undefined) violations.push(`a lease is still stored: ${String(item['leaseId'])}`);
  if (item?.tokenFingerprint !== current?.tokenFingerprint) violations.push(`the item holds ${String(item?.tokenFingerprint)} but the chat API accepts ${String(current?.tokenFingerprint)}`);
  if (item !== undefined && item['invalidatedGeneration'] === item['generation']) violations.push('the stored generation is marked invalidated');

  const authBefore = fleet.authCalls();
  const mark = fleet.mark();
  const lanes = fleet.liveLanes;
  const records = await Promise.all(lanes.map((lane) => fleet.deliver(lane, 'are we settled?', { deliveriesMax: 1, waitMsMax: 0 })));
  records.forEach((record, index) => {
    const attempt = record.attempts[0];
    if (attempt?.statusCode !== 200) violations.push(`${lanes[index] ?? '?'}: the next message was answered ${String(attempt?.statusCode)}${attempt?.code === undefined ? '' : ` ${attempt.code}`}`);
  });
  const authCallsDuring = fleet.authCalls() - authBefore;
  if (authCallsDuring !== 0) violations.push(`${authCallsDuring} POST /auth while every live worker sent one more message`);
  const used = fleet.eventsSince(mark).filter((entry) => entry.event.type === 'token-used');
  for (const entry of used) {
    if (entry.event.type === 'token-used' && entry.event.fingerprint !== current?.tokenFingerprint && !usedBeforeRejection(fleet.eventsSince(mark), entry)) {
      violations.push(`${entry.lane} used ${entry.event.fingerprint}, which the chat API does not accept, and it was not rejected and replaced`);
    }
  }
  for (const lane of lanes) {
    const last = [...used].reverse().find((entry) => entry.lane === lane);
    if (last?.event.type !== 'token-used' || last.event.fingerprint !== current?.tokenFingerprint) violations.push(`${lane}: its last token used is not the chat API's current one`);
  }
  return { violations, currentFingerprint: current?.tokenFingerprint, itemFingerprint: item?.tokenFingerprint, authCallsDuring };
}

/** Whether `used` (a stale cached token) was followed by its rejection in the same lane. */
function usedBeforeRejection(events: readonly FleetEvent[], used: FleetEvent): boolean {
  if (used.event.type !== 'token-used') return false;
  const fingerprintUsed = used.event.fingerprint;
  return events.some((entry) => entry.lane === used.lane && entry.event.type === 'token-rejected' && entry.event.fingerprint === fingerprintUsed);
}

/**
 * The store audit of the multi-process suite must catch what it claims to catch: these histories
 * are written by hand, one broken rule each, and the sound one passes.
 */
import { describe, expect, it } from 'vitest';
import type { BatonEvent } from '../../../src/runtime/events.js';
import { auditStore } from './audit.js';
import type { RecordedCall, RecordedItem } from './dynamodb-recorder.js';
import type { FleetEvent } from './fleet.js';

const CONDITION = 'attribute_exists(#pk) AND #leaseId = :cond_leaseId';
let seq = 0;

function write(lane: string, item: RecordedItem, outcome: RecordedCall['outcome'] = 'applied', conditionExpression: string | null = CONDITION): RecordedCall {
  seq += 1;
  return { seq, lane, operation: 'UpdateItem', key: 'k', conditionExpression: conditionExpression ?? undefined, arrivedAtMs: seq, answeredAtMs: seq, status: outcome === 'applied' ? 200 : 400, outcome, errorType: undefined, item };
}

/** A {@link BatonEvent} without the fields `event` fills in. */
type EventBody = BatonEvent extends infer Event ? (Event extends BatonEvent ? Omit<Event, 'instanceId' | 'atMs'> : never) : never;

function event(lane: string, body: EventBody): FleetEvent {
  return { lane, receivedAtMs: 0, event: { ...body, instanceId: lane, atMs: 0 } as BatonEvent };
}

const claimA: RecordedItem = { revision: 1, generation: 0, leaseId: 'a.n#1', leaseHolder: 'a' };
const publishA: RecordedItem = { revision: 2, generation: 1, tokenFingerprint: 'fp:1' };
const soundCalls = [write('a', claimA), write('b', claimA, 'condition-failed'), write('a', publishA)];
const soundEvents = [
  event('a', { type: 'store-write', intent: 'claim', outcome: 'applied' }),
  event('b', { type: 'store-write', intent: 'claim', outcome: 'condition-failed' }),
  event('a', { type: 'store-write', intent: 'publish', outcome: 'applied' }),
];

describe('auditStore', () => {
  it('passes a sound claim → publish history', () => {
    const audit = auditStore(soundCalls, soundEvents);
    expect(audit.violations).toEqual([]);
    expect(audit.counts).toMatchObject({ claims: 1, publishes: 1, takeovers: 0 });
    expect(audit.refused).toEqual(['b:claim']);
    expect(audit.generations).toEqual([1]);
  });

  it('flags an UpdateItem without a condition and any PutItem', () => {
    const put: RecordedCall = { ...write('a', claimA), operation: 'PutItem' };
    const audit = auditStore([write('a', claimA, 'applied', null), put], []);
    expect(audit.violations.join('\n')).toMatch(/UpdateItem without a condition/);
    expect(audit.violations.join('\n')).toMatch(/PutItem on the item/);
  });

  it('flags a publish by an instance that does not hold the stored lease (fencing bypassed)', () => {
    const audit = auditStore([write('a', claimA), write('b', publishA)], []);
    expect(audit.violations.join('\n')).toMatch(/revision 2 by b .*fencing bypassed/);
  });

  it('flags a lease replaced without a reported take-over, and a take-over of a lease that is not its own', () => {
    const stolen: RecordedItem = { revision: 2, generation: 0, leaseId: 'b.n#1', leaseHolder: 'b' };
    expect(auditStore([write('a', claimA), write('b', stolen)], []).violations.join('\n')).toMatch(/without reporting a take-over/);
    const forged: RecordedItem = { revision: 2, generation: 0, leaseId: 'a.n#2', leaseHolder: 'a' };
    expect(auditStore([write('a', claimA), write('b', forged)], []).violations.join('\n')).toMatch(/not its own/);
  });

  it('flags a token change without a new generation, a missing revision, and an event that disagrees with the wire', () => {
    const sameGeneration: RecordedItem = { revision: 2, generation: 0, tokenFingerprint: 'fp:1' };
    expect(auditStore([write('a', claimA), write('a', sameGeneration)], []).violations.join('\n')).toMatch(/token changed=true but generation changed=false/);
    expect(auditStore([write('a', claimA), write('a', { ...publishA, revision: 3 })], []).violations.join('\n')).toMatch(/not revisions 1\.\.2 in a row/);
    const lying = [...soundEvents.slice(0, 2), event('a', { type: 'store-write', intent: 'publish', outcome: 'condition-failed' })];
    expect(auditStore(soundCalls, lying).violations.join('\n')).toMatch(/applied on the wire, but its publish event says condition-failed/);
  });
});

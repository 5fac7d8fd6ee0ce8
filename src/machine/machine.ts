import { and, assign, enqueueActions, setup } from 'xstate';
import {
  AMBIGUOUS_WRITES_MAX,
  backoffMsFor,
  BUDGET_RENEWALS_MAX,
  HEARTBEAT_FRACTION,
  HEARTBEATS_MAX,
  issuerBudgetLeft,
  issuerBudgetMs,
  POLL_JITTER_MAX_FRACTION,
  POLL_JITTER_MIN_FRACTION,
  UNAVAILABLE_BACKOFF_BASE_MS,
} from './config.js';
import { decide, refreshDurationMs } from './decide.js';
import { cachedUsable, proactiveDue } from './predicates.js';
import { FAILURE_FIELDS, ISSUER_REFUSED_CODE, ISSUER_UNAVAILABLE_CODE, LEASE_FIELDS } from './record.js';
import { PROTOCOL_RULES } from './rules.js';
import type { ProtocolRules } from './rules.js';
import type { RecordField, TokenRecord, WriteRequest } from './record.js';
import type { Verdict } from './decide.js';
import { ALARM_CODES } from './types.js';
import type { Decision, EffectParams, Failure, FencedIntent, LeaseView, MachineContext, MachineEvent, MachineInput } from './types.js';

/** Names of the machine's states, for the runtime, tests and diagrams. */
export const STATES = {
  idle: 'idle',
  using: 'using',
  reading: 'reading',
  deciding: 'deciding',
  waiting: 'waiting',
  claiming: 'claiming',
  takingOver: 'taking-over',
  refreshing: 'refreshing',
  renewing: 'renewing',
  publishing: 'publishing',
  recordingFailure: 'recording-failure',
  releasing: 'releasing',
  failing: 'failing',
} as const;

/** One of {@link STATES}. */
export type StateName = (typeof STATES)[keyof typeof STATES];

type Ev<T extends MachineEvent['type']> = Extract<MachineEvent, { type: T }>;

/** The lease a holder currently relies on (confirmed, or the pending one once recognised). */
function heldLease(context: MachineContext): LeaseView {
  const lease = context.lease;
  if (lease === undefined) throw new Error('invariant broken: a holder state was entered without a lease');
  return lease;
}

function observedRecord(context: MachineContext): TokenRecord {
  const record = context.record;
  if (record === undefined) throw new Error('invariant broken: a holder state was entered without an observed item');
  return record;
}

/** Fresh per-episode bookkeeping. */
const EPISODE_RESET = {
  rounds: 0,
  issuerAttempts: 0,
  heartbeats: 0,
  budgetRenewals: 0,
  ambiguousWrites: 0,
  callersGone: false,
  decision: undefined,
  pendingWrite: undefined,
  failure: undefined,
} as const;

/**
 * Builds the protocol machine with the given safety rules. Production code uses
 * {@link batonMachine} (all rules on); only the spec and tests build variants.
 *
 * @example
 * ```ts
 * const machine = createBatonMachine(PROTOCOL_RULES);
 * ```
 */
export function createBatonMachine(rules: ProtocolRules = PROTOCOL_RULES) {
  // The real protocol reads an ambiguous write back; the `no-readback` variant assumes it was lost.
  // An ambiguous write is read back after a growing pause (a brownout must not become a busy
  // loop), and a few in a row fail the callers with the store's own reason.
  const onAmbiguousWrite = rules.readBackAmbiguousWrites
    ? ([
        { guard: and(['isCurrentRequest', 'ambiguousWritesLeft']), target: STATES.waiting, actions: ['stamp', 'pauseBeforeReadBack'] },
        { guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'ambiguousFailure'] },
      ] as const)
    : ({ guard: 'isCurrentRequest', target: STATES.deciding, actions: ['stamp', 'assumeWriteLost', 'decideOnLastRecord'] } as const);
  /**
   * The ways from a confirmed lease to `POST /auth`: call it while enough of the lease is left
   * (`issuerBudgetLeft`); else renew first; and when renewals in a row cannot win the time back
   * (the store answers slower than the lease allows), release the lease. `actions` run on every
   * branch (e.g. confirming the lease). A `refresh` decision in `deciding` follows the same rule.
   */
  const toIssuer = <const A extends readonly string[]>(actions: A) =>
    [
      { guard: and(['isCurrentRequest', 'issuerBudgetLeft']), target: STATES.refreshing, actions },
      { guard: and(['isCurrentRequest', 'budgetRenewalsLeft']), target: STATES.renewing, reenter: true, actions: [...actions, 'countBudgetRenewal'] },
      { guard: 'isCurrentRequest', target: STATES.releasing, actions: [...actions, 'prepareSlowStoreRelease'] },
    ] as const;
  /**
   * Outcomes shared by the writes that take, keep or use a lease (`claiming`, `taking-over`,
   * `renewing`, `publishing`); each state adds what an applied write means. Refused: decide on the
   * item the store returned. Unknown: read it back after a pause. Refused by configuration: fail.
   */
  const leaseWriteOutcomes = {
    WRITE_REFUSED: { guard: 'isCurrentRequest', target: STATES.deciding, actions: ['stamp', 'decideOnRecord'] },
    WRITE_AMBIGUOUS: onAmbiguousWrite,
    WRITE_FAILED: { guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'storeFailure'] },
  } as const;
  /**
   * `claiming` and `taking-over`: send the claim or takeover `decide` prepared; a fresh lease has
   * all its renewals left. (A function: xstate needs one config object per state node.)
   */
  const takingLease = () =>
    ({
      entry: ['nextRequest', 'preparePendingLease', { type: 'writeRecord', params: writeParams }],
      on: { WRITE_APPLIED: toIssuer(['stamp', 'reportLeaseWon', 'confirmLease']).slice(0, 2), ...leaseWriteOutcomes },
    }) as const;
  /**
   * Outcomes of the writes that give a lease up (`recording-failure`, `releasing`): whatever the
   * answer, the callers fail with the reason the holder gave up. An unknown outcome is read back
   * like any other (see `reading`), so a release that did not apply is sent again instead of
   * leaving the lease to run out.
   */
  const givingUpLease = () =>
    ({
      entry: ['nextRequest', { type: 'writeRecord', params: writeParams }],
      on: {
        WRITE_APPLIED: { guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'rememberRecord', 'dropLease'] },
        WRITE_REFUSED: { guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'reportGivingUpFenced', 'dropLease'] },
        WRITE_AMBIGUOUS: rules.readBackAmbiguousWrites
          ? ([
              { guard: and(['isCurrentRequest', 'ambiguousWritesLeft']), target: STATES.waiting, actions: ['stamp', 'pauseBeforeReadBack'] },
              { guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'dropLease'] },
            ] as const)
          : ({ guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'dropLease'] } as const),
        WRITE_FAILED: { guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'dropLease'] },
      },
    }) as const;
  return setup({
    types: {} as { context: MachineContext; events: MachineEvent; input: MachineInput },
    actions: {
      // Effects: declared here, performed by whoever steps the machine.
      readRecord: (_: unknown, _params: EffectParams['readRecord']) => undefined,
      writeRecord: (_: unknown, _params: EffectParams['writeRecord']) => undefined,
      callIssuer: (_: unknown, _params: EffectParams['callIssuer']) => undefined,
      startTimer: (_: unknown, _params: EffectParams['startTimer']) => undefined,
      renewLease: (_: unknown, _params: EffectParams['renewLease']) => undefined,
      extendIssuerDeadline: (_: unknown, _params: EffectParams['extendIssuerDeadline']) => undefined,
      abortIssuer: (_: unknown, _params: EffectParams['abortIssuer']) => undefined,
      deliverToken: (_: unknown, _params: EffectParams['deliverToken']) => undefined,
      failWaiters: (_: unknown, _params: EffectParams['failWaiters']) => undefined,
      raiseAlarm: (_: unknown, _params: EffectParams['raiseAlarm']) => undefined,
      reportFenced: (_: unknown, _params: EffectParams['reportFenced']) => undefined,
      reportTakeover: (_: unknown, _params: EffectParams['reportTakeover']) => undefined,
      reportClaim: (_: unknown, _params: EffectParams['reportClaim']) => undefined,
      reportPublished: (_: unknown, _params: EffectParams['reportPublished']) => undefined,

      stamp: assign({ nowMs: ({ event }) => event.nowMs }),
      nextRequest: assign({ requestId: ({ context }) => context.requestId + 1 }),
      // A pending lease survives the episode: if a write we could not confirm took it, the next
      // episode's first decision recognises it instead of waiting on our own lease.
      endEpisode: assign({ ...EPISODE_RESET, proactive: false, observed: undefined }),
      startEpisode: assign(({ context }) => ({
        ...EPISODE_RESET,
        proactive: false,
        // The cached token (if any) is unusable here: rejected or expired. Adopt anything else.
        replaceToken: context.cached?.value ?? context.rejectedToken,
      })),
      startProactiveEpisode: assign(({ context }) => ({
        ...EPISODE_RESET,
        proactive: true,
        replaceToken: context.cached?.value,
      })),
      noteRejection: assign(({ context, event }) => {
        const { token } = event as Ev<'TOKEN_REJECTED' | 'TOKEN_DISCARDED'>;
        // A rejection of a token we no longer hold says nothing about the one we hold.
        if (context.cached !== undefined && token !== context.cached.value) return {};
        return { rejectedToken: token, replaceToken: token, proactive: false };
      }),
      reactToRejection: enqueueActions(({ context, event, enqueue }) => {
        const { token, generation, nowMs } = event as Ev<'TOKEN_REJECTED'>;
        const cached = context.cached;
        if (cached === undefined) return;
        if (token !== cached.value && cachedUsable(context, nowMs)) {
          // The caller used an older token than we already hold: hand it the newer one, no store call.
          enqueue({ type: 'deliverToken', params: { token: cached.value, generation: cached.generation, issuedAtMs: cached.issuedAtMs } });
          return;
        }
        const ageMs = cached.issuedAtMs === undefined ? undefined : nowMs - cached.issuedAtMs;
        if (token === cached.value && ageMs !== undefined && ageMs < context.config.freshTokenMs && context.alarmedToken !== token) {
          enqueue.assign({ alarmedToken: token });
          enqueue({
            type: 'raiseAlarm',
            params: {
              code: ALARM_CODES.freshTokenRejected,
              message:
                `a token published ${Math.max(0, ageMs)} ms ago (generation ${generation}, by this instance's clock) was rejected; another client may be using ` +
                'the same credentials. One refresh follows; callers stay bounded by maxAttempts.',
            },
          });
        }
      }),
      deliverCached: enqueueActions(({ context, enqueue }) => {
        const cached = context.cached;
        if (cached === undefined || !cachedUsable(context, context.nowMs)) return;
        enqueue({ type: 'deliverToken', params: { token: cached.value, generation: cached.generation, issuedAtMs: cached.issuedAtMs } });
      }),
      decideOnRecord: enqueueActions(({ context, event, enqueue }) => {
        const record = (event as Ev<'READ_OK'>).record ?? (event as Ev<'WRITE_REFUSED'>).current;
        const verdict = decide(context, record, event.nowMs, rules);
        // Stats and events follow what the item shows, not what the store answered: a claim or a
        // publish whose answer was lost, recognised here, counts as won or published.
        for (const report of decisionReports(context, record, verdict)) enqueue(report);
        if (verdict.clockSkew !== undefined && verdict.clockSkew.leaseId !== context.skewAlarmedLease) {
          enqueue.assign({ skewAlarmedLease: verdict.clockSkew.leaseId });
          enqueue({ type: 'raiseAlarm', params: clockSkewAlarm(verdict.clockSkew, context.config.maxClockSkewMs) });
        }
        const pending = context.pendingLease;
        let lease = verdict.holder ? context.lease : undefined;
        if (verdict.holder && pending !== undefined) {
          // A write we could not confirm: if the item shows exactly what we asked, it applied.
          lease = record?.leaseExpiresAtMs === pending.expiresAtMs || lease === undefined ? pending : lease;
        }
        enqueue.assign({
          record,
          rounds: context.rounds + 1,
          decision: verdict.decision,
          observed: verdict.observed,
          refreshMsSeen: verdict.refreshMs ?? context.refreshMsSeen,
          lease,
          pendingLease: undefined,
          issued: verdict.fenced || !verdict.holder ? (verdict.decision.kind === 'published' ? context.issued : undefined) : context.issued,
        });
      }),
      assumeWriteLost: assign(({ context }) => ({
        pendingLease: undefined,
        issued: context.pendingWrite?.intent === 'publish' ? undefined : context.issued,
      })),
      decideOnLastRecord: assign(({ context, event }) => {
        const verdict = decide(context, context.record, event.nowMs, rules);
        return {
          rounds: context.rounds + 1,
          decision: verdict.decision,
          observed: verdict.observed,
          refreshMsSeen: verdict.refreshMs ?? context.refreshMsSeen,
          lease: verdict.holder ? context.lease : undefined,
          issued: verdict.holder || verdict.decision.kind === 'published' ? context.issued : undefined,
        };
      }),
      reportLeaseWon: enqueueActions(({ context, enqueue }) => {
        const lease = context.pendingLease;
        if (lease === undefined) throw new Error('invariant broken: a claim or takeover applied without a pending lease');
        enqueue({ type: 'reportClaim', params: { intent: lease.takenBy, won: true } });
        if (lease.takenBy === 'take-over') enqueue({ type: 'reportTakeover', params: { staleHolder: lease.staleHolder } });
      }),
      reportOwnPublish: enqueueActions(({ context, event, enqueue }) => {
        const issued = context.issued;
        if (issued === undefined) throw new Error('invariant broken: published without an issued token');
        enqueue({ type: 'reportPublished', params: { generation: (event as Ev<'WRITE_APPLIED'>).record.generation, token: issued.token } });
      }),
      reportGivingUpFenced: enqueueActions(({ context, event, enqueue }) => {
        const intent = context.pendingWrite?.intent;
        if (intent !== 'release' && intent !== 'record-failure') return;
        enqueue({ type: 'reportFenced', params: { generation: (event as Ev<'WRITE_REFUSED'>).current?.generation ?? 0, intent } });
      }),
      adoptRecordToken: assign(({ context }) => {
        const record = observedRecord(context);
        if (record.token === undefined) throw new Error('invariant broken: adopting an item without a token');
        return {
          cached: {
            value: record.token,
            generation: record.generation,
            ...(record.tokenIssuedAtMs === undefined ? {} : { issuedAtMs: record.tokenIssuedAtMs }),
            ...(record.tokenExpiresAtMs === undefined ? {} : { expiresAtMs: record.tokenExpiresAtMs }),
          },
          lease: undefined,
          issued: undefined,
        };
      }),
      holdProactive: assign(({ context }) => ({ proactiveHoldUntilMs: context.nowMs + context.config.leaseMs })),
      preparePendingLease: assign(({ context }) => {
        const decision = context.decision as Decision & { kind: 'claim' | 'take-over' };
        return { pendingLease: decision.lease, pendingWrite: decision.request, leaseCounter: context.leaseCounter + 1, budgetRenewals: 0 };
      }),
      confirmLease: assign(({ context, event }) => ({
        record: (event as Ev<'WRITE_APPLIED'>).record,
        lease: context.pendingLease,
        pendingLease: undefined,
      })),
      rememberRecord: assign({ record: ({ event }) => (event as Ev<'WRITE_APPLIED'>).record }),
      rememberRead: assign({ record: ({ event }) => (event as Ev<'READ_OK'>).record }),
      countIssuerAttempt: assign({ issuerAttempts: ({ context }) => context.issuerAttempts + 1, budgetRenewals: 0 }),
      // After an unknown outcome the next heartbeat waits at least a poll (see `heartbeatTimer`).
      armHeartbeat: enqueueActions(({ context, event, enqueue }) => {
        const timer = heartbeatTimer(context, event.type === 'HEARTBEAT_UNKNOWN');
        if (timer === undefined) return;
        enqueue.assign({ timerId: timer.timerId });
        enqueue({ type: 'startTimer', params: timer });
      }),
      sendHeartbeat: enqueueActions(({ context, enqueue }) => {
        const { renewed, request } = renewal(context);
        const heartbeatId = context.heartbeatId + 1;
        enqueue.assign({ heartbeatId, heartbeatLease: renewed });
        enqueue({ type: 'renewLease', params: { heartbeatId, request } });
      }),
      heartbeatApplied: enqueueActions(({ context, event, enqueue }) => {
        const renewed = context.heartbeatLease;
        if (renewed === undefined) throw new Error('invariant broken: a heartbeat applied with none in flight');
        // The abort point moves with the lease, counted from when the heartbeat was sent: the
        // lease can only have been renewed later, so the issuer is still aborted before it ends.
        const abortAfterMs = Math.max(0, Math.floor(issuerBudgetMs(renewed.startedAtMs, context.nowMs, context.config)));
        enqueue.assign({ lease: renewed, heartbeatLease: undefined, heartbeats: context.heartbeats + 1, record: (event as Ev<'HEARTBEAT_APPLIED'>).record });
        enqueue({ type: 'extendIssuerDeadline', params: { requestId: context.requestId, abortAfterMs } });
      }),
      forgetHeartbeat: assign({ heartbeatLease: undefined }),
      // Lost to a takeover: stop the issuer call, and let the decision report the fenced renewal.
      heartbeatRefused: enqueueActions(({ context, enqueue }) => {
        // (Leaving `refreshing` already forgot the heartbeat: the renewal is rebuilt for the report.)
        enqueue({ type: 'abortIssuer', params: { requestId: context.requestId } });
        enqueue.assign({ pendingWrite: renewal(context).request });
      }),
      countBudgetRenewal: assign({ budgetRenewals: ({ context }) => context.budgetRenewals + 1 }),
      keepIssued: assign(({ event }) => {
        const issued = event as Ev<'ISSUED'>;
        return { issued: issued.expiresAtMs === undefined ? { token: issued.token } : { token: issued.token, expiresAtMs: issued.expiresAtMs } };
      }),
      preparePublish: assign(({ context }) => {
        const lease = heldLease(context);
        const record = observedRecord(context);
        const issued = context.issued;
        if (issued === undefined) throw new Error('invariant broken: publishing without an issued token');
        const remove: RecordField[] = [...LEASE_FIELDS, ...FAILURE_FIELDS, 'invalidatedGeneration'];
        if (issued.expiresAtMs === undefined) remove.push('tokenExpiresAtMs');
        const request: WriteRequest = {
          intent: 'publish',
          condition: rules.fencedPublish ? { exists: true, leaseId: lease.id } : { exists: true },
          set: {
            token: issued.token,
            generation: record.generation + 1,
            tokenIssuedAtMs: context.nowMs,
            ...(issued.expiresAtMs === undefined ? {} : { tokenExpiresAtMs: issued.expiresAtMs }),
          },
          remove,
        };
        return { pendingWrite: request };
      }),
      adoptPublished: assign(({ context, event }) => {
        const record = (event as Ev<'WRITE_APPLIED'>).record ?? context.record;
        const issued = context.issued;
        if (issued === undefined || record === undefined) throw new Error('invariant broken: published without an issued token');
        return {
          record,
          cached: {
            value: issued.token,
            generation: record.generation,
            ...(record.tokenIssuedAtMs === undefined ? {} : { issuedAtMs: record.tokenIssuedAtMs }),
            ...(issued.expiresAtMs === undefined ? {} : { expiresAtMs: issued.expiresAtMs }),
          },
          issued: undefined,
          lease: undefined,
          refreshMsSeen: refreshDurationMs(context.lease?.acquiredAtMs, record.tokenIssuedAtMs, context.config.leaseMs) ?? context.refreshMsSeen,
        };
      }),
      prepareRenew: assign(({ context }) => {
        const { renewed, request } = renewal(context);
        return { pendingLease: renewed, pendingWrite: request };
      }),
      prepareFailureRecord: assign(({ context, event }) => {
        const lease = heldLease(context);
        const { status } = event as Ev<'ISSUE_REFUSED'>;
        const failureCount = (context.record?.failureCount ?? 0) + 1;
        const backoffUntilMs = context.nowMs + backoffMsFor(failureCount, context.config);
        const request: WriteRequest = {
          intent: 'record-failure',
          condition: { exists: true, leaseId: lease.id },
          set: {
            failureCode: ISSUER_REFUSED_CODE,
            failureCount,
            failureAtMs: context.nowMs,
            backoffUntilMs,
            ...(status === undefined ? {} : { failureStatus: status }),
          },
          remove: status === undefined ? [...LEASE_FIELDS, 'failureStatus'] : [...LEASE_FIELDS],
        };
        const statusText = status === undefined ? '' : ` (HTTP ${status})`;
        const failure: Failure = {
          kind: 'issuer-refused',
          status,
          backoffUntilMs,
          message:
            `the token issuer refused the credentials${statusText}; the fleet backs off until ${new Date(backoffUntilMs).toISOString()} ` +
            `(${failureCount} refusal(s) in a row). Check the auth secret.`,
        };
        return { pendingWrite: request, failure };
      }),
      prepareRelease: assign(({ context }) => {
        const lease = heldLease(context);
        const condition = rules.fencedRelease ? { exists: true, leaseId: lease.id } : { exists: true };
        // A short fleet-wide pause, so each instance does not spend its own bounded attempts in turn.
        const failureCount = (context.record?.failureCount ?? 0) + 1;
        const backoffUntilMs =
          context.nowMs + backoffMsFor(failureCount, { backoffBaseMs: UNAVAILABLE_BACKOFF_BASE_MS, backoffMaxMs: context.config.backoffMaxMs });
        const request: WriteRequest = {
          intent: 'release',
          condition,
          set: { failureCode: ISSUER_UNAVAILABLE_CODE, failureCount, failureAtMs: context.nowMs, backoffUntilMs },
          remove: [...LEASE_FIELDS, 'failureStatus'],
        };
        const failure: Failure = {
          kind: 'issuer-unavailable',
          backoffUntilMs,
          message:
            `POST /auth gave no usable answer ${context.issuerAttempts} time(s) in a row (5xx, timeout or lost answer); ` +
            `the lease was released and the fleet retries after ${new Date(backoffUntilMs).toISOString()}.`,
        };
        return { pendingWrite: request, failure };
      }),
      prepareSlowStoreRelease: assign(({ context }) => {
        const lease = heldLease(context);
        // No pause for the fleet: the issuer was not the problem, and another instance's store may be faster.
        const request: WriteRequest = {
          intent: 'release',
          condition: rules.fencedRelease ? { exists: true, leaseId: lease.id } : { exists: true },
          set: {},
          remove: [...LEASE_FIELDS],
        };
        const failure: Failure = {
          kind: 'store',
          code: 'STORE_UNAVAILABLE',
          message:
            `the token item answered slower than the refresh lease allows (${context.budgetRenewals} lease renewals in a row left too little of ` +
            `the ${context.config.leaseMs} ms lease for POST /auth); the lease was released without calling the issuer`,
          cause: undefined,
        };
        return { pendingWrite: request, failure };
      }),
      dropLease: assign({ lease: undefined, pendingLease: undefined, issued: undefined }),
      storeFailure: assign(({ event }) => {
        const failed = event as Ev<'READ_FAILED'>;
        const failure: Failure = { kind: 'store', code: failed.code, message: failed.message, cause: failed.cause };
        return { failure };
      }),
      pauseBeforeReadBack: assign(({ context }) => {
        const ambiguousWrites = context.ambiguousWrites + 1;
        const baseMs = context.config.pollMs * 2 ** (ambiguousWrites - 1);
        return {
          ambiguousWrites,
          rounds: context.rounds + 1,
          decision: { kind: 'wait', delayMsMin: Math.round(baseMs * POLL_JITTER_MIN_FRACTION), delayMsMax: Math.round(baseMs * POLL_JITTER_MAX_FRACTION) },
        };
      }),
      ambiguousFailure: assign(({ context, event }) => {
        const detail = (event as Ev<'WRITE_AMBIGUOUS'>).message;
        const failure: Failure = {
          kind: 'store',
          code: 'STORE_UNAVAILABLE',
          message:
            `${context.ambiguousWrites + 1} writes in a row to the token item had an unknown outcome (throttling, 5xx or timeouts); ` +
            `giving up for now${detail === undefined ? '' : `. Last error: ${detail}`}`,
          cause: undefined,
        };
        return { failure };
      }),
      callersBack: assign({ callersGone: false }),
      noteCallersGone: assign({ callersGone: true }),
      retryReadBack: assign(({ context }) => ({
        rounds: context.rounds + 1,
        decision: {
          kind: 'wait',
          delayMsMin: Math.round(context.config.pollMs * POLL_JITTER_MIN_FRACTION),
          delayMsMax: Math.round(context.config.pollMs * POLL_JITTER_MAX_FRACTION),
        },
      })),
      decisionFailure: assign(({ context }) => ({ failure: (context.decision as Decision & { kind: 'fail' }).failure })),
      nextTimer: assign({ timerId: ({ context }) => context.timerId + 1 }),
    },
    guards: {
      isCurrentRequest: ({ context, event }) => 'requestId' in event && event.requestId === context.requestId,
      isCurrentTimer: ({ context, event }) => event.type === 'TIMER' && event.timerId === context.timerId,
      isCurrentHeartbeat: ({ context, event }) => 'heartbeatId' in event && event.heartbeatId === context.heartbeatId && context.heartbeatLease !== undefined,
      heartbeatsLeft: ({ context }) => context.heartbeats < HEARTBEATS_MAX,
      heartbeatIdle: ({ context }) => context.heartbeatLease === undefined,
      cachedUsableNow: ({ context, event }) => cachedUsable(context, event.nowMs),
      cachedUsableAtLastEvent: ({ context }) => cachedUsable(context, context.nowMs),
      proactiveDueNow: ({ context, event }) => cachedUsable(context, event.nowMs) && proactiveDue(context, event.nowMs),
      rejectionIsOutdated: ({ context, event }) =>
        event.type === 'TOKEN_REJECTED' && context.cached !== undefined && event.token !== context.cached.value && cachedUsable(context, event.nowMs),
      issuerAttemptsLeft: ({ context }) => context.issuerAttempts < context.config.issuerAttemptsMax,
      // The lease the next POST /auth would run under: the one a write just confirmed, or the one held.
      issuerBudgetLeft: ({ context, event }) => {
        const lease = context.pendingLease ?? context.lease;
        return lease !== undefined && issuerBudgetLeft(lease.startedAtMs, event.nowMs, context.config);
      },
      budgetRenewalsLeft: ({ context }) => context.budgetRenewals < BUDGET_RENEWALS_MAX,
      discardsCached: ({ context, event }) => event.type === 'TOKEN_DISCARDED' && event.token === context.cached?.value,
      ambiguousWritesLeft: ({ context }) => context.ambiguousWrites + 1 < AMBIGUOUS_WRITES_MAX,
      holdsNothing: ({ context }) => context.lease === undefined && context.pendingLease === undefined && context.issued === undefined,
      waitForNobody: ({ context }) =>
        context.decision?.kind === 'wait' && context.callersGone && context.lease === undefined && context.pendingLease === undefined && context.issued === undefined,
      // Reading back our own release or failure record (a holder giving its lease up).
      givingUp: ({ context }, params?: { intent: 'release' | 'record-failure' }) => {
        const intent = context.pendingWrite?.intent;
        return context.lease !== undefined && (params === undefined ? intent === 'release' || intent === 'record-failure' : intent === params.intent);
      },
      leaseStillOurs: ({ context, event }) => event.type === 'READ_OK' && event.record?.leaseId !== undefined && event.record.leaseId === context.lease?.id,
      readingBack: ({ context }) => context.pendingLease !== undefined || context.lease !== undefined || context.issued !== undefined,
      roundsLeft: ({ context }) => context.rounds < context.config.roundsMax,
      decided: ({ context }, params: { kind: Decision['kind'] }) => context.decision?.kind === params.kind,
    },
  }).createMachine({
    id: 'baton',
    context: ({ input }) => ({
      config: input.config,
      instanceId: input.instanceId,
      nonce: input.nonce,
      nowMs: input.nowMs,
      cached: undefined,
      rejectedToken: undefined,
      replaceToken: undefined,
      proactive: false,
      proactiveHoldUntilMs: 0,
      rounds: 0,
      record: undefined,
      observed: undefined,
      refreshMsSeen: undefined,
      heartbeatId: 0,
      heartbeats: 0,
      heartbeatLease: undefined,
      lease: undefined,
      pendingLease: undefined,
      issued: undefined,
      issuerAttempts: 0,
      budgetRenewals: 0,
      ambiguousWrites: 0,
      callersGone: false,
      leaseCounter: 0,
      requestId: 0,
      timerId: 0,
      alarmedToken: undefined,
      skewAlarmedLease: undefined,
      decision: undefined,
      pendingWrite: undefined,
      failure: undefined,
    }),
    initial: STATES.idle,
    // While an episode runs, callers either get the still-usable cached token or wait for its end.
    on: {
      TOKEN_NEEDED: { actions: ['stamp', 'callersBack', 'deliverCached'] },
      TOKEN_REJECTED: { actions: ['stamp', 'callersBack', 'reactToRejection', 'noteRejection'] },
      CALLERS_GONE: { actions: ['stamp', 'noteCallersGone'] },
      TOKEN_DISCARDED: { actions: ['stamp', 'noteRejection'] },
    },
    states: {
      [STATES.idle]: {
        entry: ['endEpisode'],
        on: {
          TOKEN_NEEDED: [
            { guard: 'cachedUsableNow', target: STATES.using, actions: ['stamp'] },
            { target: STATES.reading, actions: ['stamp', 'startEpisode'] },
          ],
          TOKEN_REJECTED: [
            { guard: 'rejectionIsOutdated', actions: ['stamp', 'reactToRejection'] },
            { target: STATES.reading, actions: ['stamp', 'reactToRejection', 'noteRejection', 'startEpisode'] },
          ],
        },
      },
      [STATES.using]: {
        entry: ['endEpisode', 'deliverCached'],
        on: {
          TOKEN_NEEDED: [
            { guard: 'proactiveDueNow', target: STATES.reading, actions: ['stamp', 'deliverCached', 'startProactiveEpisode'] },
            { guard: 'cachedUsableNow', actions: ['stamp', 'deliverCached'] },
            { target: STATES.reading, actions: ['stamp', 'startEpisode'] },
          ],
          TOKEN_REJECTED: [
            { guard: 'rejectionIsOutdated', actions: ['stamp', 'reactToRejection'] },
            { target: STATES.reading, actions: ['stamp', 'reactToRejection', 'noteRejection', 'startEpisode'] },
          ],
          TOKEN_DISCARDED: [
            { guard: 'discardsCached', target: STATES.idle, actions: ['stamp', 'noteRejection'] },
            { actions: ['stamp'] },
          ],
        },
      },
      [STATES.reading]: {
        entry: ['nextRequest', { type: 'readRecord', params: ({ context }) => ({ requestId: context.requestId, consistent: rules.consistentReads }) }],
        on: {
          READ_OK: [
            // Reading back a release or failure record whose outcome was unknown: send it again while the
            // item still names our lease (else it applied, or a takeover fenced us out: either way done).
            { guard: and(['isCurrentRequest', { type: 'givingUp', params: { intent: 'release' as const } }, 'leaseStillOurs']), target: STATES.releasing, actions: ['stamp', 'rememberRead'] },
            {
              guard: and(['isCurrentRequest', { type: 'givingUp', params: { intent: 'record-failure' as const } }, 'leaseStillOurs']),
              target: STATES.recordingFailure,
              actions: ['stamp', 'rememberRead'],
            },
            { guard: and(['isCurrentRequest', 'givingUp']), target: STATES.failing, actions: ['stamp', 'rememberRead', 'dropLease'] },
            { guard: 'isCurrentRequest', target: STATES.deciding, actions: ['stamp', 'decideOnRecord'] },
          ],
          READ_FAILED: [
            // Reading back after an ambiguous write: retry after a poll rather than orphan a lease we may hold.
            { guard: and(['isCurrentRequest', 'readingBack', 'roundsLeft']), target: STATES.waiting, actions: ['stamp', 'retryReadBack'] },
            // A holder giving up never resumes work on its lease: the lease runs out, the callers learn why it gave up.
            { guard: and(['isCurrentRequest', 'givingUp']), target: STATES.failing, actions: ['stamp', 'dropLease'] },
            { guard: 'isCurrentRequest', target: STATES.failing, actions: ['stamp', 'storeFailure'] },
          ],
        },
      },
      [STATES.deciding]: {
        always: [
          { guard: { type: 'decided', params: { kind: 'adopt' } }, target: STATES.using, actions: ['adoptRecordToken'] },
          { guard: { type: 'decided', params: { kind: 'published' } }, target: STATES.using, actions: ['adoptPublished'] },
          { guard: { type: 'decided', params: { kind: 'keep' } }, target: STATES.using, actions: ['holdProactive'] },
          { guard: { type: 'decided', params: { kind: 'claim' } }, target: STATES.claiming },
          { guard: { type: 'decided', params: { kind: 'take-over' } }, target: STATES.takingOver },
          { guard: 'waitForNobody', target: STATES.idle },
          { guard: { type: 'decided', params: { kind: 'wait' } }, target: STATES.waiting },
          { guard: and([{ type: 'decided', params: { kind: 'refresh' as const } }, 'issuerBudgetLeft']), target: STATES.refreshing },
          { guard: and([{ type: 'decided', params: { kind: 'refresh' as const } }, 'budgetRenewalsLeft']), target: STATES.renewing, actions: ['countBudgetRenewal'] },
          { guard: { type: 'decided', params: { kind: 'refresh' } }, target: STATES.releasing, actions: ['prepareSlowStoreRelease'] },
          { guard: { type: 'decided', params: { kind: 'publish' } }, target: STATES.publishing },
          { target: STATES.failing, actions: ['decisionFailure'] },
        ],
      },
      [STATES.waiting]: {
        entry: [
          'nextTimer',
          {
            type: 'startTimer',
            params: ({ context }) => {
              const decision = context.decision as Decision & { kind: 'wait' };
              return { timerId: context.timerId, delayMsMin: decision.delayMsMin, delayMsMax: decision.delayMsMax };
            },
          },
        ],
        on: {
          TIMER: { guard: 'isCurrentTimer', target: STATES.reading, actions: ['stamp'] },
          // Nobody needs a token any more and this instance holds nothing: stop polling.
          CALLERS_GONE: { guard: 'holdsNothing', target: STATES.idle, actions: ['stamp', 'noteCallersGone'] },
        },
      },
      // Claiming and taking over differ only in the write `decide` prepared.
      [STATES.claiming]: takingLease(),
      [STATES.takingOver]: takingLease(),
      [STATES.refreshing]: {
        entry: [
          'nextRequest',
          'countIssuerAttempt',
          {
            type: 'callIssuer',
            params: ({ context }) => {
              const lease = heldLease(context);
              // Positive by construction: every way in checks `issuerBudgetLeft` first.
              return { requestId: context.requestId, leaseId: lease.id, abortAfterMs: Math.floor(issuerBudgetMs(lease.startedAtMs, context.nowMs, context.config)) };
            },
          },
          'armHeartbeat',
        ],
        // A heartbeat still in flight is forgotten: its answer is ignored once the call is over.
        exit: ['forgetHeartbeat'],
        on: {
          // Heartbeats keep the lease (and the issuer's deadline) alive while POST /auth runs long.
          TIMER: { guard: and(['isCurrentTimer', 'heartbeatIdle', 'heartbeatsLeft']), actions: ['stamp', 'sendHeartbeat'] },
          HEARTBEAT_APPLIED: { guard: 'isCurrentHeartbeat', actions: ['stamp', 'heartbeatApplied', 'armHeartbeat'] },
          HEARTBEAT_UNKNOWN: { guard: 'isCurrentHeartbeat', actions: ['stamp', 'forgetHeartbeat', 'armHeartbeat'] },
          HEARTBEAT_REFUSED: { guard: 'isCurrentHeartbeat', target: STATES.deciding, actions: ['stamp', 'heartbeatRefused', 'decideOnRecord'] },
          ISSUED: { guard: 'isCurrentRequest', target: STATES.publishing, actions: ['stamp', 'keepIssued'] },
          ISSUE_REFUSED: { guard: 'isCurrentRequest', target: STATES.recordingFailure, actions: ['stamp', 'prepareFailureRecord'] },
          ISSUE_UNKNOWN: [
            // A call aborted with every heartbeat spent is not retried: the issuer is slower than the bound.
            { guard: and(['isCurrentRequest', 'issuerAttemptsLeft', 'heartbeatsLeft']), target: STATES.renewing, actions: ['stamp'] },
            { guard: 'isCurrentRequest', target: STATES.releasing, actions: ['stamp', 'prepareRelease'] },
          ],
        },
      },
      [STATES.renewing]: {
        entry: ['nextRequest', 'prepareRenew', { type: 'writeRecord', params: writeParams }],
        on: { WRITE_APPLIED: toIssuer(['stamp', 'confirmLease']), ...leaseWriteOutcomes },
      },
      [STATES.publishing]: {
        entry: ['nextRequest', 'preparePublish', { type: 'writeRecord', params: writeParams }],
        on: { WRITE_APPLIED: { guard: 'isCurrentRequest', target: STATES.using, actions: ['stamp', 'reportOwnPublish', 'adoptPublished'] }, ...leaseWriteOutcomes },
      },
      // Recording a refusal and releasing differ only in the write prepared on the way in.
      [STATES.recordingFailure]: givingUpLease(),
      [STATES.releasing]: givingUpLease(),
      [STATES.failing]: {
        entry: [{ type: 'failWaiters', params: ({ context }) => ({ failure: failureOf(context) }) }],
        always: [{ guard: 'cachedUsableAtLastEvent', target: STATES.using }, { target: STATES.idle }],
      },
    },
  });
}

/**
 * The per-instance refresh protocol as a pure XState v5 machine: no I/O, no clock, no timers.
 * Time arrives as `nowMs` on every event; effects leave as the named actions in
 * {@link EffectParams}, which the runtime (or a simulator, or the explorer) performs and answers
 * with events. Step it with xstate's pure `initialTransition`/`transition`.
 *
 * @example
 * ```ts
 * import { initialTransition, transition } from 'xstate';
 * let [snapshot] = initialTransition(batonMachine, { config, instanceId: 'a', nowMs: 0 });
 * const [next, effects] = transition(batonMachine, snapshot, { type: 'TOKEN_NEEDED', nowMs: 1 });
 * // effects[0] is { type: 'readRecord', params: { requestId: 1, consistent: true } }
 * ```
 */
export const batonMachine = createBatonMachine(PROTOCOL_RULES);

/** The type of a protocol machine (real or variant). */
export type BatonMachine = ReturnType<typeof createBatonMachine>;

function writeParams({ context }: { context: MachineContext }): EffectParams['writeRecord'] {
  const request = context.pendingWrite;
  if (request === undefined) throw new Error('invariant broken: a write state was entered without a prepared write');
  return { requestId: context.requestId, request };
}

/** The held lease renewed from now, and the write that renews it (conditioned on the lease id). */
function renewal(context: MachineContext): { renewed: LeaseView; request: WriteRequest } {
  const lease = heldLease(context);
  const renewed: LeaseView = { ...lease, startedAtMs: context.nowMs, expiresAtMs: context.nowMs + context.config.leaseMs };
  return { renewed, request: renewRequest(renewed) };
}

function renewRequest(renewed: LeaseView): WriteRequest {
  return {
    intent: 'renew',
    condition: { exists: true, leaseId: renewed.id },
    // `leaseAcquiredAtMs` stays: followers time their polls from when the lease was taken.
    set: { leaseExpiresAtMs: renewed.expiresAtMs },
    remove: [],
  };
}

/**
 * The next heartbeat timer, due {@link HEARTBEAT_FRACTION} of the lease after the held lease's
 * last write was sent; undefined once {@link HEARTBEATS_MAX} were applied. The timer replaces the
 * poll timer (nothing polls while the issuer is called). Heartbeats with an unknown outcome do not
 * count: they are retried a poll apart, and end when the call does, at its unchanged abort point.
 */
function heartbeatTimer(context: MachineContext, afterUnknown: boolean): EffectParams['startTimer'] | undefined {
  if (context.heartbeats >= HEARTBEATS_MAX) return undefined;
  const lease = heldLease(context);
  // Never later than a heartbeat period from now, even if the clock stepped back since the lease write.
  const periodMs = context.config.leaseMs * HEARTBEAT_FRACTION;
  const dueMs = Math.min(lease.startedAtMs + periodMs - context.nowMs, periodMs);
  // After an unknown outcome the due time has passed: wait a poll, so a store brownout is not hammered.
  const delayMs = Math.max(0, Math.round(afterUnknown ? Math.max(dueMs, context.config.pollMs) : dueMs));
  return { timerId: context.timerId + 1, delayMsMin: delayMs, delayMsMax: delayMs };
}

function failureOf(context: MachineContext): Failure {
  return context.failure ?? { kind: 'round-limit', message: 'the refresh ended without a usable token' };
}

/** The holder write a decision settles, when the instance held something a takeover could fence out. */
function fencedIntent(context: MachineContext): FencedIntent | undefined {
  if (context.issued !== undefined) return 'publish';
  if (context.pendingWrite?.intent === 'renew' && (context.lease ?? context.pendingLease) !== undefined) return 'renew';
  return undefined;
}

type Report = { [K in 'reportClaim' | 'reportTakeover' | 'reportPublished' | 'reportFenced']: { readonly type: K; readonly params: EffectParams[K] } }[
  'reportClaim' | 'reportTakeover' | 'reportPublished' | 'reportFenced'
];

/**
 * What a decision on the item tells about this instance's own writes: a pending claim or
 * takeover won or lost, a token published, a holder write fenced out. Settled once: the
 * decision clears the pending lease and the issued token it resolves.
 */
function decisionReports(context: MachineContext, record: TokenRecord | undefined, verdict: Verdict): Report[] {
  const reports: Report[] = [];
  const pending = context.pendingLease;
  if (pending !== undefined && pending.id !== context.lease?.id) {
    reports.push({ type: 'reportClaim', params: { intent: pending.takenBy, won: verdict.holder } });
    if (verdict.holder && pending.takenBy === 'take-over') reports.push({ type: 'reportTakeover', params: { staleHolder: pending.staleHolder } });
  }
  const published = verdict.decision.kind === 'published';
  if (published && context.issued !== undefined && record !== undefined) {
    reports.push({ type: 'reportPublished', params: { generation: record.generation, token: context.issued.token } });
  }
  const intent = fencedIntent(context);
  if (intent !== undefined && !verdict.holder && !published) reports.push({ type: 'reportFenced', params: { generation: record?.generation ?? 0, intent } });
  return reports;
}

/** The alarm for a lease the wall-clock rule would have taken over while its holder was still at work. */
function clockSkewAlarm(skew: NonNullable<Verdict['clockSkew']>, maxClockSkewMs: number): EffectParams['raiseAlarm'] {
  return {
    code: ALARM_CODES.clockSkew,
    message:
      `lease ${skew.leaseId} of ${skew.holder ?? 'another instance'} was still worked on ${skew.pastEndMs} ms after its stated end by this ` +
      `instance's clock: this clock is probably more than maxClockSkewMs (${maxClockSkewMs} ms) ahead of the holder's (or the holder froze ` +
      'past its lease). The lease was not taken over (leases first seen less than a lease ago are judged on this clock alone); check NTP.',
  };
}

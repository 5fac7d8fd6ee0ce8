/**
 * Steps the real protocol machine with xstate's pure `transition`, remembering every result:
 * the same snapshot receiving the same event always yields the same next snapshot and effects,
 * and a world state repeats the same instance state in many combinations with the others.
 */
import { transition } from 'xstate';
import type { BatonMachine } from '../../src/machine/machine.js';
import type { TokenRecord } from '../../src/machine/record.js';
import type { Effect, EffectType, MachineEvent } from '../../src/machine/types.js';
import type { Snapshot } from './world.js';

/** Effect names the runtime performs; every other action (xstate's assign, enqueue) is bookkeeping. */
const EFFECT_TYPES: ReadonlySet<string> = new Set<EffectType>([
  'readRecord',
  'writeRecord',
  'callIssuer',
  'startTimer',
  'deliverToken',
  'failWaiters',
  'raiseAlarm',
  'reportFenced',
  'reportTakeover',
]);

/** The outcome of one machine step. */
export type StepOutcome = { readonly ok: true; readonly snapshot: Snapshot; readonly effects: readonly Effect[] } | { readonly ok: false; readonly error: string };

/** Memo entries kept before the memo is cleared (bounds memory on big runs). */
const MEMO_ENTRIES_MAX = 400_000;

function skipConfig(key: string, value: unknown): unknown {
  return key === 'config' ? undefined : value;
}

/** A memoizing driver of one machine build. */
export class MachineStepper {
  readonly machine: BatonMachine;
  /** Snapshot → its exact identity (value and whole context but the shared config); cleared with the memo. */
  readonly #ids = new Map<Snapshot, number>();
  readonly #idOf = new Map<string, number>();
  readonly #memo = new Map<string, StepOutcome>();
  #nextId = 0;
  transitions = 0;
  memoHits = 0;
  /** Machine transitions taken, as `from|EVENT|to` (for the reachability test). */
  readonly coverage = new Set<string>();

  constructor(machine: BatonMachine) {
    this.machine = machine;
  }

  #id(snapshot: Snapshot): number {
    let id = this.#ids.get(snapshot);
    if (id !== undefined) return id;
    const exact = `${String(snapshot.value)}${JSON.stringify(snapshot.context, skipConfig)}`;
    id = this.#idOf.get(exact);
    if (id === undefined) {
      id = this.#nextId;
      this.#nextId += 1;
      this.#idOf.set(exact, id);
    }
    this.#ids.set(snapshot, id);
    return id;
  }

  readonly #recordIds = new Map<TokenRecord, number>();
  readonly #recordOf = new Map<string, number>();
  #nextRecordId = 0;

  /** Records are shared between worlds: number them by identity, then by content. */
  #recordId(record: TokenRecord | undefined): string {
    if (record === undefined) return '-';
    let id = this.#recordIds.get(record);
    if (id === undefined) {
      const content = JSON.stringify(record);
      id = this.#recordOf.get(content);
      if (id === undefined) {
        id = this.#nextRecordId;
        this.#nextRecordId += 1;
        this.#recordOf.set(content, id);
      }
      this.#recordIds.set(record, id);
    }
    return `r${id}`;
  }

  #eventKey(event: MachineEvent): string {
    switch (event.type) {
      case 'READ_OK':
        return `${event.type}|${event.requestId}|${event.nowMs}|${this.#recordId(event.record)}`;
      case 'WRITE_APPLIED':
        return `${event.type}|${event.requestId}|${event.nowMs}|${this.#recordId(event.record)}`;
      case 'WRITE_REFUSED':
        return `${event.type}|${event.requestId}|${event.nowMs}|${this.#recordId(event.current)}`;
      default:
        return JSON.stringify(event);
    }
  }

  /** The next snapshot and the effects to perform, or the error the machine threw. */
  step(snapshot: Snapshot, event: MachineEvent): StepOutcome {
    const key = `${this.#id(snapshot)}|${this.#eventKey(event)}`;
    const known = this.#memo.get(key);
    if (known !== undefined) {
      this.memoHits += 1;
      return known;
    }
    this.transitions += 1;
    let outcome: StepOutcome;
    try {
      const [next, actions] = transition(this.machine, snapshot, event);
      const effects = (actions as readonly { type: string }[]).filter((action) => EFFECT_TYPES.has(action.type)) as unknown as Effect[];
      outcome = { ok: true, snapshot: next, effects };
      this.coverage.add(`${String(snapshot.value)}|${event.type}|${String(next.value)}`);
    } catch (error) {
      outcome = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    if (this.#memo.size >= MEMO_ENTRIES_MAX) {
      // Ids stay unique (they only grow), so forgetting merely costs recomputation.
      this.#memo.clear();
      this.#idOf.clear();
      this.#ids.clear();
      this.#recordIds.clear();
      this.#recordOf.clear();
    }
    this.#memo.set(key, outcome);
    return outcome;
  }
}

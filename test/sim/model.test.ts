/**
 * Model-based test: long random histories of commands (`fc.commands`) run with
 * `fc.scheduledModelRun`, so every command interleaves with the fleet's store, issuer and chat
 * requests in an order fast-check chooses. Time only moves with `AdvanceTime`, so requests may
 * stay in flight across many commands (latency is unbounded here; the timing bounds of I5/I6 are
 * checked by the property suite instead). After the commands, faults stop, the fleet settles, and
 * I1–I8 are checked on the whole history.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timingArbitrary } from './arbitraries.js';
import { PROTOCOL_NAME, SUITE_RULES, fcParameters } from './config.js';
import { AUTH_MODES, NO_FAULTS, SimWorld } from './harness.js';
import type { AuthMode, SimPlan, SimTiming } from './harness.js';
import { assertInvariants } from './invariants.js';

/** What the test knows about the world; commands consult it in `check` and update it in `run`. */
interface Model {
  readonly instances: number;
  readonly crashed: boolean[];
  authMode: AuthMode;
  sent: number;
  elapsedMs: number;
}

type SimCommand = fc.AsyncCommand<Model, SimWorld>;

const live = (m: Readonly<Model>): number => m.crashed.filter((crashed) => !crashed).length;

class SendMessage implements SimCommand {
  constructor(readonly slot: number) {}
  check(m: Readonly<Model>): boolean {
    return this.slot < m.instances && m.crashed[this.slot] === false;
  }
  async run(m: Model, world: SimWorld): Promise<void> {
    const call = world.sendFromSlot(this.slot, 'model');
    expect(call, 'a live instance accepts the message').toBeDefined();
    m.sent += 1;
    expect(world.callCount).toBe(m.sent);
  }
  toString(): string {
    return `SendMessage(i${this.slot})`;
  }
}

class OutsideInvalidate implements SimCommand {
  check(): boolean {
    return true;
  }
  async run(_m: Model, world: SimWorld): Promise<void> {
    const before = world.api.stats().currentGeneration;
    world.invalidate();
    expect(world.api.stats().currentGeneration).toBe(before + 1);
  }
  toString(): string {
    return 'OutsideInvalidate';
  }
}

class ExpireToken implements SimCommand {
  check(): boolean {
    return true;
  }
  async run(_m: Model, world: SimWorld): Promise<void> {
    world.expire();
    const current = world.api.current();
    if (current !== undefined) expect(current.expired).toBe(true);
  }
  toString(): string {
    return 'ExpireToken';
  }
}

class Crash implements SimCommand {
  constructor(readonly slot: number) {}
  check(m: Readonly<Model>): boolean {
    return this.slot < m.instances && m.crashed[this.slot] === false && live(m) > 1;
  }
  async run(m: Model, world: SimWorld): Promise<void> {
    world.crashSlot(this.slot, 'Crash command');
    m.crashed[this.slot] = true;
    expect(world.liveSlots()).not.toContain(this.slot);
  }
  toString(): string {
    return `Crash(i${this.slot})`;
  }
}

class Freeze implements SimCommand {
  constructor(
    readonly slot: number,
    readonly ms: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return this.slot < m.instances && m.crashed[this.slot] === false;
  }
  async run(_m: Model, world: SimWorld): Promise<void> {
    world.freezeSlot(this.slot, this.ms);
  }
  toString(): string {
    return `Freeze(i${this.slot}, ${this.ms}ms)`;
  }
}

class AdvanceTime implements SimCommand {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, world: SimWorld): Promise<void> {
    const before = world.time.nowMs;
    await world.advance(this.ms);
    m.elapsedMs += this.ms;
    expect(world.time.nowMs).toBe(before + this.ms);
    expect(world.time.nowMs - world.t0Ms).toBe(m.elapsedMs);
  }
  toString(): string {
    return `AdvanceTime(${this.ms}ms)`;
  }
}

class LoseNextWriteResponse implements SimCommand {
  check(): boolean {
    return true;
  }
  async run(_m: Model, world: SimWorld): Promise<void> {
    const before = world.loseNextWriteResponses;
    world.loseNextWriteResponses += 1;
    expect(world.loseNextWriteResponses).toBe(before + 1);
  }
  toString(): string {
    return 'LoseNextWriteResponse';
  }
}

class IssuerMode implements SimCommand {
  constructor(readonly mode: AuthMode) {}
  check(m: Readonly<Model>): boolean {
    return m.authMode !== this.mode;
  }
  async run(m: Model, world: SimWorld): Promise<void> {
    world.setIssuerMode(this.mode);
    m.authMode = this.mode;
    expect(world.api.authMode).toBe(this.mode);
  }
  toString(): string {
    return `IssuerMode(${this.mode})`;
  }
}

class SlowNextAuth implements SimCommand {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(_m: Model, world: SimWorld): Promise<void> {
    world.slowNextAuthMs = this.ms;
  }
  toString(): string {
    return `SlowNextAuth(${this.ms}ms)`;
  }
}

function commandsFor(instances: number, timing: SimTiming) {
  const slot = fc.integer({ min: 0, max: instances - 1 });
  return fc.commands(
    [
      slot.map((i) => new SendMessage(i)),
      slot.map((i) => new SendMessage(i)),
      slot.map((i) => new SendMessage(i)),
      fc.integer({ min: 1, max: Math.floor(timing.leaseMs * 1.5) }).map((ms) => new AdvanceTime(ms)),
      fc.integer({ min: 1, max: timing.pollMs * 2 }).map((ms) => new AdvanceTime(ms)),
      fc.constant(new OutsideInvalidate()),
      fc.constant(new ExpireToken()),
      slot.map((i) => new Crash(i)),
      fc.tuple(slot, fc.integer({ min: 10, max: 2 * timing.leaseMs })).map(([i, ms]) => new Freeze(i, ms)),
      fc.constant(new LoseNextWriteResponse()),
      fc.constantFrom(...AUTH_MODES).map((mode) => new IssuerMode(mode)),
      fc.integer({ min: timing.leaseMs, max: Math.floor(2.5 * timing.leaseMs) }).map((ms) => new SlowNextAuth(ms)),
    ],
    { maxCommands: 150, size: 'max' },
  );
}

/** A fleet of 2–8 instances with clocks within tolerance, and a history of commands. */
const scenario = fc
  .tuple(fc.integer({ min: 2, max: 8 }), timingArbitrary(), fc.boolean(), fc.integer())
  .chain(([instances, timing, initiallyStored, latencySeed]) => {
    const half = Math.floor(timing.maxClockSkewMs / 2);
    const plan = fc.array(fc.integer({ min: -half, max: half }), { minLength: instances, maxLength: instances }).map(
      (offsetsMs): SimPlan => ({
        instances,
        timing,
        offsetsMs,
        skewWithinTolerance: true,
        initiallyStored,
        faultPhaseMs: 0,
        sends: [],
        faults: NO_FAULTS,
        latencySeed,
      }),
    );
    return fc.tuple(plan, commandsFor(instances, timing));
  });

const CI_RUNS = 300;
const commandsRun: number[] = [];

describe(`Baton model-based test (${PROTOCOL_NAME})`, () => {
  it(
    'long command histories interleaved by the scheduler keep I1–I8 (timing bounds aside)',
    async () => {
      const property = fc.asyncProperty(fc.scheduler(), scenario, async (s, [plan, commands]) => {
        const world = new SimWorld(s, plan, { rules: SUITE_RULES, protocol: PROTOCOL_NAME });
        world.start();
        world.unboundTiming();
        const model: Model = { instances: plan.instances, crashed: Array.from({ length: plan.instances }, () => false), authMode: 'ok', sent: 0, elapsedMs: 0 };
        await fc.scheduledModelRun(s, () => ({ model, real: world }), commands);
        await world.settle();
        const history = world.history();
        commandsRun.push([...commands].length);
        assertInvariants(history);
      });
      // On failure, show the commands that ran (fast-check prints them with their replay path).
      await fc.assert(property, fcParameters('model-based: command histories', CI_RUNS, {}, ([, [plan, commands]]) => `${plan.instances} instances; commands: ${String(commands)}`));
      const total = commandsRun.reduce((sum, count) => sum + count, 0);
      console.log(`[sim] model-based: ${commandsRun.length} histories, ${total} commands (longest ${Math.max(0, ...commandsRun)})`);
    },
    600_000,
  );
});

import { describe, expect, it } from 'vitest';
import { batonMachine, STATES } from '../../src/machine/machine.js';
import { explore } from '../../spec/explorer/explore.js';
import { reachability, transitionInventory } from '../../spec/explorer/reachability.js';

describe('every state and every transition of the protocol machine is reachable', () => {
  // One walk for the whole file: xstate/graph over a state-dependent event menu, each edge replayed through an inspected actor.
  const report = reachability(batonMachine);

  it('xstate/graph reaches every state in STATES (transient states within a macrostep)', () => {
    expect([...report.states.keys()].sort()).toEqual(Object.values(STATES).sort());
    // Resting states are the end of a shortest path; the transient ones (deciding, failing) show in the microsteps.
    for (const state of [STATES.deciding, STATES.failing]) expect(report.states.get(state)).toBe(-1);
    for (const state of Object.values(STATES).filter((s) => s !== STATES.deciding && s !== STATES.failing)) {
      expect(report.states.get(state), state).toBeGreaterThan(0);
    }
  });

  it('every transition definition (event and eventless, every guarded branch) is taken', () => {
    const missing = report.inventory.filter((transition) => !report.taken.has(transition.id)).map((transition) => transition.id);
    expect(missing).toEqual([]);
    expect(report.inventory.length).toBe(transitionInventory(batonMachine).size);
    expect(report.inventory.length).toBeGreaterThan(50);
  });

  it('the explorer\'s world model takes the transitions a real fleet takes (and says which ones it leaves to the walk)', () => {
    const world = explore({ instances: 2, issuerAttemptsMax: 2, refusals: 1, maxFaults: 3 });
    const pairs = new Set(world.coverage.map((edge) => edge.split('|').slice(0, 2).join('|')));
    // A few that only a real fleet can produce, all in the world model:
    for (const pair of ['waiting|TIMER', 'claiming|WRITE_AMBIGUOUS', 'taking-over|WRITE_APPLIED', 'refreshing|ISSUE_UNKNOWN', 'publishing|WRITE_REFUSED', 'renewing|WRITE_APPLIED', 'refreshing|ISSUE_REFUSED']) {
      expect(pairs, pair).toContain(pair);
    }
    // Outside the world model by design (the walk covers them): store errors, callers giving up, expiring tokens.
    for (const pair of ['reading|READ_FAILED', 'claiming|WRITE_FAILED', 'waiting|CALLERS_GONE']) expect(pairs).not.toContain(pair);
  });
});

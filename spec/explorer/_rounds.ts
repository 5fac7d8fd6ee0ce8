import { explore } from './explore.js';
const r = explore({ instances: Number(process.argv[2] ?? 3), roundsMax: Number(process.argv[3] ?? 6), issuerAttemptsMax: Number(process.argv[4] ?? 1) });
console.log(r.states, r.seconds.toFixed(1), r.violations.map((v) => v.invariant), 'round-limit failures', (globalThis as { roundLimits?: number }).roundLimits ?? 0);

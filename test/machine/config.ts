import type { ProtocolConfig } from '../../src/machine/config.js';

/** Protocol timing the machine tests share: lease 1000 ms, so the numbers in the tests stay readable. */
export const MACHINE_TEST_CONFIG: ProtocolConfig = Object.freeze({
  leaseMs: 1_000,
  maxClockSkewMs: 100,
  pollMs: 50,
  proactiveLeadMs: 5_000,
  freshTokenMs: 500,
  issuerAttemptsMax: 2,
  roundsMax: 100,
  backoffBaseMs: 1_000,
  backoffMaxMs: 8_000,
});

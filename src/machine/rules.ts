/**
 * The protocol's safety rules as switches. Production always uses {@link PROTOCOL_RULES} (every
 * rule on); the public API offers no way to change them. The spec and tests build deliberately
 * broken variants ("mutants") from the same machine to prove their checks can fail.
 */
export interface ProtocolRules {
  /** Reads that decide anything are strongly consistent. */
  readonly consistentReads: boolean;
  /** Publishing is conditioned on holding the lease (`leaseId = :mine`). */
  readonly fencedPublish: boolean;
  /** Claiming is conditioned on the generation seen rejected still being stored. */
  readonly versionedClaim: boolean;
  /** Stale leases of crashed or frozen holders are taken over. */
  readonly takeOver: boolean;
  /** Releasing is conditioned on holding the lease. */
  readonly fencedRelease: boolean;
  /** An ambiguous write (error or timeout) is read back, not assumed lost. */
  readonly readBackAmbiguousWrites: boolean;
}

/** The real protocol: every rule on. */
export const PROTOCOL_RULES: ProtocolRules = Object.freeze({
  consistentReads: true,
  fencedPublish: true,
  versionedClaim: true,
  takeOver: true,
  fencedRelease: true,
  readBackAmbiguousWrites: true,
});

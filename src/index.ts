/**
 * Baton: many serverless instances share one single-valid API token through one DynamoDB item.
 * When the token is rejected, exactly one instance refreshes it and everyone converges.
 *
 * @packageDocumentation
 */
export { createTokenCoordinator } from './runtime/coordinator.js';
export type {
  Clock,
  CoordinatorStats,
  IssuedToken,
  IssueTokenContext,
  Logger,
  TokenCoordinator,
  TokenCoordinatorOptions,
  WithTokenOptions,
} from './runtime/api.js';
export {
  AttemptsExhaustedError,
  BatonError,
  ERROR_CODES,
  InvalidOptionsError,
  IssuerRefusedError,
  IssuerUnavailableError,
  ProtocolViolationError,
  RecordInvalidError,
  StoreMisconfiguredError,
  StoreUnavailableError,
  TokenRejectedError,
  TokenUnavailableError,
  UNAVAILABLE_REASONS,
} from './runtime/errors.js';
export type { ErrorCode, UnavailableReason } from './runtime/errors.js';
export type { BatonEvent, BatonEventType } from './runtime/events.js';
export { fingerprint } from './runtime/fingerprint.js';
export type { ReadOptions, TokenStore } from './runtime/store.js';
export type { Scheduler, TimerHandle } from './runtime/scheduler.js';
export { MemoryTokenStore, MEMORY_STORE_DESCRIPTION, MEMORY_HISTORY_LIMIT_ENTRIES } from './runtime/memory-store.js';
export type { MemoryTokenStoreOptions, MemoryWriteEntry, MemoryStoreHook, MemoryStoreOperation } from './runtime/memory-store.js';
export { DynamoDBTokenStore, DEFAULT_PARTITION_KEY } from './runtime/dynamodb-store.js';
export type { DynamoDBTokenStoreOptions } from './runtime/dynamodb-store.js';
export { createTokenTable, TABLE_ACTIVE_POLLS_MAX, TABLE_ACTIVE_POLL_INTERVAL_MS } from './runtime/table.js';
export type { CreateTokenTableOptions, CreateTokenTableResult } from './runtime/table.js';
export {
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_POLL_MS,
  DEFAULT_REFRESH_MARGIN_MS,
  DEFAULT_FRESH_TOKEN_MS,
  HEARTBEAT_FRACTION,
  HEARTBEATS_MAX,
  leaseHoldMsMax,
} from './machine/config.js';
export { DEFAULT_MAX_ATTEMPTS, DEFAULT_WAIT_MS_MAX } from './runtime/options.js';
export { RECORD_SCHEMA_VERSION, WRITE_INTENTS } from './machine/record.js';
export type { TokenRecord, WriteCondition, WriteIntent, WriteOutcome, WriteRequest, RecordField, RecordPatch } from './machine/record.js';
export { batonMachine, createBatonMachine, STATES } from './machine/machine.js';
export { PROTOCOL_RULES } from './machine/rules.js';
export type { ProtocolRules } from './machine/rules.js';
export type { BatonMachine, StateName } from './machine/machine.js';
export type { ProtocolConfig } from './machine/config.js';
export type {
  CachedToken,
  Decision,
  Effect,
  EffectParams,
  EffectType,
  Failure,
  LeaseView,
  MachineContext,
  MachineEvent,
  MachineInput,
  ObservedLease,
  StoreErrorCode,
  Timed,
} from './machine/types.js';

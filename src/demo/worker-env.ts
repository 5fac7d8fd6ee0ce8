/** Environment variables the demo passes to each worker process, besides the bot's own. */
export const WORKER_ENV = {
  /** The worker's lane (`i01`, `i02`, …); also its coordinator's instance id. */
  lane: 'BATON_DEMO_LANE',
  /** The run's seed; each worker derives its coordinator's random source from it and its lane. */
  seed: 'BATON_DEMO_SEED',
} as const;

/** Types for the parts of `dynalite` (an in-process DynamoDB emulator, no types of its own) the demo uses. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  /** Options of `dynalite()`. */
  interface DynaliteOptions {
    /** How long tables stay CREATING, ms (default 500). */
    readonly createTableMs?: number;
    /** How long tables stay DELETING, ms (default 500). */
    readonly deleteTableMs?: number;
    /** How long tables stay UPDATING, ms (default 500). */
    readonly updateTableMs?: number;
    /** LevelDB directory; in memory when absent. */
    readonly path?: string;
  }

  /** Creates the emulator as a not-yet-listening HTTP server. */
  export default function dynalite(options?: DynaliteOptions): Server;
}

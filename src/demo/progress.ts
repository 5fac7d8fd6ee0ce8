/** What the progress line shows. */
export interface ProgressSnapshot {
  readonly total: number;
  readonly delivered: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly retries: number;
  readonly alive: number;
  readonly instancesMax: number;
  readonly incidentsFired: number;
  readonly incidentsTotal: number;
  readonly authCalls: number;
  readonly elapsedMs: number;
}

/** Width of the bar, characters. */
export const BAR_WIDTH_CHARS = 24;
/** Redraw period on a terminal. */
export const TTY_PERIOD_MS = 200;
/** Terminal width assumed when the terminal does not say. */
export const DEFAULT_COLUMNS = 160;
/** Period of the plain line when stderr is not a terminal. */
export const PLAIN_PERIOD_MS = 5_000;

/**
 * One progress line.
 *
 * @example
 * ```ts
 * formatProgress(snapshot, true); // '[#######.................] 600/2000 ...'
 * ```
 */
export function formatProgress(snapshot: ProgressSnapshot, bar: boolean): string {
  const done = snapshot.delivered + snapshot.failed;
  const filled = snapshot.total === 0 ? BAR_WIDTH_CHARS : Math.round((done / snapshot.total) * BAR_WIDTH_CHARS);
  const head = bar ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH_CHARS - filled)}] ` : 'progress: ';
  return (
    `${head}${done}/${snapshot.total} done (${snapshot.failed} failed, ${snapshot.inFlight} in flight, ${snapshot.retries} redeliveries) · ` +
    `instances ${snapshot.alive}/${snapshot.instancesMax} · incidents ${snapshot.incidentsFired}/${snapshot.incidentsTotal} · ` +
    `POST /auth ${snapshot.authCalls} · ${(snapshot.elapsedMs / 1_000).toFixed(1)} s`
  );
}

/**
 * Draws the progress on `stream`: a redrawn bar on a terminal, a plain line every
 * {@link PLAIN_PERIOD_MS} otherwise. Returns a function that stops it (and ends the bar's line).
 *
 * @example
 * ```ts
 * const stop = startProgress(process.stderr, () => snapshot());
 * stop();
 * ```
 */
export function startProgress(stream: NodeJS.WriteStream, snapshot: () => ProgressSnapshot): () => void {
  const tty = stream.isTTY === true;
  const draw = (): void => {
    const line = formatProgress(snapshot(), tty);
    const widthChars = (stream.columns > 0 ? stream.columns : DEFAULT_COLUMNS) - 1;
    if (tty) stream.write(`\r${line.slice(0, widthChars).padEnd(widthChars)}`);
    else stream.write(`${line}\n`);
  };
  const timer = setInterval(draw, tty ? TTY_PERIOD_MS : PLAIN_PERIOD_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    draw();
    if (tty) stream.write('\n');
  };
}

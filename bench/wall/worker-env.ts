/** Environment variables the wall-clock bench passes to its worker processes. */

/** Carries the chat bot's secret for `POST /auth` (never printed, never in IPC messages). */
export const SECRET_ENV = 'BENCH_WALL_CHAT_SECRET';

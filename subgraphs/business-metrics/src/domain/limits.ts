/** Longest strategy name, description and deployment name. */
export const MAX_NAME_LENGTH = 250;
export const MAX_DESCRIPTION_LENGTH = 2000;

/** Most points one `recordPerformance` call may carry (LIMIT_EXCEEDED beyond). */
export const MAX_POINTS_PER_BATCH = 1000;

/**
 * Most points one performance window may hold. The summary is computed from one ordered read of the
 * window, held in memory (about 100 bytes a point); a wider window answers LIMIT_EXCEEDED and the
 * caller narrows `from`/`to`. 10,000 daily points are forty years; 10,000 minute bars about a month.
 */
export const MAX_WINDOW_POINTS = 10_000;

/** Largest `periodsPerYear`: one period a second. */
export const MAX_PERIODS_PER_YEAR = 31_536_000;

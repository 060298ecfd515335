/** A setting Herald cannot start with; `herald serve` prints its message and exits 2. */
export class ConfigError extends Error {}

/** Expected sampling figures shared by core's sampler tests and the end-to-end sampling tests. */

/** `getSamplingStats()`'s upgrade and eviction figures when there were none (no outcome rules). */
export const NO_UPGRADES = {
  upgraded: 0,
  upgradedByReason: {},
  upgradesRefused: 0,
  upgradesMissed: 0,
  evicted: { requests: 0, spans: 0 },
}

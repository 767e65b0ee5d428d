/**
 * Seeded trace IDs for sampling tests and benchmarks: the same seed gives the same IDs, so a test of
 * proportions is exact and repeatable rather than flaky. (Not exported from the package.)
 */
export function seededTraceIds(seed: number): () => string {
  let state = seed >>> 0 || 1
  const nextWord = () => {
    // xorshift32: fast, uniform enough for 32-bit words
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state.toString(16).padStart(8, '0')
  }
  return () => nextWord() + nextWord() + nextWord() + nextWord()
}

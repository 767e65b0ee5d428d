/**
 * @traceweave/client: traced fetch and axios with a propagation allowlist.
 *
 * @packageDocumentation
 */
export {}

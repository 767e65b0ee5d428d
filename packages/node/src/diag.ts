import { diag } from '@opentelemetry/api'

/** The diag logger @traceweave/node reports through, tagged with our name. */
export const logger = diag.createComponentLogger({ namespace: 'traceweave' })

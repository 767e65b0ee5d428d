/** @traceweave/view: placeholder entry, filled in by the viewer work (issue 12). */
export {}

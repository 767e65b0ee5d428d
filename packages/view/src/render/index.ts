/** @traceweave/view/render: dependency-free waterfall renderer (issue 12). Placeholder. */
export {}

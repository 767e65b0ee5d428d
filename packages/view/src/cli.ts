/** The `traceweave-view` command (bin/traceweave-view.js loads the built copy of this file). */
import { parseCliArgs, USAGE } from './cli-args'
import { ViewerListenError } from './server/listen'
import { startViewer, type ViewerOptions } from './viewer'

async function main(): Promise<void> {
  let options: ViewerOptions | 'help'
  try {
    options = parseCliArgs(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`traceweave-view: ${(error as Error).message.split('\n')[0]}\n${USAGE}`)
    process.exit(2)
  }
  if (options === 'help') {
    process.stdout.write(USAGE)
    return
  }
  let viewer
  try {
    viewer = await startViewer(options)
  } catch (error) {
    const message =
      error instanceof ViewerListenError || error instanceof RangeError ? error.message : String(error)
    process.stderr.write(`${message.startsWith('traceweave-view:') ? '' : 'traceweave-view: '}${message}\n`)
    process.exit(1)
  }
  const quiet = options.quiet === true
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130) // a second Ctrl-C: leave now
    stopping = true
    viewer
      .close()
      .then(() => {
        const { stats } = viewer.store
        if (!quiet) {
          process.stdout.write(
            `\ntraceweave-view: ${signal}: ${stats.traces} traces held, ${stats.droppedTraces} dropped (--max-traces), ${stats.rejectedRequests} requests rejected` +
              `${options.html ? `; wrote ${options.html}` : ''}\n`,
          )
        }
        process.exit(0)
      })
      .catch((error: unknown) => {
        process.stderr.write(`traceweave-view: ${String(error)}\n`)
        process.exit(1)
      })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

void main()

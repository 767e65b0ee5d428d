/**
 * The web page in a real browser: Debian's chromium driven by playwright-core. Opens the list,
 * searches by request ID, opens a trace and reads the waterfall rows from the page; sees a trace
 * arrive live; opens the HTML report from disk with nothing else running. Skips, saying why, when
 * /usr/bin/chromium is missing (scripts/ensure-chromium.sh installs it when run as root).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startViewer, type Viewer } from '@traceweave/view'
import { checkoutTrace, otlpJson, testTraceId } from './support/otlp-json'

const CHROMIUM = '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available) {
  console.log(`skipped: ${CHROMIUM} is missing; install it with scripts/ensure-chromium.sh (as root)`)
}
const describeInBrowser = available ? describe : describe.skip

let viewer: Viewer
let browser: Browser
let page: Page
let workDir: string
const traces = { a: testTraceId(), b: testTraceId(), c: testTraceId() }

async function send(traceId: string, requestId: string, user: string) {
  const response = await fetch(viewer.tracesUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: otlpJson(checkoutTrace(traceId, requestId, user)),
  })
  expect(response.status).toBe(200)
}

// The name cell as the page builds it (no DOM lib in this project's types).
type NameCell = { firstChild: { textContent: string | null } | null; style: { paddingLeft: string } }

/** The waterfall as a person reads it: service, name, indentation, duration, status, critical. */
function readRows(target: Page) {
  return target.$$eval('#waterfall .row[data-span-id]', (rows) =>
    rows.map((row) => ({
      service: row.querySelector('.service')!.textContent,
      name: (row.querySelector('.name') as unknown as NameCell).firstChild!.textContent,
      indent: (row.querySelector('.name') as unknown as NameCell).style.paddingLeft,
      duration: row.querySelector('.duration')!.textContent,
      status: row.querySelector('.status')!.textContent,
      critical: row.classList.contains('critical'),
    })),
  )
}

describeInBrowser('the web page in chromium', () => {
  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'traceweave-view-browser-'))
    viewer = await startViewer({ port: 0, uiPort: 0, quiet: true, graceMs: 100 })
    await send(traces.a, 'req-aaa', 'alice')
    await send(traces.b, 'req-bbb', 'bob')
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    })
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await viewer?.close()
    if (workDir) rmSync(workDir, { recursive: true, force: true })
  })

  it('lists the recent traces with root, services, duration, spans and errors', async () => {
    await page.goto(viewer.uiUrl!)
    await page.waitForSelector('#traces tbody tr:nth-child(2)')
    const rows = await page.$$eval('#traces tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    )
    expect(rows.map((cells) => cells.slice(0, 6))).toEqual([
      ['POST /checkout', 'gatewayordersinventorypayments', '200.0 ms', '4', '1', 'req-bbb'],
      ['POST /checkout', 'gatewayordersinventorypayments', '200.0 ms', '4', '1', 'req-aaa'],
    ])
  })

  it('shows a trace that arrives while the page is open (live updates)', async () => {
    await send(traces.c, 'req-ccc', 'carol')
    await page.waitForSelector(`#traces tbody tr[data-trace-id="${traces.c}"]`, { timeout: 10_000 })
    expect(await page.$$eval('#traces tbody tr', (trs) => trs.length)).toBe(3)
  })

  it('finds a trace by request ID, opens it, and shows its waterfall rows across services', async () => {
    await page.fill('#search', 'req-aaa')
    await page.waitForFunction("document.querySelectorAll('#traces tbody tr').length === 1")
    expect(await page.getAttribute('#traces tbody tr', 'data-trace-id')).toBe(traces.a)
    await page.click('#traces tbody tr')
    await page.waitForSelector('#waterfall .row[data-span-id]')
    expect(page.url()).toContain(`#/trace/${traces.a}`)
    expect(await readRows(page)).toEqual([
      {
        service: 'gateway',
        name: 'POST /checkout',
        indent: '0px',
        duration: '200.0 ms',
        status: '',
        critical: true,
      },
      {
        service: 'orders',
        name: 'POST /orders',
        indent: '14px',
        duration: '140.0 ms',
        status: '',
        critical: true,
      },
      {
        service: 'inventory',
        name: 'GET /stock/:sku',
        indent: '28px',
        duration: '40.0 ms',
        status: '',
        critical: true,
      },
      {
        service: 'payments',
        name: 'POST /pay',
        indent: '28px',
        duration: '70.0 ms',
        status: 'ERROR',
        critical: true,
      },
    ])
    // Span details: attributes, events, links, resource.
    await page.locator('#waterfall .row[data-span-id]').nth(3).click()
    const details = await page.textContent('#details')
    expect(details).toContain('card declined')
    expect(details).toContain('http.request.resend_count')
    expect(details).toContain('Resource')
    await page.screenshot({ path: join(tmpdir(), 'traceweave-view-trace.png'), fullPage: true })
  })

  it('searches by user, service, route and status too', async () => {
    await page.goto(viewer.uiUrl!)
    const count = async (query: string) => {
      await page.fill('#search', query)
      return page.$$eval('#traces tbody tr[data-trace-id]', (trs) => trs.length)
    }
    await page.waitForSelector('#traces tbody tr')
    expect(await count('carol')).toBe(1)
    expect(await count('inventory')).toBe(3)
    expect(await count('/checkout error')).toBe(3)
    expect(await count('ok')).toBe(0)
    expect(await count(traces.b)).toBe(1)
    await page.fill('#search', '')
    await page.screenshot({ path: join(tmpdir(), 'traceweave-view-list.png') })
  })

  it('opens the HTML report from disk, offline, with the same list and waterfall', async () => {
    const file = join(workDir, 'report.html')
    await viewer.writeHtml(file)
    const offline = await browser.newPage()
    const requests: string[] = []
    offline.on('request', (request) => requests.push(request.url()))
    await offline.goto(pathToFileURL(file).href)
    await offline.waitForSelector('#traces tbody tr')
    expect(await offline.$$eval('#traces tbody tr', (trs) => trs.length)).toBe(3)
    await offline.fill('#search', 'req-bbb')
    await offline.click('#traces tbody tr')
    await offline.waitForSelector('#waterfall .row[data-span-id]')
    expect((await readRows(offline)).map((row) => row.name)).toEqual([
      'POST /checkout',
      'POST /orders',
      'GET /stock/:sku',
      'POST /pay',
    ])
    expect(requests.filter((url) => !url.startsWith('file:'))).toEqual([])
    await offline.close()
  })

  it('shows cpu and memory columns on the spans with resource attributes, not the raw traceweave.process.* keys inline', async () => {
    const traceId = testTraceId()
    const spans = checkoutTrace(traceId, 'req-res', 'dora')
    spans[1]!.attributes = {
      ...spans[1]!.attributes,
      'traceweave.process.cpu.user_us': 41_000,
      'traceweave.process.cpu.system_us': 2_300,
      'traceweave.process.heap.delta': 0,
      'traceweave.process.external.delta': 16 * 1024 * 1024,
      'traceweave.process.event_loop.utilization': 0.97,
    }
    spans[2]!.attributes = { ...spans[2]!.attributes, 'traceweave.request.cpu_us': 840 }
    const response = await fetch(viewer.tracesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: otlpJson(spans),
    })
    expect(response.status).toBe(200)
    await page.goto(`${viewer.uiUrl!}#/trace/${traceId}`)
    await page.waitForSelector('#waterfall .row[data-span-id]')
    const cells = await page.$$eval('#waterfall .row[data-span-id]', (rows) =>
      rows.map((row) => [
        row.querySelector('.cpu')?.textContent,
        row.querySelector('.memory')?.textContent,
        row.querySelector('.highlights')?.textContent,
      ]),
    )
    expect(cells.map(([cpu, memory]) => [cpu, memory])).toEqual([
      ['', ''],
      ['43.3ms', '+16.0MB'],
      ['840µs own', ''],
      ['', ''],
    ])
    expect(cells.map(([, , highlights]) => highlights).join(' ')).not.toContain('traceweave.')
    expect(await page.$$eval('#waterfall .ruler div', (divs) => divs.map((div) => div.textContent))).toEqual(
      expect.arrayContaining(['cpu', 'memory']),
    )
    // The raw figures stay in the span's details.
    await page.locator('#waterfall .row[data-span-id]').nth(1).click()
    expect(await page.textContent('#details')).toContain('traceweave.process.external.delta')
    await page.screenshot({ path: join(tmpdir(), 'traceweave-view-resources.png'), fullPage: true })

    // A trace without resource attributes keeps its columns as before.
    await page.goto(`${viewer.uiUrl!}#/trace/${traces.a}`)
    await page.waitForFunction(() => {
      type Query = { querySelector(selector: string): { textContent: string | null } | null }
      const { document } = globalThis as unknown as { document: Query }
      return (
        document.querySelector('#waterfall .row[data-span-id]') !== null &&
        document.querySelector('#waterfall .cpu') === null
      )
    })
    expect(await page.$$eval('#waterfall .cpu, #waterfall .memory', (found) => found.length)).toBe(0)
  })
})

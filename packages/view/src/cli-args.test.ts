import { parseCliArgs } from './cli-args'

describe('parseCliArgs', () => {
  it('maps every flag onto the viewer options', () => {
    expect(
      parseCliArgs([
        '--port',
        '0',
        '--ui-port',
        '9000',
        '--host',
        '0.0.0.0',
        '--max-traces',
        '10',
        '--max-spans-per-trace',
        '20',
        '--max-spans',
        '500',
        '--grace',
        '100',
        '--html',
        'out.html',
        '--no-ui',
        '--quiet',
      ]),
    ).toEqual({
      port: 0,
      uiPort: 9000,
      host: '0.0.0.0',
      maxTraces: 10,
      maxSpansPerTrace: 20,
      maxSpans: 500,
      graceMs: 100,
      html: 'out.html',
      ui: false,
      quiet: true,
    })
    expect(parseCliArgs([])).toEqual({})
    expect(parseCliArgs(['-h'])).toBe('help')
  })

  it('fails with the flag and valid range on a bad value or an unknown flag', () => {
    expect(() => parseCliArgs(['--port', '70000'])).toThrow(
      '--port must be an integer within 0..65535, got "70000"',
    )
    expect(() => parseCliArgs(['--max-traces', '0'])).toThrow('--max-traces must be an integer within 1..any')
    expect(() => parseCliArgs(['--grace', '5s'])).toThrow('--grace')
    expect(() => parseCliArgs(['--bogus'])).toThrow(/bogus/)
  })
})

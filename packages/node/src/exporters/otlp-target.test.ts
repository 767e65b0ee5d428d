import { diag, DiagLogLevel } from '@opentelemetry/api'
import { otlpProtocolFromEnv, resolveOtlpTarget } from './index'

const warnings: string[] = []
beforeAll(() => {
  const noop = () => {}
  diag.setLogger(
    { error: noop, warn: (...args) => warnings.push(args.join(' ')), info: noop, debug: noop, verbose: noop },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  )
})
afterAll(() => diag.disable())
beforeEach(() => (warnings.length = 0))

describe('otlpProtocolFromEnv', () => {
  it('defaults to http/protobuf, the OTLP default', () => {
    expect(otlpProtocolFromEnv({})).toBe('http/protobuf')
  })
  it('honours http/json and http/protobuf, the _TRACES_ variable first', () => {
    expect(otlpProtocolFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe('http/json')
    expect(
      otlpProtocolFromEnv({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      }),
    ).toBe('http/protobuf')
    expect(warnings).toEqual([])
  })
  it('warns and falls back for grpc and unknown values, naming the variable and the value', () => {
    expect(otlpProtocolFromEnv({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toBe('http/protobuf')
    expect(otlpProtocolFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' })).toBe('http/protobuf')
    expect(warnings).toEqual([
      expect.stringContaining('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="grpc": traceweave has no gRPC exporter'),
      expect.stringContaining(
        `OTEL_EXPORTER_OTLP_PROTOCOL="thrift": expected 'http/protobuf' or 'http/json'`,
      ),
    ])
  })
})

describe('resolveOtlpTarget', () => {
  it('follows the exporter precedence: option, _TRACES_ endpoint as is, endpoint + /v1/traces, localhost:4318', () => {
    expect(resolveOtlpTarget({}, {}).url).toBe('http://localhost:4318/v1/traces')
    expect(resolveOtlpTarget({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }).url).toBe(
      'http://c:4318/v1/traces',
    )
    expect(
      resolveOtlpTarget(
        {},
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' },
      ).url,
    ).toBe('http://t/x')
    expect(
      resolveOtlpTarget({ url: 'http://o/y' }, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' }).url,
    ).toBe('http://o/y')
  })
  it('reports an endpoint that is not an http(s) URL and uses the default', () => {
    expect(resolveOtlpTarget({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }).url).toBe(
      'http://localhost:4318/v1/traces',
    )
    expect(warnings).toEqual([
      expect.stringContaining('OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318/v1/traces"'),
    ])
  })
  it('takes the timeout from the option, then the _TRACES_ variable, then the generic one, else 10 s', () => {
    expect(resolveOtlpTarget({}, {}).timeoutMillis).toBe(10000)
    expect(resolveOtlpTarget({}, { OTEL_EXPORTER_OTLP_TIMEOUT: '300' }).timeoutMillis).toBe(300)
    expect(
      resolveOtlpTarget({}, { OTEL_EXPORTER_OTLP_TIMEOUT: '300', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '200' })
        .timeoutMillis,
    ).toBe(200)
    expect(
      resolveOtlpTarget({ timeoutMillis: 50 }, { OTEL_EXPORTER_OTLP_TIMEOUT: '300' }).timeoutMillis,
    ).toBe(50)
  })
})

/**
 * Layer names as OpenTelemetry's express instrumentation gives them (a string as written, a RegExp by
 * its toString(), an array joined with `,`), and Express 4's compiled mount RegExps read back into the
 * path they were compiled from. Express 4 layers are built by the real Express 4.
 */
import fc from 'fast-check'
import { nameOfExpressPath, readCompiledMount } from '../packages/express/src/layer-names'

const express4 = require('express4') as typeof import('express')

interface Express4Layer {
  regexp: RegExp
  keys: Array<{ name?: unknown }>
}

/** The layer Express 4 builds for `app.use(path, fn)`. */
function express4Mount(path: unknown): Express4Layer {
  const app = express4()
  app.use(path as string, (_req, _res, next) => next())
  const stack = (app as unknown as { _router: { stack: Express4Layer[] } })._router.stack
  return stack[stack.length - 1]
}

function readBack(path: unknown): ReturnType<typeof readCompiledMount> {
  const layer = express4Mount(path)
  return readCompiledMount(layer.regexp, layer.keys)
}

describe('nameOfExpressPath', () => {
  test('a string is its own name, a RegExp is named by its toString()', () => {
    expect(nameOfExpressPath('/users/:id')).toBe('/users/:id')
    expect(nameOfExpressPath(/\/test\/regex/)).toBe('/\\/test\\/regex/')
    expect(nameOfExpressPath(/\/case/i)).toBe('/\\/case/i')
    expect(nameOfExpressPath(/.*/)).toBe('/.*/')
  })

  test('an array is named by its members joined with a comma, nested arrays flattened', () => {
    expect(nameOfExpressPath(['/a', /\/b/, ['/c/:id']])).toBe('/a,/\\/b/,/c/:id')
  })

  test('anything else has no name', () => {
    expect(nameOfExpressPath(undefined)).toBeUndefined()
    expect(nameOfExpressPath(['/a', {}])).toBeUndefined()
  })
})

describe('readCompiledMount (Express 4)', () => {
  test.each([
    ['/api', '/api'],
    ['/api/', '/api'],
    ['/teams/:teamId', '/teams/:teamId'],
    ['/a/:b/c/:d?', '/a/:b/c/:d?'],
    ['/file.:ext', '/file.:ext'],
    ['/with-dash_and~tilde', '/with-dash_and~tilde'],
  ])('a string path %s is read back as %s', (path, expected) => {
    const result = readBack(path)
    expect(result.kind).toBe('path')
    // The caller trims a trailing slash ('/api/' and '/api' are one mount).
    expect(result.kind === 'path' && result.name.replace(/\/$/, '')).toBe(expected)
  })

  test.each(['/files/*', '/x/:id(\\d+)', '/(foo)'])(
    'a string path %s too complex to read back is rebuilt per request',
    (path) => {
      expect(readBack(path)).toEqual({ kind: 'perRequest' })
    },
  )

  test("the user's own RegExp is named by its toString()", () => {
    expect(readBack(/\/regex_router/)).toEqual({ kind: 'name', name: '/\\/regex_router/' })
    expect(readBack(/^\/v(\d+)/i)).toEqual({ kind: 'name', name: '/^\\/v(\\d+)/i' })
  })

  test('an array of string paths is read back member by member and joined with a comma', () => {
    expect(readBack(['/arr_a', '/arr_b/:b', '/c/:x.:y'])).toEqual({
      kind: 'name',
      name: '/arr_a,/arr_b/:b,/c/:x.:y',
    })
  })

  test('an array with a member too complex to read back has no name (never the URL)', () => {
    expect(readBack(['/a', '/b/*'])).toEqual({ kind: 'unknown' })
  })

  test('property: any path of literal segments and named parameters is read back exactly', () => {
    const literal = fc.stringMatching(/^[a-z0-9_~-]{1,8}$/)
    const parameter = fc
      .tuple(fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,6}$/), fc.boolean())
      .map(([name, optional]) => `:${name}${optional ? '?' : ''}`)
    const segments = fc.array(fc.oneof(literal, parameter), { minLength: 1, maxLength: 6 })
    fc.assert(
      fc.property(segments, (parts) => {
        const path = `/${parts.join('/')}`
        // path-to-regexp 0.1 rejects repeated parameter names only at match time; keep them unique.
        fc.pre(
          new Set(parts.filter((part) => part.startsWith(':'))).size ===
            parts.filter((p) => p.startsWith(':')).length,
        )
        expect(readBack(path)).toEqual({ kind: 'path', name: path })
      }),
      { numRuns: 300 },
    )
  })
})

/**
 * Names of Express layers, computed once per layer, the way OpenTelemetry's express instrumentation
 * names them: a string path as written (`/users/:id`), a RegExp by its `toString()` (`/\/test\/regex/`),
 * an array by its members' names joined with `,` (`/a,/b`). Never from a request's URL.
 */

/** The name of a path as given to `app.get()`/`app.use()`; `undefined` for anything else. */
export function nameOfExpressPath(path: unknown): string | undefined {
  if (typeof path === 'string') return path
  if (path instanceof RegExp) return path.toString()
  if (Array.isArray(path)) {
    // Express accepts nested arrays (and flattens them): the members are named in order.
    const names: string[] = []
    for (const member of path.flat(Infinity) as unknown[]) {
      const name = nameOfExpressPath(member)
      if (name === undefined) return undefined
      names.push(name)
    }
    return names.join(',')
  }
  return undefined
}

/**
 * What Express 4's compiled mount RegExp tells about the path it was given:
 * - `path`: a string path, read back (`/teams/:teamId`);
 * - `name`: the user's own RegExp, or an array of string paths read back and joined;
 * - `perRequest`: a string path too complex to read back (custom parameter patterns, `*`): it is
 *   rebuilt from each request's matched path;
 * - `unknown`: an array with a member too complex to read back.
 */
export type CompiledMount =
  { kind: 'path' | 'name'; name: string } | { kind: 'perRequest' } | { kind: 'unknown' }

// Express 4 compiles `app.use(path)` with path-to-regexp 0.1 (`end: false`, never strict): `^` + the
// path + an optional slash + a lookahead for `/` or the end; an array's members are joined with `|`.
const MOUNT_SUFFIX = String.raw`\/?(?=\/|$)`
// A parameter as path-to-regexp 0.1 compiles `/:name` (or `.:name`) with no custom pattern.
const PARAMETER = /^\(\?:(\\\.)?(\\\/)?\(\[\^\/(?:\\\.)?\]\+\?\)\)(\?)?/
// Literal path characters (escaped `/` and `.`, or anything without meaning in a RegExp).
const LITERAL = /^(?:\\[/.]|[^\\()[\]{}*+?|^$.])+/

/** Reads an Express 4 mount RegExp back into the path it was compiled from, where that is possible. */
export function readCompiledMount(regexp: RegExp, keys: ReadonlyArray<{ name?: unknown }>): CompiledMount {
  const source = regexp.source
  if (!isCompiledByExpress(regexp)) return { kind: 'name', name: regexp.toString() }
  const members = source.split(/\|(?=\^)/)
  const cursor = { key: 0 }
  const names: Array<string | undefined> = members.map((member) => readMember(member, keys, cursor))
  if (members.length === 1) {
    const [name] = names
    return name === undefined ? { kind: 'perRequest' } : { kind: 'path', name }
  }
  if (names.some((name) => name === undefined)) return { kind: 'unknown' }
  return { kind: 'name', name: names.join(',') }
}

function isCompiledByExpress(regexp: RegExp): boolean {
  if (regexp.flags !== '' && regexp.flags !== 'i') return false
  const source = regexp.source
  if (!source.startsWith('^')) return false
  return source.split(/\|(?=\^)/).every((member) => member.endsWith(MOUNT_SUFFIX))
}

function readMember(
  member: string,
  keys: ReadonlyArray<{ name?: unknown }>,
  cursor: { key: number },
): string | undefined {
  let rest = member.slice(1, member.length - MOUNT_SUFFIX.length)
  let path = ''
  while (rest.length > 0) {
    const literal = LITERAL.exec(rest)
    if (literal !== null) {
      path += literal[0].replace(/\\([/.])/g, '$1')
      rest = rest.slice(literal[0].length)
      continue
    }
    const parameter = PARAMETER.exec(rest)
    const key = keys[cursor.key]
    if (parameter === null || key === undefined || typeof key.name !== 'string') return undefined
    cursor.key++
    path += `${parameter[2] === undefined ? '' : '/'}${parameter[1] === undefined ? '' : '.'}:${key.name}`
    path += parameter[3] ?? ''
    rest = rest.slice(parameter[0].length)
  }
  return path
}

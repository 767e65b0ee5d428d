/**
 * Every relative link in README.md, docs/*.md and the packages' and examples' READMEs resolves: the
 * file exists, and a `#fragment` names a heading of that file as GitHub renders its anchor (lower case,
 * punctuation other than `-` and `_` dropped, spaces to `-`, repeats suffixed `-1`, `-2`, ...).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(__dirname, '..')

function markdownFiles(): string[] {
  const files = [join(ROOT, 'README.md')]
  for (const dir of ['docs', 'packages', 'examples']) {
    const base = join(ROOT, dir)
    for (const entry of readdirSync(base)) {
      const path = join(base, entry)
      if (entry.endsWith('.md')) files.push(path)
      else if (statSync(path).isDirectory() && existsSync(join(path, 'README.md')))
        files.push(join(path, 'README.md'))
    }
  }
  return files
}

// Code blocks and inline code hold example URLs, not links.
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** GitHub's heading anchors (github-slugger): what `#...` may name. */
export function githubAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  for (const match of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const heading = match[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
      .replace(/<[^>]+>/g, '')
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  for (const match of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]!)
  return anchors
}

function relativeLinks(markdown: string): string[] {
  const targets: string[] = []
  const text = withoutCode(markdown)
  for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!)
  for (const match of text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)) targets.push(match[1]!)
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
}

describe('links in the documentation', () => {
  it('computes anchors as GitHub does', () => {
    expect([
      ...githubAnchors(
        '# See your traces\n## Correlation across services (`correlation`)\n## A & B\n## A & B\n### `setupTracing()` options',
      ),
    ]).toEqual([
      'see-your-traces',
      'correlation-across-services-correlation',
      'a--b',
      'a--b-1',
      'setuptracing-options',
    ])
  })

  it.each(markdownFiles().map((file) => [relative(ROOT, file), file]))(
    '%s: every relative link names an existing file and heading',
    (_name, file) => {
      const broken: string[] = []
      for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
        const [path, fragment] = target.split('#', 2) as [string, string | undefined]
        const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path))
        if (!existsSync(resolved)) {
          broken.push(`${target}: no such file`)
          continue
        }
        if (fragment === undefined || fragment === '' || !resolved.endsWith('.md')) continue
        if (!githubAnchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(fragment).toLowerCase())) {
          broken.push(`${target}: no heading with that anchor`)
        }
      }
      expect(broken).toEqual([])
    },
  )
})

describe("the README's Troubleshooting", () => {
  it('names only functions a package exports, and handle methods setupTracing() returns', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const section = /^## Troubleshooting\n([\s\S]*?)^## /m.exec(readme)![1]!
    const exported = new Set<string>()
    for (const pkg of ['core', 'node', 'express', 'koa', 'client', 'view']) {
      for (const name of Object.keys(require(join(ROOT, 'packages', pkg, 'dist', 'index.js')) as object)) {
        exported.add(name)
      }
    }
    const handle = readFileSync(join(ROOT, 'packages', 'node', 'dist', 'setup.d.ts'), 'utf8')
    const handleMethods = new Set(
      [
        ...(/interface TracingHandle[^{]*\{([\s\S]*?)\n\}/.exec(handle)?.[1] ?? '').matchAll(/^\s+(\w+)\(/gm),
      ].map((match) => match[1]!),
    )
    expect(handleMethods).toContain('stats')
    const unknown: string[] = []
    for (const match of section.matchAll(/`(?:(\w+)\.)?(\w+)\(\)`/g)) {
      const [text, owner, name] = [match[0], match[1], match[2]!]
      const known = owner === 'handle' ? handleMethods.has(name) : owner === undefined && exported.has(name)
      if (!known) unknown.push(text)
    }
    expect(unknown).toEqual([])
  })

  it('points "is the request sampled?" at a function that counts sampling decisions', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ')
    const name = /sampling keeps the request \(`(\w+)\(\)` from `@traceweave\/core`/.exec(readme)?.[1]
    expect(name).toBeDefined()
    const core = require(join(ROOT, 'packages', 'core', 'dist', 'index.js')) as Record<string, () => object>
    expect(Object.keys(core[name!]!())).toEqual(expect.arrayContaining(['total', 'sampled', 'byReason']))
  })
})

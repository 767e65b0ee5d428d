#!/usr/bin/env node
/**
 * Type-checks the TypeScript and JavaScript code blocks of the Markdown docs against the BUILT
 * packages, as an app that installed them would compile them. Run after `pnpm run build`:
 *
 *   node scripts/check-readme-code.mjs [file.md ...]   (default: README.md, docs/**\/*.md, packages/*\/README.md)
 *
 * Each block is its own ES module (`.mts`; `.mjs` with checkJs for js blocks), compiled in strict mode
 * from test/ (whose node_modules hold express, koa, @koa/router, axios, their types and every
 * @traceweave package). A block must compile as written: imports included, nothing undeclared.
 * Two markers, in an HTML comment right above the fence (invisible on GitHub):
 *
 *   <!-- code-check: context
 *   import express from 'express'
 *   declare const app: express.Express
 *   -->                                     prepended to the block: what a fragment takes as given
 *   <!-- code-check: skip (why) -->         not compiled; the reason is required
 *
 * A file with an install command (`npm i ...` in a shell block) must list there every @traceweave
 * package its blocks import. Failures name the file and line: `README.md:78: TS2304 ...`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ts = createRequire(import.meta.url)('typescript')

const TS_LANGUAGES = new Set(['ts', 'typescript', 'mts', 'cts', 'tsx'])
const JS_LANGUAGES = new Set(['js', 'javascript', 'mjs', 'cjs', 'jsx'])
const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console', 'zsh'])
const INSTALL_COMMAND = /\b(?:npm\s+(?:i|install|add)|pnpm\s+(?:add|i|install)|yarn\s+add)\b/
const MARKER = /<!--\s*code-check:\s*(skip|context)\b([\s\S]*?)-->\s*$/

function defaultFiles() {
  const files = ['README.md']
  const docs = join(root, 'docs')
  if (existsSync(docs)) {
    for (const entry of readdirSync(docs, { recursive: true })) {
      if (String(entry).endsWith('.md')) files.push(join('docs', String(entry)))
    }
  }
  for (const pkg of readdirSync(join(root, 'packages'))) {
    if (existsSync(join(root, 'packages', pkg, 'README.md'))) files.push(join('packages', pkg, 'README.md'))
  }
  return files
}

/** Fenced blocks of a Markdown file, with the marker comment right above each. */
function extractBlocks(file, text) {
  const lines = text.split('\n')
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i])
    if (open === null) continue
    const [, indent, fence, language] = open
    let end = i + 1
    while (end < lines.length && !lines[end].trimStart().startsWith(fence)) end++
    const body = lines
      .slice(i + 1, end)
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
    blocks.push({ file, line: i + 1, language: language.toLowerCase(), body, marker: markerAbove(lines, i) })
    i = end
  }
  return blocks
}

function markerAbove(lines, fenceIndex) {
  // Blank lines may separate the comment from the fence (prettier puts one there).
  let end = fenceIndex - 1
  while (end >= 0 && lines[end].trim() === '') end--
  if (end < 0 || !lines[end].trimEnd().endsWith('-->')) return undefined
  // The comment may span lines: walk up to its `<!--`.
  let start = end
  while (start > 0 && !lines[start].includes('<!--')) start--
  const comment = lines.slice(start, end + 1).join('\n')
  const match = MARKER.exec(comment.slice(comment.lastIndexOf('<!--')))
  if (match === null) return undefined
  return { kind: match[1], text: match[2].replace(/^\n/, '').replace(/\s+$/, ''), line: start + 1 }
}

function importedPackages(code) {
  const names = new Set()
  for (const match of code.matchAll(
    /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g,
  )) {
    const specifier = match[1]
    if (specifier.startsWith('.') || specifier.startsWith('node:')) continue
    const parts = specifier.split('/')
    names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0])
  }
  return names
}

const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles()
const problems = []
const sources = new Map() // virtual path -> { text, block, contextLines }
let skipped = 0

for (const file of files) {
  const text = readFileSync(resolve(root, file), 'utf8')
  const blocks = extractBlocks(file, text)
  const installs = blocks
    .filter((block) => SHELL_LANGUAGES.has(block.language))
    .flatMap((block) => block.body.map((line, index) => ({ line, at: block.line + 1 + index })))
    .filter(({ line }) => INSTALL_COMMAND.test(line))
  for (const block of blocks) {
    const isTs = TS_LANGUAGES.has(block.language)
    if (!isTs && !JS_LANGUAGES.has(block.language)) continue
    if (block.marker?.kind === 'skip') {
      if (block.marker.text.trim() === '') {
        problems.push(
          `${file}:${block.marker.line}: code-check skip needs a reason: <!-- code-check: skip (why) -->`,
        )
      }
      skipped++
      continue
    }
    const context = block.marker?.kind === 'context' ? block.marker.text.split('\n') : []
    const code = block.body.join('\n')
    const name = `${file.replace(/[^\w.-]+/g, '_')}-L${block.line}.${isTs ? 'mts' : 'mjs'}`
    const path = join(root, 'test', '.code-check', name)
    sources.set(path, {
      text: `${[...context, code].join('\n')}\nexport {}\n`,
      block,
      contextLines: context.length,
    })
    if (installs.length > 0) {
      const listed = installs.map(({ line }) => line).join('\n')
      for (const pkg of importedPackages([...context, code].join('\n'))) {
        if (pkg.startsWith('@traceweave/') && !listed.includes(pkg)) {
          problems.push(
            `${file}:${block.line}: the ${block.language} block imports ${pkg}, which no install command of ` +
              `${file} lists (line ${installs.map(({ at }) => at).join(', ')})`,
          )
        }
      }
    }
  }
}

const missingBuild = ['core', 'node', 'express', 'koa', 'client'].filter(
  (pkg) => !existsSync(join(root, 'packages', pkg, 'dist', 'index.d.ts')),
)
if (missingBuild.length > 0) {
  console.error(
    `check-readme-code: packages/{${missingBuild.join(',')}}/dist missing: run \`pnpm run build\` first`,
  )
  process.exit(1)
}

const options = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts'],
  types: ['node'],
  typeRoots: [join(root, 'node_modules', '@types')],
  strict: true,
  allowJs: true,
  checkJs: true,
  noEmit: true,
  skipLibCheck: true,
}
const host = ts.createCompilerHost(options)
const { fileExists, readFile, getSourceFile } = host
host.fileExists = (path) => sources.has(path) || fileExists.call(host, path)
host.readFile = (path) => sources.get(path)?.text ?? readFile.call(host, path)
host.getSourceFile = (path, languageVersion, ...rest) => {
  const source = sources.get(path)
  if (source !== undefined) return ts.createSourceFile(path, source.text, languageVersion, true)
  return getSourceFile.call(host, path, languageVersion, ...rest)
}
const program = ts.createProgram([...sources.keys()], options, host)

for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ')
  const source = diagnostic.file === undefined ? undefined : sources.get(diagnostic.file.fileName)
  if (source === undefined) {
    const where = diagnostic.file === undefined ? 'compiler' : relative(root, diagnostic.file.fileName)
    problems.push(`${where}: TS${diagnostic.code} ${message}`)
    continue
  }
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
  const { block, contextLines } = source
  const inContext = line < contextLines
  const at = inContext ? block.marker.line : block.line + 1 + (line - contextLines)
  const text = inContext ? block.marker.text.split('\n')[line] : block.body[line - contextLines]
  problems.push(
    `${block.file}:${at}: TS${diagnostic.code} ${message}\n    in the ${block.language} block at line ${block.line}` +
      `${inContext ? ' (its code-check context)' : ''}: ${String(text ?? '').trim()}`,
  )
}

const summary = `${sources.size} code blocks in ${files.length} files${skipped > 0 ? `, ${skipped} skipped` : ''}`
if (problems.length > 0) {
  const position = (problem) => {
    const [, file = '', line = '0'] = /^([^:]*):(\d+)?/.exec(problem) ?? []
    return { file, line: Number(line) }
  }
  problems.sort((a, b) => {
    const [pa, pb] = [position(a), position(b)]
    return pa.file === pb.file ? pa.line - pb.line : files.indexOf(pa.file) - files.indexOf(pb.file)
  })
  for (const problem of problems) console.error(problem)
  console.error(`check-readme-code: ${problems.length} problem(s) in ${summary}`)
  process.exit(1)
}
console.log(`check-readme-code: ${summary} type-check against the built packages`)

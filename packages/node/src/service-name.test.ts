import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { detectServiceName, findPackageName, UNKNOWN_SERVICE_NAME } from './service-name'

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'traceweave-name-'))
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

describe('findPackageName', () => {
  it('finds the name of the nearest package.json walking up', () => {
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'outer' }))
    mkdirSync(join(root, 'app', 'src', 'deep'), { recursive: true })
    writeFileSync(join(root, 'app', 'package.json'), JSON.stringify({ name: '@acme/checkout' }))
    expect(findPackageName(join(root, 'app', 'src', 'deep'))).toBe('@acme/checkout')
    expect(findPackageName(root)).toBe('outer')
  })

  it('stops at a nameless or unreadable package.json instead of borrowing a parent name', () => {
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'outer' }))
    mkdirSync(join(root, 'nameless'))
    writeFileSync(join(root, 'nameless', 'package.json'), JSON.stringify({ private: true }))
    mkdirSync(join(root, 'broken'))
    writeFileSync(join(root, 'broken', 'package.json'), '{ not json')
    expect(findPackageName(join(root, 'nameless'))).toBeUndefined()
    expect(findPackageName(join(root, 'broken'))).toBeUndefined()
  })
})

describe('detectServiceName', () => {
  it('falls back to unknown_service:node without any package.json above', () => {
    // Premise: the temp dir's ancestors (/tmp, /) hold no package.json on a normal machine.
    expect(findPackageName(root)).toBeUndefined()
    expect(detectServiceName(root)).toBe(UNKNOWN_SERVICE_NAME)
    expect(UNKNOWN_SERVICE_NAME).toBe('unknown_service:node')
  })
})

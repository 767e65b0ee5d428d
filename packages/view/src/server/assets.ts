import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The web page's files: plain HTML, CSS and JS from the package's `ui/` folder (no build, no CDN). */
export interface UiAssets {
  html: string
  css: string
  js: string
}

let cached: UiAssets | undefined

/** Reads the page's files once (at start, never per request). `src/server` and `dist/server` sit at the same depth. */
export function loadUiAssets(): UiAssets {
  if (cached) return cached
  const dir = join(__dirname, '..', '..', 'ui')
  cached = {
    html: readFileSync(join(dir, 'index.html'), 'utf8'),
    css: readFileSync(join(dir, 'style.css'), 'utf8'),
    js: readFileSync(join(dir, 'app.js'), 'utf8'),
  }
  return cached
}

// Copies the browser files the app serves from installed packages into public/assets/vendor/ (gitignored), so /docs
// works offline at the version package.json pins, on every runtime (Workers upload public/ as static assets).
// Runs on `npm ci` / `npm install` (the postinstall script); run it by hand after changing node_modules otherwise.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vendor = join(root, 'public', 'assets', 'vendor')
mkdirSync(vendor, { recursive: true })

// The package's exports map does not expose dist/browser/, so the file is taken from where npm installs it.
const scalar = join(root, 'node_modules', '@scalar', 'api-reference', 'dist', 'browser', 'standalone.js')
copyFileSync(scalar, join(vendor, 'scalar-api-reference.js'))

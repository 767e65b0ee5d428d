#!/usr/bin/env node
// Committed launcher, so pnpm can link the bin before the package is built.
require('../dist/cli.js')

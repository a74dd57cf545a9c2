#!/usr/bin/env node
// A file that exists before the build, so npm links the command at install time; in a
// checkout, the root's `prepare` then builds dist/ (`npm run build` does it by hand).
import '../dist/cli.js';

'use strict'
// Shared helpers for the vector generators in interop/js11/vectors.
//
// The vector file format (writeFile and the shape it gives every file) is
// interop/jslib/wycheproof.js, shared by both wings; this file adds what
// needs this wing's node_modules: the installed versions of the modules that
// produced a file, and seeds (libsodium BLAKE2b). Nothing here is random:
// generators derive every key and nonce from fixed seeds.

const fs = require('fs')
const path = require('path')
const { hex, fromHex, writeFile, outDir } = require('../../../jslib/wycheproof.js')
const sodium = require('sodium-universal')

// version returns the installed version of an npm package, read from its
// package.json so that the vector files name exactly what produced them.
// The file is read from disk (node_modules/PKG/package.json, looked up the
// way require looks up PKG) because some packages, b4a among them, do not
// export their package.json.
function version (pkg) {
  for (const dir of require.resolve.paths(pkg)) {
    const file = path.join(dir, pkg, 'package.json')
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')).version
  }
  throw new Error('vectors.js: cannot find the package.json of ' + pkg)
}

// source builds the `source` object: the main module and every other module
// whose code produced values in the file.
function source (main, others) {
  const modules = {}
  for (const m of [main].concat(others || []).sort()) modules[m] = version(m)
  return { name: main, version: version(main), modules }
}

// seed derives a deterministic 32-byte value from a label:
// BLAKE2b-256(label) (libsodium crypto_generichash). The writer key pair of the
// v11 vectors is keyPair(seed('hypercore-go v11 vectors: writer')).
function seed (label) {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, Buffer.from(label))
  return out
}

module.exports = { version, source, hex, fromHex, seed, writeFile, outDir }

'use strict'
// Shared helpers for the vector generators in interop/js11/vectors.
//
// Every generator builds its test groups from the pinned JS 11 modules and calls
// writeFile(outDir, name, header, groups). This file gives every vector file
// the same shape (see vectors/README.md):
//
//   { concept, schema, source: { name, version, modules }, numberOfTests,
//     notes, testGroups: [ { ...shared, tests: [ { tcId, comment, flags,
//     ...inputs, ...outputs, result } ] } ] }
//
// tcIds are assigned here, in order, from 1; generators only ever append new
// cases so that published tcIds keep their meaning. Keys keep the order in
// which the generator wrote them; hex is lower case; the file ends with a
// newline. Nothing here is random: generators derive every key and nonce
// from fixed seeds.

const fs = require('fs')
const path = require('path')
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

function hex (buf) {
  if (buf === null || buf === undefined) return null
  return Buffer.from(buf).toString('hex')
}

function fromHex (s) {
  return Buffer.from(s, 'hex')
}

// seed derives a deterministic 32-byte value from a label:
// BLAKE2b-256(label) (libsodium crypto_generichash). The writer key pair of the
// v11 vectors is keyPair(seed('hypercore-go v11 vectors: writer')).
function seed (label) {
  const out = Buffer.alloc(32)
  sodium.crypto_generichash(out, Buffer.from(label))
  return out
}

function writeFile (outDir, name, header, groups) {
  const notes = header.notes || {}
  let tcId = 0
  const testGroups = groups.map((g) => {
    const { tests, ...shared } = g
    return Object.assign({}, shared, {
      tests: tests.map((t) => {
        const { comment, flags, result, ...rest } = t
        for (const f of flags || []) {
          if (!(f in notes)) throw new Error(name + ': flag ' + f + ' has no note')
        }
        if (result !== 'valid' && result !== 'invalid') {
          throw new Error(name + ': result must be valid or invalid, got ' + result)
        }
        if (result === 'invalid' && !rest.error) throw new Error(name + ': invalid case without error class')
        return Object.assign({ tcId: ++tcId, comment: comment || '', flags: flags || [] }, rest, { result })
      })
    })
  })
  const file = {
    concept: header.concept,
    schema: name + '.schema.json',
    source: header.source,
    numberOfTests: tcId,
    notes,
    testGroups
  }
  const text = format(file, '') + '\n'
  fs.mkdirSync(outDir, { recursive: true })
  fs.writeFileSync(path.join(outDir, name + '.json'), text)
}

// format writes JSON with two-space indentation, except that arrays of
// scalars, and objects of scalars that are array elements (other than test
// cases), stay on one line, which keeps long lists readable.
function format (v, indent, inArray) {
  if (isScalar(v)) return JSON.stringify(v)
  const inner = indent + '  '
  if (Array.isArray(v)) {
    if (v.length === 0 || v.every(isScalar)) return JSON.stringify(v)
    return '[\n' + v.map((x) => inner + format(x, inner, true)).join(',\n') + '\n' + indent + ']'
  }
  const keys = Object.keys(v)
  if (keys.length === 0) return '{}'
  if (inArray && !('tcId' in v) && keys.every((k) => isScalar(v[k]))) {
    return '{' + keys.map((k) => JSON.stringify(k) + ': ' + JSON.stringify(v[k])).join(', ') + '}'
  }
  return '{\n' + keys.map((k) => inner + JSON.stringify(k) + ': ' + format(v[k], inner, false)).join(',\n') + '\n' + indent + '}'
}

function isScalar (v) {
  return v === null || typeof v !== 'object'
}

// outDir returns the output directory given on the command line.
function outDir () {
  const dir = process.argv[2]
  if (!dir) throw new Error('usage: node ' + path.basename(process.argv[1]) + ' OUTDIR')
  return path.resolve(dir)
}

module.exports = { version, source, hex, fromHex, seed, writeFile, outDir }

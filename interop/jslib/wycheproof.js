'use strict'
// The vector file format shared by the generators of both wings
// (interop/js/vectors for Hypercore 9, interop/js11/vectors for Hypercore
// 11). Each wing's lib/vectors.js adds what needs its own node_modules (the
// installed versions, libsodium seeds) and re-exports these.
//
// Every generator builds its test groups and calls writeFile(outDir, name,
// header, groups). This file gives every vector file the same shape (see
// vectors/README.md):
//
//   { concept, schema, source: { name, version, modules }, numberOfTests,
//     notes, testGroups: [ { ...shared, tests: [ { tcId, comment, flags,
//     ...inputs, ...outputs, result } ] } ] }
//
// tcIds are assigned here, in order, from 1; generators only ever append new
// cases so that published tcIds keep their meaning. Keys keep the order in
// which the generator wrote them; hex is lower case; the file ends with a
// newline. It needs nothing but Node's fs and path.

const fs = require('fs')
const path = require('path')

function hex (buf) {
  if (buf === null || buf === undefined) return null
  return Buffer.from(buf).toString('hex')
}

function fromHex (s) {
  return Buffer.from(s, 'hex')
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

module.exports = { hex, fromHex, writeFile, format, outDir }

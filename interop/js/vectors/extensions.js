'use strict'
// Generates vectors/extensions.json from abstract-extension 3.1.1 (the
// extension lists of hypercore 9.12.0) and simple-hypercore-protocol
// 2.1.2 (the Options encoding).
//
//   node interop/js/vectors/extensions.js OUTDIR
//
// MatchTest: a feed registers names in an order (feed.registerExtension);
// its peer announces a list (Options.extensions, or none). Outputs: the
// local sorted list (an extension's id is its index), the Options body the
// feed sends (Peer._updateOptions: {ack, extensions: names()}, or null
// when it sends none), and for each remote id 0 .. len(remote) (one
// beyond), the local extension that a message with that id reaches, judged
// by feeding the message to abstract-extension's Remote. A registration of
// a name already registered fails (error "duplicate-name").

const AbstractExtension = require('abstract-extension')
const messages = require('simple-hypercore-protocol/messages')
const { source, writeFile, outDir, hex } = require('./lib/vectors')

function matchCase (comment, registered, remote, ack, flags) {
  const received = []
  const local = AbstractExtension.createLocal(null)
  try {
    for (const name of registered) {
      local.add(name, { onmessage: (msg) => received.push(name) })
    }
  } catch (err) {
    if (err.message !== 'Cannot add multiple messages with the same name') throw err
    return { comment, flags: flags || [], registered, ack, remote, jsError: err.message, result: 'invalid', error: 'duplicate-name' }
  }
  const names = local.names()
  const options = (ack || names.length) ? hex(messages.Options.encode({ ack, extensions: names })) : null
  const r = local.remote()
  if (remote !== null) r.update(remote)
  const map = []
  const n = remote === null ? 1 : remote.length + 1
  for (let id = 0; id < n; id++) {
    received.length = 0
    r.onmessage(id, Buffer.from('m'))
    if (received.length > 1) throw new Error('one message reached two extensions')
    map.push(received.length ? received[0] : null)
  }
  return { comment, flags: flags || [], registered, ack, remote, local: names, options, map, result: 'valid' }
}

const tests = [
  matchCase('the same names', ['beta', 'alpha'], ['alpha', 'beta'], false),
  matchCase('different names', ['alpha', 'beta'], ['delta', 'gamma'], false),
  matchCase('overlapping names', ['c', 'a', 'b'], ['b', 'c', 'd', 'zz'], false),
  matchCase('local is a subset of remote', ['b'], ['a', 'b', 'c'], false),
  matchCase('remote is a subset of local', ['d', 'c', 'b', 'a'], ['b', 'd'], false),
  matchCase('no local extensions, no ack: no Options', [], ['a'], false),
  matchCase('no local extensions, ack: Options{ack: true}', [], ['a'], true),
  matchCase('extensions and ack', ['x'], ['x'], true),
  matchCase('the peer announced an empty list', ['a'], [], false),
  matchCase('the peer sent no Options: nothing maps', ['a'], null, false),
  matchCase('the peer announced its names out of order', ['a', 'b'], ['b', 'a'], false, ['Unsorted']),
  matchCase('the peer announced a name twice', ['a', 'b'], ['a', 'a', 'b'], false, ['Unsorted']),
  matchCase('names that are prefixes of each other', ['abc', 'ab', 'a'], ['a', 'abc'], false),
  matchCase('UTF-16 order: U+1F600 sorts before U+FF01', ['\uff01', '\u{1f600}', 'z'], ['\u{1f600}', '\uff01'], false, ['UTF16Order']),
  matchCase('UTF-16 order, remote in UTF-8 byte order', ['\uff01', '\u{1f600}'], ['\uff01', '\u{1f600}'], false, ['UTF16Order', 'Unsorted']),
  matchCase('many names', ['hypercore-ext', 'cabal', 'mapeo', 'dat-ephemeral', 'a-1', 'a-10', 'a-2'], ['a-10', 'a-2', 'cabal', 'hypercore-ext', 'zzz'], false),
  matchCase('a name registered twice', ['a', 'b', 'a'], ['a'], false)
]

writeFile(outDir(), 'extensions', {
  concept: 'feed extensions: local and remote name lists and the id match',
  source: source('abstract-extension', ['hypercore', 'simple-hypercore-protocol']),
  notes: {
    Unsorted: 'the remote list is not sorted as JS sorts strings; the merge walk of match() skips names, and an implementation must skip the same ones',
    UTF16Order: 'names outside the ASCII range: JS compares strings by UTF-16 code units, which orders U+E000..U+FFFF after the surrogates of characters above U+FFFF, unlike a comparison of UTF-8 bytes'
  }
}, [{ type: 'MatchTest', tests }])

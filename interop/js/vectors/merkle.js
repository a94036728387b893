'use strict'
// Generates vectors/merkle.json from hypercore-crypto 2.3.2 and
// merkle-tree-stream 4.0.0 (the generator hypercore uses on append).
//
//   node interop/js/vectors/merkle.js OUTDIR
//
// LeafTest and ParentTest: single hashes. TreeTest: whole trees built by
// merkle-tree-stream from fixed blocks, in one or several append calls, with
// every node emitted, the roots, the tree hash and the signable.
// KeyPairTest: key pairs from seeds and their discovery keys.
// SignatureTest: signatures by the writer key over signables of real trees,
// legacy 32-byte signatures, and named mutations judged by hypercore's
// verifyCompat (40-byte signable first, then its first 32 bytes).

const crypto = require('hypercore-crypto')
const MerkleGenerator = require('merkle-tree-stream/generator')
const flat = require('flat-tree')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

function pattern (n, label) {
  // a deterministic byte pattern: BLAKE2b-256 chained over a label
  const out = Buffer.alloc(n)
  let block = seed(label)
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i)
    block = seed(block.toString('hex'))
  }
  return out
}

const nodeJSON = (n) => ({ index: n.index, hash: hex(n.hash), size: n.size })

function leafCases () {
  const blocks = [
    ['empty block', Buffer.alloc(0)],
    ['"hello"', Buffer.from('hello')],
    ['"world"', Buffer.from('world')],
    ['"New Block 99"', Buffer.from('New Block 99')],
    ['one zero byte', Buffer.alloc(1)],
    ['1 KiB pattern', pattern(1024, 'leaf 1k')],
    ['64 KiB pattern', pattern(65536, 'leaf 64k'), 'leaf 64k'],
    ['1 MiB pattern', pattern(1 << 20, 'leaf 1m'), 'leaf 1m']
  ]
  return blocks.map(([comment, data, label]) => {
    const t = { comment, flags: [] }
    if (!label) t.data = hex(data)
    else { t.dataPattern = { label, length: data.length }; t.flags.push('Pattern') }
    t.size = data.length
    t.hash = hex(crypto.data(data))
    t.result = 'valid'
    return t
  })
}

function parentCases () {
  const hello = { index: 0, hash: crypto.data(Buffer.from('hello')), size: 5 }
  const world = { index: 2, hash: crypto.data(Buffer.from('world')), size: 5 }
  const a = { index: 4, hash: seed('node a'), size: 1000 }
  const b = { index: 6, hash: seed('node b'), size: 2 ** 40 }
  const c = { index: 1, hash: seed('node c'), size: 7 }
  const d = { index: 5, hash: seed('node d'), size: 9 }
  const cases = [['hello, world', hello, world], ['world, hello (argument order does not matter)', world, hello],
    ['sizes 1000 and 2^40', a, b], ['sizes 2^40 and 1000, reversed', b, a], ['depth-1 children', c, d], ['depth-1 children, reversed', d, c]]
  return cases.map(([comment, x, y]) => ({
    comment,
    flags: [],
    left: nodeJSON(x),
    right: nodeJSON(y),
    parent: { index: flat.parent(x.index), hash: hex(crypto.parent(x, y)), size: x.size + y.size },
    result: 'valid'
  }))
}

// A tree history: a list of append calls, each a list of blocks.
function guideHistory (batched) {
  const calls = [['hello', 'world']]
  const more = []
  for (let i = 0; i < 100; i++) more.push('New Block ' + i)
  if (batched) calls.push(more)
  else for (const b of more) calls.push([b])
  return calls
}

function treeCases () {
  const histories = [
    ['one block', [['a']]],
    ['three single appends', [['a'], ['b'], ['c']]],
    ['guide step 1: hello, world in one call', [['hello', 'world']]],
    ['empty blocks', [['', '', 'x', '']]],
    ['guide step 2: 102 blocks, one call per New Block', guideHistory(false)],
    ['guide step 2 batched: 102 blocks in two calls', guideHistory(true)],
    ['17 blocks of growing size', [Array.from({ length: 17 }, (_, i) => 'x'.repeat(i * 37))]]
  ]
  return histories.map(([comment, calls]) => {
    const gen = new MerkleGenerator({ leaf: crypto.leaf, parent: crypto.parent })
    const appends = []
    for (const call of calls) {
      const nodes = []
      for (const blk of call) gen.next(Buffer.from(blk), nodes)
      const length = gen.blocks
      const roots = gen.roots.map(nodeJSON)
      // hypercore signs after each call (with at least one block)
      appends.push({
        blocks: call,
        nodes: nodes.map(nodeJSON),
        length,
        roots,
        treeHash: hex(crypto.tree(gen.roots)),
        signable: hex(crypto.signable(gen.roots, length))
      })
      if (JSON.stringify(flat.fullRoots(2 * length)) !== JSON.stringify(gen.roots.map((r) => r.index))) throw new Error('roots')
    }
    return { comment, flags: [], appends, result: 'valid' }
  })
}

function keyCases () {
  const seeds = [
    ['seed 00 x 32', Buffer.alloc(32)],
    ['seed 01 x 32', Buffer.alloc(32, 1)],
    ['writer seed: BLAKE2b-256("hypercore-go v9 vectors: writer")', seed('hypercore-go v9 vectors: writer')],
    ['reader seed: BLAKE2b-256("hypercore-go v9 vectors: other")', seed('hypercore-go v9 vectors: other')]
  ]
  return seeds.map(([comment, s]) => {
    const kp = crypto.keyPair(s)
    return { comment, flags: [], seed: hex(s), publicKey: hex(kp.publicKey), secretKey: hex(kp.secretKey), discoveryKey: hex(crypto.discoveryKey(kp.publicKey)), result: 'valid' }
  })
}

// verifyCompat is hypercore 9's check (index.js): the 40-byte signable,
// then its first 32 bytes.
function verifyCompat (signable, signature, key) {
  if (crypto.verify(signable, signature, key)) return true
  return crypto.verify(signable.subarray(0, 32), signature, key)
}

function signatureCases () {
  const writer = crypto.keyPair(seed('hypercore-go v9 vectors: writer'))
  const other = crypto.keyPair(seed('hypercore-go v9 vectors: other'))
  const tests = []
  const trees = [[['hello', 'world']], [['a'], ['b'], ['c']], guideHistory(false)]
  for (const calls of trees) {
    const gen = new MerkleGenerator({ leaf: crypto.leaf, parent: crypto.parent })
    for (const call of calls) for (const blk of call) gen.next(Buffer.from(blk))
    const roots = gen.roots.map((r) => ({ index: r.index, hash: r.hash, size: r.size }))
    const length = gen.blocks
    const signable = crypto.signable(roots, length)
    const signature = crypto.sign(signable, writer.secretKey)
    const legacy = crypto.sign(signable.subarray(0, 32), writer.secretKey)
    const add = (comment, mutation, r, len, sig, key) => {
      const s = crypto.signable(r, len)
      let valid = false
      let threw = false
      try {
        valid = verifyCompat(s, sig, key)
      } catch (_) {
        threw = true // sodium-native throws on a signature of the wrong size
      }
      const t = { comment: comment + ' (' + length + ' blocks)', flags: mutation === 'none' || mutation === 'legacy' ? [] : ['Mutation'], mutation, publicKey: hex(key), roots: r.map(nodeJSON), length: len, signable: hex(s), signature: hex(sig), result: valid ? 'valid' : 'invalid' }
      if (!valid) t.error = 'invalid-signature'
      if (mutation === 'legacy') t.flags.push('Legacy')
      if (threw) t.flags.push('JSThrows')
      tests.push(t)
    }
    const flip = (buf, bit) => { const c = Buffer.from(buf); c[bit >> 3] ^= 0x80 >> (bit & 7); return c }
    const withRoot = (i, f) => roots.map((r, j) => (j === i ? f({ ...r }) : r))
    add('signature over the 40-byte signable', 'none', roots, length, signature, writer.publicKey)
    add('legacy signature over the tree hash only', 'legacy', roots, length, legacy, writer.publicKey)
    add('bit flip in the signature', 'signature-bit', roots, length, flip(signature, 77), writer.publicKey)
    add('last bit of the signature flipped', 'signature-last-bit', roots, length, flip(signature, 511), writer.publicKey)
    add('bit flip in a root hash (tree hash changes)', 'root-hash-bit', withRoot(0, (r) => { r.hash = flip(r.hash, 3); return r }), length, signature, writer.publicKey)
    add('length + 1', 'length-plus-one', roots, length + 1, signature, writer.publicKey)
    add('length with its top byte flipped', 'length-bit', roots, length + 2 ** 48, signature, writer.publicKey)
    add('wrong key', 'wrong-key', roots, length, signature, other.publicKey)
    add('root size + 1', 'root-size', withRoot(roots.length - 1, (r) => { r.size += 1; return r }), length, signature, writer.publicKey)
    add('root index + 2', 'root-index', withRoot(roots.length - 1, (r) => { r.index += 2; return r }), length, signature, writer.publicKey)
    add('legacy signature with a wrong length: still valid (the length is not covered)', 'legacy-length', roots, length + 1, legacy, writer.publicKey)
    if (roots.length > 1) {
      add('roots swapped', 'roots-swapped', [roots[1], roots[0]].concat(roots.slice(2)), length, signature, writer.publicKey)
      add('last root missing', 'root-missing', roots.slice(0, -1), length, signature, writer.publicKey)
    }
    add('extra root', 'root-extra', roots.concat([{ index: roots[roots.length - 1].index + 2, hash: seed('extra'), size: 1 }]), length, signature, writer.publicKey)
    add('truncated signature (63 bytes)', 'signature-short', roots, length, signature.subarray(0, 63), writer.publicKey)
  }
  return tests
}

writeFile(outDir(), 'merkle', {
  concept: 'Merkle tree hashes, roots, signatures and keys',
  source: source('hypercore-crypto', ['merkle-tree-stream', 'flat-tree', 'sodium-native']),
  notes: {
    Pattern: 'The block is too large to list: dataPattern gives its label and length; the bytes are BLAKE2b-256(label), then BLAKE2b-256 of the lower-case hex of the previous 32 bytes, and so on, truncated to length.',
    Mutation: 'A named mutation of a valid case (field mutation); the verdict is that of hypercore\'s verifyCompat.',
    JSThrows: 'JS (sodium-native) throws instead of returning false; inside hypercore the exception is not caught. The spec rejects the input as invalid.',
    Legacy: 'A hypercore 8 signature over the 32-byte tree hash alone, which hypercore 9 still accepts.'
  }
}, [
  { type: 'LeafTest', tests: leafCases() },
  { type: 'ParentTest', tests: parentCases() },
  { type: 'TreeTest', tests: treeCases() },
  { type: 'KeyPairTest', tests: keyCases() },
  { type: 'SignatureTest', tests: signatureCases() }
])

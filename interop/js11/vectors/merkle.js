'use strict'
// Generates vectors/v11/merkle.json from hypercore 11.37.1 (lib/caps.js,
// lib/verifier.js, lib/merkle-tree.js) and hypercore-crypto 3.7.0.
//
//   node interop/js11/vectors/merkle.js OUTDIR
//
// NamespaceTest: the namespaces of "hypercore" and "hyperswarm/secret-stream".
// LeafTest, ParentTest: single hashes. TreeTest: trees of real cores (every
// node the core stores, and the roots and tree hash after each append call).
// KeyTest: key pairs from seeds, their default manifests, default and compat
// core keys and discovery keys. CoreTest: real default, compat, legacy and
// version 0 cores: after each append or truncate, the tree, the signable and
// the signature the core stored (checked by the core's own verifier).
// VerifyTest: named mutations of those signatures and trees, each judged by
// JS's Verifier as a core builds it.
//
// The module also exports the helpers manifests.js uses (require.main guard).

const Hypercore = require('hypercore')
const crypto = require('hypercore-crypto')
const Verifier = require('hypercore/lib/verifier')
const caps = require('hypercore/lib/caps')
const { MerkleTree } = require('hypercore/lib/merkle-tree')
const b4a = require('b4a')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { source, writeFile, outDir, hex, fromHex, seed } = require('./lib/vectors')

const WRITER = 'hypercore-go v11 vectors: writer'
const OTHER = 'hypercore-go v11 vectors: other'

const nodeJSON = (n) => ({ index: n.index, size: n.size, hash: hex(n.hash) })
const nodeFromJSON = (n) => ({ index: n.index, size: n.size, hash: fromHex(n.hash) })

function keyPair (label) {
  return crypto.keyPair(seed(label))
}

// tmpCore opens a core in a fresh temporary directory; close() removes it.
async function tmpCore (opts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hypercore-go-v11-'))
  const core = new Hypercore(dir, opts)
  await core.ready()
  const close = core.close.bind(core)
  core.close = async () => {
    await close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return core
}

// scratch is a core whose session state makes MerkleTreeBatch objects: the
// real JS tree code, with no storage reads for what the vectors do with it.
let scratchCore = null
async function scratch () {
  if (scratchCore === null) scratchCore = await tmpCore({ keyPair: keyPair('hypercore-go v11 vectors: scratch') })
  return scratchCore
}
async function closeScratch () {
  if (scratchCore !== null) await scratchCore.close()
  scratchCore = null
}

// batchOf returns a JS tree batch of the given blocks (strings or buffers)
// at fork 0.
async function batchOf (blocks) {
  const s = await scratch()
  const batch = s.state.createTreeBatch()
  for (const b of blocks) batch.append(b4a.from(b))
  return batch
}

// batchWith returns a JS tree batch with exactly these fields, for mutated
// trees: roots as given, length and fork as given.
async function batchWith ({ fork, length, roots }) {
  const s = await scratch()
  const batch = s.state.createTreeBatch()
  batch.fork = fork
  batch.length = length
  batch.roots = roots.map(nodeFromJSON)
  batch.byteLength = roots.reduce((a, r) => a + r.size, 0)
  batch.hashCached = null
  return batch
}

function treeJSON (batch) {
  return { fork: batch.fork, length: batch.length, roots: batch.roots.map(nodeJSON) }
}

// judge runs a signature through JS as a core does when a proof arrives
// (lib/core.js _verifyBatchUpgrade): with no manifest the key is taken as a
// compat signer; the manifest must hash to the key or be compat; then
// createManifest and a Verifier with the legacy option, and verify.
// It returns { js, jsError }: js is "accepts", "rejects" (verify returned
// false, or the core refused the manifest) or "throws" (an exception from
// inside the verifier or createManifest).
function judge (key, manifest, legacy, batch, signature) {
  try {
    let m = manifest
    if (!m) m = Verifier.defaultSignerManifest(key)
    if (!(Verifier.isValidManifest(key, m) || Verifier.isCompat(key, m))) {
      // core.js throws INVALID_SIGNATURE, its way of rejecting a proof
      return { js: 'rejects', jsError: 'Proof contains an invalid manifest' }
    }
    const v = new Verifier(key, Verifier.createManifest(m), { legacy })
    return { js: v.verify(batch, signature) ? 'accepts' : 'rejects', jsError: null }
  } catch (err) {
    return { js: 'throws', jsError: err.message }
  }
}

// verifyCase builds a VerifyTest case from JS's verdict. The expected Go
// result is JS's: accepts is valid; rejects and throws are invalid with
// errorClass (JSThrows added when JS throws).
function verifyCase (comment, mutation, { key, manifest, legacy, batch, signature }, errorClass, extraFlags) {
  const { js, jsError } = judge(key, manifest, legacy, batch, signature)
  const flags = (extraFlags || []).slice()
  if (js === 'throws') flags.push('JSThrows')
  const t = {
    comment,
    flags,
    mutation,
    key: hex(key),
    manifest: manifest ? hex(Verifier.encodeManifest(manifest)) : null,
    legacy: !!legacy,
    tree: treeJSON(batch),
    signature: signature === null ? null : hex(signature),
    js,
    jsError,
    result: js === 'accepts' ? 'valid' : 'invalid'
  }
  if (js !== 'accepts') t.error = errorClass || 'invalid-signature'
  return t
}

function flipBit (buf, byte, bit) {
  const out = b4a.from(buf)
  out[byte] ^= 1 << (bit || 0)
  return out
}

function namespaceCases () {
  const tests = []
  const hc = crypto.namespace('hypercore', 6)
  const names = ['TREE', 'REPLICATE_INITIATOR', 'REPLICATE_RESPONDER', 'MANIFEST', 'DEFAULT_NAMESPACE', 'DEFAULT_ENCRYPTION']
  // caps.js exports three of them; they must be the same bytes.
  if (!b4a.equals(hc[3], caps.MANIFEST) || !b4a.equals(hc[4], caps.DEFAULT_NAMESPACE) || !b4a.equals(hc[5], caps.DEFAULT_ENCRYPTION)) {
    throw new Error('caps namespaces differ')
  }
  for (let i = 0; i < 6; i++) {
    tests.push({ comment: 'hypercore ' + i + ' (' + names[i] + ')', flags: [], name: 'hypercore', index: i, namespace: hex(hc[i]), result: 'valid' })
  }
  const ss = crypto.namespace('hyperswarm/secret-stream', 3)
  const ssNames = ['NS_INITIATOR', 'NS_RESPONDER', 'NS_SEND']
  for (let i = 0; i < 3; i++) {
    tests.push({ comment: 'hyperswarm/secret-stream ' + i + ' (' + ssNames[i] + ')', flags: [], name: 'hyperswarm/secret-stream', index: i, namespace: hex(ss[i]), result: 'valid' })
  }
  return tests
}

function leafCases () {
  const big = Buffer.alloc(1000)
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff
  const blocks = [
    ['empty block', Buffer.alloc(0)],
    ['"a"', Buffer.from('a')],
    ['"hello"', Buffer.from('hello')],
    ['"world"', Buffer.from('world')],
    ['one zero byte', Buffer.alloc(1)],
    ['1000 bytes 00 01 02 ... e7', big]
  ]
  return blocks.map(([comment, data]) => ({
    comment, flags: [], data: hex(data), size: data.length, hash: hex(crypto.data(data)), result: 'valid'
  }))
}

function parentCases () {
  const a = { index: 0, size: 1, hash: crypto.data(Buffer.from('a')) }
  const b = { index: 2, size: 1, hash: crypto.data(Buffer.from('b')) }
  const x = { index: 1, size: 1000, hash: seed('node x') }
  const y = { index: 5, size: 2 ** 40, hash: seed('node y') }
  const cases = [
    ['leaves "a" and "b"', a, b],
    ['leaves "b" and "a" (argument order does not matter)', b, a],
    ['depth-1 nodes, sizes 1000 and 2^40', x, y],
    ['depth-1 nodes reversed', y, x]
  ]
  const flat = require('flat-tree')
  return cases.map(([comment, l, r]) => ({
    comment,
    flags: [],
    left: nodeJSON(l),
    right: nodeJSON(r),
    parent: { index: flat.parent(l.index), size: l.size + r.size, hash: hex(crypto.parent(l, r)) },
    result: 'valid'
  }))
}

// storedNodes reads every node a core stores, in index order.
async function storedNodes (core) {
  const out = []
  for (let i = 0; i < 2 * core.length; i++) {
    const n = await MerkleTree.get(core.core.state, i)
    if (n) out.push(nodeJSON(n))
  }
  return out
}

async function treeCases () {
  const letters = 'abcdefghijklm'.split('')
  const histories = [
    ['13 blocks "a".."m", one append call each', letters.map((l) => [l])],
    ['13 blocks in calls of 1, 1, 1, 2, 3, 5 (lengths 1, 2, 3, 5, 8, 13)',
      [[0], [1], [2], [3, 4], [5, 6, 7], [8, 9, 10, 11, 12]].map((c) => c.map((i) => 'block ' + i))],
    ['empty blocks and a 1000-byte block', [['', ''], ['x'.repeat(1000), ''], ['']]]
  ]
  const tests = []
  for (const [comment, calls] of histories) {
    const core = await tmpCore({ keyPair: keyPair(WRITER) })
    const appends = []
    for (const call of calls) {
      await core.append(call.map((s) => Buffer.from(s)))
      const st = core.core.state
      appends.push({
        blocks: call,
        length: st.length,
        byteLength: st.byteLength,
        roots: st.roots.map(nodeJSON),
        treeHash: hex(await core.treeHash())
      })
    }
    tests.push({ comment, flags: [], appends, nodes: await storedNodes(core), result: 'valid' })
    await core.close()
  }
  return tests
}

function keyCases () {
  const seeds = [
    ['writer seed: BLAKE2b-256("' + WRITER + '")', seed(WRITER)],
    ['other seed: BLAKE2b-256("' + OTHER + '")', seed(OTHER)],
    ['seed 00 01 .. 1f', Buffer.from(Array.from({ length: 32 }, (_, i) => i))],
    ['seed 00 x 32', Buffer.alloc(32)]
  ]
  return seeds.map(([comment, s]) => {
    const kp = crypto.keyPair(s)
    const manifest = Verifier.defaultSignerManifest(kp.publicKey)
    const defaultKey = Hypercore.key(kp.publicKey)
    const compatKey = Hypercore.key(kp.publicKey, { compat: true })
    if (!b4a.equals(defaultKey, Verifier.manifestHash(manifest))) throw new Error('default key')
    return {
      comment,
      flags: [],
      seed: hex(s),
      publicKey: hex(kp.publicKey),
      secretKey: hex(kp.secretKey),
      defaultManifest: hex(Verifier.encodeManifest(manifest)),
      defaultKey: hex(defaultKey),
      defaultDiscoveryKey: hex(Hypercore.discoveryKey(defaultKey)),
      compatKey: hex(compatKey),
      compatDiscoveryKey: hex(Hypercore.discoveryKey(compatKey)),
      result: 'valid'
    }
  })
}

function discoveryKeyCases () {
  const keys = [
    ['key 00 x 32', Buffer.alloc(32)],
    ['key ff x 32', Buffer.alloc(32, 0xff)],
    ['key BLAKE2b-256("some core")', seed('some core')]
  ]
  return keys.map(([comment, key]) => ({ comment, flags: [], key: hex(key), discoveryKey: hex(crypto.discoveryKey(key)), result: 'valid' }))
}

// The history every CoreTest replays.
const CORE_STEPS = [
  { op: 'append', blocks: ['a'] },
  { op: 'append', blocks: ['b', 'c'] },
  { op: 'append', blocks: ['d', 'e', 'f', 'g', 'h'] },
  { op: 'truncate', length: 5 },
  { op: 'append', blocks: ['x'] },
  { op: 'append', blocks: ['y', 'z'] }
]

const CORE_KINDS = [
  ['default', 'a default core: new Hypercore(dir, {keyPair}); key = manifest hash, 68-byte envelopes', (kp) => ({ keyPair: kp }), false],
  ['compat', 'a compat core: {keyPair, compat: true}; key = public key, 80-byte signable, raw signatures', (kp) => ({ keyPair: kp, compat: true }), false],
  ['legacy', 'a legacy compat core: {keyPair, compat: true, legacy: true}; 48-byte signable', (kp) => ({ keyPair: kp, compat: true, legacy: true }), true],
  ['v0', 'a core with a version 0 manifest of the writer: the signer namespace in the signable, raw signatures',
    (kp) => ({ keyPair: kp, manifest: { version: 0, signers: [{ publicKey: kp.publicKey }] } }), false]
]

// coreCases runs CORE_STEPS on a real core of each kind and records, after
// each step, what the core stored. It returns the tests and, per kind, the
// material for the VerifyTest mutations.
async function coreCases () {
  const kp = keyPair(WRITER)
  const tests = []
  const material = {}
  for (const [kind, comment, opts, legacy] of CORE_KINDS) {
    const core = await tmpCore(opts(kp))
    const verifier = core.core.verifier
    const steps = []
    for (const step of CORE_STEPS) {
      if (step.op === 'append') await core.append(step.blocks.map((s) => Buffer.from(s)))
      else await core.truncate(step.length)
      const st = core.core.state
      const batch = st.createTreeBatch()
      const signable = verifier.compat ? batch.signableCompat(legacy) : batch.signable(verifier.version === 0 ? verifier.signers[0].namespace : core.key)
      if (!crypto.verify(signable, verifier.version >= 1 ? require('hypercore/lib/multisig').inflate(st.signature).proofs[0].signature : st.signature, kp.publicKey)) {
        throw new Error(kind + ': signable does not verify')
      }
      if (!verifier.verify(batch, st.signature)) throw new Error(kind + ': stored signature does not verify')
      steps.push(Object.assign({}, step, {
        fork: st.fork,
        length: st.length,
        roots: st.roots.map(nodeJSON),
        treeHash: hex(batch.hash()),
        signable: hex(signable),
        signature: hex(st.signature)
      }))
      material[kind] = { key: core.key, manifest: core.manifest, legacy, batch: batch.clone(), signature: b4a.from(st.signature) }
      if (st.length === 8 && st.fork === 0) material[kind + '@8'] = material[kind]
    }
    tests.push({
      comment,
      flags: [],
      kind,
      legacy,
      publicKey: hex(kp.publicKey),
      manifest: core.manifest ? hex(Verifier.encodeManifest(core.manifest)) : null,
      key: hex(core.key),
      discoveryKey: hex(core.discoveryKey),
      compat: verifier.compat,
      steps,
      result: 'valid'
    })
    await core.close()
  }
  return { tests, material }
}

// treeMutations returns named changes to a tree; each is judged with the
// unchanged signature.
function treeMutations (t) {
  const out = []
  out.push(['fork + 1', 'wrong fork', Object.assign({}, t, { fork: t.fork + 1 })])
  out.push(['length + 1 (same roots)', 'wrong length', Object.assign({}, t, { length: t.length + 1 })])
  out.push(['length - 1 (same roots)', 'wrong length', Object.assign({}, t, { length: t.length - 1 })])
  for (let i = 0; i < t.roots.length; i++) {
    const r = t.roots[i]
    const flip = (h) => { const b = fromHex(h); b[31] ^= 0x80; return hex(b) }
    const set = (change) => Object.assign({}, t, { roots: t.roots.map((x, j) => j === i ? Object.assign({}, x, change) : x) })
    out.push(['root ' + i + ' hash bit flipped', 'wrong tree hash', set({ hash: flip(r.hash) })])
    out.push(['root ' + i + ' size + 1', 'wrong tree hash', set({ size: r.size + 1 })])
  }
  out.push(['last root dropped', 'wrong tree hash', Object.assign({}, t, { roots: t.roots.slice(0, -1) })])
  return out
}

async function verifyCases (material) {
  const tests = []
  const other = keyPair(OTHER)

  for (const kind of ['default', 'compat', 'legacy', 'v0']) {
    const m = material[kind + '@8']
    const base = { key: m.key, manifest: m.manifest, legacy: m.legacy }
    const t = treeJSON(m.batch)
    tests.push(verifyCase(kind + ' core at length 8: the stored signature', 'none', Object.assign({}, base, { batch: m.batch, signature: m.signature })))
    for (const [what, mutation, tt] of treeMutations(t)) {
      tests.push(verifyCase(kind + ' core at length 8: ' + what, mutation, Object.assign({}, base, { batch: await batchWith(tt), signature: m.signature })))
    }
    // Every byte position class of the signature bytes.
    const sig = m.signature
    const positions = sig.length === 68
      ? [[0, 'proof count'], [1, 'signer index'], [2, 'first byte of R'], [33, 'last byte of R'], [34, 'first byte of S'], [65, 'last byte of S'], [66, 'patch length'], [67, 'patch node count']]
      : [[0, 'first byte of R'], [31, 'last byte of R'], [32, 'first byte of S'], [63, 'last byte of S']]
    for (const [byte, what] of positions) {
      for (const bit of [0, 7]) {
        tests.push(verifyCase(kind + ' core at length 8: bit ' + bit + ' of byte ' + byte + ' (' + what + ') flipped', 'signature bit',
          Object.assign({}, base, { batch: m.batch, signature: flipBit(sig, byte, bit) })))
      }
    }
    tests.push(verifyCase(kind + ' core at length 8: signature cut by one byte', 'truncated signature',
      Object.assign({}, base, { batch: m.batch, signature: sig.subarray(0, sig.length - 1) })))
    tests.push(verifyCase(kind + ' core at length 8: one byte 00 appended to the signature', 'trailing bytes',
      Object.assign({}, base, { batch: m.batch, signature: b4a.concat([sig, b4a.alloc(1)]) })))
    tests.push(verifyCase(kind + ' core at length 8: empty signature', 'empty signature',
      Object.assign({}, base, { batch: m.batch, signature: b4a.alloc(0) })))
    // The same tree signed by another key pair, in the same shape.
    const v = new Verifier(m.key, Verifier.createManifest(m.manifest), { legacy: m.legacy })
    const forged = sig.length === 68
      ? v.assemble([{ signer: 0, signature: crypto.sign(m.batch.signable(m.key), other.secretKey), patch: 0, nodes: null }])
      : crypto.sign(m.legacy ? m.batch.signableCompat(true) : v.compat ? m.batch.signableCompat(false) : m.batch.signable(v.signers[0].namespace), other.secretKey)
    tests.push(verifyCase(kind + ' core at length 8: signed by another key pair', 'wrong key', Object.assign({}, base, { batch: m.batch, signature: forged })))
  }

  // Signatures checked under the wrong rules.
  const d = material['default@8']
  const c = material['compat@8']
  const l = material['legacy@8']
  tests.push(verifyCase('default core: a clone without the manifest cannot verify (the key is taken as a compat public key)', 'no manifest',
    { key: d.key, manifest: null, legacy: false, batch: d.batch, signature: d.signature }))
  tests.push(verifyCase('default core: the raw 64-byte signature inside the envelope, unwrapped', 'unwrapped signature',
    { key: d.key, manifest: d.manifest, legacy: false, batch: d.batch, signature: d.signature.subarray(2, 66) }))
  tests.push(verifyCase('compat core: verified without a manifest (a clone that has only the key)', 'none',
    { key: c.key, manifest: null, legacy: false, batch: c.batch, signature: c.signature }))
  tests.push(verifyCase('compat core: the signature wrapped in a 68-byte envelope', 'wrapped signature',
    { key: c.key, manifest: c.manifest, legacy: false, batch: c.batch, signature: b4a.concat([b4a.from([1, 0]), c.signature, b4a.from([0, 0])]) }))
  tests.push(verifyCase('compat signature checked with the legacy option', 'wrong signable',
    { key: c.key, manifest: c.manifest, legacy: true, batch: c.batch, signature: c.signature }))
  tests.push(verifyCase('legacy signature checked without the legacy option', 'wrong signable',
    { key: l.key, manifest: l.manifest, legacy: false, batch: l.batch, signature: l.signature }))
  tests.push(verifyCase('default core: the manifest of another key pair', 'wrong key',
    { key: d.key, manifest: Verifier.defaultSignerManifest(other.publicKey), legacy: false, batch: d.batch, signature: d.signature }, 'manifest-mismatch'))

  // libsodium refuses small-order keys and R values that Go's ed25519 alone
  // would accept: with the identity point as public key, R = identity and
  // S = 0 satisfy the verification equation for every message.
  const identity = b4a.alloc(32)
  identity[0] = 1
  const forgery = b4a.concat([identity, b4a.alloc(32)])
  const smallBatch = await batchOf(['a'])
  tests.push(verifyCase('compat core whose key is the identity point: R = identity, S = 0 (libsodium refuses small-order keys)', 'small-order key',
    { key: identity, manifest: null, legacy: false, batch: smallBatch, signature: forgery }))
  // A small-order key in a manifest signer.
  const smallManifest = Verifier.createManifest({ signers: [{ publicKey: identity }] })
  const smallKey = Verifier.manifestHash(smallManifest)
  tests.push(verifyCase('default-style manifest whose signer key is the identity point: R = identity, S = 0 in an envelope', 'small-order key',
    { key: smallKey, manifest: smallManifest, legacy: false, batch: smallBatch, signature: Verifier.fromManifest(smallManifest).assemble([{ signer: 0, signature: forgery, patch: 0, nodes: null }]) }))
  // A non-canonical key: y = p (an encoding of 0) is refused as not canonical.
  const nonCanonical = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
  tests.push(verifyCase('compat core whose key is y = p (non-canonical encoding of a small-order point)', 'small-order key',
    { key: nonCanonical, manifest: null, legacy: false, batch: smallBatch, signature: forgery }))
  return tests
}

async function main () {
  const dir = outDir()
  const groups = []
  groups.push({ type: 'NamespaceTest', tests: namespaceCases() })
  groups.push({ type: 'LeafTest', tests: leafCases() })
  groups.push({ type: 'ParentTest', tests: parentCases() })
  groups.push({ type: 'TreeTest', tests: await treeCases() })
  groups.push({ type: 'KeyTest', tests: keyCases() })
  groups.push({ type: 'DiscoveryKeyTest', tests: discoveryKeyCases() })
  const { tests, material } = await coreCases()
  groups.push({ type: 'CoreTest', tests })
  groups.push({ type: 'VerifyTest', tests: await verifyCases(material) })
  await closeScratch()
  writeFile(dir, 'merkle', {
    concept: 'Hypercore 11 Merkle tree hashes, namespaces, keys, signables and signatures',
    source: source('hypercore', ['hypercore-crypto', 'flat-tree', 'compact-encoding', 'sodium-universal']),
    notes: {
      JSThrows: 'JS throws instead of returning false; the case is invalid with the error class given (spec/v11/merkle.md, "Verification").'
    }
  }, groups)
}

module.exports = {
  WRITER, OTHER, nodeJSON, nodeFromJSON, keyPair, tmpCore, scratch, closeScratch, batchOf, batchWith, treeJSON, judge, verifyCase, flipBit, treeMutations
}

if (require.main === module) {
  main().catch((err) => { console.error(err); process.exit(1) })
}

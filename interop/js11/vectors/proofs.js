'use strict'
// Generates vectors/v11/proofs.json from hypercore 11.37.1 (lib/merkle-tree.js
// generateProof, MerkleTree.verify and MerkleTree.reorg, lib/core.js verify and
// verifyReorg, lib/replicator.js _getProof/_fulfillRequest).
//
//   node interop/js11/vectors/proofs.js OUTDIR
//
// Real JS cores: writers (default cores of the writer key pair) of several
// lengths, a truncated writer (fork 1), and clones that reached a given state
// the way a JS clone does (an upgrade proof from 0; block proofs for every
// block). Each group is one writer.
//
// BuildTest: a request, as a JS requester sends it, and the proof JS's
// replicator answers with (MerkleTree.proof on a storage read batch, settled,
// the block value added) or the class of its refusal.
// VerifyTest: a proof (the answer of a BuildTest, or a named mutation of one)
// and the verdict of a JS clone in the stated state (core.verify without the
// final write, core.verifyReorg for a newer fork): for a valid proof what the
// clone would store (nodes, new tree, block), for an invalid one the class.
// ReorgTest: a clone of the fork 0 writer meets the truncated writer: the
// upgrade proof from 0, what JS's ReorgBatch makes of it, and each follow-up
// hash request and answer until the fork point is found.
// DigestTest: an accumulated digest of every proof JS builds for a list of
// requests over writers of 1..64 blocks (the recipe is in spec/v11/proofs.md).

const Hypercore = require('hypercore')
const { MerkleTree } = require('hypercore/lib/merkle-tree')
const flat = require('flat-tree')
const b4a = require('b4a')
const sodium = require('sodium-universal')
const crypto = require('hypercore-crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const c = require('compact-encoding')
const messages = require('hypercore/lib/messages')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

const WRITER = 'hypercore-go v11 vectors: writer'
const keyPair = crypto.keyPair(seed(WRITER))

const nodeJSON = (n) => ({ index: n.index, size: n.size, hash: hex(n.hash) })
const nodesJSON = (ns) => ns.map(nodeJSON)

// block i of the writers: sizes 0 to 58 bytes, block 5 empty.
function blockOf (i, tag) {
  if (i === 5) return b4a.alloc(0)
  return b4a.from((tag || '') + 'proof vectors block ' + i + ' ' + '#'.repeat((i * 13) % 41))
}

const dirs = []
async function tmpCore (key, opts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hypercore-go-v11-proofs-'))
  dirs.push(dir)
  const core = key ? new Hypercore(dir, key, opts) : new Hypercore(dir, opts)
  await core.ready()
  return core
}

// writer returns a writer core of n blocks (cached), fork 0.
const writers = new Map()
async function writer (n) {
  if (writers.has(n)) return writers.get(n)
  const core = await tmpCore(null, { keyPair })
  const blocks = []
  for (let i = 0; i < n; i++) blocks.push(blockOf(i))
  for (let i = 0; i < n; i += 100) await core.append(blocks.slice(i, i + 100))
  writers.set(n, core)
  return core
}

// serve answers msg as JS's replicator does (Peer._handleRequest, _getProof,
// _fulfillRequest) and returns { proof } or { error, jsError }.
async function serve (core, msg) {
  msg = JSON.parse(JSON.stringify(msg)) // generateProof may change it
  const c = core.core
  if (msg.fork !== c.state.fork) return { error: 'not-available', jsError: 'fork' }
  const batch = c.storage.read(c.state.fork)
  let block = null
  if (msg.block) {
    if (!c.bitfield.get(msg.block.index)) {
      batch.destroy()
      return { error: 'not-available', jsError: 'block not held' }
    }
    block = batch.getBlock(msg.block.index)
    block.catch(() => {})
  }
  let tp
  try {
    tp = await MerkleTree.proof(c.state, batch, msg)
  } catch (err) {
    batch.destroy()
    return classifyServe(err)
  }
  batch.tryFlush()
  try {
    const [proof, value] = await Promise.all([tp.settle(), block])
    if (value) proof.block.value = value
    delete proof.manifest
    return { proof }
  } catch (err) {
    return classifyServe(err)
  }
}

function classifyServe (err) {
  const notAvailable = /Expected tree node .* from storage/.test(err.message)
  if (!notAvailable && err.code !== 'INVALID_OPERATION' && err.code !== 'BAD_ARGUMENT' && err.code !== 'ASSERTION') {
    throw err
  }
  return { error: notAvailable ? 'not-available' : 'invalid-request', jsError: err.code + ': ' + err.message }
}

function requestJSON (msg) {
  return {
    fork: msg.fork,
    block: msg.block || null,
    hash: msg.hash || null,
    seek: msg.seek || null,
    upgrade: msg.upgrade || null
  }
}

function proofJSON (p) {
  return {
    fork: p.fork,
    block: p.block ? { index: p.block.index, value: hex(p.block.value), nodes: nodesJSON(p.block.nodes) } : null,
    hash: p.hash ? { index: p.hash.index, nodes: nodesJSON(p.hash.nodes) } : null,
    seek: p.seek ? { bytes: p.seek.bytes, nodes: nodesJSON(p.seek.nodes) } : null,
    upgrade: p.upgrade
      ? {
          start: p.upgrade.start,
          length: p.upgrade.length,
          nodes: nodesJSON(p.upgrade.nodes),
          additionalNodes: nodesJSON(p.upgrade.additionalNodes),
          signature: hex(p.upgrade.signature)
        }
      : null
  }
}

// Clones. A clone is a core opened with the writer's key only; it reaches
// length l as a JS clone does: an upgrade proof from 0 to l (with the
// manifest) from a writer of l blocks. "full" then fetches every block with
// the nodes count JS sends (MerkleTree.missingNodes); "roots" stops there;
// "none" is a fresh clone.
const clones = new Map()
async function clone (state) {
  const id = state.stored + '/' + state.length
  if (clones.has(id)) return clones.get(id)
  const w = await writer(1)
  const core = await tmpCore(w.key)
  if (state.length > 0) {
    const src = await writer(state.length)
    const up = await serve(src, { fork: 0, upgrade: { start: 0, length: state.length } })
    up.proof.manifest = src.core.header.manifest
    if (!(await core.core.verify(up.proof, null))) throw new Error('clone upgrade failed')
    if (core.core.state.length !== state.length) throw new Error('clone length ' + core.core.state.length)
    if (state.stored === 'full') {
      for (let b = 0; b < state.length; b++) {
        const nodes = await MerkleTree.missingNodes(core.core.state, 2 * b, core.core.state.length)
        const r = await serve(src, { fork: 0, block: { index: b, nodes } })
        if (!(await core.core.verify(r.proof, null))) throw new Error('clone block failed')
      }
    }
  }
  await checkCloneNodes(core, state)
  clones.set(id, core)
  return core
}

// checkCloneNodes asserts that the clone stores exactly the nodes
// proofs.md's description of its state names: the roots of its length
// ("roots") or every node below it ("full").
async function checkCloneNodes (core, state) {
  const want = new Set()
  if (state.stored === 'roots') for (const r of flat.fullRoots(2 * state.length)) want.add(r)
  if (state.stored === 'full') {
    for (let i = 0; i < 2 * state.length; i++) if (flat.rightSpan(i) < 2 * state.length) want.add(i)
  }
  for (let i = 0; i < 2 * state.length + 4; i++) {
    const has = (await MerkleTree.get(core.core.state, i)) !== null
    if (has !== want.has(i)) throw new Error('clone ' + JSON.stringify(state) + ' node ' + i + ' stored=' + has)
  }
}

// jsVerify is core.verify (and core.verifyReorg for a newer fork) without
// the final write: the verdict and what the clone would store.
async function jsVerify (core, proof) {
  const c = core.core
  // a clone without a manifest asked for it with its first request
  if (!c.header.manifest) proof = Object.assign({}, proof, { manifest: (await writer(1)).core.header.manifest })
  try {
    if (proof.fork !== c.state.fork) {
      if (proof.fork > c.state.fork && proof.upgrade) {
        const batch = await signatureCheckAsync(() => c.verifyReorg(proof))
        return { js: 'accepts', reorg: batch }
      }
      return { js: 'rejects', error: 'fork-mismatch', jsError: 'core.verify returned false' }
    }
    const batch = await MerkleTree.verify(c.state, proof)
    if (batch.upgraded && batch.length <= c.state.length) await batch.downgrade()
    if (batch.upgraded) signatureCheck(() => c._verifyBatchUpgrade(batch, proof.manifest))
    return { js: 'accepts', batch }
  } catch (err) {
    const hc = ['INVALID_OPERATION', 'INVALID_CHECKSUM', 'INVALID_PROOF', 'INVALID_SIGNATURE', 'BAD_ARGUMENT'].includes(err.code)
    if (!hc && !(err instanceof TypeError)) throw err
    return {
      js: 'throws',
      error: err.code === 'INVALID_SIGNATURE' ? 'invalid-signature' : 'invalid-proof',
      jsError: (err.plain ? 'Error' : err.code || err.name) + ': ' + err.message,
      typeError: !hc || !!err.plain
    }
  }
}

// signatureCheck runs a signature verification; an exception that is not a
// hypercore error (a signature envelope that does not decode: "Out of
// bounds") is a rejected signature that JS throws on.
function signatureCheck (f) {
  try {
    return f()
  } catch (err) {
    if (err.code) throw err
    const e = new Error(err.message)
    e.code = 'INVALID_SIGNATURE'
    e.plain = true
    throw e
  }
}

async function signatureCheckAsync (f) {
  try {
    return await f()
  } catch (err) {
    if (err.code || err instanceof TypeError) throw err
    const e = new Error(err.message)
    e.code = 'INVALID_SIGNATURE'
    e.plain = true
    throw e
  }
}

function sortedNodes (nodes) {
  const m = new Map()
  for (const n of nodes) m.set(n.index, n)
  return [...m.values()].sort((a, b) => a.index - b.index)
}

function treeOf (batch) {
  return { fork: batch.fork, length: batch.length, roots: nodesJSON(batch.roots) }
}

function verifiedJSON (proof, batch) {
  return {
    block: proof.block ? { index: proof.block.index, value: hex(proof.block.value) } : null,
    tree: batch.upgraded ? treeOf(batch) : null,
    signature: batch.upgraded ? hex(batch.signature) : null,
    // the indexes of the nodes to store; each is the writer's node
    nodes: sortedNodes(batch.nodes).map((n) => n.index)
  }
}

function reorgJSON (batch) {
  return {
    tree: treeOf(batch),
    signature: hex(batch.signature),
    nodes: nodesJSON(sortedNodes(batch.nodes)),
    ancestors: batch.ancestors,
    want: batch.want ? { start: batch.want.start, end: batch.want.end, nodes: batch.want.nodes } : null
  }
}

function cloneProof (p) {
  const cn = (n) => ({ index: n.index, size: n.size, hash: b4a.from(n.hash) })
  return {
    fork: p.fork,
    block: p.block ? { index: p.block.index, value: b4a.from(p.block.value), nodes: p.block.nodes.map(cn) } : null,
    hash: p.hash ? { index: p.hash.index, nodes: p.hash.nodes.map(cn) } : null,
    seek: p.seek ? { bytes: p.seek.bytes, nodes: p.seek.nodes.map(cn) } : null,
    upgrade: p.upgrade
      ? {
          start: p.upgrade.start,
          length: p.upgrade.length,
          nodes: p.upgrade.nodes.map(cn),
          additionalNodes: p.upgrade.additionalNodes.map(cn),
          signature: b4a.from(p.upgrade.signature)
        }
      : null
  }
}

// mutations lists the named corruptions of a proof (the catalogue of
// proofs.md "Test vectors"): each node's index ±1, size ±1, a bit of its
// hash, each node dropped, doubled, swapped with the next, a node added at
// the end of each list; block index ±1 and value; hash index ±1; signature
// bits; upgrade start and length ±1; fork +1. `extra` is a real node of
// the writer to add. index-1, size-1 and doubling are applied to the
// first node of each list only (the Go tests apply all to every node).
function mutations (p, extra) {
  const out = []
  const add = (name, f) => {
    const q = cloneProof(p)
    f(q)
    out.push({ name, proof: q })
  }
  const lists = []
  if (p.block) lists.push(['block', (q) => q.block.nodes])
  if (p.hash) lists.push(['hash', (q) => q.hash.nodes])
  if (p.seek) lists.push(['seek', (q) => q.seek.nodes])
  if (p.upgrade) {
    lists.push(['upgrade', (q) => q.upgrade.nodes])
    lists.push(['additional', (q) => q.upgrade.additionalNodes])
  }
  for (const [name, get] of lists) {
    const list = get(p)
    for (let j = 0; j < list.length; j++) {
      add(name + '[' + j + '] index+1', (q) => get(q)[j].index++)
      if (list[j].index > 0 && j === 0) add(name + '[' + j + '] index-1', (q) => get(q)[j].index--)
      add(name + '[' + j + '] size+1', (q) => get(q)[j].size++)
      if (list[j].size > 0 && j === 0) add(name + '[' + j + '] size-1', (q) => get(q)[j].size--)
      const bit = (j * 37) % 256
      add(name + '[' + j + '] hash bit ' + bit, (q) => { get(q)[j].hash[bit >> 3] ^= 1 << (bit & 7) })
      add(name + '[' + j + '] dropped', (q) => get(q).splice(j, 1))
      if (j === 0) add(name + '[' + j + '] twice', (q) => {
        const x = get(q)[j]
        get(q).splice(j, 0, { index: x.index, size: x.size, hash: b4a.from(x.hash) })
      })
      if (j + 1 < list.length) {
        add(name + '[' + j + '] swapped with next', (q) => {
          const l = get(q)
          const t = l[j]
          l[j] = l[j + 1]
          l[j + 1] = t
        })
      }
    }
    add(name + ' + node ' + extra.index, (q) => get(q).push(extra))
  }
  if (p.block) {
    add('block index+1', (q) => q.block.index++)
    if (p.block.index > 0) add('block index-1', (q) => q.block.index--)
    if (p.block.value.length > 0) {
      add('value bit', (q) => { q.block.value[q.block.value.length >> 1] ^= 0x10 })
      add('value shorter', (q) => { q.block.value = q.block.value.subarray(0, q.block.value.length - 1) })
    }
    add('value longer', (q) => { q.block.value = b4a.concat([q.block.value, b4a.alloc(1)]) })
  }
  if (p.hash) {
    add('hash index+1', (q) => q.hash.index++)
    if (p.hash.index > 0) add('hash index-1', (q) => q.hash.index--)
  }
  if (p.upgrade) {
    for (const at of [2, 3, 20, 34, 35, 64, 65]) {
      if (at < p.upgrade.signature.length) add('signature byte ' + at, (q) => { q.upgrade.signature[at] ^= 1 })
    }
    add('signature shorter', (q) => { q.upgrade.signature = q.upgrade.signature.subarray(0, q.upgrade.signature.length - 1) })
    add('start+1', (q) => q.upgrade.start++)
    if (p.upgrade.start > 0) add('start-1', (q) => q.upgrade.start--)
    add('length+1', (q) => q.upgrade.length++)
    add('length-1', (q) => q.upgrade.length--)
  }
  add('fork+1', (q) => q.fork++)
  return out
}

// isLenient reports the mutations JS accepts that the spec refuses
// (proofs.md "Stricter than JS"): an upgrade node JS never takes from its
// queue, and a changed size of the one node of a hash proof with nodes 0
// (JS compares only the hash with the stored node).
function isLenient (m, p, batch) {
  if (m.proof.upgrade && m.proof.upgrade.nodes.some((n) => !batch.nodes.includes(n))) return true // an unused upgrade node
  if (p.hash && p.hash.nodes.length === 1 && /^hash\[0\] size/.test(m.name)) return true
  return false
}

const NOTES = {
  JSLenient: 'JS accepts this proof and the spec refuses it (proofs.md, "Stricter than JS"): an upgrade node JS never takes from its queue, or a changed size of the single node of a hash proof with nodes 0, which JS compares with the stored node by hash only. js is "accepts".',
  JSThrows: 'JS fails with a TypeError, not a hypercore error, where the spec refuses the proof.',
  Equivalent: 'A mutation that proves the same nodes (the first two nodes of a seek proof, siblings, in the other order): JS and the spec accept it and store the same.',
  Mutated: 'The proof is a named mutation (comment) of the answer of the BuildTest named in `from`.',
  Reorg: 'The proof is for a newer fork: the clone verifies it as an upgrade from an empty tree (JS core.verifyReorg) and the result is a reorg.',
  Seek: 'The request has a seek section (JS peers send one only to peers that advertise seeks).'
}

// Error classes: invalid-request and not-available (a server's refusal:
// noData INVALID_REQUEST or NOT_AVAILABLE), invalid-proof (JS
// INVALID_OPERATION, INVALID_CHECKSUM, INVALID_PROOF), invalid-signature (JS
// INVALID_SIGNATURE, or an envelope that does not decode), fork-mismatch
// (core.verify returns false).

// The cores of the file, and the requests each gets. A request names the
// clone state of its requester; positive build results are verified by
// that clone; mutations are made of the cases marked mutate.
function requestsFor (n) {
  const rs = []
  const mids = [...new Set((n >= 100 ? [0, Math.floor(n / 3), n - 1] : [0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 1]).filter((l) => l >= 0 && l < n))]
  for (const l of mids) {
    // a fresh clone's first request (with the manifest, which is not part of
    // the proof) and the eager upgrade of a clone at l
    rs.push({ clone: { stored: l === 0 ? 'none' : 'roots', length: l }, msg: { fork: 0, upgrade: { start: l, length: n - l } }, mutate: l === 0 })
    // a shorter upgrade: additional nodes to the writer's length
    if (n - l > 1) rs.push({ clone: { stored: l === 0 ? 'none' : 'roots', length: l }, msg: { fork: 0, upgrade: { start: l, length: 1 } }, mutate: l === Math.floor(n / 2) })
    // a block past the clone's length with an upgrade (JS sends nodes 0)
    for (const b of [...new Set([l, Math.floor((l + n) / 2), n - 1])]) {
      rs.push({ clone: { stored: l === 0 ? 'none' : 'roots', length: l }, msg: { fork: 0, block: { index: b, nodes: 0 }, upgrade: { start: l, length: n - l } }, mutate: b === n - 1 && l === Math.floor(n / 3) })
      if (b > l) rs.push({ clone: { stored: l === 0 ? 'none' : 'roots', length: l }, msg: { fork: 0, block: { index: b, nodes: 0 }, upgrade: { start: l, length: b + 1 - l } } })
    }
  }
  // a clone at every mid length that fetches blocks: roots only (nodes =
  // depth to its root) and full (nodes 0 for a stored leaf's block...)
  for (const l of [...new Set([1, Math.floor(n / 2), n].filter((l) => l >= 1))]) {
    for (const b of [...new Set([0, Math.floor(l / 2), l - 1])]) {
      rs.push({ clone: { stored: 'roots', length: l }, nodesFrom: 'missing', msg: { fork: 0, block: { index: b } }, mutate: b === 0 && l === n })
      rs.push({ clone: { stored: 'full', length: l }, msg: { fork: 0, block: { index: b, nodes: 0 } } })
    }
    // hash requests: a leaf and a parent inside the clone's tree
    for (const idx of [...new Set([2 * (l - 1), flat.parent(2 * (l - 1))])]) {
      if (flat.rightSpan(idx) >= 2 * l) continue
      rs.push({ clone: { stored: 'roots', length: l }, nodesFrom: 'missing', msg: { fork: 0, hash: { index: idx } }, mutate: (idx & 1) === 1 && l === n })
      rs.push({ clone: { stored: 'full', length: l }, msg: { fork: 0, hash: { index: idx, nodes: 0 } }, mutate: (idx & 1) === 1 && l === n })
    }
    // a block inside the clone's tree with an upgrade
    if (l < n) rs.push({ clone: { stored: 'roots', length: l }, nodesFrom: 'missing', msg: { fork: 0, block: { index: l - 1 }, upgrade: { start: l, length: n - l } }, mutate: l === Math.floor(n / 2) })
  }
  // seeks, as the replicator sends them
  if (n > 1) {
    const l = Math.floor(n / 2)
    rs.push({ clone: { stored: 'none', length: 0 }, msg: { fork: 0, seek: { bytes: 30, padding: 0 }, upgrade: { start: 0, length: n } }, mutate: true, flags: ['Seek'] })
    rs.push({ msg: { fork: 0, hash: { index: 2 * (l - 1), nodes: MerkleTree.maxMissingNodes(2 * (l - 1), l) }, seek: { bytes: 60, padding: 0 } }, flags: ['Seek'] })
    rs.push({ msg: { fork: 0, hash: { index: 0, nodes: MerkleTree.maxMissingNodes(0, l) }, seek: { bytes: 61, padding: 2 } }, flags: ['Seek'] })
    rs.push({ msg: { fork: 0, block: { index: 0, nodes: MerkleTree.maxMissingNodes(0, l) }, seek: { bytes: 10, padding: 0 } }, flags: ['Seek'] })
  }
  // requests a server refuses
  rs.push({ msg: { fork: 0, upgrade: { start: n, length: 1 } } })
  rs.push({ msg: { fork: 0, upgrade: { start: 0, length: 0 } } })
  rs.push({ msg: { fork: 0, block: { index: n - 1, nodes: 40 } } })
  rs.push({ msg: { fork: 0, block: { index: n } } })
  rs.push({ msg: { fork: 1, block: { index: 0, nodes: 0 } } })
  if (n > 2) rs.push({ msg: { fork: 0, block: { index: n - 1, nodes: 0 }, upgrade: { start: 0, length: n - 2 } } })
  rs.push({ msg: { fork: 0, hash: { index: 2 * n + 1, nodes: 0 } } })
  return rs
}

const LENGTHS = [1, 2, 5, 8, 13, 100, 1000]
// the writers whose marked proofs get the mutation catalogue
const MUTATE = [2, 13, 1000]

async function main () {
  const out = outDir()
  const groups = []
  const buildRefs = new Map()
  let nextTc = 1 // mirrors writeFile's numbering to name `from`

  for (const n of LENGTHS) {
    const w = await writer(n)
    const blocks = []
    for (let i = 0; i < n; i++) blocks.push(hex(blockOf(i)))
    const builds = []
    const verifies = []
    const pending = []
    for (const r of requestsFor(n)) {
      const msg = Object.assign({ fork: 0, block: null, hash: null, seek: null, upgrade: null }, r.msg)
      if (msg.block && msg.block.nodes === undefined) msg.block.nodes = 0
      if (msg.hash && msg.hash.nodes === undefined) msg.hash.nodes = 0
      if (r.nodesFrom === 'missing') {
        const c = await clone(r.clone)
        const t = msg.block ? { idx: 2 * msg.block.index, s: msg.block } : { idx: msg.hash.index, s: msg.hash }
        t.s.nodes = await MerkleTree.missingNodes(c.core.state, t.idx, c.core.state.length)
      }
      const res = await serve(w, msg)
      const comment = describe(msg) + (r.clone ? ' for a ' + r.clone.stored + ' clone of length ' + r.clone.length : '')
      const t = { comment, flags: (r.flags || []).slice(), request: requestJSON(msg) }
      if (res.proof) {
        t.proof = proofJSON(res.proof)
        t.jsError = null
        t.result = 'valid'
      } else {
        t.proof = null
        t.jsError = res.jsError
        t.result = 'invalid'
        t.error = res.error
      }
      builds.push(t)
      if (res.proof && r.clone) pending.push({ r, proof: res.proof, build: t })
    }
    const bIds = builds.map(() => nextTc++)
    for (const { r, proof, build } of pending) {
      const from = bIds[builds.indexOf(build)]
      const c = await clone(r.clone)
      const v = await jsVerify(c, proof)
      if (v.js !== 'accepts') throw new Error('clone rejects ' + build.comment + ': ' + v.jsError)
      for (const x of v.batch.nodes) {
        const y = await MerkleTree.get(w.core.state, x.index)
        if (!y || !b4a.equals(x.hash, y.hash) || x.size !== y.size) throw new Error('clone would store a node the writer does not have: ' + x.index)
      }
      verifies.push({
        comment: build.comment,
        flags: build.flags.slice(),
        from,
        clone: r.clone,
        proof: proofJSON(proof),
        js: 'accepts',
        jsError: null,
        verified: verifiedJSON(proof, v.batch),
        result: 'valid'
      })
      if (!r.mutate || !MUTATE.includes(n) || (n === 1000 && !(r.msg.upgrade && r.msg.upgrade.start === 0 && !r.msg.seek && !r.msg.block))) continue
      const extra = (await MerkleTree.get(w.core.state, flat.parent(lastNodeIndex(proof)))) ||
        (await MerkleTree.get(w.core.state, 0))
      for (const m of mutations(proof, extra)) {
        const mv = await jsVerify(c, m.proof)
        const flags = build.flags.concat(['Mutated'])
        const lenient = mv.js === 'accepts' && !mv.reorg && isLenient(m, proof, mv.batch)
        if (mv.js === 'accepts' && !lenient) {
          // a mutation that proves the same thing (two sibling seek nodes
          // in either order) is no corruption
          const got = verifiedJSON(m.proof, mv.batch)
          if (JSON.stringify(got) !== JSON.stringify(verifiedJSON(proof, v.batch))) {
            throw new Error('JS accepts mutation ' + m.name + ' of ' + build.comment)
          }
          verifies.push({
            comment: build.comment + ': ' + m.name,
            flags: flags.concat(['Equivalent']),
            from,
            clone: r.clone,
            proof: proofJSON(m.proof),
            js: 'accepts',
            jsError: null,
            verified: got,
                result: 'valid'
          })
          continue
        }
        if (lenient) flags.push('JSLenient')
        if (mv.typeError) flags.push('JSThrows')
        verifies.push({
          comment: build.comment + ': ' + m.name,
          flags,
          from,
          clone: r.clone,
          proof: proofJSON(m.proof),
          js: mv.js,
          jsError: lenient ? null : mv.jsError,
          verified: null,
            result: 'invalid',
          error: lenient ? 'invalid-proof' : mv.error
        })
      }
    }
    nextTc += verifies.length
    groups.push({ type: 'BuildTest', core: coreJSON(w, n, 0), blocks, tests: builds })
    groups.push({ type: 'VerifyTest', core: coreJSON(w, n, 0), blocks, tests: verifies })
    buildRefs.set(n, bIds)
  }

  const reorg = await reorgGroup()
  nextTc += reorg.tests.length
  groups.push(reorg)

  groups.push(await digestGroup())

  writeFile(out, 'proofs', {
    concept: 'Hypercore 11 proofs: the block, hash, seek and upgrade sections a server builds for a request, and how a receiver verifies them (spec/v11/proofs.md)',
    source: source('hypercore', ['flat-tree', 'hypercore-crypto', 'compact-encoding']),
    notes: NOTES
  }, groups)
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
}

function lastNodeIndex (p) {
  const all = [].concat(p.block ? p.block.nodes : [], p.hash ? p.hash.nodes : [], p.upgrade ? p.upgrade.nodes : [])
  return all.length ? all[all.length - 1].index : 0
}

function describe (msg) {
  const s = []
  if (msg.block) s.push('block ' + msg.block.index + ' nodes ' + msg.block.nodes)
  if (msg.hash) s.push('hash ' + msg.hash.index + ' nodes ' + msg.hash.nodes)
  if (msg.seek) s.push('seek ' + msg.seek.bytes + ' padding ' + msg.seek.padding)
  if (msg.upgrade) s.push('upgrade ' + msg.upgrade.start + '+' + msg.upgrade.length)
  if (msg.fork) s.push('fork ' + msg.fork)
  return s.join(', ')
}

function coreJSON (w, n, fork) {
  return {
    key: hex(w.key),
    publicKey: hex(keyPair.publicKey),
    manifest: hex(c.encode(messages.manifest, w.core.header.manifest)),
    fork,
    length: n
  }
}

// The truncated writer: 13 blocks, truncated to 9 (fork 1), then 4 other
// blocks appended.
let forkW = null
async function forkWriter () {
  if (forkW) return forkW
  const core = await tmpCore(null, { keyPair })
  for (let i = 0; i < 13; i++) await core.append(blockOf(i))
  await core.truncate(9)
  for (let i = 9; i < 13; i++) await core.append(blockOf(i, 'fork 1 '))
  forkW = core
  return core
}

async function reorgGroup () {
  const fw = await forkWriter()
  const n = fw.core.state.length
  const tests = []
  const blocks = []
  for (let i = 0; i < n; i++) blocks.push(hex(await fw.get(i)))
  for (const state of [
    { stored: 'none', length: 0 },
    { stored: 'full', length: 13 },
    { stored: 'full', length: 11 },
    { stored: 'full', length: 5 },
    { stored: 'roots', length: 13 },
    { stored: 'roots', length: 11 },
    { stored: 'roots', length: 9 }
  ]) {
    const c = await clone(state)
    const first = await serve(fw, { fork: 1, upgrade: { start: 0, length: n } })
    const v = await jsVerify(c, first.proof)
    if (!v.reorg) throw new Error('no reorg: ' + v.jsError)
    const batch = v.reorg
    const steps = [{ request: requestJSON({ fork: 1, upgrade: { start: 0, length: n } }), proof: proofJSON(first.proof), after: reorgJSON(batch) }]
    // follow-ups as the replicator's _requestForkRange asks them; the block
    // is the first of the wanted range (JS picks one at random)
    while (batch.want !== null) {
      const msg = { fork: 1, block: null, hash: { index: 2 * batch.want.start, nodes: batch.want.nodes }, seek: null, upgrade: null }
      const r = await serve(fw, msg)
      if (!r.proof) throw new Error('reorg follow-up refused: ' + r.jsError)
      const before = JSON.stringify(batch.want)
      await batch.update(r.proof)
      steps.push({ request: requestJSON(msg), proof: proofJSON(r.proof), after: reorgJSON(batch) })
      if (batch.want !== null && JSON.stringify(batch.want) === before) throw new Error('reorg does not progress')
    }
    tests.push({
      comment: 'a ' + state.stored + ' clone of length ' + state.length + ' at fork 0 meets the writer truncated to 9 and grown to ' + n + ' at fork 1',
      flags: ['Reorg'],
      clone: state,
      steps,
      jsError: null,
      result: 'valid'
    })
    // a mutated first proof: the signature
    const bad = cloneProof(first.proof)
    bad.upgrade.signature[3] ^= 1
    const bv = await jsVerify(c, bad)
    if (bv.js === 'accepts') throw new Error('reorg accepts a bad signature')
    tests.push({
      comment: 'as above, the signature of the upgrade changed',
      flags: ['Reorg', 'Mutated'],
      clone: state,
      steps: [{ request: steps[0].request, proof: proofJSON(bad), after: null }],
      jsError: bv.jsError,
      result: 'invalid',
      error: bv.error
    })
  }
  const w13 = await writer(13)
  return { type: 'ReorgTest', core: coreJSON(w13, n, 1), blocks, fork0Blocks: (() => { const b = []; for (let i = 0; i < 13; i++) b.push(hex(blockOf(i))); return b })(), tests }
}

// digestGroup: every proof JS builds for the digest's request list over
// writers of 1..64 blocks, hashed as proofs.md "Accumulated digest" says.
async function digestGroup () {
  const state = b4a.alloc(sodium.crypto_generichash_STATEBYTES)
  sodium.crypto_generichash_init(state, null, 32)
  let count = 0
  const line = (s) => {
    sodium.crypto_generichash_update(state, b4a.from(s + '\n'))
    count++
  }
  for (let n = 1; n <= 64; n++) {
    const w = await writer(n)
    for (const { msg, l } of digestRequests(n)) {
      const res = await serve(w, msg)
      line(n + ' ' + l + ' ' + describe(msg) + ' = ' + (res.proof ? proofText(res.proof) : 'error ' + res.error))
    }
  }
  const digest = b4a.alloc(32)
  sodium.crypto_generichash_final(state, digest)
  const blocks = []
  for (let i = 0; i < 64; i++) blocks.push(hex(blockOf(i)))
  return {
    type: 'DigestTest',
    blocks,
    tests: [{ comment: 'every proof for writers of 1..64 blocks', count, digest: hex(digest), result: 'valid' }]
  }
}

// digestRequests is the request list of the digest for a writer of n blocks
// (proofs.md "Accumulated digest"), each with the requester length l it is
// made for.
function digestRequests (n) {
  const rs = []
  for (let l = 0; l <= n; l++) {
    for (let b = 0; b < l; b++) {
      const max = MerkleTree.maxMissingNodes(2 * b, l)
      for (let k = 0; k <= max; k++) rs.push({ l, msg: { fork: 0, block: { index: b, nodes: k } } })
    }
    for (let i = 0; i < 2 * l; i++) {
      if (flat.rightSpan(i) >= 2 * l) continue
      rs.push({ l, msg: { fork: 0, hash: { index: i, nodes: MerkleTree.maxMissingNodes(i, l) } } })
    }
    if (l === n) continue
    for (let m = 1; l + m <= n; m++) rs.push({ l, msg: { fork: 0, upgrade: { start: l, length: m } } })
    for (let b = l; b < n; b++) {
      rs.push({ l, msg: { fork: 0, block: { index: b, nodes: 0 }, upgrade: { start: l, length: n - l } } })
      rs.push({ l, msg: { fork: 0, block: { index: b, nodes: 0 }, upgrade: { start: l, length: b + 1 - l } } })
    }
    if (l > 0) rs.push({ l, msg: { fork: 0, block: { index: l - 1, nodes: MerkleTree.maxMissingNodes(2 * (l - 1), l) }, upgrade: { start: l, length: n - l } } })
  }
  return rs.map(({ l, msg }) => ({ l, msg: Object.assign({ block: null, hash: null, seek: null, upgrade: null }, msg) }))
}

function nodeText (n) {
  return n.index + ':' + n.size + ':' + hex(n.hash)
}

function proofText (p) {
  const s = []
  if (p.block) s.push('block ' + p.block.index + ' ' + hex(p.block.value) + ' [' + p.block.nodes.map(nodeText).join(' ') + ']')
  if (p.hash) s.push('hash ' + p.hash.index + ' [' + p.hash.nodes.map(nodeText).join(' ') + ']')
  if (p.seek) s.push('seek ' + p.seek.bytes + ' [' + p.seek.nodes.map(nodeText).join(' ') + ']')
  if (p.upgrade) {
    const u = p.upgrade
    s.push('upgrade ' + u.start + ' ' + u.length + ' [' + u.nodes.map(nodeText).join(' ') + '] [' +
      u.additionalNodes.map(nodeText).join(' ') + '] ' + hex(u.signature))
  }
  return s.join(' ; ')
}

main().then(() => process.exit(0), (err) => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
  console.error(err)
  process.exit(1)
})

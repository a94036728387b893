'use strict'
// Generates vectors/proofs.json from hypercore 9.12.0: proofs built by real
// writer feeds (feed.proof) for every block and several digests, and Put
// cases (feed.put into a fresh sparse reader) with named mutations, judged
// by JS.
//
//   node interop/js/vectors/proofs.js OUTDIR

const Hypercore = require('hypercore')
const ram = require('random-access-memory')
const crypto = require('hypercore-crypto')
const { source, writeFile, outDir, hex, seed } = require('./lib/vectors')

const kp = crypto.keyPair(seed('hypercore-go v9 vectors: writer'))
const block = (i) => Buffer.from('block ' + i)

const p = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

async function writer (calls) {
  const w = new Hypercore(ram, kp.publicKey, { secretKey: kp.secretKey })
  let i = 0
  for (const n of calls) {
    const bs = []
    for (let k = 0; k < n; k++) bs.push(block(i++))
    await p((cb) => w.append(bs, cb))
  }
  return w
}

const nodeJSON = (n) => ({ index: n.index, hash: hex(n.hash), size: n.size })
const copyProof = (pr) => ({ nodes: pr.nodes.map((n) => ({ index: n.index, hash: Buffer.from(n.hash), size: n.size })), signature: pr.signature ? Buffer.from(pr.signature) : null })

// classify maps a JS put error to the spec's error class.
function classify (err) {
  const m = err.message
  if (m === 'Remote signature could not be verified') return 'invalid-signature'
  if (m === 'Remote did not include a signature' || m === 'Remote checksum failed') return 'missing-signature'
  if (m === 'Missing tree roots needed for verify' || m === 'Unexpected data size') return 'invalid-proof'
  if (/"sig" must be/.test(m)) return 'invalid-signature' // sodium-native: a signature of the wrong size
  throw new Error('unclassified JS error: ' + m)
}

// putIndexes are the blocks whose Put is mutated.
function putIndexes (n) {
  return [0, 1, Math.floor(n / 2), n - 1].filter((i, k, a) => i < n && a.indexOf(i) === k)
}

async function main () {
  const feeds = [['1 block', [1]], ['3 blocks, single appends', [1, 1, 1]], ['17 blocks, one batch', [17]], ['102 blocks (the guide)', [2].concat(Array(100).fill(1))], ['1000 blocks in batches of 100', Array(10).fill(100)]]
  const proofTests = []
  const putTests = []
  for (const [name, calls] of feeds) {
    const w = await writer(calls)
    const n = w.length
    const indexes = n <= 17 ? [...Array(n).keys()] : [0, 1, 2, 50, 51, 101, n - 1, Math.floor(n / 3)].filter((i, k, a) => i < n && a.indexOf(i) === k)
    for (const index of indexes) {
      for (const [dname, digest] of [['digest 0', 0], ['digest 1 (have the leaf)', 1], ['requester holds the first block', null]]) {
        let d = digest
        if (d === null) {
          // a reader that fetched block 0 computes its digest for this block
          const r = new Hypercore(ram, kp.publicKey, { sparse: true })
          await p((cb) => r.ready(cb))
          const pr = await p((cb) => w.proof(0, { digest: 0 }, cb))
          await p((cb) => r.put(0, block(0), copyProof(pr), cb))
          d = r.digest(index)
        }
        for (const hash of [false, true]) {
          if (hash && digest !== 0) continue
          const pr = await p((cb) => w.proof(index, { digest: d, hash }, cb))
          proofTests.push({ comment: name + ', block ' + index + ', ' + dname + (hash ? ', hash only' : ''), flags: [], writerCalls: calls, index, digest: d, hash, nodes: pr.nodes.map(nodeJSON), signature: hex(pr.signature), result: 'valid' })
        }
      }
      // Put into a fresh sparse reader, with mutations (a few blocks per feed)
      if (n > 200 || !putIndexes(n).includes(index)) continue
      const pr = await p((cb) => w.proof(index, { digest: 0 }, cb))
      const value = block(index)
      const mutations = [['none', (c) => c]]
      mutations.push(['value-bit', (c) => { c.value = Buffer.from(c.value); c.value[0] ^= 1; return c }])
      mutations.push(['value-empty', (c) => { c.value = Buffer.alloc(0); return c }])
      pr.nodes.forEach((_, k) => {
        mutations.push(['node-' + k + '-hash-bit', (c) => { c.nodes[k].hash[31] ^= 0x80; return c }])
        mutations.push(['node-' + k + '-size', (c) => { c.nodes[k].size += 1; return c }])
        mutations.push(['node-' + k + '-dropped', (c) => { c.nodes.splice(k, 1); return c }])
      })
      mutations.push(['node-extra', (c) => { c.nodes.push({ index: 2 * n + 40, hash: seed('extra node'), size: 3 }); return c }])
      if (pr.signature) {
        mutations.push(['signature-bit', (c) => { c.signature[10] ^= 1; return c }])
        mutations.push(['signature-missing', (c) => { c.signature = null; return c }])
        mutations.push(['signature-short', (c) => { c.signature = c.signature.subarray(0, 63); return c }])
      }
      mutations.push(['index-plus-one', (c) => { c.index += 1; return c }])
      if (index > 0) mutations.push(['index-minus-one', (c) => { c.index -= 1; return c }])
      for (const [mname, mutate] of mutations) {
        const c = mutate({ index, value: Buffer.from(value), ...copyProof(pr) })
        const r = new Hypercore(ram, kp.publicKey, { sparse: true })
        await p((cb) => r.ready(cb))
        const t = { comment: name + ', block ' + index + ', ' + mname, flags: mname === 'none' ? [] : ['Mutation'], mutation: mname, writerCalls: calls, index: c.index, value: hex(c.value), nodes: c.nodes.map(nodeJSON), signature: hex(c.signature) }
        try {
          await p((cb) => r.put(c.index, c.value, { nodes: c.nodes, signature: c.signature }, cb))
          t.lengthAfter = r.length
          t.result = 'valid'
        } catch (err) {
          t.jsError = err.message
          t.result = 'invalid'
          t.error = classify(err)
        }
        putTests.push(t)
      }
    }
  }
  writeFile(outDir(), 'proofs', {
    concept: 'proofs built by a feed and their verification',
    source: source('hypercore', ['hypercore-crypto', 'flat-tree']),
    notes: {
      Mutation: 'A named mutation of a valid Put (mutation); the verdict is that of a fresh JS sparse reader\'s put().'
    }
  }, [
    { type: 'ProofTest', tests: proofTests },
    { type: 'PutTest', tests: putTests }
  ])
}

main().catch((err) => { console.error(err); process.exit(1) })

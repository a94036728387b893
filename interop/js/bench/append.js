'use strict'
// Times appends to a disk feed with hypercore 9.12.0, for
// interop/bench-append (the Go side is interop/cmd/appendbench).
//
//   node bench/append.js DIR BLOCKS BATCH SIZE
//
// Prints {"impl":"js","blocks":N,"batch":K,"seconds":S}. Stopped by SIGTERM
// (the bench's time limit), it prints what it did so far,
// {"impl":"js","blocks":N,"batch":K,"partial":true,"appended":A,"seconds":S}
// (A counts the blocks of the call under way), and exits 3.

const Hypercore = require('hypercore')
const crypto = require('hypercore-crypto')

const [dir, blocksArg, batchArg, sizeArg] = process.argv.slice(2)
const blocks = Number(blocksArg)
const batch = Number(batchArg)
const size = Number(sizeArg)
const kp = crypto.keyPair(Buffer.alloc(32))
const feed = new Hypercore(dir, kp.publicKey, { secretKey: kp.secretKey })
const call = []
for (let i = 0; i < batch; i++) {
  const b = Buffer.alloc(size)
  for (let k = 0; k < size; k++) b[k] = (i + k) & 255
  call.push(b)
}
let start = null
let n = 0
process.on('SIGTERM', () => {
  const seconds = start === null ? null : Number(process.hrtime.bigint() - start) / 1e9
  process.stdout.write(JSON.stringify({ impl: 'js', blocks, batch, partial: true, appended: n, seconds }) + '\n')
  process.exit(3)
})
feed.ready((err) => {
  if (err) throw err
  start = process.hrtime.bigint()
  const next = (err) => {
    if (err) throw err
    if (n >= blocks) {
      return feed.close((err) => {
        if (err) throw err
        const seconds = Number(process.hrtime.bigint() - start) / 1e9
        process.stdout.write(JSON.stringify({ impl: 'js', blocks, batch, seconds }) + '\n')
      })
    }
    const k = Math.min(batch, blocks - n)
    n += k
    feed.append(k === batch ? call : call.slice(0, k), next)
  }
  next()
})
